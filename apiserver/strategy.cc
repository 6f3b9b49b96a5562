// StrategyTable, the generic Strategy, Kubernetes' field-error constructors, and the
// validation/rendering helpers the per-kind strategies share (declared in strategies.h).
#include "apiserver/strategy.h"

#include <capnp/serialize.h>

#include <algorithm>
#include <cstdlib>

#include "apiserver/strategies.h"
#include "cattle/codec.h"
#include "cattle/validation.h"

namespace cattle::apiserver {

// --- generic strategy ---------------------------------------------------------------------

void Strategy::PrepareForCreate(Object& obj) const {
  // Kubernetes' strategies reset status on create (`obj.Status = XStatus{}`); as status is
  // a value struct in Go it is still written ("status": {}), so start from an empty one.
  KJ_IF_MAYBE(field, obj.kind()->schema.findFieldByName("status")) {
    auto root = obj.root();
    if (root.has(*field)) root.clear(*field);
    if (field->getType().isStruct()) root.init(*field);
  }
}

bool Strategy::HasGeneration(const Object& obj) const {
  return obj.kind()->schema.findFieldByName("spec") != nullptr;
}

StrategyTable::StrategyTable(Clock* clock) {
  by_kind_["Pod"] = NewPodStrategy(clock);
  by_kind_["Deployment"] = NewDeploymentStrategy(clock);
  by_kind_["ReplicaSet"] = NewReplicaSetStrategy(clock);
  by_kind_["StatefulSet"] = NewStatefulSetStrategy(clock);
  by_kind_["DaemonSet"] = NewDaemonSetStrategy(clock);
  by_kind_["Service"] = NewServiceStrategy(clock);
  by_kind_["Namespace"] = NewNamespaceStrategy(clock);
  by_kind_["Node"] = NewNodeStrategy(clock);
  by_kind_["Event"] = NewEventStrategy(clock);
  by_kind_["Secret"] = NewSecretStrategy(clock);
  by_kind_["ConfigMap"] = NewConfigMapStrategy(clock);
  by_kind_["Endpoints"] = NewEndpointsStrategy(clock);
  by_kind_["EndpointSlice"] = NewEndpointSliceStrategy(clock);
  by_kind_["PersistentVolume"] = NewPersistentVolumeStrategy(clock);
  by_kind_["PersistentVolumeClaim"] = NewPersistentVolumeClaimStrategy(clock);
  by_kind_["PodDisruptionBudget"] = NewPodDisruptionBudgetStrategy(clock);
  by_kind_["Lease"] = NewLeaseStrategy(clock);
}

const Strategy& StrategyTable::For(const KindInfo& kind) const {
  auto it = by_kind_.find(kind.kind);
  return it == by_kind_.end() ? generic_ : *it->second;
}

// --- field errors -------------------------------------------------------------------------

namespace {

std::string QuotedList(const std::vector<std::string>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ", ";
    out += GoQuote(values[i]);
  }
  return out;
}

}  // namespace

StatusCause FieldInvalid(const std::string& field, const std::string& value,
                         const std::string& detail) {
  std::string msg = "Invalid value: " + value;
  if (!detail.empty()) msg += ": " + detail;
  return {"FieldValueInvalid", msg, field};
}

StatusCause FieldRequired(const std::string& field, const std::string& detail) {
  std::string msg = "Required value";
  if (!detail.empty()) msg += ": " + detail;
  return {"FieldValueRequired", msg, field};
}

StatusCause FieldNotSupported(const std::string& field, const std::string& value,
                              const std::vector<std::string>& supported) {
  return FieldNotSupportedRendered(field, GoQuote(value), supported);
}

StatusCause FieldNotSupportedRendered(const std::string& field, const std::string& rendered,
                                      const std::vector<std::string>& supported) {
  std::string msg = "Unsupported value: " + rendered;
  if (!supported.empty()) msg += ": supported values: " + QuotedList(supported);
  return {"FieldValueNotSupported", msg, field};
}

