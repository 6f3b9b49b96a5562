// Tests for the per-kind strategies: Kubernetes' defaults, validation causes (field paths,
// types and messages as Kubernetes prints them), and the update rules (immutable selectors,
// the pod-spec update allow-list).
#include "apiserver/strategy.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <string>
#include <vector>

#include "apiserver/strategies.h"
#include "cattle/fake_clock.h"
#include "cattle/object.h"

namespace cattle::apiserver {
namespace {

using Causes = std::vector<StatusCause>;

class StrategyTest : public ::testing::Test {
 protected:
  StrategyTest() : table_(&clock_) {}

  Object Make(const Json& json) {
    auto r = Object::FromJson(KindRegistry::Default(), json);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return std::move(r).value();
  }
  const Strategy& For(const Object& obj) { return table_.For(*obj.kind()); }

  // What the registry does on create: PrepareForCreate, then Default.
  Object Create(const Json& json) {
    Object obj = Make(json);
    For(obj).PrepareForCreate(obj);
    For(obj).Default(obj);
    return obj;
  }
  Causes Validate(const Json& json) {
    Object obj = Create(json);
    return For(obj).Validate(obj);
  }
  // What the registry does on update: Default on the new object, then ValidateUpdate.
  Causes Update(const Object& old, const Json& json) {
    Object obj = Make(json);
    For(obj).Default(obj);
    return For(obj).ValidateUpdate(obj, old);
  }

