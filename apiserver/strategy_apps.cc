// apps/v1 workloads: Deployment, ReplicaSet, StatefulSet, DaemonSet. Defaults follow
// pkg/apis/apps/v1/defaults.go (plus the pod-template defaults of the generated
// defaulters), validation pkg/apis/apps/validation/validation.go, and the selector
// immutability of pkg/registry/apps/*/strategy.go.
#include "apiserver/strategies.h"
#include "apps.capnp.h"
#include "cattle/validation.h"

namespace cattle::apiserver {
namespace {

std::string S(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

// Copies an optional pointer field from `src` into `dst`, or clears it in `dst`.
#define CATTLE_COPY_FIELD(dst, src, Field)     \
  do {                                         \
    if ((src).has##Field()) {                  \
      (dst).set##Field((src).get##Field());    \
    } else if ((dst).has##Field()) {           \
      (dst).disown##Field();                   \
    }                                          \
  } while (0)

void DefaultTemplate(api::PodTemplateSpec::Builder t) { SetPodSpecDefaults(t.getSpec()); }

// The PVC defaults Kubernetes applies to StatefulSet volumeClaimTemplates.
void DefaultClaimTemplate(api::PersistentVolumeClaim::Builder pvc) {
  auto spec = pvc.getSpec();
  if (spec.getVolumeMode().size() == 0) spec.setVolumeMode("Filesystem");
  auto status = pvc.getStatus();
  if (status.getPhase().size() == 0) status.setPhase("Pending");
}

// The selector/template checks shared by Deployment, ReplicaSet, StatefulSet and
// DaemonSet. `empty_msg` is the kind's "empty selector is invalid for ..." text;
// `require` adds `spec.selector: Required value` for a missing selector (not DaemonSet).
// Returns whether the selector converted (the template is then checked against it).
bool ValidateSelector(bool has, api::LabelSelector::Reader sel, bool require,
                      const std::string& empty_msg, Causes* out) {
  if (!has) {
    if (require) out->push_back(FieldRequired("spec.selector"));
    return true;
  }
  ValidateLabelSelector(sel, "spec.selector", out);
  if (require && LabelSelectorEmpty(sel))
    out->push_back(FieldInvalid("spec.selector", GoLabelSelector(sel), empty_msg));
  return LabelSelectorConvertible(sel);
}

// The template labels must match the selector (a missing selector matches nothing, an
// empty one everything).
void ValidateTemplateLabels(bool has, api::LabelSelector::Reader sel,
                            api::PodTemplateSpec::Reader tmpl, Causes* out) {
  if (has && LabelSelectorEmpty(sel)) return;
  auto meta = tmpl.getMetadata();
  if (!has || !LabelSelectorMatches(sel, ToStdMap(meta.getLabels())))
    out->push_back(FieldInvalid("spec.template.metadata.labels",
                                GoStringMap(meta.getLabels(), meta.hasLabels()),
                                "`selector` does not match template `labels`"));
}

void ValidateTemplateRestartAndDeadline(api::PodTemplateSpec::Reader tmpl, const std::string& kind,
                                        Causes* out) {
  std::string rp = S(tmpl.getSpec().getRestartPolicy());
  if (rp != "Always")
    out->push_back(FieldNotSupported("spec.template.spec.restartPolicy", rp, {"Always"}));
  if (tmpl.getSpec().hasActiveDeadlineSeconds())
    out->push_back(FieldForbidden("spec.template.spec.activeDeadlineSeconds",
                                  "activeDeadlineSeconds in " + kind + " is not Supported"));
}

// ValidatePodTemplateSpecForReplicaSet (Deployment and ReplicaSet).
void ValidateReplicaSetTemplate(bool has_sel, api::LabelSelector::Reader sel,
                                api::PodTemplateSpec::Reader tmpl, Causes* out) {
  ValidateTemplateLabels(has_sel, sel, tmpl, out);
  ValidatePodTemplateSpec(tmpl, "spec.template", out);
  ValidateTemplateRestartAndDeadline(tmpl, "ReplicaSet", out);
}

void ValidateImmutableSelector(bool has, api::LabelSelector::Reader sel, bool had,
                               api::LabelSelector::Reader old_sel, Causes* out) {
  if (!SemanticEqualOpt(has, capnp::toDynamic(sel), had, capnp::toDynamic(old_sel)))
    out->push_back(FieldInvalid("spec.selector", has ? GoLabelSelector(sel) : "null",
                                "field is immutable"));
}

int32_t OptValue(bool has, const api::OptInt32::Reader& v) { return has ? v.getValue() : 0; }

// ---------------------------------------------------------------------------------------

class DeploymentStrategy : public Strategy {
 public:
  void Default(Object& obj) const override {
    auto spec = obj.as<api::Deployment>().getSpec();
    if (!spec.hasReplicas()) spec.initReplicas().setValue(1);
    auto strategy = spec.getStrategy();
    if (strategy.getType().size() == 0) strategy.setType("RollingUpdate");
    if (strategy.getType() == "RollingUpdate") {
      auto ru = strategy.hasRollingUpdate() ? strategy.getRollingUpdate() : strategy.initRollingUpdate();
      if (!ru.hasMaxUnavailable()) ru.initMaxUnavailable().setStr("25%");
      if (!ru.hasMaxSurge()) ru.initMaxSurge().setStr("25%");
    }
    if (!spec.hasRevisionHistoryLimit()) spec.initRevisionHistoryLimit().setValue(10);
    if (!spec.hasProgressDeadlineSeconds()) spec.initProgressDeadlineSeconds().setValue(600);
    DefaultTemplate(spec.getTemplate());
  }

  std::vector<StatusCause> Validate(const Object& obj) const override {
    Causes out;
    auto spec = obj.get<api::Deployment>().getSpec();
    ValidateNonnegative(OptValue(spec.hasReplicas(), spec.getReplicas()), "spec.replicas", &out);
    bool has_sel = spec.hasSelector();
    auto sel = spec.getSelector();
    if (ValidateSelector(has_sel, sel, true, "empty selector is invalid for deployment", &out)) {
      ValidateReplicaSetTemplate(has_sel, sel, spec.getTemplate(), &out);
    } else {
      out.push_back(FieldInvalid("spec.selector", GoLabelSelector(sel), "invalid label selector"));
    }
    ValidateStrategy(spec.getStrategy(), &out);
    ValidateNonnegative(spec.getMinReadySeconds(), "spec.minReadySeconds", &out);
    if (spec.hasRevisionHistoryLimit())
      ValidateNonnegative(spec.getRevisionHistoryLimit().getValue(), "spec.revisionHistoryLimit", &out);
    if (spec.hasProgressDeadlineSeconds()) {
      int32_t pds = spec.getProgressDeadlineSeconds().getValue();
      ValidateNonnegative(pds, "spec.progressDeadlineSeconds", &out);
      if (pds <= spec.getMinReadySeconds())
        out.push_back(FieldInvalid("spec.progressDeadlineSeconds", std::to_string(pds),
                                   "must be greater than minReadySeconds"));
    }
    return out;
  }

  std::vector<StatusCause> ValidateUpdate(const Object& obj, const Object& old) const override {
    auto out = Validate(obj);
    auto spec = obj.get<api::Deployment>().getSpec();
    auto old_spec = old.get<api::Deployment>().getSpec();
    ValidateImmutableSelector(spec.hasSelector(), spec.getSelector(), old_spec.hasSelector(),
                              old_spec.getSelector(), &out);
    return out;
  }

 private:
  static void ValidateStrategy(api::DeploymentStrategy::Reader s, Causes* out) {
    std::string type = S(s.getType());
    if (type == "Recreate") {
      if (s.hasRollingUpdate())
        out->push_back(FieldForbidden("spec.strategy.rollingUpdate",
                                      "may not be specified when strategy `type` is 'Recreate'"));
    } else if (type == "RollingUpdate") {
      if (!s.hasRollingUpdate()) {
        out->push_back(FieldRequired("spec.strategy.rollingUpdate", "this should be defaulted and never be nil"));
        return;
      }
      auto ru = s.getRollingUpdate();
      std::string p = "spec.strategy.rollingUpdate";
      ValidatePositiveIntOrPercent(ru.getMaxUnavailable(), p + ".maxUnavailable", out);
      ValidatePositiveIntOrPercent(ru.getMaxSurge(), p + ".maxSurge", out);
      if (IntOrPercentValue(ru.getMaxUnavailable()) == 0 && IntOrPercentValue(ru.getMaxSurge()) == 0)
        out->push_back(FieldInvalid(p + ".maxUnavailable", GoIntOrString(ru.getMaxUnavailable()),
                                    "may not be 0 when `maxSurge` is 0"));
      ValidateNotMoreThan100Percent(ru.getMaxUnavailable(), p + ".maxUnavailable", out);
    } else {
      std::string ru = s.hasRollingUpdate()
                           ? "&apps.RollingUpdateDeployment{MaxUnavailable:" +
                                 GoIntOrString(s.getRollingUpdate().getMaxUnavailable()) +
                                 ", MaxSurge:" + GoIntOrString(s.getRollingUpdate().getMaxSurge()) + "}"
                           : "(*apps.RollingUpdateDeployment)(nil)";
      out->push_back(FieldNotSupportedRendered(
          "spec.strategy", "apps.DeploymentStrategy{Type:" + GoQuote(type) + ", RollingUpdate:" + ru + "}",
          {"Recreate", "RollingUpdate"}));
    }
  }
};

class ReplicaSetStrategy : public Strategy {
 public:
  void Default(Object& obj) const override {
    auto spec = obj.as<api::ReplicaSet>().getSpec();
    if (!spec.hasReplicas()) spec.initReplicas().setValue(1);
    DefaultTemplate(spec.getTemplate());
  }

  std::vector<StatusCause> Validate(const Object& obj) const override {
    Causes out;
    auto spec = obj.get<api::ReplicaSet>().getSpec();
    ValidateNonnegative(OptValue(spec.hasReplicas(), spec.getReplicas()), "spec.replicas", &out);
    ValidateNonnegative(spec.getMinReadySeconds(), "spec.minReadySeconds", &out);
    bool has_sel = spec.hasSelector();
    auto sel = spec.getSelector();
    // Kubernetes' ReplicaSet validation reuses the Deployment wording.
    if (ValidateSelector(has_sel, sel, true, "empty selector is invalid for deployment", &out)) {
      ValidateReplicaSetTemplate(has_sel, sel, spec.getTemplate(), &out);
    } else {
      out.push_back(FieldInvalid("spec.selector", GoLabelSelector(sel), "invalid label selector"));
    }
    return out;
  }

  std::vector<StatusCause> ValidateUpdate(const Object& obj, const Object& old) const override {
    auto out = Validate(obj);
    auto spec = obj.get<api::ReplicaSet>().getSpec();
    auto old_spec = old.get<api::ReplicaSet>().getSpec();
    ValidateImmutableSelector(spec.hasSelector(), spec.getSelector(), old_spec.hasSelector(),
                              old_spec.getSelector(), &out);
    return out;
  }

  std::vector<std::string> SelectableFields() const override { return {"status.replicas"}; }
};

class StatefulSetStrategy : public Strategy {
 public:
  void Default(Object& obj) const override {
    auto spec = obj.as<api::StatefulSet>().getSpec();
    if (spec.getPodManagementPolicy().size() == 0) spec.setPodManagementPolicy("OrderedReady");
    auto us = spec.getUpdateStrategy();
    if (us.getType().size() == 0) {
      us.setType("RollingUpdate");
      if (!us.hasRollingUpdate()) us.initRollingUpdate();
    }
    if (us.getType() == "RollingUpdate" && us.hasRollingUpdate() &&
        !us.getRollingUpdate().hasPartition())
      us.getRollingUpdate().initPartition().setValue(0);
    auto policy = spec.getPersistentVolumeClaimRetentionPolicy();
    if (policy.getWhenDeleted().size() == 0) policy.setWhenDeleted("Retain");
    if (policy.getWhenScaled().size() == 0) policy.setWhenScaled("Retain");
    if (!spec.hasReplicas()) spec.initReplicas().setValue(1);
    if (!spec.hasRevisionHistoryLimit()) spec.initRevisionHistoryLimit().setValue(10);
    DefaultTemplate(spec.getTemplate());
    for (auto pvc : spec.getVolumeClaimTemplates()) DefaultClaimTemplate(pvc);
  }

  std::vector<StatusCause> Validate(const Object& obj) const override {
    Causes out;
    auto spec = obj.get<api::StatefulSet>().getSpec();
    std::string pmp = S(spec.getPodManagementPolicy());
    if (pmp.empty()) {
      out.push_back(FieldRequired("spec.podManagementPolicy"));
    } else if (pmp != "OrderedReady" && pmp != "Parallel") {
      out.push_back(FieldInvalid("spec.podManagementPolicy", GoQuote(pmp), "must be 'OrderedReady' or 'Parallel'"));
    }
    auto us = spec.getUpdateStrategy();
    std::string type = S(us.getType());
    std::string rup = "spec.updateStrategy.rollingUpdate";
    if (type.empty()) {
      out.push_back(FieldRequired("spec.updateStrategy"));
    } else if (type == "OnDelete") {
      if (us.hasRollingUpdate())
        out.push_back(FieldInvalid(rup, RenderRollingUpdate(us.getRollingUpdate()),
                                   "only allowed for updateStrategy 'RollingUpdate'"));
    } else if (type == "RollingUpdate") {
      if (us.hasRollingUpdate()) {
        auto ru = us.getRollingUpdate();
        ValidateNonnegative(OptValue(ru.hasPartition(), ru.getPartition()), rup + ".partition", &out);
        if (ru.hasMaxUnavailable()) {
          ValidatePositiveIntOrPercent(ru.getMaxUnavailable(), rup + ".maxUnavailable", &out);
          if (IntOrPercentValue(ru.getMaxUnavailable()) == 0)
            out.push_back(FieldInvalid(rup + ".maxUnavailable", GoIntOrString(ru.getMaxUnavailable()), "cannot be 0"));
          ValidateNotMoreThan100Percent(ru.getMaxUnavailable(), rup + ".maxUnavailable", &out);
        }
      }
    } else {
      std::string ru = us.hasRollingUpdate() ? "&" + RenderRollingUpdate(us.getRollingUpdate())
                                             : "(*apps.RollingUpdateStatefulSetStrategy)(nil)";
      out.push_back(FieldInvalid("spec.updateStrategy",
                                 "apps.StatefulSetUpdateStrategy{Type:" + GoQuote(type) + ", RollingUpdate:" + ru + "}",
                                 "must be 'RollingUpdate' or 'OnDelete'"));
    }
    if (spec.hasPersistentVolumeClaimRetentionPolicy()) {
      auto p = spec.getPersistentVolumeClaimRetentionPolicy();
      std::string base = "spec.persistentVolumeClaimRetentionPolicy";
      for (auto [name, value] : {std::pair<const char*, std::string>{"whenDeleted", S(p.getWhenDeleted())},
                                 std::pair<const char*, std::string>{"whenScaled", S(p.getWhenScaled())}}) {
        if (value != "Retain" && value != "Delete")
          out.push_back(FieldNotSupported(base + "." + name, value, {"Retain", "Delete"}));
      }
    }
    ValidateNonnegative(OptValue(spec.hasReplicas(), spec.getReplicas()), "spec.replicas", &out);
    ValidateNonnegative(spec.getMinReadySeconds(), "spec.minReadySeconds", &out);
    if (spec.hasOrdinals()) ValidateNonnegative(spec.getOrdinals().getStart(), "spec.ordinals.start", &out);
    bool has_sel = spec.hasSelector();
    auto sel = spec.getSelector();
    if (ValidateSelector(has_sel, sel, true, "empty selector is invalid for statefulset", &out)) {
      // Kubernetes checks only the template's labels and annotations here, not its pod spec
      // (volumeClaimTemplates would fail the volume-mount checks).
      auto tmpl = spec.getTemplate();
      ValidateTemplateLabels(has_sel, sel, tmpl, &out);
      ValidateLabelMap(tmpl.getMetadata().getLabels(), "spec.template.labels", &out);
    } else {
      out.push_back(FieldInvalid("spec.selector", GoLabelSelector(sel), ""));
    }
    std::string rp = S(spec.getTemplate().getSpec().getRestartPolicy());
    if (rp != "Always") out.push_back(FieldNotSupported("spec.template.spec.restartPolicy", rp, {"Always"}));
    if (spec.getTemplate().getSpec().hasActiveDeadlineSeconds())
      out.push_back(FieldForbidden("spec.template.spec.activeDeadlineSeconds",
                                   "activeDeadlineSeconds in StatefulSet is not Supported"));
    return out;
  }

  std::vector<StatusCause> ValidateUpdate(const Object& obj, const Object& old) const override {
    auto out = Validate(obj);
    auto old_spec = old.get<api::StatefulSet>().getSpec();
    Object munged = obj.Clone();
    auto m = munged.as<api::StatefulSet>().getSpec();
    CATTLE_COPY_FIELD(m, old_spec, Replicas);
    CATTLE_COPY_FIELD(m, old_spec, Template);
    CATTLE_COPY_FIELD(m, old_spec, UpdateStrategy);
    CATTLE_COPY_FIELD(m, old_spec, Ordinals);
    CATTLE_COPY_FIELD(m, old_spec, PersistentVolumeClaimRetentionPolicy);
    m.setMinReadySeconds(old_spec.getMinReadySeconds());
    if (!SemanticEqual(capnp::toDynamic(m.asReader()), capnp::toDynamic(old_spec)))
      out.push_back(FieldForbidden(
          "spec",
          "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
          "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are "
          "forbidden"));
    return out;
  }

 private:
  static std::string RenderRollingUpdate(api::RollingUpdateStatefulSetStrategy::Reader ru) {
    return "apps.RollingUpdateStatefulSetStrategy{Partition:" +
           std::to_string(OptValue(ru.hasPartition(), ru.getPartition())) + ", MaxUnavailable:" +
           (ru.hasMaxUnavailable() ? "&" + GoIntOrString(ru.getMaxUnavailable())
                                   : std::string("(*intstr.IntOrString)(nil)")) +
           "}";
  }
};

class DaemonSetStrategy : public Strategy {
 public:
  void Default(Object& obj) const override {
    auto spec = obj.as<api::DaemonSet>().getSpec();
    auto us = spec.getUpdateStrategy();
    if (us.getType().size() == 0) us.setType("RollingUpdate");
    if (us.getType() == "RollingUpdate") {
      auto ru = us.hasRollingUpdate() ? us.getRollingUpdate() : us.initRollingUpdate();
      if (!ru.hasMaxUnavailable()) ru.initMaxUnavailable().setInt(1);
      if (!ru.hasMaxSurge()) ru.initMaxSurge().setInt(0);
    }
    if (!spec.hasRevisionHistoryLimit()) spec.initRevisionHistoryLimit().setValue(10);
    DefaultTemplate(spec.getTemplate());
  }

  std::vector<StatusCause> Validate(const Object& obj) const override {
    Causes out;
    auto spec = obj.get<api::DaemonSet>().getSpec();
    bool has_sel = spec.hasSelector();
    auto sel = spec.getSelector();
    if (has_sel) ValidateLabelSelector(sel, "spec.selector", &out);
    if (!has_sel || LabelSelectorConvertible(sel)) {
      auto labels = spec.getTemplate().getMetadata();
      if (!has_sel || !LabelSelectorMatches(sel, ToStdMap(labels.getLabels())))
        out.push_back(FieldInvalid("spec.template.metadata.labels",
                                   GoStringMap(labels.getLabels(), labels.hasLabels()),
                                   "`selector` does not match template `labels`"));
    }
    if (has_sel && LabelSelectorEmpty(sel))
      out.push_back(FieldInvalid("spec.selector", GoLabelSelector(sel), "empty selector is invalid for daemonset"));
    ValidatePodTemplateSpec(spec.getTemplate(), "spec.template", &out);
    ValidateTemplateRestartAndDeadline(spec.getTemplate(), "DaemonSet", &out);
    ValidateNonnegative(spec.getMinReadySeconds(), "spec.minReadySeconds", &out);
    auto us = spec.getUpdateStrategy();
    std::string type = S(us.getType());
    if (type == "RollingUpdate") {
      if (!us.hasRollingUpdate()) {
        out.push_back(FieldRequired("spec.updateStrategy.rollingUpdate"));
      } else {
        auto ru = us.getRollingUpdate();
        std::string p = "spec.updateStrategy.rollingUpdate";
        ValidatePositiveIntOrPercent(ru.getMaxUnavailable(), p + ".maxUnavailable", &out);
        ValidatePositiveIntOrPercent(ru.getMaxSurge(), p + ".maxSurge", &out);
        ValidateNotMoreThan100Percent(ru.getMaxUnavailable(), p + ".maxUnavailable", &out);
        ValidateNotMoreThan100Percent(ru.getMaxSurge(), p + ".maxSurge", &out);
        bool unavailable = IntOrPercentValue(ru.getMaxUnavailable()) != 0;
        bool surge = IntOrPercentValue(ru.getMaxSurge()) != 0;
        if (unavailable && surge) {
          out.push_back(FieldInvalid(p + ".maxSurge", GoIntOrString(ru.getMaxSurge()),
                                     "may not be set when maxUnavailable is non-zero"));
        } else if (!unavailable && !surge) {
          out.push_back(FieldRequired(p + ".maxUnavailable", "cannot be 0 when maxSurge is 0"));
        }
      }
    } else if (type != "OnDelete") {
      std::string ru = us.hasRollingUpdate()
                           ? "&apps.RollingUpdateDaemonSet{MaxUnavailable:" +
                                 GoIntOrString(us.getRollingUpdate().getMaxUnavailable()) +
                                 ", MaxSurge:" + GoIntOrString(us.getRollingUpdate().getMaxSurge()) + "}"
                           : "(*apps.RollingUpdateDaemonSet)(nil)";
      out.push_back(FieldNotSupportedRendered(
          "spec.updateStrategy", "apps.DaemonSetUpdateStrategy{Type:" + GoQuote(type) + ", RollingUpdate:" + ru + "}",
          {"RollingUpdate", "OnDelete"}));
    }
    if (spec.hasRevisionHistoryLimit())
      ValidateNonnegative(spec.getRevisionHistoryLimit().getValue(), "spec.revisionHistoryLimit", &out);
    return out;
  }

  std::vector<StatusCause> ValidateUpdate(const Object& obj, const Object& old) const override {
    auto out = Validate(obj);
    auto spec = obj.get<api::DaemonSet>().getSpec();
    auto old_spec = old.get<api::DaemonSet>().getSpec();
    ValidateImmutableSelector(spec.hasSelector(), spec.getSelector(), old_spec.hasSelector(),
                              old_spec.getSelector(), &out);
    return out;
  }
};

}  // namespace

std::unique_ptr<Strategy> NewDeploymentStrategy(Clock*) { return std::make_unique<DeploymentStrategy>(); }
std::unique_ptr<Strategy> NewReplicaSetStrategy(Clock*) { return std::make_unique<ReplicaSetStrategy>(); }
std::unique_ptr<Strategy> NewStatefulSetStrategy(Clock*) { return std::make_unique<StatefulSetStrategy>(); }
std::unique_ptr<Strategy> NewDaemonSetStrategy(Clock*) { return std::make_unique<DaemonSetStrategy>(); }

}  // namespace cattle::apiserver