StatusCause FieldForbidden(const std::string& field, const std::string& detail) {
  std::string msg = "Forbidden";
  if (!detail.empty()) msg += ": " + detail;
  return {"FieldValueForbidden", msg, field};
}

StatusCause FieldDuplicate(const std::string& field, const std::string& value) {
  return FieldDuplicateRendered(field, GoQuote(value));
}

StatusCause FieldDuplicateRendered(const std::string& field, const std::string& rendered) {
  return {"FieldValueDuplicate", "Duplicate value: " + rendered, field};
}

StatusCause FieldNotFound(const std::string& field, const std::string& value) {
  return {"FieldValueNotFound", "Not found: " + GoQuote(value), field};
}

// --- shared helpers ---------------------------------------------------------------------

std::string Idx(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

std::string Key(const std::string& path, const std::string& key) {
  return path + "[" + key + "]";
}

void ValidateNonnegative(int64_t value, const std::string& path, Causes* out) {
  if (value < 0)
    out->push_back(FieldInvalid(path, std::to_string(value), "must be greater than or equal to 0"));
}

void ValidateLabelMap(api::StringMap::Reader labels, const std::string& path, Causes* out) {
  for (const auto& [k, v] : ToStdMap(labels)) {
    for (const auto& msg : QualifiedNameErrors(k)) out->push_back(FieldInvalid(path, GoQuote(k), msg));
    for (const auto& msg : LabelValueErrors(v)) out->push_back(FieldInvalid(path, GoQuote(v), msg));
  }
}

void ValidateLabelSelector(api::LabelSelector::Reader selector, const std::string& path,
                           Causes* out) {
  ValidateLabelMap(selector.getMatchLabels(), path + ".matchLabels", out);
  auto exprs = selector.getMatchExpressions();
  for (size_t i = 0; i < exprs.size(); ++i) {
    auto e = exprs[i];
    std::string p = Idx(path + ".matchExpressions", i);
    std::string op = e.getOperator().cStr();
    if (op == "In" || op == "NotIn") {
      if (e.getValues().size() == 0)
        out->push_back(FieldRequired(p + ".values", "must be specified when `operator` is 'In' or 'NotIn'"));
    } else if (op == "Exists" || op == "DoesNotExist") {
      if (e.getValues().size() > 0)
        out->push_back(FieldForbidden(p + ".values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
    } else {
      out->push_back(FieldInvalid(p + ".operator", GoQuote(op), "not a valid selector operator"));
    }
    std::string key = e.getKey().cStr();
    for (const auto& msg : QualifiedNameErrors(key))
      out->push_back(FieldInvalid(p + ".key", GoQuote(key), msg));
    auto values = e.getValues();
    for (size_t j = 0; j < values.size(); ++j) {
      std::string v = values[j].cStr();
      for (const auto& msg : LabelValueErrors(v))
        out->push_back(FieldInvalid(Idx(p + ".values", j), GoQuote(v), msg));
    }
  }
}

bool LabelSelectorConvertible(api::LabelSelector::Reader selector) {
  Causes causes;
  ValidateLabelSelector(selector, "", &causes);
  return causes.empty();
}

bool LabelSelectorEmpty(api::LabelSelector::Reader selector) {
  return selector.getMatchLabels().getEntries().size() == 0 &&
         selector.getMatchExpressions().size() == 0;
}

bool LabelSelectorMatches(api::LabelSelector::Reader selector,
                          const std::map<std::string, std::string>& labels) {
  for (auto e : selector.getMatchLabels().getEntries()) {
    auto it = labels.find(e.getKey().cStr());
    if (it == labels.end() || it->second != e.getValue().cStr()) return false;
  }
  for (auto e : selector.getMatchExpressions()) {
    std::string op = e.getOperator().cStr();
    auto it = labels.find(e.getKey().cStr());
    bool in_values = false;
    if (it != labels.end()) {
      for (auto v : e.getValues()) in_values |= (it->second == v.cStr());
    }
    if (op == "In") {
      if (!in_values) return false;
    } else if (op == "NotIn") {
      if (in_values) return false;
    } else if (op == "Exists") {
      if (it == labels.end()) return false;
    } else if (op == "DoesNotExist") {
      if (it != labels.end()) return false;
    } else {
      return false;
    }
  }
  return true;
}

namespace {

bool IsValidPercent(const std::string& s) {
  if (s.size() < 2 || s.back() != '%') return false;
  for (size_t i = 0; i + 1 < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

// Go's strconv.Atoi, 0 on failure (as intstr.IntValue ignores the error).
int Atoi(const std::string& s) {
  if (s.empty()) return 0;
  size_t i = 0;
  bool neg = false;
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    i = 1;
    if (s.size() == 1) return 0;
  }
  long long v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return 0;
    v = v * 10 + (s[i] - '0');
    if (v > (1ll << 40)) return 0;
  }
  return static_cast<int>(neg ? -v : v);
}

}  // namespace

int IntOrPercentValue(api::IntOrString::Reader v) {
  if (v.isInt()) return v.getInt();
  std::string s = v.getStr().cStr();
  if (IsValidPercent(s)) return Atoi(s.substr(0, s.size() - 1));
  return Atoi(s);
}

void ValidatePositiveIntOrPercent(api::IntOrString::Reader v, const std::string& path,
                                  Causes* out) {
  if (v.isStr()) {
    if (!IsValidPercent(v.getStr().cStr()))
      out->push_back(FieldInvalid(path, GoIntOrString(v),
                                  "a valid percent string must be a numeric string followed by an "
                                  "ending '%' (e.g. '1%',  or '93%', regex used for validation is "
                                  "'[0-9]+%')"));
  } else {
    ValidateNonnegative(v.getInt(), path, out);
  }
}

void ValidateNotMoreThan100Percent(api::IntOrString::Reader v, const std::string& path,
                                   Causes* out) {
  if (!v.isStr()) return;
  std::string s = v.getStr().cStr();
  if (!IsValidPercent(s)) return;
  if (Atoi(s.substr(0, s.size() - 1)) > 100 || s.size() > 12)
    out->push_back(FieldInvalid(path, GoIntOrString(v), "must not be greater than 100%"));
}

std::vector<std::string> PortNumErrors(int64_t port) {
  if (port >= 1 && port <= 65535) return {};
  return {"must be between 1 and 65535, inclusive"};
}

std::vector<std::string> PortNameErrors(const std::string& port) {
  std::vector<std::string> errs;
  if (port.size() > 15) errs.push_back("must be no more than 15 characters");
  bool charset = !port.empty(), letter = false;
  for (char c : port) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) charset = false;
    if (c >= 'a' && c <= 'z') letter = true;
  }
  if (!charset)
    errs.push_back("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  if (!letter) errs.push_back("must contain at least one letter (a-z)");
  if (port.find("--") != std::string::npos) errs.push_back("must not contain consecutive hyphens");
  if (!port.empty() && (port.front() == '-' || port.back() == '-'))
    errs.push_back("must not begin or end with a hyphen");
  return errs;
}

void ValidatePortNumOrName(api::IntOrString::Reader port, const std::string& path,
                           Causes* out) {
  if (port.isInt()) {
    for (const auto& msg : PortNumErrors(port.getInt()))
      out->push_back(FieldInvalid(path, std::to_string(port.getInt()), msg));
  } else {
    std::string s = port.getStr().cStr();
    for (const auto& msg : PortNameErrors(s)) out->push_back(FieldInvalid(path, GoQuote(s), msg));
  }
}

std::vector<std::string> ConfigMapKeyErrors(const std::string& key) {
  std::vector<std::string> errs;
  if (key.size() > 253) errs.push_back("must be no more than 253 characters");
  bool ok = !key.empty();
  for (char c : key) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '-' || c == '.' || c == '_'))
      ok = false;
  }
  if (!ok)
    errs.push_back(
        "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "
        "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "
        "'[-._a-zA-Z0-9]+')");
  if (key == ".") {
    errs.push_back("must not be '.'");
  } else if (key == "..") {
    errs.push_back("must not be '..'");
  } else if (key.rfind("..", 0) == 0) {
    errs.push_back("must not start with '..'");
  }
  return errs;
}