  FakeClock clock_;
  StrategyTable table_;
};

std::string Render(const Causes& causes) {
  std::string s;
  for (const auto& c : causes) s += c.field + ": " + c.message + " [" + c.type + "]\n";
  return s;
}

// Whether `causes` has one with exactly this field and message.
bool Has(const Causes& causes, const std::string& field, const std::string& message) {
  for (const auto& c : causes)
    if (c.field == field && c.message == message) return true;
  return false;
}

#define EXPECT_CAUSE(causes, field, message) \
  EXPECT_TRUE(Has(causes, field, message)) << "want " << field << ": " << message << "\ngot:\n" << Render(causes)

Json Pod(const Json& spec) {
  return {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", "p"}, {"namespace", "default"}}},
          {"spec", spec}};
}

Json SimplePod(const std::string& image = "nginx") {
  return Pod({{"containers", {{{"name", "c"}, {"image", image}}}}});
}

Json Deployment(const Json& spec) {
  return {{"apiVersion", "apps/v1"}, {"kind", "Deployment"},
          {"metadata", {{"name", "d"}, {"namespace", "default"}}}, {"spec", spec}};
}

Json DeploymentSpec() {
  return {{"selector", {{"matchLabels", {{"app", "x"}}}}},
          {"template",
           {{"metadata", {{"labels", {{"app", "x"}}}}},
            {"spec", {{"containers", {{{"name", "c"}, {"image", "nginx:1.25"}}}}}}}}};
}

// --- field errors ---------------------------------------------------------------------------

TEST_F(StrategyTest, FieldErrorsUseKubernetesWording) {
  auto inv = FieldInvalid("spec.replicas", "-1", "must be greater than or equal to 0");
  EXPECT_EQ(inv.type, "FieldValueInvalid");
  EXPECT_EQ(inv.field, "spec.replicas");
  EXPECT_EQ(inv.message, "Invalid value: -1: must be greater than or equal to 0");
  EXPECT_EQ(FieldInvalid("metadata.name", "\"A\"", "bad").message, "Invalid value: \"A\": bad");

  EXPECT_EQ(FieldRequired("spec.containers").type, "FieldValueRequired");
  EXPECT_EQ(FieldRequired("spec.containers").message, "Required value");
  EXPECT_EQ(FieldRequired("x", "must be set").message, "Required value: must be set");

  auto ns = FieldNotSupported("spec.restartPolicy", "Sometimes", {"Always", "OnFailure", "Never"});
  EXPECT_EQ(ns.type, "FieldValueNotSupported");
  EXPECT_EQ(ns.message, "Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"");

  EXPECT_EQ(FieldForbidden("spec", "nope").type, "FieldValueForbidden");
  EXPECT_EQ(FieldForbidden("spec", "nope").message, "Forbidden: nope");
  EXPECT_EQ(FieldDuplicate("spec.containers[1].name", "a").type, "FieldValueDuplicate");
  EXPECT_EQ(FieldDuplicate("spec.containers[1].name", "a").message, "Duplicate value: \"a\"");
  EXPECT_EQ(FieldNotFound("x", "v").type, "FieldValueNotFound");
  EXPECT_EQ(FieldNotFound("x", "v").message, "Not found: \"v\"");
}

// --- table and generic strategy --------------------------------------------------------------

TEST_F(StrategyTest, TableFallsBackToGenericAndGenerationFollowsSpec) {
  Object cm = Make({{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "c"}}}});
  EXPECT_FALSE(For(cm).HasGeneration(cm));
  Object np = Make({{"apiVersion", "networking.k8s.io/v1"}, {"kind", "NetworkPolicy"},
                    {"metadata", {{"name", "n"}}}, {"spec", Json::object()}});
  EXPECT_TRUE(For(np).HasGeneration(np));
  EXPECT_TRUE(For(np).SelectableFields().empty());
  Object d = Make(Deployment(DeploymentSpec()));
  EXPECT_TRUE(For(d).HasGeneration(d));
  Object node = Make({{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", "n"}}}});
  EXPECT_FALSE(For(node).HasGeneration(node));
  EXPECT_EQ(For(node).SelectableFields(), std::vector<std::string>{"spec.unschedulable"});
}

TEST_F(StrategyTest, GenericPrepareForCreateResetsStatus) {
  Json d = Deployment(DeploymentSpec());
  d["status"] = {{"replicas", 5}, {"readyReplicas", 3}};
  Object obj = Create(d);
  EXPECT_EQ(obj.ToJson()["status"], Json::object());
}

TEST_F(StrategyTest, NodeKeepsStatusOnCreateAndDefaultsAllocatable) {
  Object node = Create({{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", "n"}}},
                        {"status", {{"capacity", {{"cpu", "4"}, {"pods", "110"}}}}}});
  Json j = node.ToJson();
  EXPECT_EQ(j["status"]["capacity"]["cpu"], "4");
  EXPECT_EQ(j["status"]["allocatable"]["pods"], "110");
}

// --- pods -----------------------------------------------------------------------------------

TEST_F(StrategyTest, PodDefaults) {
  Json pod = Pod({{"containers",
                   {{{"name", "c"},
                     {"image", "nginx"},
                     {"ports", {{{"containerPort", 80}}}},
                     {"livenessProbe", {{"httpGet", {{"port", 80}}}}},
                     {"volumeMounts", {{{"name", "cfg"}, {"mountPath", "/etc/cfg"}}}}}}},
                  {"volumes", {{{"name", "cfg"}, {"configMap", {{"name", "cm"}}}},
                               {{"name", "scratch"}}}}});
  Json j = Create(pod).ToJson();
  const Json& spec = j["spec"];
  EXPECT_EQ(spec["restartPolicy"], "Always");
  EXPECT_EQ(spec["terminationGracePeriodSeconds"], 30);
  EXPECT_EQ(spec["dnsPolicy"], "ClusterFirst");
  EXPECT_EQ(spec["schedulerName"], "default-scheduler");
  EXPECT_EQ(spec["securityContext"], Json::object());
  EXPECT_EQ(spec["enableServiceLinks"], true);
  EXPECT_EQ(spec["priority"], 0);
  EXPECT_EQ(spec["preemptionPolicy"], "PreemptLowerPriority");
  EXPECT_EQ(spec["serviceAccountName"], "default");
  const Json& c = spec["containers"][0];
  EXPECT_EQ(c["imagePullPolicy"], "Always");
  EXPECT_EQ(c["terminationMessagePath"], "/dev/termination-log");
  EXPECT_EQ(c["terminationMessagePolicy"], "File");
  EXPECT_EQ(c["ports"][0]["protocol"], "TCP");
  const Json& probe = c["livenessProbe"];
  EXPECT_EQ(probe["timeoutSeconds"], 1);
  EXPECT_EQ(probe["periodSeconds"], 10);
  EXPECT_EQ(probe["successThreshold"], 1);
  EXPECT_EQ(probe["failureThreshold"], 3);
  EXPECT_EQ(probe["httpGet"]["scheme"], "HTTP");
  EXPECT_EQ(probe["httpGet"]["path"], "/");
  EXPECT_EQ(spec["volumes"][0]["configMap"]["defaultMode"], 420);
  EXPECT_EQ(spec["volumes"][1]["emptyDir"], Json::object());
  EXPECT_EQ(j["status"]["phase"], "Pending");
  EXPECT_EQ(j["status"]["qosClass"], "BestEffort");
  // Defaulting does not materialise absent structs and lists.
  for (const char* absent : {"initContainers", "ephemeralContainers", "affinity", "nodeSelector", "overhead"})
    EXPECT_FALSE(spec.contains(absent)) << absent;
  EXPECT_FALSE(c.contains("resources"));
  EXPECT_FALSE(c.contains("env"));
}

TEST_F(StrategyTest, PodKeepsNodeNameAndUserValues) {
  Json pod = Pod({{"nodeName", "n1"},
                  {"restartPolicy", "Never"},
                  {"terminationGracePeriodSeconds", 0},
                  {"containers", {{{"name", "c"}, {"image", "nginx"}, {"imagePullPolicy", "Never"}}}}});
  Json spec = Create(pod).ToJson()["spec"];
  EXPECT_EQ(spec["nodeName"], "n1");
  EXPECT_EQ(spec["restartPolicy"], "Never");
  EXPECT_EQ(spec["terminationGracePeriodSeconds"], 0);
  EXPECT_EQ(spec["containers"][0]["imagePullPolicy"], "Never");
}

TEST_F(StrategyTest, PodImagePullPolicyFollowsTheTag) {
  EXPECT_EQ(DefaultPullPolicy("nginx"), "Always");
  EXPECT_EQ(DefaultPullPolicy("nginx:latest"), "Always");
  EXPECT_EQ(DefaultPullPolicy("nginx:1.25"), "IfNotPresent");
  EXPECT_EQ(DefaultPullPolicy("registry.k8s.io/pause:3.9"), "IfNotPresent");
  EXPECT_EQ(DefaultPullPolicy("localhost:5000/app"), "Always");
  EXPECT_EQ(DefaultPullPolicy("localhost:5000/app:v2"), "IfNotPresent");
  std::string digest = "sha256:" + std::string(64, 'a');
  EXPECT_EQ(DefaultPullPolicy("nginx@" + digest), "IfNotPresent");
  EXPECT_EQ(DefaultPullPolicy("nginx:latest@" + digest), "Always");
  EXPECT_EQ(DefaultPullPolicy("Nginx"), "IfNotPresent");  // unparseable: Kubernetes ignores the error
  Json spec = Create(SimplePod("busybox:1.36")).ToJson()["spec"];
  EXPECT_EQ(spec["containers"][0]["imagePullPolicy"], "IfNotPresent");
}

int CountTolerations(const Json& spec, const std::string& key) {
  int n = 0;
  for (const auto& t : spec["tolerations"])
    if (t.value("key", "") == key) ++n;
  return n;
}

TEST_F(StrategyTest, PodDefaultTolerationsAddedOnce) {
  Object pod = Create(SimplePod());
  For(pod).Default(pod);  // idempotent: a second pass (an update) adds nothing
  Json spec = pod.ToJson()["spec"];
  ASSERT_EQ(spec["tolerations"].size(), 2u);
  EXPECT_EQ(spec["tolerations"][0],
            (Json{{"key", "node.kubernetes.io/not-ready"}, {"operator", "Exists"},
                  {"effect", "NoExecute"}, {"tolerationSeconds", 300}}));
  EXPECT_EQ(spec["tolerations"][1],
            (Json{{"key", "node.kubernetes.io/unreachable"}, {"operator", "Exists"},
                  {"effect", "NoExecute"}, {"tolerationSeconds", 300}}));
}

TEST_F(StrategyTest, PodDefaultTolerationsRespectExistingOnes) {
  // Already tolerates not-ready with NoExecute: only unreachable is added.
  Json pod = SimplePod();
  pod["spec"]["tolerations"] = {{{"key", "node.kubernetes.io/not-ready"}, {"operator", "Exists"},
                                 {"effect", "NoExecute"}, {"tolerationSeconds", 10}}};
  Json spec = Create(pod).ToJson()["spec"];
  EXPECT_EQ(spec["tolerations"].size(), 2u);
  EXPECT_EQ(CountTolerations(spec, "node.kubernetes.io/not-ready"), 1);
  EXPECT_EQ(spec["tolerations"][0]["tolerationSeconds"], 10);
  EXPECT_EQ(CountTolerations(spec, "node.kubernetes.io/unreachable"), 1);

  // An empty key with Exists tolerates everything: nothing is added.
  pod["spec"]["tolerations"] = {{{"operator", "Exists"}}};
  spec = Create(pod).ToJson()["spec"];
  EXPECT_EQ(spec["tolerations"].size(), 1u);

  // A NoSchedule toleration of not-ready does not cover NoExecute.
  pod["spec"]["tolerations"] = {{{"key", "node.kubernetes.io/not-ready"}, {"operator", "Exists"},
                                 {"effect", "NoSchedule"}}};
  spec = Create(pod).ToJson()["spec"];
  EXPECT_EQ(spec["tolerations"].size(), 3u);
  EXPECT_EQ(CountTolerations(spec, "node.kubernetes.io/not-ready"), 2);
}

TEST_F(StrategyTest, PodRequestsDefaultToLimitsAndQosClass) {
  Json pod = SimplePod();
  pod["spec"]["containers"][0]["resources"] = {{"limits", {{"cpu", "1"}, {"memory", "1Gi"}}}};
  Json j = Create(pod).ToJson();
  EXPECT_EQ(j["spec"]["containers"][0]["resources"]["requests"], (Json{{"cpu", "1"}, {"memory", "1Gi"}}));
  EXPECT_EQ(j["status"]["qosClass"], "Guaranteed");

  pod["spec"]["containers"][0]["resources"] = {{"requests", {{"cpu", "100m"}}}};
  EXPECT_EQ(Create(pod).ToJson()["status"]["qosClass"], "Burstable");

  pod["spec"]["containers"][0]["resources"] = {{"limits", {{"cpu", "1"}, {"memory", "1Gi"}}},
                                               {"requests", {{"cpu", "500m"}}}};
  j = Create(pod).ToJson();
  EXPECT_EQ(j["spec"]["containers"][0]["resources"]["requests"], (Json{{"cpu", "500m"}, {"memory", "1Gi"}}));
  EXPECT_EQ(j["status"]["qosClass"], "Burstable");
}

TEST_F(StrategyTest, PodValidationCauses) {
  Causes c = Validate(Pod({{"containers", Json::array()}}));
  EXPECT_CAUSE(c, "spec.containers", "Required value");

  c = Validate(Pod({{"containers", {{{"name", "a"}}}}}));
  EXPECT_CAUSE(c, "spec.containers[0].image", "Required value");

  c = Validate(Pod({{"containers", {{{"name", "a"}, {"image", "x"}}, {{"name", "a"}, {"image", "y"}}}}}));
  EXPECT_CAUSE(c, "spec.containers[1].name", "Duplicate value: \"a\"");
  for (const auto& cause : c)
    if (cause.field == "spec.containers[1].name") {
      EXPECT_EQ(cause.type, "FieldValueDuplicate");
    }

  c = Validate(Pod({{"containers", {{{"name", "Bad_Name"}, {"image", "x"}}}}}));
  ASSERT_FALSE(c.empty());
  EXPECT_EQ(c[0].field, "spec.containers[0].name");
  EXPECT_EQ(c[0].message.rfind("Invalid value: \"Bad_Name\": a lowercase RFC 1123 label", 0), 0u) << c[0].message;

  Json pod = SimplePod();
  pod["spec"]["restartPolicy"] = "Sometimes";
  EXPECT_CAUSE(Validate(pod), "spec.restartPolicy",
               "Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"");

  pod = SimplePod();
  pod["spec"]["containers"][0]["ports"] = {{{"containerPort", 70000}}};
  EXPECT_CAUSE(Validate(pod), "spec.containers[0].ports[0].containerPort",
               "Invalid value: 70000: must be between 1 and 65535, inclusive");

  pod = SimplePod();
  pod["spec"]["containers"][0]["resources"] = {{"limits", {{"cpu", "1"}}}, {"requests", {{"cpu", "2"}}}};
  EXPECT_CAUSE(Validate(pod), "spec.containers[0].resources.requests",
               "Invalid value: \"2\": must be less than or equal to cpu limit of 1");

  pod = SimplePod();
  pod["spec"]["containers"][0]["resources"] = {{"requests", {{"cpu", "-1"}}}};
  EXPECT_CAUSE(Validate(pod), "spec.containers[0].resources.requests[cpu]",
               "Invalid value: \"-1\": must be greater than or equal to 0");

  pod = SimplePod();
  pod["spec"]["containers"][0]["volumeMounts"] = {{{"name", "x"}, {"mountPath", "/x"}}};
  c = Validate(pod);
  EXPECT_CAUSE(c, "spec.containers[0].volumeMounts[0].name", "Not found: \"x\"");

  pod = SimplePod();
  pod["spec"]["volumes"] = {{{"name", "v"}, {"emptyDir", Json::object()}},
                            {{"name", "v"}, {"emptyDir", Json::object()}}};
  EXPECT_CAUSE(Validate(pod), "spec.volumes[1].name", "Duplicate value: \"v\"");

  pod = SimplePod();
  pod["spec"]["containers"][0]["livenessProbe"] = {{"exec", {{"command", {"true"}}}}, {"successThreshold", 2}};
  EXPECT_CAUSE(Validate(pod), "spec.containers[0].livenessProbe.successThreshold", "Invalid value: 2: must be 1");

  pod = SimplePod();
  pod["spec"]["containers"][0]["readinessProbe"] = {{"tcpSocket", {{"port", 8080}}}, {"successThreshold", 2}};
  EXPECT_TRUE(Validate(pod).empty()) << Render(Validate(pod));

  pod = SimplePod();
  pod["spec"]["tolerations"] = {{{"key", "k"}, {"operator", "Exists"}, {"value", "v"}},
                                {{"key", "k"}, {"operator", "Equal"}, {"value", "v"}, {"effect", "NoSchedule"},
                                 {"tolerationSeconds", 5}},
                                {{"key", "k"}, {"effect", "Sometimes"}}};
  c = Validate(pod);
  EXPECT_CAUSE(c, "spec.tolerations[0].operator", "Invalid value: \"v\": value must be empty when `operator` is 'Exists'");
  EXPECT_CAUSE(c, "spec.tolerations[1].effect",
               "Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set");
  EXPECT_CAUSE(c, "spec.tolerations[2].effect",
               "Unsupported value: \"Sometimes\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"");

  pod = SimplePod();
  pod["spec"]["nodeSelector"] = {{"disk", "not valid!"}};
  c = Validate(pod);
  ASSERT_EQ(c.size(), 1u) << Render(c);
  EXPECT_EQ(c[0].field, "spec.nodeSelector");
  EXPECT_EQ(c[0].message.rfind("Invalid value: \"not valid!\": a valid label must be", 0), 0u) << c[0].message;

  EXPECT_TRUE(Validate(SimplePod()).empty()) << Render(Validate(SimplePod()));
}

TEST_F(StrategyTest, PodUpdateRules) {
  Object old = Create(SimplePod("nginx:1.24"));
  ASSERT_TRUE(For(old).Validate(old).empty());
  Json base = old.ToJson();

  Json j = base;
  j["spec"]["containers"][0]["image"] = "nginx:1.25";
  EXPECT_TRUE(Update(old, j).empty()) << Render(Update(old, j));

  j = base;
  j["spec"]["restartPolicy"] = "Never";
  Causes c = Update(old, j);
  ASSERT_EQ(c.size(), 1u) << Render(c);
  EXPECT_EQ(c[0].field, "spec");
  EXPECT_EQ(c[0].type, "FieldValueForbidden");
  EXPECT_EQ(c[0].message,
            "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
            "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only "
            "additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be "
            "set to 1 if it was previously negative)");

  j = base;
  j["spec"]["nodeName"] = "other";
  EXPECT_CAUSE(Update(old, j), "spec", c[0].message);

  j = base;
  j["spec"]["tolerations"].push_back({{"key", "extra"}, {"operator", "Exists"}});
  EXPECT_TRUE(Update(old, j).empty()) << Render(Update(old, j));

  // Changing a toleration is not an addition (a changed default one would simply be added
  // back by the admission defaults, as in Kubernetes, so change a user's one).
  Json user = SimplePod("nginx:1.24");
  user["spec"]["tolerations"] = {{{"key", "dedicated"}, {"operator", "Equal"}, {"value", "a"}}};
  Object old_user = Create(user);
  j = old_user.ToJson();
  j["spec"]["tolerations"][0]["value"] = "b";
  EXPECT_CAUSE(Update(old_user, j), "spec.tolerations",
               "Forbidden: existing toleration can not be modified except its tolerationSeconds");
  j = old_user.ToJson();
  j["spec"]["tolerations"][1]["tolerationSeconds"] = 60;  // not-ready: seconds may change
  EXPECT_TRUE(Update(old_user, j).empty()) << Render(Update(old_user, j));

  j = base;
  j["spec"]["activeDeadlineSeconds"] = 100;
  EXPECT_TRUE(Update(old, j).empty()) << Render(Update(old, j));
  Object with_deadline = Make(j);
  For(with_deadline).Default(with_deadline);
  j["spec"]["activeDeadlineSeconds"] = 200;
  EXPECT_CAUSE(Update(with_deadline, j), "spec.activeDeadlineSeconds",
               "Invalid value: 200: must be less than or equal to previous value");

  j = base;
  j["spec"]["containers"].push_back({{"name", "d"}, {"image", "x"}});
  EXPECT_CAUSE(Update(old, j), "spec.containers", "Forbidden: pod updates may not add or remove containers");

  // Fields the client omits come back from the defaults: not a change.
  j = base;
  j["spec"].erase("enableServiceLinks");
  j["spec"].erase("tolerations");
  j["spec"]["containers"][0].erase("terminationMessagePath");
  EXPECT_TRUE(Update(old, j).empty()) << Render(Update(old, j));
}

TEST_F(StrategyTest, PodSelectableFields) {
  Object pod = Make(SimplePod());
  auto fields = For(pod).SelectableFields();
  for (const char* f : {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
                        "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"})
    EXPECT_NE(std::find(fields.begin(), fields.end(), f), fields.end()) << f;
}

// --- apps ------------------------------------------------------------------------------------

TEST_F(StrategyTest, DeploymentDefaults) {
  Json j = Create(Deployment(DeploymentSpec())).ToJson();
  const Json& spec = j["spec"];
  EXPECT_EQ(spec["replicas"], 1);
  EXPECT_EQ(spec["strategy"]["type"], "RollingUpdate");
  EXPECT_EQ(spec["strategy"]["rollingUpdate"]["maxSurge"], "25%");
  EXPECT_EQ(spec["strategy"]["rollingUpdate"]["maxUnavailable"], "25%");
  EXPECT_EQ(spec["revisionHistoryLimit"], 10);
  EXPECT_EQ(spec["progressDeadlineSeconds"], 600);
  const Json& pod = spec["template"]["spec"];
  EXPECT_EQ(pod["restartPolicy"], "Always");
  EXPECT_EQ(pod["terminationGracePeriodSeconds"], 30);
  EXPECT_EQ(pod["containers"][0]["imagePullPolicy"], "IfNotPresent");
  // Pod-only defaults and admission stay out of templates.
  EXPECT_FALSE(pod.contains("tolerations"));
  EXPECT_FALSE(pod.contains("enableServiceLinks"));
  EXPECT_FALSE(pod.contains("priority"));

  Json zero = Deployment(DeploymentSpec());
  zero["spec"]["replicas"] = 0;
  EXPECT_EQ(Create(zero).ToJson()["spec"]["replicas"], 0);

  Json recreate = Deployment(DeploymentSpec());
  recreate["spec"]["strategy"] = {{"type", "Recreate"}};
  Json rs = Create(recreate).ToJson()["spec"]["strategy"];
  EXPECT_EQ(rs, (Json{{"type", "Recreate"}}));

  Json partial = Deployment(DeploymentSpec());
  partial["spec"]["strategy"] = {{"rollingUpdate", {{"maxSurge", 2}}}};
  Json ps = Create(partial).ToJson()["spec"]["strategy"];
  EXPECT_EQ(ps["rollingUpdate"]["maxSurge"], 2);
  EXPECT_EQ(ps["rollingUpdate"]["maxUnavailable"], "25%");
}

TEST_F(StrategyTest, DeploymentValidationCauses) {
  EXPECT_TRUE(Validate(Deployment(DeploymentSpec())).empty()) << Render(Validate(Deployment(DeploymentSpec())));

  Json d = Deployment(DeploymentSpec());
  d["spec"].erase("selector");
  Causes c = Validate(d);
  EXPECT_CAUSE(c, "spec.selector", "Required value");
  EXPECT_CAUSE(c, "spec.template.metadata.labels",
               "Invalid value: map[string]string{\"app\":\"x\"}: `selector` does not match template `labels`");

  d = Deployment(DeploymentSpec());
  d["spec"]["selector"] = {{"matchLabels", {{"app", "y"}}}};
  EXPECT_CAUSE(Validate(d), "spec.template.metadata.labels",
               "Invalid value: map[string]string{\"app\":\"x\"}: `selector` does not match template `labels`");

  d = Deployment(DeploymentSpec());
  d["spec"]["selector"] = Json::object();
  EXPECT_CAUSE(Validate(d), "spec.selector",
               "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
               "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment");

  d = Deployment(DeploymentSpec());
  d["spec"]["replicas"] = -1;
  EXPECT_CAUSE(Validate(d), "spec.replicas", "Invalid value: -1: must be greater than or equal to 0");

  d = Deployment(DeploymentSpec());
  d["spec"]["strategy"] = {{"rollingUpdate", {{"maxSurge", 0}, {"maxUnavailable", "0%"}}}};
  EXPECT_CAUSE(Validate(d), "spec.strategy.rollingUpdate.maxUnavailable",
               "Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"0%\"}: may not be 0 when `maxSurge` is 0");

  d = Deployment(DeploymentSpec());
  d["spec"]["strategy"] = {{"rollingUpdate", {{"maxSurge", "abc"}, {"maxUnavailable", "150%"}}}};
  c = Validate(d);
  EXPECT_CAUSE(c, "spec.strategy.rollingUpdate.maxSurge",
               "Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"abc\"}: a valid percent string must "
               "be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation "
               "is '[0-9]+%')");
  EXPECT_CAUSE(c, "spec.strategy.rollingUpdate.maxUnavailable",
               "Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"150%\"}: must not be greater than 100%");

  d = Deployment(DeploymentSpec());
  d["spec"]["template"]["spec"]["restartPolicy"] = "Never";
  EXPECT_CAUSE(Validate(d), "spec.template.spec.restartPolicy",
               "Unsupported value: \"Never\": supported values: \"Always\"");

  d = Deployment(DeploymentSpec());
  d["spec"]["template"]["spec"]["containers"][0].erase("image");
  EXPECT_CAUSE(Validate(d), "spec.template.spec.containers[0].image", "Required value");
}

TEST_F(StrategyTest, DeploymentSelectorIsImmutable) {
  Object old = Create(Deployment(DeploymentSpec()));
  Json j = old.ToJson();
  j["spec"]["replicas"] = 3;
  j["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26";
  EXPECT_TRUE(Update(old, j).empty()) << Render(Update(old, j));

  j = old.ToJson();
  j["spec"]["selector"]["matchLabels"]["tier"] = "web";
  j["spec"]["template"]["metadata"]["labels"]["tier"] = "web";
  Causes c = Update(old, j);
  ASSERT_EQ(c.size(), 1u) << Render(c);
  EXPECT_EQ(c[0].field, "spec.selector");
  EXPECT_EQ(c[0].type, "FieldValueInvalid");
  EXPECT_EQ(c[0].message,
            "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"x\", \"tier\":\"web\"}, "
            "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable");
}

Json ReplicaSet(const Json& spec) {
  return {{"apiVersion", "apps/v1"}, {"kind", "ReplicaSet"},
          {"metadata", {{"name", "r"}, {"namespace", "default"}}}, {"spec", spec}};
}

TEST_F(StrategyTest, ReplicaSetDefaultsValidationAndSelector) {
  Object rs = Create(ReplicaSet(DeploymentSpec()));
  EXPECT_EQ(rs.ToJson()["spec"]["replicas"], 1);
  EXPECT_TRUE(For(rs).Validate(rs).empty()) << Render(For(rs).Validate(rs));
  EXPECT_EQ(For(rs).SelectableFields(), std::vector<std::string>{"status.replicas"});

  Json j = rs.ToJson();
  j["spec"]["selector"] = {{"matchExpressions", {{{"key", "app"}, {"operator", "In"}, {"values", {"x"}}}}}};
  Causes c = Update(rs, j);
  EXPECT_CAUSE(c, "spec.selector",
               "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:"
               "[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:\"app\", Operator:\"In\", "
               "Values:[]string{\"x\"}}}}: field is immutable");

  Json bad = ReplicaSet(DeploymentSpec());
  bad["spec"]["selector"] = {{"matchExpressions", {{{"key", "app"}, {"operator", "Near"}}}}};
  c = Validate(bad);
  EXPECT_CAUSE(c, "spec.selector.matchExpressions[0].operator", "Invalid value: \"Near\": not a valid selector operator");
}

TEST_F(StrategyTest, StatefulSetDefaultsAndUpdateRules) {
  Json sts = {{"apiVersion", "apps/v1"}, {"kind", "StatefulSet"},
              {"metadata", {{"name", "s"}, {"namespace", "default"}}}, {"spec", DeploymentSpec()}};
  sts["spec"]["serviceName"] = "svc";
  sts["spec"]["volumeClaimTemplates"] = {{{"metadata", {{"name", "data"}}},
                                          {"spec", {{"accessModes", {"ReadWriteOnce"}}}}}};
  Object obj = Create(sts);
  Json spec = obj.ToJson()["spec"];
  EXPECT_EQ(spec["replicas"], 1);
  EXPECT_EQ(spec["podManagementPolicy"], "OrderedReady");
  EXPECT_EQ(spec["updateStrategy"], (Json{{"type", "RollingUpdate"}, {"rollingUpdate", {{"partition", 0}}}}));
  EXPECT_EQ(spec["revisionHistoryLimit"], 10);
  EXPECT_EQ(spec["persistentVolumeClaimRetentionPolicy"],
            (Json{{"whenDeleted", "Retain"}, {"whenScaled", "Retain"}}));
  EXPECT_EQ(spec["volumeClaimTemplates"][0]["spec"]["volumeMode"], "Filesystem");
  EXPECT_EQ(spec["volumeClaimTemplates"][0]["status"]["phase"], "Pending");
  EXPECT_TRUE(For(obj).Validate(obj).empty()) << Render(For(obj).Validate(obj));

  Json j = obj.ToJson();
  j["spec"]["replicas"] = 5;
  j["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2";
  EXPECT_TRUE(Update(obj, j).empty()) << Render(Update(obj, j));

  j = obj.ToJson();
  j["spec"]["serviceName"] = "other";
  EXPECT_CAUSE(Update(obj, j), "spec",
               "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
               "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden");
}

TEST_F(StrategyTest, DaemonSetDefaultsAndSelector) {
  Json ds = {{"apiVersion", "apps/v1"}, {"kind", "DaemonSet"},
             {"metadata", {{"name", "ds"}, {"namespace", "default"}}}, {"spec", DeploymentSpec()}};
  Object obj = Create(ds);
  Json spec = obj.ToJson()["spec"];
  EXPECT_EQ(spec["updateStrategy"],
            (Json{{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxUnavailable", 1}, {"maxSurge", 0}}}}));
  EXPECT_EQ(spec["revisionHistoryLimit"], 10);
  EXPECT_TRUE(For(obj).Validate(obj).empty()) << Render(For(obj).Validate(obj));
  Json j = obj.ToJson();
  j["spec"]["selector"]["matchLabels"]["app"] = "y";
  j["spec"]["template"]["metadata"]["labels"]["app"] = "y";
  EXPECT_CAUSE(Update(obj, j), "spec.selector",
               "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"y\"}, "
               "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable");
}

// --- core ------------------------------------------------------------------------------------

Json Service(const Json& spec) {
  return {{"apiVersion", "v1"}, {"kind", "Service"}, {"metadata", {{"name", "web"}, {"namespace", "default"}}},
          {"spec", spec}};
}

TEST_F(StrategyTest, ServiceDefaultsAndValidation) {
  Object svc = Create(Service({{"selector", {{"app", "x"}}}, {"ports", {{{"port", 80}}}}}));
  Json j = svc.ToJson();
  EXPECT_EQ(j["spec"]["type"], "ClusterIP");
  EXPECT_EQ(j["spec"]["sessionAffinity"], "None");
  EXPECT_EQ(j["spec"]["ports"][0]["protocol"], "TCP");
  EXPECT_EQ(j["spec"]["ports"][0]["targetPort"], 80);
  EXPECT_EQ(j["spec"]["ipFamilies"], Json::array({"IPv4"}));
  EXPECT_EQ(j["spec"]["ipFamilyPolicy"], "SingleStack");
  EXPECT_EQ(j["spec"]["internalTrafficPolicy"], "Cluster");
  EXPECT_FALSE(j["spec"].contains("clusterIP"));
  EXPECT_FALSE(j["spec"].contains("sessionAffinityConfig"));
  Object headless = Create(Service({{"clusterIP", "None"}, {"ports", {{{"port", 80}}}}}));
  EXPECT_FALSE(headless.ToJson()["spec"].contains("selector"));
  EXPECT_EQ(headless.ToJson()["spec"]["ipFamilyPolicy"], "RequireDualStack");
  EXPECT_EQ(j["status"], (Json{{"loadBalancer", Json::object()}}));
  EXPECT_TRUE(For(svc).NameIsLabel());
  EXPECT_FALSE(For(svc).HasGeneration(svc));
  EXPECT_TRUE(For(svc).Validate(svc).empty()) << Render(For(svc).Validate(svc));

  Object named = Create(Service({{"ports", {{{"port", 80}, {"targetPort", "http"}}}}}));
  EXPECT_EQ(named.ToJson()["spec"]["ports"][0]["targetPort"], "http");

  Causes c = Validate(Service({{"ports", {{{"port", 80}}, {{"port", 0}, {"name", "b"}}}}}));
  EXPECT_CAUSE(c, "spec.ports[0].name", "Required value");
  EXPECT_CAUSE(c, "spec.ports[1].port", "Invalid value: 0: must be between 1 and 65535, inclusive");

  c = Validate(Service({{"ports", {{{"port", 80}, {"name", "a"}}, {{"port", 81}, {"name", "a"}}}}}));
  EXPECT_CAUSE(c, "spec.ports[1].name", "Duplicate value: \"a\"");

  Json digit = Service({{"ports", {{{"port", 80}}}}});
  digit["metadata"]["name"] = "1web";  // an RFC 1123 label, but not a DNS-1035 one
  c = Validate(digit);
  ASSERT_EQ(c.size(), 1u) << Render(c);
  EXPECT_EQ(c[0].field, "metadata.name");
  EXPECT_EQ(c[0].message.rfind("Invalid value: \"1web\": a DNS-1035 label must consist of", 0), 0u) << c[0].message;

  c = Validate(Service({{"ports", {{{"port", 80}, {"protocol", "ICMP"}}}}}));
  EXPECT_CAUSE(c, "spec.ports[0].protocol", "Unsupported value: \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\"");
}

TEST_F(StrategyTest, NamespaceCreate) {
  Object ns = Create({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "team-a"}}}});
  Json j = ns.ToJson();
  EXPECT_EQ(j["metadata"]["labels"]["kubernetes.io/metadata.name"], "team-a");
  EXPECT_EQ(j["spec"]["finalizers"], Json::array({"kubernetes"}));
  EXPECT_EQ(j["status"]["phase"], "Active");
  EXPECT_TRUE(For(ns).NameIsLabel());
  EXPECT_EQ(For(ns).SelectableFields(), std::vector<std::string>{"status.phase"});
  // The finalizer is added once, on create; Default (every write) leaves it alone.
  For(ns).PrepareForCreate(ns);
  For(ns).Default(ns);
  EXPECT_EQ(ns.ToJson()["spec"]["finalizers"].size(), 1u);
  Json removed = ns.ToJson();
  removed["spec"]["finalizers"] = Json::array();
  Object updated = Make(removed);
  For(updated).Default(updated);
  EXPECT_EQ(updated.ToJson()["spec"].value("finalizers", Json::array()).size(), 0u);
}

TEST_F(StrategyTest, SecretDefaults) {
  Object s = Create({{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", "s"}, {"namespace", "default"}}},
                     {"stringData", {{"user", "admin"}}}});
  Json j = s.ToJson();
  EXPECT_EQ(j["type"], "Opaque");
  EXPECT_EQ(j["data"]["user"], "YWRtaW4=");
  EXPECT_FALSE(j.contains("stringData"));
  EXPECT_EQ(For(s).SelectableFields(), std::vector<std::string>{"type"});

  Json changed = j;
  changed["type"] = "kubernetes.io/tls";
  EXPECT_CAUSE(Update(s, changed), "type", "Invalid value: \"kubernetes.io/tls\": field is immutable");
}

TEST_F(StrategyTest, VolumesAndClaimsStartPending) {
  Object pv = Create({{"apiVersion", "v1"}, {"kind", "PersistentVolume"}, {"metadata", {{"name", "pv"}}},
                      {"spec", {{"capacity", {{"storage", "1Gi"}}}, {"hostPath", {{"path", "/data"}}}}}});
  Json j = pv.ToJson();
  EXPECT_EQ(j["status"]["phase"], "Pending");
  EXPECT_TRUE(j["status"].contains("lastPhaseTransitionTime"));
  EXPECT_EQ(j["spec"]["persistentVolumeReclaimPolicy"], "Retain");
  EXPECT_EQ(j["spec"]["volumeMode"], "Filesystem");
  EXPECT_EQ(j["spec"]["hostPath"]["type"], "");
  EXPECT_FALSE(For(pv).HasGeneration(pv));
  Object pvc = Create({{"apiVersion", "v1"}, {"kind", "PersistentVolumeClaim"},
                       {"metadata", {{"name", "c"}, {"namespace", "default"}}},
                       {"spec", {{"accessModes", {"ReadWriteOnce"}}}}});
  EXPECT_EQ(pvc.ToJson()["status"]["phase"], "Pending");
  EXPECT_EQ(pvc.ToJson()["spec"]["volumeMode"], "Filesystem");
}

TEST_F(StrategyTest, EventSelectableFieldsAndNoGeneration) {
  Object ev = Make({{"apiVersion", "v1"}, {"kind", "Event"}, {"metadata", {{"name", "e"}, {"namespace", "default"}}}});
  EXPECT_FALSE(For(ev).HasGeneration(ev));
  auto fields = For(ev).SelectableFields();
  EXPECT_EQ(fields.size(), 11u);
  EXPECT_NE(std::find(fields.begin(), fields.end(), "involvedObject.name"), fields.end());
  EXPECT_NE(std::find(fields.begin(), fields.end(), "reportingComponent"), fields.end());
}

TEST_F(StrategyTest, PodDisruptionBudgetMinAndMaxExclusive) {
  Json pdb = {{"apiVersion", "policy/v1"}, {"kind", "PodDisruptionBudget"},
              {"metadata", {{"name", "b"}, {"namespace", "default"}}},
              {"spec", {{"minAvailable", 1}, {"maxUnavailable", "50%"}, {"selector", {{"matchLabels", {{"app", "x"}}}}}}}};
  Causes c = Validate(pdb);
  ASSERT_EQ(c.size(), 1u) << Render(c);
  EXPECT_EQ(c[0].field, "spec");
  EXPECT_NE(c[0].message.find("minAvailable and maxUnavailable cannot be both set"), std::string::npos);
  pdb["spec"].erase("maxUnavailable");
  EXPECT_TRUE(Validate(pdb).empty()) << Render(Validate(pdb));
}

}  // namespace
}  // namespace cattle::apiserver
