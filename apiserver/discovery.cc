#include "apiserver/discovery.h"

#include <capnp/schema.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

namespace cattle::apiserver {
namespace {

// Annotation ids from api/meta.capnp (the codec's conventions).
constexpr uint64_t kJsonNameId = 0xfe868bb821661294ull;
constexpr uint64_t kWrapperId = 0xf989da2e452b7d79ull;
constexpr uint64_t kMapId = 0xd8dc9e4c2b0bad7dull;
constexpr uint64_t kIntOrStringId = 0xacd879bb0ccc71e5ull;
constexpr uint64_t kQuantityId = 0xe80137377d102458ull;
constexpr uint64_t kMergeKeyId = 0xe3159fe7ac599509ull;
constexpr uint64_t kRawJsonId = 0xb8b0b8c3c7c4b2a1ull;
constexpr uint64_t kPatchStrategyId = 0x8c59663c253fbdd3ull;

const std::vector<std::string> kAllVerbs = {"create", "delete", "deletecollection", "get",
                                            "list",   "patch",  "update",           "watch"};

// ---------------------------------------------------------------------------------------
// Kinds, groups and subresources

struct Gvk {
  std::string group, version, kind;
};

Json GvkJson(const Gvk& g) { return {{"group", g.group}, {"version", g.version}, {"kind", g.kind}}; }

// What each subresource the HTTP server serves answers with and allows. `body` names the
// body kind (KindRegistry::BodyKind) when it is not the parent kind.
struct SubresourceSpec {
  const char* name;
  const char* body;  // "" = the parent kind
  std::vector<std::string> verbs;
};

const SubresourceSpec& SpecFor(const std::string& sub) {
  static const std::vector<SubresourceSpec> specs = {
      {"status", "", {"get", "patch", "update"}},
      {"scale", "Scale", {"get", "patch", "update"}},
      {"binding", "Binding", {"create"}},
      {"eviction", "Eviction", {"create"}},
      {"log", "", {"get"}},
      {"resize", "", {"get", "patch", "update"}},
      {"finalize", "", {"update"}},
  };
  static const SubresourceSpec fallback = {"", "", {"get", "patch", "update"}};
  for (const auto& s : specs)
    if (sub == s.name) return s;
  return fallback;
}

Gvk KindGvk(const KindInfo& k) { return {k.group, k.version, k.kind}; }

Gvk SubresourceGvk(const KindRegistry& kinds, const KindInfo& k, const std::string& sub) {
  const SubresourceSpec& spec = SpecFor(sub);
  if (*spec.body != '\0')
    if (const KindInfo* body = kinds.BodyKind(spec.body)) return KindGvk(*body);
  return KindGvk(k);
}

std::vector<std::string> SortedSubresources(const KindInfo& k) {
  std::vector<std::string> subs = k.subresources;
  std::sort(subs.begin(), subs.end());
  return subs;
}

std::vector<std::string> ResourceVerbs(const KindInfo& k) {
  // Kubernetes serves no deletecollection for namespaces.
  if (k.group.empty() && k.plural == "namespaces")
    return {"create", "delete", "get", "list", "patch", "update", "watch"};
  return kAllVerbs;
}

// Kinds of one group version, sorted by resource name (as Kubernetes lists them).
std::vector<const KindInfo*> KindsOf(const KindRegistry& kinds, const std::string& group,
                                     const std::string& version) {
  std::vector<const KindInfo*> out;
  for (const auto& k : kinds.kinds())
    if (k.group == group && k.version == version) out.push_back(&k);
  std::sort(out.begin(), out.end(),
            [](const KindInfo* a, const KindInfo* b) { return a->plural < b->plural; });
  return out;
}

// Non-core groups in the order of the kinds list (apps first), each once.
std::vector<std::string> Groups(const KindRegistry& kinds) {
  std::vector<std::string> out;
  for (const auto& k : kinds.kinds())
    if (!k.group.empty() && std::find(out.begin(), out.end(), k.group) == out.end())
      out.push_back(k.group);
  return out;
}

std::vector<std::string> VersionsOf(const KindRegistry& kinds, const std::string& group) {
  std::vector<std::string> out;
  for (const auto& k : kinds.kinds())
    if (k.group == group && std::find(out.begin(), out.end(), k.version) == out.end())
      out.push_back(k.version);
  return out;
}

uint64_t Fnv1a(std::string_view s, uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string Base64(const unsigned char* data, size_t n) {
  static const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < n; i += 3) {
    uint32_t v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    for (int s : {18, 12, 6, 0}) out += kB64[(v >> s) & 63];
  }
  if (i < n) {
    uint32_t v = data[i] << 16;
    if (i + 1 < n) v |= data[i + 1] << 8;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += i + 1 < n ? kB64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// An opaque per-kind token that changes when the stored form (the schema) changes.
std::string StorageVersionHash(const KindInfo& k) {
  uint64_t h = Fnv1a(k.ApiVersion() + "/" + k.kind);
  h = Fnv1a(std::to_string(k.schema.getProto().getId()), h);
  unsigned char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(h >> (56 - 8 * i));
  return Base64(bytes, 8);
}

// "2025-03-01T12:34:56Z" from __DATE__ ("Mar  1 2025") and __TIME__.
std::string BuildDate() {
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::string date = __DATE__;
  int month = 1;
  for (int i = 0; i < 12; ++i)
    if (date.compare(0, 3, kMonths[i]) == 0) month = i + 1;
  int day = std::atoi(date.substr(4, 2).c_str());
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s-%02d-%02dT%sZ", date.substr(7, 4).c_str(), month, day,
                __TIME__);
  return buf;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// /version and content negotiation

bool AcceptsAggregatedDiscovery(std::string_view accept) {
  size_t start = 0;
  while (start <= accept.size()) {
    size_t end = accept.find(',', start);
    if (end == std::string_view::npos) end = accept.size();
    std::string item;
    for (char c : accept.substr(start, end - start))
      if (c != ' ' && c != '\t') item += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    // Media type and parameters, in any order.
    std::vector<std::string> parts;
    size_t p = 0;
    while (p <= item.size()) {
      size_t q = item.find(';', p);
      if (q == std::string::npos) q = item.size();
      parts.push_back(item.substr(p, q - p));
      p = q + 1;
    }
    auto has = [&](const char* param) {
      return std::find(parts.begin(), parts.end(), param) != parts.end();
    };
    if (!parts.empty() && parts[0] == "application/json" && has("g=apidiscovery.k8s.io") &&
        has("v=v2") && has("as=apigroupdiscoverylist"))
      return true;
    start = end + 1;
  }
  return false;
}

Json VersionInfo() {
#ifdef CATTLE_GIT_COMMIT
  const char* commit = CATTLE_GIT_COMMIT;
#else
  const char* commit = "unknown";
#endif
#if defined(__x86_64__)
  const char* arch = "amd64";
#elif defined(__aarch64__)
  const char* arch = "arm64";
#else
  const char* arch = "unknown";
#endif
  // Kubernetes' version.Info. The Go-specific fields say what built cattle instead; clients
  // only require them to be strings.
  return {{"major", kKubeMajor},
          {"minor", kKubeMinor},
          {"gitVersion", kKubeGitVersion},
          {"gitCommit", commit},
          {"gitTreeState", "clean"},
          {"buildDate", BuildDate()},
          {"goVersion", "none (C++)"},
#if defined(__clang__)
          {"compiler", "clang " __clang_version__},
#elif defined(__GNUC__)
          {"compiler", "gcc " __VERSION__},
#else
          {"compiler", "c++"},
#endif
          {"platform", std::string("linux/") + arch}};
}

// ---------------------------------------------------------------------------------------
// Legacy discovery

Json ApiVersions(const std::string& server_address) {
  return {{"kind", "APIVersions"},
          {"versions", {"v1"}},
          {"serverAddressByClientCIDRs",
           {{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", server_address}}}}};
}

namespace {

Json GroupJson(const KindRegistry& kinds, const std::string& group) {
  Json versions = Json::array();
  for (const auto& v : VersionsOf(kinds, group))
    versions.push_back({{"groupVersion", group + "/" + v}, {"version", v}});
  return {{"name", group}, {"versions", versions}, {"preferredVersion", versions.at(0)}};
}

}  // namespace

Json ApiGroupList(const KindRegistry& kinds) {
  Json groups = Json::array();
  for (const auto& g : Groups(kinds)) groups.push_back(GroupJson(kinds, g));
  return {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups}};
}

Result<Json> ApiGroup(const KindRegistry& kinds, const std::string& group) {
  auto groups = Groups(kinds);
  if (std::find(groups.begin(), groups.end(), group) == groups.end())
    return Status::NotFound("the server could not find the requested resource");
  Json out = GroupJson(kinds, group);
  out["kind"] = "APIGroup";
  out["apiVersion"] = "v1";
  return out;
}

Result<Json> ApiResourceList(const KindRegistry& kinds, const std::string& group,
                             const std::string& version) {
  auto list = KindsOf(kinds, group, version);
  if (list.empty()) return Status::NotFound("the server could not find the requested resource");
  Json resources = Json::array();
  for (const KindInfo* k : list) {
    Json r = {{"name", k->plural},         {"singularName", k->singular},
              {"namespaced", k->namespaced}, {"kind", k->kind},
              {"verbs", ResourceVerbs(*k)},  {"storageVersionHash", StorageVersionHash(*k)}};
    if (!k->short_names.empty()) r["shortNames"] = k->short_names;
    if (!k->categories.empty()) r["categories"] = k->categories;
    resources.push_back(std::move(r));
    for (const auto& sub : SortedSubresources(*k)) {
      Gvk gvk = SubresourceGvk(kinds, *k, sub);
      Json s = {{"name", k->plural + "/" + sub},
                {"singularName", ""},
                {"namespaced", k->namespaced},
                {"kind", gvk.kind},
                {"verbs", SpecFor(sub).verbs}};
      // group/version only when they differ from the list's (Kubernetes' omitempty).
      if (gvk.group != group || gvk.version != version) {
        s["group"] = gvk.group;
        s["version"] = gvk.version;
      }
      resources.push_back(std::move(s));
    }
  }
  return Json{{"kind", "APIResourceList"},
              {"apiVersion", "v1"},
              {"groupVersion", group.empty() ? version : group + "/" + version},
              {"resources", resources}};
}

// ---------------------------------------------------------------------------------------
// Aggregated discovery

Json AggregatedDiscovery(const KindRegistry& kinds, bool core) {
  std::vector<std::string> groups = core ? std::vector<std::string>{""} : Groups(kinds);
  Json items = Json::array();
  for (const auto& group : groups) {
    Json versions = Json::array();
    for (const auto& version : VersionsOf(kinds, group)) {
      Json resources = Json::array();
      for (const KindInfo* k : KindsOf(kinds, group, version)) {
        Json r = {{"resource", k->plural},
                  {"responseKind", GvkJson(KindGvk(*k))},
                  {"scope", k->namespaced ? "Namespaced" : "Cluster"},
                  {"singularResource", k->singular},
                  {"verbs", ResourceVerbs(*k)}};
        if (!k->short_names.empty()) r["shortNames"] = k->short_names;
        if (!k->categories.empty()) r["categories"] = k->categories;
        Json subs = Json::array();
        for (const auto& sub : SortedSubresources(*k))
          subs.push_back({{"subresource", sub},
                          {"responseKind", GvkJson(SubresourceGvk(kinds, *k, sub))},
                          {"verbs", SpecFor(sub).verbs}});
        if (!subs.empty()) r["subresources"] = std::move(subs);
        resources.push_back(std::move(r));
      }
      versions.push_back({{"version", version}, {"resources", resources}, {"freshness", "Current"}});
    }
    if (versions.empty()) continue;
    Json metadata = {{"creationTimestamp", nullptr}};
    if (!group.empty()) metadata["name"] = group;
    items.push_back({{"metadata", metadata}, {"versions", versions}});
  }
  return {{"kind", "APIGroupDiscoveryList"},
          {"apiVersion", "apidiscovery.k8s.io/v2"},
          {"metadata", Json::object()},
          {"items", items}};
}

// ---------------------------------------------------------------------------------------
// OpenAPI v3

namespace {

constexpr const char* kRefPrefix = "#/components/schemas/";
constexpr const char* kMetaPkg = "io.k8s.apimachinery.pkg.apis.meta.v1";
constexpr const char* kIntOrStringName = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
constexpr const char* kQuantityName = "io.k8s.apimachinery.pkg.api.resource.Quantity";

template <typename Annotations>
bool FindAnnotation(Annotations annotations, uint64_t id, capnp::schema::Annotation::Reader* out) {
  for (auto a : annotations)
    if (a.getId() == id) {
      *out = a;
      return true;
    }
  return false;
}

template <typename Annotations>
bool HasAnnotation(Annotations annotations, uint64_t id) {
  for (auto a : annotations)
    if (a.getId() == id) return true;
  return false;
}

Json Ref(const std::string& name) { return {{"$ref", kRefPrefix + name}}; }

// Walks Cap'n Proto struct schemas into OpenAPI component schemas, the way the codec maps
// them to JSON (api/meta.capnp): $jsonName, $wrapper structs as their value, $map structs as
// objects with additionalProperties, $intOrString and $quantity as Kubernetes' IntOrString
// and Quantity, Int64 as integer/int64, lists as arrays with the $mergeKey patch extensions.
class SchemaWalker {
 public:
  SchemaWalker(const KindRegistry& kinds, Json* schemas) : kinds_(kinds), schemas_(*schemas) {}

  // Kubernetes' name: io.k8s.api.<file>.v1.<Struct> (every schema file in api/ is a v1
  // package), meta/v1 types under io.k8s.apimachinery.pkg.apis.meta.v1.
  static std::string NameOf(capnp::StructSchema s) {
    auto proto = s.getProto();
    std::string display = proto.getDisplayName().cStr();
    std::string file = display.substr(0, display.find(':'));
    if (auto slash = file.rfind('/'); slash != std::string::npos) file = file.substr(slash + 1);
    if (auto dot = file.find('.'); dot != std::string::npos) file = file.substr(0, dot);
    // Nested structs ("Outer.Inner") keep their path without the dots.
    std::string name;
    for (auto c : display.substr(display.find(':') + 1))
      if (c != '.') name += c;
    // meta/v1 types that the schema keeps beside the core kinds.
    if (file == "meta" || name == "DeleteOptions" || name == "Preconditions")
      return std::string(kMetaPkg) + "." + name;
    return "io.k8s.api." + file + ".v1." + name;
  }

  // {"$ref": ...} to the struct's component, emitting it (and what it uses) first.
  Json StructRef(capnp::StructSchema s) {
    std::string name = NameOf(s);
    if (!schemas_.contains(name)) {
      schemas_[name] = Json::object();  // placeholder: breaks recursion
      schemas_[name] = ObjectSchema(s);
      if (auto gvk = GvkOf(s))
        schemas_[name]["x-kubernetes-group-version-kind"] = Json::array({GvkJson(*gvk)});
    }
    return Ref(name);
  }

  Json IntOrStringRef() {
    if (!schemas_.contains(kIntOrStringName))
      schemas_[kIntOrStringName] = {
          {"description", "A number or a string (e.g. a port number or name, or a percentage)."},
          {"type", "string"},
          {"format", "int-or-string"},
          {"x-kubernetes-int-or-string", true}};
    return Ref(kIntOrStringName);
  }

  Json QuantityRef() {
    if (!schemas_.contains(kQuantityName))
      schemas_[kQuantityName] = {
          {"description", "A resource quantity: \"100m\", \"1Gi\", \"2\"; numbers are accepted."},
          {"type", "string"},
          {"format", "quantity"},
          {"x-kubernetes-int-or-string", true}};
    return Ref(kQuantityName);
  }

 private:
  std::optional<Gvk> GvkOf(capnp::StructSchema s) const {
    auto id = s.getProto().getId();
    for (const auto& k : kinds_.kinds())
      if (k.schema.getProto().getId() == id) return KindGvk(k);
    for (const char* body : {"Scale", "Eviction", "Binding", "DeleteOptions"})
      if (const KindInfo* k = kinds_.BodyKind(body); k && k->schema.getProto().getId() == id)
        return KindGvk(*k);
    return std::nullopt;
  }

  Json ObjectSchema(capnp::StructSchema s) {
    Json properties = Json::object();
    for (auto field : s.getFields()) {
      auto proto = field.getProto();
      std::string json_name = proto.getName().cStr();
      capnp::schema::Annotation::Reader a;
      if (FindAnnotation(proto.getAnnotations(), kJsonNameId, &a))
        json_name = a.getValue().getText().cStr();
      Json fs = FieldSchema(field);
      if (!fs.is_null()) properties[json_name] = std::move(fs);
    }
    return {{"type", "object"}, {"properties", properties}};
  }

  Json FieldSchema(capnp::StructSchema::Field field) {
    auto proto = field.getProto();
    bool quantity = HasAnnotation(proto.getAnnotations(), kQuantityId);
    bool raw_json = HasAnnotation(proto.getAnnotations(), kRawJsonId);
    capnp::Type type = field.getType();
    if (proto.isGroup()) return ObjectSchema(type.asStruct());
    if (raw_json) return {{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}};
    if (quantity && type.isText()) return QuantityRef();
    Json out = TypeSchema(type, quantity);
    // Patch metadata, as kubectl's client-side apply reads it: $mergeKey implies "merge";
    // $patchStrategy says more ("merge,retainKeys", "retainKeys", "merge" on a set).
    Json ext = Json::object();
    capnp::schema::Annotation::Reader a;
    if (type.isList() && FindAnnotation(proto.getAnnotations(), kMergeKeyId, &a)) {
      ext["x-kubernetes-patch-merge-key"] = a.getValue().getText().cStr();
      ext["x-kubernetes-patch-strategy"] = "merge";
    }
    if (FindAnnotation(proto.getAnnotations(), kPatchStrategyId, &a))
      ext["x-kubernetes-patch-strategy"] = a.getValue().getText().cStr();
    if (ext.empty()) return out;
    // A $ref takes no siblings in OpenAPI 3.0: wrap it in allOf, as Kubernetes does.
    if (out.contains("$ref")) out = {{"allOf", Json::array({out})}};
    out.update(ext);
    return out;
  }

  Json TypeSchema(capnp::Type type, bool quantity) {
    using W = capnp::schema::Type;
    switch (type.which()) {
      case W::VOID:
        return nullptr;
      case W::BOOL:
        return {{"type", "boolean"}};
      case W::INT8:
      case W::INT16:
      case W::INT32:
      case W::UINT8:
      case W::UINT16:
        return {{"type", "integer"}, {"format", "int32"}};
      case W::UINT32:
      case W::INT64:
      case W::UINT64:
        return {{"type", "integer"}, {"format", "int64"}};
      case W::FLOAT32:
        return {{"type", "number"}, {"format", "float"}};
      case W::FLOAT64:
        return {{"type", "number"}, {"format", "double"}};
      case W::TEXT:
        return quantity ? QuantityRef() : Json{{"type", "string"}};
      case W::DATA:
        return {{"type", "string"}, {"format", "byte"}};
      case W::LIST: {
        Json items = TypeSchema(type.asList().getElementType(), quantity);
        if (items.is_null()) items = Json::object();
        return {{"type", "array"}, {"items", items}};
      }
      case W::ENUM: {
        Json values = Json::array();
        for (auto e : type.asEnum().getEnumerants()) values.push_back(e.getProto().getName().cStr());
        return {{"type", "string"}, {"enum", values}};
      }
      case W::STRUCT: {
        capnp::StructSchema s = type.asStruct();
        auto annotations = s.getProto().getAnnotations();
        if (HasAnnotation(annotations, kWrapperId)) {
          auto fields = s.getFields();
          if (fields.size() > 0) return TypeSchema(fields[0].getType(), quantity);
          return Json::object();
        }
        if (HasAnnotation(annotations, kMapId)) {
          Json value = {{"type", "string"}};
          KJ_IF_MAYBE(entries, s.findFieldByName("entries")) {
            auto element = entries->getType().asList().getElementType();
            if (element.isStruct()) {
              KJ_IF_MAYBE(v, element.asStruct().findFieldByName("value")) {
                value = TypeSchema(v->getType(), quantity);
              }
            }
          }
          return {{"type", "object"}, {"additionalProperties", value}};
        }
        if (HasAnnotation(annotations, kIntOrStringId)) return IntOrStringRef();
        return StructRef(s);
      }
      default:  // interfaces, AnyPointer: free-form
        return {{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}};
    }
  }

  const KindRegistry& kinds_;
  Json& schemas_;
};

// Kubernetes' operation names: "patchNamespacedDeploymentScale", "listPodForAllNamespaces".
std::string OperationId(const std::string& verb, const KindInfo& k, const std::string& sub,
                        bool all_namespaces = false) {
  std::string id = verb;
  if (k.namespaced && !all_namespaces) id += "Namespaced";
  id += k.kind;
  if (!sub.empty()) id += static_cast<char>(std::toupper(static_cast<unsigned char>(sub[0]))) + sub.substr(1);
  if (all_namespaces) id += "ForAllNamespaces";
  return id;
}

Json QueryParam(const char* name, const char* type, const char* description) {
  Json schema = {{"type", type}, {"uniqueItems", true}};
  return {{"name", name}, {"in", "query"}, {"description", description}, {"schema", schema}};
}

Json PathParam(const char* name, const char* description) {
  return {{"name", name},
          {"in", "path"},
          {"required", true},
          {"description", description},
          {"schema", {{"type", "string"}, {"uniqueItems", true}}}};
}

Json ParamPretty() { return QueryParam("pretty", "string", "If 'true', the output is pretty printed."); }
Json ParamDryRun() {
  return QueryParam("dryRun", "string",
                    "When present (All), the request is validated and processed but not persisted.");
}
Json ParamFieldManager() {
  return QueryParam("fieldManager", "string", "The name of the actor making the change.");
}
Json ParamFieldValidation() {
  return QueryParam("fieldValidation", "string",
                    "How to treat unknown or duplicate fields in the request body: Ignore, Warn "
                    "or Strict (the default: the request fails).");
}
Json ParamForce() {
  return QueryParam("force", "boolean",
                    "Server-side apply: take ownership of conflicting fields.");
}

std::vector<Json> ListParams(bool watch) {
  std::vector<Json> p = {
      QueryParam("allowWatchBookmarks", "boolean", "Send BOOKMARK events on a watch."),
      QueryParam("continue", "string", "The continue token of the previous page."),
      QueryParam("fieldSelector", "string", "Restrict the list by fields, e.g. metadata.name=x."),
      QueryParam("labelSelector", "string", "Restrict the list by labels, e.g. app=web."),
      QueryParam("limit", "integer", "The maximum number of items to return."),
      QueryParam("resourceVersion", "string", "List or watch from this resource version."),
      QueryParam("resourceVersionMatch", "string", "How resourceVersion applies to a list."),
      QueryParam("sendInitialEvents", "boolean", "Start a watch with the current state."),
      QueryParam("timeoutSeconds", "integer", "Timeout of the list or watch call."),
  };
  if (watch) p.push_back(QueryParam("watch", "boolean", "Watch for changes instead of listing."));
  return p;
}

std::vector<Json> DeleteParams() {
  return {ParamDryRun(),
          QueryParam("gracePeriodSeconds", "integer", "Seconds before the object is deleted."),
          QueryParam("orphanDependents", "boolean", "Deprecated: use propagationPolicy."),
          QueryParam("propagationPolicy", "string", "Orphan, Background or Foreground.")};
}

Json JsonContent(const Json& schema) {
  return {{"application/json", {{"schema", schema}}},
          {"application/yaml", {{"schema", schema}}}};
}

Json Response(const char* description, const Json& schema) {
  return {{"description", description}, {"content", JsonContent(schema)}};
}

Json Operation(const std::string& action, const std::string& id, const Gvk& gvk,
               const std::vector<Json>& params, const std::string& tag) {
  Json op = {{"operationId", id},
             {"tags", {tag}},
             {"x-kubernetes-action", action},
             {"x-kubernetes-group-version-kind", GvkJson(gvk)},
             {"parameters", params},
             {"responses", Json::object()}};
  return op;
}

Json PatchBody() {
  Json schema = Ref(std::string(kMetaPkg) + ".Patch");
  return {{"required", true},
          {"content",
           {{"application/apply-patch+yaml", {{"schema", schema}}},
            {"application/json-patch+json", {{"schema", schema}}},
            {"application/merge-patch+json", {{"schema", schema}}},
            {"application/strategic-merge-patch+json", {{"schema", schema}}}}}};
}

Json MetaSchemas() {
  const std::string meta = kMetaPkg;
  Json schemas = Json::object();
  schemas[meta + ".Patch"] = {
      {"description", "The body of a PATCH: a JSON, merge, strategic merge or apply patch."},
      {"type", "object"}};
  schemas[meta + ".StatusCause"] = {{"type", "object"},
                                    {"properties",
                                     {{"field", {{"type", "string"}}},
                                      {"message", {{"type", "string"}}},
                                      {"reason", {{"type", "string"}}}}}};
  schemas[meta + ".StatusDetails"] = {
      {"type", "object"},
      {"properties",
       {{"causes", {{"type", "array"}, {"items", Ref(meta + ".StatusCause")}}},
        {"group", {{"type", "string"}}},
        {"kind", {{"type", "string"}}},
        {"name", {{"type", "string"}}},
        {"retryAfterSeconds", {{"type", "integer"}, {"format", "int32"}}},
        {"uid", {{"type", "string"}}}}}};
  schemas[meta + ".Status"] = {
      {"type", "object"},
      {"properties",
       {{"apiVersion", {{"type", "string"}}},
        {"code", {{"type", "integer"}, {"format", "int32"}}},
        {"details", Ref(meta + ".StatusDetails")},
        {"kind", {{"type", "string"}}},
        {"message", {{"type", "string"}}},
        {"metadata", Ref(meta + ".ListMeta")},
        {"reason", {{"type", "string"}}},
        {"status", {{"type", "string"}}}}},
      {"x-kubernetes-group-version-kind",
       Json::array({GvkJson({"", "v1", "Status"})})}};
  return schemas;
}

// Parses "api/v1" or "apis/{group}/{version}" (leading '/' optional).
bool ParseGvPath(std::string path, std::string* group, std::string* version) {
  if (!path.empty() && path[0] == '/') path = path.substr(1);
  if (path.rfind("api/", 0) == 0) {
    *group = "";
    *version = path.substr(4);
    return !version->empty() && version->find('/') == std::string::npos;
  }
  if (path.rfind("apis/", 0) == 0) {
    std::string rest = path.substr(5);
    auto slash = rest.find('/');
    if (slash == std::string::npos || slash == 0) return false;
    *group = rest.substr(0, slash);
    *version = rest.substr(slash + 1);
    return !version->empty() && version->find('/') == std::string::npos;
  }
  return false;
}

Json BuildDocument(const KindRegistry& kinds, const std::string& group, const std::string& version,
                   const std::vector<const KindInfo*>& list) {
  Json schemas = MetaSchemas();
  SchemaWalker walker(kinds, &schemas);
  const std::string meta = kMetaPkg;
  Json status_ref = Ref(meta + ".Status");
  Json delete_options = walker.StructRef(kinds.BodyKind("DeleteOptions")->schema);
  Json list_meta = walker.StructRef(capnp::Schema::from<api::ListMeta>());
  const std::string prefix = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  const std::string tag = (group.empty() ? std::string("core") : group) + "_" + version;
  const Json p_name = PathParam("name", "The name of the object.");
  const Json p_ns = PathParam("namespace", "The namespace of the object.");

  Json paths = Json::object();
  for (const KindInfo* k : list) {
    const Gvk gvk = KindGvk(*k);
    Json kind_ref = walker.StructRef(k->schema);
    // The list kind: DeploymentList.
    std::string pkg = SchemaWalker::NameOf(k->schema);
    std::string list_name = pkg + "List";
    schemas[list_name] = {
        {"type", "object"},
        {"required", {"items"}},
        {"properties",
         {{"apiVersion", {{"type", "string"}}},
          {"items", {{"type", "array"}, {"items", kind_ref}}},
          {"kind", {{"type", "string"}}},
          {"metadata", list_meta}}},
        {"x-kubernetes-group-version-kind", Json::array({GvkJson({k->group, k->version, k->kind + "List"})})}};
    Json list_ref = Ref(list_name);

    const std::string coll = k->namespaced ? prefix + "/namespaces/{namespace}/" + k->plural
                                           : prefix + "/" + k->plural;
    const std::string obj = coll + "/{name}";
    Json scope_params = Json::array();
    if (k->namespaced) scope_params.push_back(p_ns);
    scope_params.push_back(ParamPretty());
    Json obj_params = Json::array({p_name});
    for (const auto& p : scope_params) obj_params.push_back(p);

    // Collection: list, create, deletecollection.
    {
      Json item = {{"parameters", scope_params}};
      Json get = Operation("list", OperationId("list", *k, ""), gvk, ListParams(true), tag);
      get["responses"]["200"] = Response("OK", list_ref);
      item["get"] = std::move(get);
      Json post = Operation("post", OperationId("create", *k, ""), gvk,
                            {ParamDryRun(), ParamFieldManager(), ParamFieldValidation()}, tag);
      post["requestBody"] = {{"required", true}, {"content", {{"application/json", {{"schema", kind_ref}}}}}};
      post["responses"]["200"] = Response("OK", kind_ref);
      post["responses"]["201"] = Response("Created", kind_ref);
      post["responses"]["202"] = Response("Accepted", kind_ref);
      item["post"] = std::move(post);
      auto verbs = ResourceVerbs(*k);
      if (std::find(verbs.begin(), verbs.end(), "deletecollection") != verbs.end()) {
        std::vector<Json> params = ListParams(false);
        for (auto& p : DeleteParams()) params.push_back(p);
        Json del = Operation("deletecollection", OperationId("deleteCollection", *k, ""), gvk, params, tag);
        del["requestBody"] = {{"content", {{"application/json", {{"schema", delete_options}}}}}};
        del["responses"]["200"] = Response("OK", status_ref);
        item["delete"] = std::move(del);
      }
      paths[coll] = std::move(item);
    }
    // Every namespace: /api/v1/pods.
    if (k->namespaced) {
      Json get = Operation("list", OperationId("list", *k, "", true), gvk, ListParams(true), tag);
      get["responses"]["200"] = Response("OK", list_ref);
      paths[prefix + "/" + k->plural] = {{"parameters", {ParamPretty()}}, {"get", std::move(get)}};
    }
    // Object: read, replace, patch, delete.
    {
      Json item = {{"parameters", obj_params}};
      Json get = Operation("get", OperationId("read", *k, ""), gvk, {}, tag);
      get["responses"]["200"] = Response("OK", kind_ref);
      item["get"] = std::move(get);
      Json put = Operation("put", OperationId("replace", *k, ""), gvk,
                           {ParamDryRun(), ParamFieldManager(), ParamFieldValidation()}, tag);
      put["requestBody"] = {{"required", true}, {"content", {{"application/json", {{"schema", kind_ref}}}}}};
      put["responses"]["200"] = Response("OK", kind_ref);
      put["responses"]["201"] = Response("Created", kind_ref);
      item["put"] = std::move(put);
      Json patch = Operation("patch", OperationId("patch", *k, ""), gvk,
                             {ParamDryRun(), ParamFieldManager(), ParamFieldValidation(), ParamForce()}, tag);
      patch["requestBody"] = PatchBody();
      patch["responses"]["200"] = Response("OK", kind_ref);
      patch["responses"]["201"] = Response("Created", kind_ref);
      item["patch"] = std::move(patch);
      Json del = Operation("delete", OperationId("delete", *k, ""), gvk, DeleteParams(), tag);
      del["requestBody"] = {{"content", {{"application/json", {{"schema", delete_options}}}}}};
      del["responses"]["200"] = Response("OK", kind_ref);
      del["responses"]["202"] = Response("Accepted", kind_ref);
      item["delete"] = std::move(del);
      paths[obj] = std::move(item);
    }
    // Subresources.
    for (const auto& sub : SortedSubresources(*k)) {
      const Gvk sub_gvk = SubresourceGvk(kinds, *k, sub);
      Json sub_ref = kind_ref;
      if (sub_gvk.kind != k->kind)
        if (const KindInfo* body = kinds.BodyKind(sub_gvk.kind)) sub_ref = walker.StructRef(body->schema);
      const auto& verbs = SpecFor(sub).verbs;
      auto allows = [&](const char* v) { return std::find(verbs.begin(), verbs.end(), v) != verbs.end(); };
      Json item = {{"parameters", obj_params}};
      if (sub == "log") {
        Json get = Operation("get", OperationId("read", *k, sub), sub_gvk,
                             {QueryParam("container", "string", "The container to read the log of."),
                              QueryParam("follow", "boolean", "Stream the log."),
                              QueryParam("limitBytes", "integer", "Stop after this many bytes."),
                              QueryParam("previous", "boolean", "The previous instance's log."),
                              QueryParam("sinceSeconds", "integer", "Only the last seconds."),
                              QueryParam("tailLines", "integer", "Only the last lines."),
                              QueryParam("timestamps", "boolean", "Prefix lines with their time.")},
                             tag);
        get["responses"]["200"] = {{"description", "OK"},
                                   {"content", {{"text/plain", {{"schema", {{"type", "string"}}}}}}}};
        item["get"] = std::move(get);
        paths[obj + "/" + sub] = std::move(item);
        continue;
      }
      if (allows("get")) {
        Json get = Operation("get", OperationId("read", *k, sub), sub_gvk, {}, tag);
        get["responses"]["200"] = Response("OK", sub_ref);
        item["get"] = std::move(get);
      }
      if (allows("create")) {
        Json post = Operation("post", OperationId("create", *k, sub), sub_gvk,
                              {ParamDryRun(), ParamFieldManager(), ParamFieldValidation()}, tag);
        post["requestBody"] = {{"required", true}, {"content", {{"application/json", {{"schema", sub_ref}}}}}};
        post["responses"]["200"] = Response("OK", sub_ref);
        post["responses"]["201"] = Response("Created", sub_ref);
        item["post"] = std::move(post);
      }
      if (allows("update")) {
        Json put = Operation("put", OperationId("replace", *k, sub), sub_gvk,
                             {ParamDryRun(), ParamFieldManager(), ParamFieldValidation()}, tag);
        put["requestBody"] = {{"required", true}, {"content", {{"application/json", {{"schema", sub_ref}}}}}};
        put["responses"]["200"] = Response("OK", sub_ref);
        put["responses"]["201"] = Response("Created", sub_ref);
        item["put"] = std::move(put);
      }
      if (allows("patch")) {
        Json patch = Operation("patch", OperationId("patch", *k, sub), sub_gvk,
                               {ParamDryRun(), ParamFieldManager(), ParamFieldValidation(), ParamForce()}, tag);
        patch["requestBody"] = PatchBody();
        patch["responses"]["200"] = Response("OK", sub_ref);
        patch["responses"]["201"] = Response("Created", sub_ref);
        item["patch"] = std::move(patch);
      }
      paths[obj + "/" + sub] = std::move(item);
    }
  }
  return {{"openapi", "3.0.0"},
          {"info", {{"title", "Kubernetes"}, {"version", kKubeGitVersion}}},
          {"paths", paths},
          {"components", {{"schemas", schemas}}}};
}

struct CachedDocument {
  Json doc;
  std::string hash;
};

// Documents depend only on the compiled schemas, so each is built once. (Every KindRegistry
// holds the same compiled kinds, so a registry reusing a dead one's address is harmless.)
const CachedDocument* CachedDoc(const KindRegistry& kinds, const std::string& gv_path) {
  std::string group, version;
  if (!ParseGvPath(gv_path, &group, &version)) return nullptr;
  static std::mutex mu;
  static std::map<std::pair<const KindRegistry*, std::string>, CachedDocument> cache;
  std::string key = group.empty() ? "api/" + version : "apis/" + group + "/" + version;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find({&kinds, key});
  if (it != cache.end()) return &it->second;
  auto list = KindsOf(kinds, group, version);
  if (list.empty()) return nullptr;
  CachedDocument entry;
  entry.doc = BuildDocument(kinds, group, version, list);
  std::string text = entry.doc.dump();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llX%016llX",
                static_cast<unsigned long long>(Fnv1a(text)),
                static_cast<unsigned long long>(Fnv1a(text, 0x84222325cbf29ce4ull)));
  entry.hash = buf;
  return &cache.emplace(std::make_pair(&kinds, key), std::move(entry)).first->second;
}

}  // namespace

std::vector<std::string> OpenApiGroupVersionPaths(const KindRegistry& kinds) {
  std::vector<std::string> out;
  for (const auto& v : VersionsOf(kinds, "")) out.push_back("api/" + v);
  for (const auto& g : Groups(kinds))
    for (const auto& v : VersionsOf(kinds, g)) out.push_back("apis/" + g + "/" + v);
  return out;
}

Json OpenApiIndex(const KindRegistry& kinds) {
  Json paths = Json::object();
  for (const auto& gv : OpenApiGroupVersionPaths(kinds))
    paths[gv] = {{"serverRelativeURL", "/openapi/v3/" + gv + "?hash=" + OpenApiHash(kinds, gv)}};
  return {{"paths", paths}};
}

Result<Json> OpenApiDocument(const KindRegistry& kinds, const std::string& gv_path) {
  const CachedDocument* d = CachedDoc(kinds, gv_path);
  if (d == nullptr) return Status::NotFound("the server could not find the requested resource");
  return d->doc;
}

std::string OpenApiHash(const KindRegistry& kinds, const std::string& gv_path) {
  const CachedDocument* d = CachedDoc(kinds, gv_path);
  return d == nullptr ? "" : d->hash;
}

}  // namespace cattle::apiserver