// --- Go rendering ---------------------------------------------------------------------

std::string GoStringMap(api::StringMap::Reader m, bool present) {
  if (!present) return "map[string]string(nil)";
  std::string out = "map[string]string{";
  bool first = true;
  for (const auto& [k, v] : ToStdMap(m)) {
    if (!first) out += ", ";
    first = false;
    out += GoQuote(k) + ":" + GoQuote(v);
  }
  return out + "}";
}

std::string GoLabelSelector(api::LabelSelector::Reader s) {
  std::string out = "v1.LabelSelector{MatchLabels:" + GoStringMap(s.getMatchLabels(), s.hasMatchLabels()) +
                    ", MatchExpressions:";
  if (!s.hasMatchExpressions()) {
    out += "[]v1.LabelSelectorRequirement(nil)";
  } else {
    out += "[]v1.LabelSelectorRequirement{";
    bool first = true;
    for (auto e : s.getMatchExpressions()) {
      if (!first) out += ", ";
      first = false;
      out += "v1.LabelSelectorRequirement{Key:" + GoQuote(e.getKey().cStr()) +
             ", Operator:" + GoQuote(e.getOperator().cStr()) + ", Values:";
      if (!e.hasValues()) {
        out += "[]string(nil)";
      } else {
        out += "[]string{";
        bool f2 = true;
        for (auto v : e.getValues()) {
          if (!f2) out += ", ";
          f2 = false;
          out += GoQuote(v.cStr());
        }
        out += "}";
      }
      out += "}";
    }
    out += "}";
  }
  return out + "}";
}

