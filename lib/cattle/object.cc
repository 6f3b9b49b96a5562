#include "cattle/object.h"

#include <capnp/serialize.h>

#include <algorithm>
#include <cstring>

#include "cattle/utf8.h"

#include "apps.capnp.h"
#include "autoscaling.capnp.h"
#include "coordination.capnp.h"
#include "core.capnp.h"
#include "discovery.capnp.h"
#include "networking.capnp.h"
#include "policy.capnp.h"

namespace cattle {
namespace {

constexpr uint64_t kResourceAnnotationId = 0x9e0d8c6c1f3b7a55ull;

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::vector<std::string> TextList(capnp::List<capnp::Text>::Reader list) {
  std::vector<std::string> out;
  for (auto t : list) out.emplace_back(t.cStr());
  return out;
}

KindInfo MakeKind(capnp::StructSchema schema) {
  KindInfo k;
  k.schema = schema;
  k.kind = schema.getUnqualifiedName().cStr();
  KJ_IF_MAYBE(field, schema.findFieldByName("metadata")) { k.metadata = *field; }
  for (auto a : schema.getProto().getAnnotations()) {
    if (a.getId() != kResourceAnnotationId) continue;
    auto info = a.getValue().getStruct().getAs<api::ResourceInfo>();
    k.group = info.getGroup().cStr();
    k.version = info.getVersion().cStr();
    k.plural = info.getPlural().cStr();
    k.singular = info.getSingular().cStr();
    k.short_names = TextList(info.getShortNames());
    k.namespaced = info.getNamespaced();
    k.categories = TextList(info.getCategories());
    k.subresources = TextList(info.getSubresources());
  }
  return k;
}

// Reading a message of `words` words from outside: the validation walk and the copy each
// read every object once, so four times the size (plus slack for tiny messages) is enough
// for any honest message, and caps what pointers aimed at the same data many times (an
// "amplification" attack) can make the copy grow to. The nesting limit bounds recursion.
capnp::ReaderOptions UntrustedReaderOptions(size_t words) {
  capnp::ReaderOptions o;
  o.traversalLimitInWords = std::min<uint64_t>(4 * uint64_t{words} + 1024, 8 * 1024 * 1024);
  o.nestingLimit = 64;
  return o;
}

}  // namespace

bool KindInfo::HasSubresource(std::string_view s) const {
  return std::find(subresources.begin(), subresources.end(), s) != subresources.end();
}

KindRegistry::KindRegistry() {
#define CATTLE_KIND(Type, file) kinds_.push_back(MakeKind(capnp::Schema::from<api::Type>()));
#include "cattle/kinds_list.h"
#undef CATTLE_KIND
  auto body = [&](capnp::StructSchema schema, const char* group, const char* version) {
    KindInfo k = MakeKind(schema);
    k.group = group;
    k.version = version;
    bodies_.push_back(std::move(k));
  };
  body(capnp::Schema::from<api::Binding>(), "", "v1");
  body(capnp::Schema::from<api::Scale>(), "autoscaling", "v1");
  body(capnp::Schema::from<api::Eviction>(), "policy", "v1");
  body(capnp::Schema::from<api::DeleteOptions>(), "", "v1");
}

const KindRegistry& KindRegistry::Default() {
  static const KindRegistry registry;
  return registry;
}

const KindInfo* KindRegistry::ByApiVersionKind(std::string_view api_version,
                                               std::string_view kind) const {
  for (const auto& k : kinds_)
    if (k.kind == kind && k.ApiVersion() == api_version) return &k;
  return nullptr;
}

const KindInfo* KindRegistry::ByGroupResource(std::string_view group,
                                              std::string_view plural) const {
  for (const auto& k : kinds_)
    if (k.plural == plural && k.group == group) return &k;
  return nullptr;
}

const KindInfo* KindRegistry::BodyKind(std::string_view kind) const {
  for (const auto& k : bodies_)
    if (k.kind == kind) return &k;
  return nullptr;
}

const KindInfo* KindRegistry::Resolve(std::string_view name) const {
  std::string n = Lower(name);
  std::string group;
  bool has_group = false;
  if (auto dot = n.find('.'); dot != std::string::npos) {
    group = n.substr(dot + 1);
    n = n.substr(0, dot);
    has_group = true;
  }
  for (const auto& k : kinds_) {
    if (has_group && k.group != group) continue;
    if (k.plural == n || k.singular == n || Lower(k.kind) == n ||
        std::find(k.short_names.begin(), k.short_names.end(), n) != k.short_names.end())
      return &k;
  }
  return nullptr;
}

namespace {
// A copy of a message of `words` words fits in one segment of this size, with room for a
// few small edits (e.g. the resourceVersion) before a second segment is needed. Cap'n
// Proto's default first segment is 8 KiB, several times a typical object: an informer's
// cache of pods would hold mostly empty space.
uint32_t FirstSegmentWords(size_t words) { return static_cast<uint32_t>(words + 16); }
}  // namespace

Object::Object(const KindInfo* kind)
    : kind_(kind), msg_(std::make_unique<capnp::MallocMessageBuilder>()) {
  auto r = msg_->initRoot<capnp::DynamicStruct>(kind->schema);
  r.set("apiVersion", capnp::Text::Reader(kind->ApiVersion().c_str()));
  r.set("kind", capnp::Text::Reader(kind->kind.c_str()));
  r.init("metadata");
}

Result<Object> Object::FromBytes(const KindInfo* kind, std::string_view bytes,
                                 int64_t resource_version) {
  if (bytes.size() % sizeof(capnp::word) != 0 || bytes.empty())
    return Status::BadRequest("malformed object: size is not a whole number of words");
  try {
    // Copy into aligned words: the caller's buffer may be unaligned.
    kj::Array<capnp::word> words = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
    memcpy(words.begin(), bytes.data(), bytes.size());
    capnp::FlatArrayMessageReader reader(words, UntrustedReaderOptions(words.size()));
    auto root = reader.getRoot<capnp::DynamicStruct>(kind->schema);
    // Eagerly: kj checks a Text's NUL terminator, or that a pointer is a list of bytes, only
    // when the field is read, which would be later and anywhere (and abort the process).
    if (Status s = ValidateCapnp(root); !s.ok()) {
      Status bad = Status::BadRequest("malformed object: " + s.message());
      bad.mutable_causes() = s.causes();
      return bad;
    }
    auto msg = std::make_unique<capnp::MallocMessageBuilder>(FirstSegmentWords(words.size()));
    msg->setRoot(root);
    Object obj(kind, std::move(msg));
    // The traversal limit grows with the size of the bytes, so a message padded with words
    // nothing points at could carry an object whose own compact encoding (ToBytes, what is
    // stored and sent on) would then be refused. Judge such an object by its compact form,
    // so that whatever is accepted once decodes again. Compact input (all the store's) skips this.
    if (capnp::computeSerializedSizeInWords(*obj.msg_) < words.size()) {
      std::string compact = obj.ToBytes();
      if (compact.size() < bytes.size()) return FromBytes(kind, compact, resource_version);
    }
    if (resource_version > 0) obj.set_resource_version(resource_version);
    return obj;
  } catch (const kj::Exception& e) {
    return Status::BadRequest("malformed object: " + SanitizeUtf8(e.getDescription().cStr()));
  }
}

Result<Object> Object::FromJson(const KindRegistry& kinds, const Json& json,
                                const DecodeOptions& options, const KindInfo* expected) {
  if (!json.is_object()) return Status::BadRequest("object must be a JSON object, got " + SanitizeUtf8(DumpJson(json).substr(0, 40)));
  auto text_field = [&](const char* name) {
    auto it = json.find(name);
    return it != json.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string api_version = text_field("apiVersion");
  std::string kind_name = text_field("kind");
  // Before anything is stored or quoted: every string well-formed UTF-8.
  if (Status s = CheckJsonUtf8(json); !s.ok()) {
    const KindInfo* k = expected != nullptr ? expected : kinds.ByApiVersionKind(api_version, kind_name);
    if (k == nullptr) return s;
    Status named = Status::BadRequest(k->kind + " in version \"" + k->version + "\" cannot be handled as a " +
                                      k->kind + ": " + s.message());
    named.mutable_causes() = s.causes();
    return named;
  }
  const KindInfo* kind = expected;
  if (kind == nullptr) {
    if (kind_name.empty()) return Status::BadRequest("Object 'Kind' is missing in '" + SanitizeUtf8(DumpJson(json).substr(0, 80)) + "'");
    if (api_version.empty()) return Status::BadRequest("Object 'apiVersion' is missing in '" + SanitizeUtf8(DumpJson(json).substr(0, 80)) + "'");
    kind = kinds.ByApiVersionKind(api_version, kind_name);
    if (kind == nullptr) kind = kinds.BodyKind(kind_name);
    if (kind == nullptr)
      return Status::NotFound("no matches for kind \"" + kind_name + "\" in version \"" +
                              api_version + "\"");
  } else {
    if ((!kind_name.empty() && kind_name != kind->kind) ||
        (!api_version.empty() && api_version != kind->ApiVersion()))
      return Status::BadRequest("the API version in the data (" + api_version +
                                ") does not match the expected API version (" +
                                kind->ApiVersion() + ")");
  }
  auto msg = std::make_unique<capnp::MallocMessageBuilder>();
  auto root = msg->initRoot<capnp::DynamicStruct>(kind->schema);
  try {
    Status s = DecodeJson(json, root, options);
    if (!s.ok()) {
      if (s.message().rfind("strict decoding error", 0) == 0) return s;
      return Status::BadRequest(kind->kind + " in version \"" + kind->version +
                                "\" cannot be handled as a " + kind->kind + ": " + s.message());
    }
  } catch (const kj::Exception& e) {
    return Status::BadRequest("cannot decode object: " + SanitizeUtf8(e.getDescription().cStr()));
  } catch (const std::exception& e) {  // nlohmann's, e.g. dumping a raw-JSON field
    return Status::BadRequest("cannot decode object: " + SanitizeUtf8(e.what()));
  }
  root.set("apiVersion", capnp::Text::Reader(kind->ApiVersion().c_str()));
  root.set("kind", capnp::Text::Reader(kind->kind.c_str()));
  if (!root.has("metadata")) root.init("metadata");
  return Object(kind, std::move(msg));
}

Object Object::Clone() const {
  auto msg = std::make_unique<capnp::MallocMessageBuilder>(
      FirstSegmentWords(reader().totalSize().wordCount + 1));
  msg->setRoot(reader());
  return Object(kind_, std::move(msg));
}

std::string Object::ToBytes() const {
  capnp::MallocMessageBuilder fresh;
  fresh.setRoot(reader());
  auto words = capnp::messageToFlatArray(fresh);
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

Json Object::ToJson() const { return EncodeJson(reader()); }

int64_t Object::resource_version() const {
  const char* rv = meta().getResourceVersion().cStr();
  char* end = nullptr;
  long long v = strtoll(rv, &end, 10);
  return (end != rv && *end == '\0') ? v : 0;
}

void Object::set_resource_version(int64_t rv) {
  meta().setResourceVersion(std::to_string(rv));
}

std::string Object::Key() const {
  auto m = meta();
  if (kind_->namespaced) return std::string(m.getNamespace().cStr()) + "/" + m.getName().cStr();
  return m.getName().cStr();
}

std::map<std::string, std::string> ToStdMap(api::StringMap::Reader m) {
  std::map<std::string, std::string> out;
  for (auto e : m.getEntries()) out[e.getKey().cStr()] = e.getValue().cStr();
  return out;
}

void SetStringMap(api::StringMap::Builder b, const std::map<std::string, std::string>& m) {
  auto entries = b.initEntries(m.size());
  size_t i = 0;
  for (const auto& [k, v] : m) {
    entries[i].setKey(k);
    entries[i].setValue(v);
    ++i;
  }
}

}  // namespace cattle