std::string GoIntOrString(api::IntOrString::Reader v) {
  if (v.isInt())
    return "intstr.IntOrString{Type:0, IntVal:" + std::to_string(v.getInt()) + ", StrVal:\"\"}";
  return "intstr.IntOrString{Type:1, IntVal:0, StrVal:" + GoQuote(v.getStr().cStr()) + "}";
}

// --- semantic equality ------------------------------------------------------------------

namespace {

bool EmptyJson(const Json& v) {
  return v.is_null() || (v.is_string() && v.get_ref<const std::string&>().empty()) ||
         ((v.is_array() || v.is_object()) && v.empty());
}

Json Normalize(const Json& j) {
  if (j.is_object()) {
    Json out = Json::object();
    for (auto it = j.begin(); it != j.end(); ++it) {
      Json v = Normalize(it.value());
      if (!EmptyJson(v)) out[it.key()] = std::move(v);
    }
    return out;
  }
  if (j.is_array()) {
    Json out = Json::array();
    for (const auto& e : j) out.push_back(Normalize(e));
    return out;
  }
  return j;
}

}  // namespace

bool SemanticEqual(capnp::DynamicStruct::Reader a, capnp::DynamicStruct::Reader b) {
  if (a.as<capnp::AnyStruct>() == b.as<capnp::AnyStruct>()) return true;
  return Normalize(EncodeJson(a)) == Normalize(EncodeJson(b));
}

bool SemanticEqualOpt(bool has_a, capnp::DynamicStruct::Reader a, bool has_b,
                      capnp::DynamicStruct::Reader b) {
  if (has_a != has_b) return false;
  if (!has_a) return true;
  return SemanticEqual(a, b);
}

}  // namespace cattle::apiserver
