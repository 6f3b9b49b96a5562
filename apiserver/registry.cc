#include "apiserver/registry.h"

#include <capnp/serialize.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <mutex>
#include <random>

#include "apiserver/strategies.h"
#include "cattle/json_patch.h"
#include "cattle/strategic_merge.h"
#include "cattle/validation.h"
#include "core.capnp.h"

namespace cattle::apiserver {
namespace {

#define CATTLE_RETURN_IF_ERROR_CB(expr, cb) \
  do {                                     \
    ::cattle::Status _s = (expr);          \
    if (!_s.ok()) return cb(_s);           \
  } while (0)

thread_local std::mt19937_64 rng{std::random_device{}()};

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string RandomSuffix(size_t n) {
  // Kubernetes' alphabet for generated names: no vowels, no confusable digits.
  static const char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  std::string s;
  for (size_t i = 0; i < n; ++i) s += kAlphabet[rng() % (sizeof(kAlphabet) - 1)];
  return s;
}

std::string Base64(const std::string& in) {
  static const char k[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  int val = 0, bits = -6;
  for (unsigned char c : in) {
    val = (val << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out.push_back(k[(val >> bits) & 0x3F]);
      bits -= 6;
    }
  }
  if (bits > -6) out.push_back(k[((val << 8) >> (bits + 8)) & 0x3F]);
  return out;
}

bool Unbase64(const std::string& in, std::string* out) {
  static const std::string k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  out->clear();
  int val = 0, bits = -8;
  for (char c : in) {
    if (c == '=') break;
    size_t p = k.find(c);
    if (p == std::string::npos) return false;
    val = (val << 6) + static_cast<int>(p);
    bits += 6;
    if (bits >= 0) {
      out->push_back(static_cast<char>((val >> bits) & 0xFF));
      bits -= 8;
    }
  }
  return true;
}

std::string EncodeContinue(int64_t revision, const std::string& start_after) {
  Json j = {{"v", "meta.k8s.io/v1"}, {"rv", revision}, {"start", start_after}};
  return Base64(j.dump());
}

Status DecodeContinue(const std::string& token, int64_t* revision, std::string* start_after) {
  std::string raw;
  if (!Unbase64(token, &raw)) return Status::BadRequest("continue key is not valid: illegal base64 data");
  Json j = Json::parse(raw, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("rv") || !j["rv"].is_number_integer() ||
      !j.contains("start") || !j["start"].is_string())
    return Status::BadRequest("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)");
  *revision = j["rv"].get<int64_t>();
  *start_after = j["start"].get<std::string>();
  return Status::Ok();
}

bool ParseRevision(const std::string& s, int64_t* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  long long v = strtoll(s.c_str(), &end, 10);
  if (*end != '\0' || v < 0) return false;
  *out = v;
  return true;
}

bool FieldEquals(capnp::DynamicStruct::Reader a, capnp::DynamicStruct::Reader b,
                 const char* field) {
  auto fa = a.getSchema().findFieldByName(field);
  if (fa == nullptr) return true;
  KJ_IF_MAYBE(f, fa) {
    bool ha = a.has(*f), hb = b.has(*f);
    if (ha != hb) return false;
    if (!ha) return true;
    return a.get(*f).as<capnp::DynamicStruct>().as<capnp::AnyStruct>() ==
           b.get(*f).as<capnp::DynamicStruct>().as<capnp::AnyStruct>();
  }
  return true;
}

// A namespace waits for its spec.finalizers (the namespace controller empties it first).
bool HasSpecFinalizers(const Object& obj) {
  if (obj.kind()->kind != "Namespace") return false;
  return obj.get<api::Namespace>().getSpec().getFinalizers().size() > 0;
}

// Namespace lifecycle admission: the namespaces the cluster itself needs can never be
// deleted (Kubernetes keeps default, kube-system, kube-public and kube-node-lease).
bool IsImmortalNamespace(const std::string& name) {
  return name == "default" || name == "kube-system" || name == "kube-public" || name == "kube-node-lease";
}

bool HasField(const Object& obj, const char* field) {
  return obj.kind()->schema.findFieldByName(field) != nullptr;
}

// Copies `field` (a struct) of `from` into `to`, or clears it in `to` when absent.
void CopyField(const Object& from, Object& to, const char* field) {
  if (!HasField(to, field)) return;
  auto src = from.reader();
  auto dst = to.root();
  if (src.has(field)) {
    dst.set(field, src.get(field));
  } else if (dst.has(field)) {
    dst.clear(field);
  }
}

// Stored bytes never carry a resourceVersion: the store's revision is the truth.
std::string StoredBytes(Object& obj) {
  obj.meta().disownResourceVersion();
  return obj.ToBytes();
}

std::string ObjectKindName(const KindInfo& kind) {
  return kind.group.empty() ? kind.kind : kind.kind + "." + kind.group;
}

Status ConflictError(const KindInfo& kind, const std::string& name) {
  return Status::Conflict("Operation cannot be fulfilled on " + kind.GroupResource() + " \"" + name +
                          "\": the object has been modified; please apply your changes to the "
                          "latest version and try again");
}

// A read-only view of stored bytes, for filtering without copying into a builder.
class StoredView {
 public:
  StoredView(const KindInfo* kind, const std::string& bytes)
      : words_(kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word))) {
    memcpy(words_.begin(), bytes.data(), words_.size() * sizeof(capnp::word));
    reader_.emplace(words_.asPtr());
    root_ = reader_->getRoot<capnp::DynamicStruct>(kind->schema);
  }
  capnp::DynamicStruct::Reader root() const { return root_; }

 private:
  kj::Array<capnp::word> words_;
  std::optional<capnp::FlatArrayMessageReader> reader_;
  capnp::DynamicStruct::Reader root_;
};

api::ObjectMeta::Reader MetaOf(const KindInfo* kind, capnp::DynamicStruct::Reader root) {
  return (kind->metadata ? root.get(*kind->metadata) : root.get("metadata")).as<api::ObjectMeta>();
}

struct Filter {
  LabelSelector labels;
  FieldSelector fields;
  bool empty = true;

  bool Matches(const KindInfo* kind, capnp::DynamicStruct::Reader root) const {
    if (empty) return true;
    auto meta = MetaOf(kind, root);
    if (!labels.Empty() && !labels.Matches(ToStdMap(meta.getLabels()))) return false;
    return fields.Matches(
        [&](const std::string& path) { return FieldValue(root, path); });
  }
  bool Matches(const KindInfo* kind, const std::string& bytes) const {
    if (empty) return true;
    try {
      StoredView view(kind, bytes);
      return Matches(kind, view.root());
    } catch (const kj::Exception&) {
      return false;
    }
  }
};

Result<Filter> MakeFilter(const ApiRequest& req, const Strategy& strategy) {
  Filter f;
  auto labels = ParseLabelSelector(req.label_selector);
  if (!labels.ok()) return labels.status();
  f.labels = std::move(*labels);
  auto fields = ParseFieldSelector(req.field_selector);
  if (!fields.ok()) return fields.status();
  f.fields = std::move(*fields);
  std::vector<std::string> allowed = strategy.SelectableFields();
  allowed.push_back("metadata.name");
  allowed.push_back("metadata.namespace");
  for (const auto& term : f.fields.terms()) {
    if (std::find(allowed.begin(), allowed.end(), term.field) == allowed.end())
      return Status::BadRequest("field label not supported: " + term.field);
  }
  f.empty = f.labels.Empty() && f.fields.terms().empty();
  return f;
}

}  // namespace

std::string NewUid() {
  uint64_t a = rng(), b = rng();
  a = (a & 0xffffffffffff0fffull) | 0x0000000000004000ull;  // version 4
  b = (b & 0x3fffffffffffffffull) | 0x8000000000000000ull;  // variant 10
  char buf[40];
  snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx", static_cast<uint32_t>(a >> 32),
           static_cast<uint32_t>((a >> 16) & 0xffff), static_cast<uint32_t>(a & 0xffff),
           static_cast<uint32_t>(b >> 48),
           static_cast<unsigned long long>(b & 0xffffffffffffull));
  return buf;
}

// `subject` is invalid: field: message (a list in brackets when there are several).
static Status InvalidStatus(const std::string& subject, std::vector<StatusCause> causes) {
  std::string msg = subject + " is invalid: ";
  if (causes.size() > 1) msg += "[";
  for (size_t i = 0; i < causes.size(); ++i) {
    if (i > 0) msg += ", ";
    msg += causes[i].field + ": " + causes[i].message;
  }
  if (causes.size() > 1) msg += "]";
  return Status::Invalid(msg, std::move(causes));
}

Status InvalidError(const KindInfo& kind, const std::string& name,
                    std::vector<StatusCause> causes) {
  return InvalidStatus(ObjectKindName(kind) + " \"" + name + "\"", std::move(causes));
}

Status NotFoundError(const KindInfo& kind, const std::string& name) {
  return Status::NotFound(kind.GroupResource() + " \"" + name + "\" not found");
}

std::optional<std::string> FieldValue(capnp::DynamicStruct::Reader obj, const std::string& path) {
  capnp::DynamicStruct::Reader cur = obj;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    KJ_IF_MAYBE(field, cur.getSchema().findFieldByName(part)) {
      auto type = field->getType();
      if (dot == std::string::npos) {
        if (type.isStruct()) {
          // OptBool / OptInt wrappers read as their value; absent as "".
          if (!cur.has(*field)) return std::string();
          auto inner = cur.get(*field).as<capnp::DynamicStruct>();
          KJ_IF_MAYBE(v, inner.getSchema().findFieldByName("value")) {
            auto val = inner.get(*v);
            if (v->getType().isBool()) return std::string(val.as<bool>() ? "true" : "false");
            if (v->getType().isText()) return std::string(val.as<capnp::Text>().cStr());
            return std::to_string(val.as<int64_t>());
          }
          return std::nullopt;
        }
        auto val = cur.get(*field);
        if (type.isText()) return std::string(val.as<capnp::Text>().cStr());
        if (type.isBool()) return std::string(val.as<bool>() ? "true" : "false");
        if (type.isList() || type.isData()) return std::nullopt;
        return std::to_string(val.as<int64_t>());
      }
      if (!type.isStruct()) return std::nullopt;
      if (!cur.has(*field)) return std::string();
      cur = cur.get(*field).as<capnp::DynamicStruct>();
      start = dot + 1;
    } else {
      return std::nullopt;
    }
  }
}

struct Registry::WatchState : public WatchHandle {
  std::unique_ptr<store::Watch> watch;
  ~WatchState() override {
    if (watch) watch->Cancel();
  }
};

Registry::Registry(store::Store* store, const KindRegistry* kinds, Clock* clock,
                   RegistryOptions options)
    : store_(store), kinds_(kinds), clock_(clock), options_(std::move(options)),
      strategies_(clock) {}

Registry::~Registry() = default;

Status Registry::Bootstrap() {
  const KindInfo* ns_kind = kinds_->ByGroupResource("", "namespaces");
  for (const auto& name : options_.initial_namespaces) {
    if (store_->Get(KeyFor(*ns_kind, "", name)).ok()) continue;
    Object ns(ns_kind);
    ns.meta().setName(name);
    ApiRequest req;
    req.kind = ns_kind;
    std::promise<Status> done;
    Create(req, std::move(ns), [&](Result<WriteReply> r) { done.set_value(r.status()); });
    Status s = done.get_future().get();
    if (!s.ok() && !s.Is(Reason::kAlreadyExists)) return s;
  }
  return Status::Ok();
}

std::string Registry::KeyFor(const KindInfo& kind, const std::string& ns,
                             const std::string& name) const {
  return PrefixFor(kind, kind.namespaced ? ns : "") + name;
}

std::string Registry::PrefixFor(const KindInfo& kind, const std::string& ns) const {
  std::string key = "/registry/" + (kind.group.empty() ? std::string("core") : kind.group) + "/" +
                    kind.plural + "/";
  if (kind.namespaced && !ns.empty()) key += ns + "/";
  return key;
}

namespace {

// Kubernetes' ListOptions validation of resourceVersionMatch (Invalid, kind ListOptions).
Status ValidateResourceVersionMatch(const ApiRequest& req) {
  const std::string& match = req.resource_version_match;
  if (match.empty()) return Status::Ok();
  std::vector<StatusCause> causes;
  auto forbidden = [&](const std::string& why) {
    causes.push_back({"FieldValueForbidden", "Forbidden: " + why, "resourceVersionMatch"});
  };
  if (req.resource_version.empty()) forbidden("resourceVersionMatch is forbidden unless resourceVersion is provided");
  if (!req.continue_token.empty()) forbidden("resourceVersionMatch is forbidden when continue is provided");
  if (match != "Exact" && match != "NotOlderThan") {
    causes.push_back({"FieldValueNotSupported",
                      "Unsupported value: \"" + match + "\": supported values: \"Exact\", \"NotOlderThan\", \"\"",
                      "resourceVersionMatch"});
  }
  if (match == "Exact" && req.resource_version == "0")
    forbidden("resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"");
  if (causes.empty()) return Status::Ok();
  return InvalidStatus("ListOptions.meta.k8s.io \"\"", std::move(causes));
}

}  // namespace

Status Registry::WaitForRevision(const ApiRequest& req, int64_t revision) const {
  if (store_->CurrentRevision() >= revision) return Status::Ok();
  if (req.wait_for_revision && options_.revision_wait > Duration::zero() &&
      store_->WaitForRevision(revision, options_.revision_wait)) {
    return Status::Ok();
  }
  Status s = Status::Timeout("Too large resource version: " + std::to_string(revision) +
                             ", current: " + std::to_string(store_->CurrentRevision()));
  s.mutable_causes().push_back({"ResourceVersionTooLarge", "Too large resource version", ""});
  s.set_retry_after_seconds(1);
  return s;
}

Result<Object> Registry::Get(const ApiRequest& req) {
  if (req.name.empty()) return Status::BadRequest("name is required");
  // GetOptions has no resourceVersionMatch: any resourceVersion but "0" means not older than.
  if (!req.resource_version.empty() && req.resource_version != "0") {
    int64_t rv = 0;
    if (!ParseRevision(req.resource_version, &rv))
      return Status::BadRequest("invalid resource version: " + req.resource_version);
    CATTLE_RETURN_IF_ERROR(WaitForRevision(req, rv));
  }
  auto kv = store_->Get(KeyFor(*req.kind, req.namespace_, req.name));
  if (!kv.ok()) {
    if (kv.status().Is(Reason::kNotFound)) return NotFoundError(*req.kind, req.name);
    return kv.status();
  }
  return Object::FromBytes(req.kind, kv->value, kv->mod_revision);
}

Result<ListReply> Registry::List(const ApiRequest& req) {
  const Strategy& strategy = strategies_.For(*req.kind);
  auto filter = MakeFilter(req, strategy);
  if (!filter.ok()) return filter.status();
  if (req.limit < 0) return Status::BadRequest("limit must not be negative");
  CATTLE_RETURN_IF_ERROR(ValidateResourceVersionMatch(req));

  store::ListOptions opts;
  opts.prefix = PrefixFor(*req.kind, req.namespace_);
  // Kubernetes' table: continue → the token's revision, exactly ("0" is tolerated, any other
  // resourceVersion is refused); "" → most recent; "0" → any (we serve the most recent);
  // N → not older than N, except exactly N with match Exact, or with a limit and no match.
  bool exact_by_version = false;
  if (!req.continue_token.empty()) {
    if (!req.resource_version.empty() && req.resource_version != "0")
      return Status::BadRequest("specifying resource version is not allowed when using continue");
    CATTLE_RETURN_IF_ERROR(DecodeContinue(req.continue_token, &opts.revision, &opts.start_after));
    if (opts.start_after.rfind(opts.prefix, 0) != 0)
      return Status::BadRequest("continue key is not valid: key does not match the request");
  } else if (!req.resource_version.empty() && req.resource_version != "0") {
    int64_t rv = 0;
    if (!ParseRevision(req.resource_version, &rv))
      return Status::BadRequest("invalid resource version: " + req.resource_version);
    CATTLE_RETURN_IF_ERROR(WaitForRevision(req, rv));
    const std::string& match = req.resource_version_match;
    if (match == "Exact" || (match.empty() && req.limit > 0)) {
      opts.revision = rv;
      exact_by_version = true;
    }
  }

  ListReply reply;
  reply.kind = req.kind;
  // metadata.name=X is a point read.
  std::string exact_name;
  if (req.continue_token.empty() && !exact_by_version &&
      filter->fields.RequiresExactMatch("metadata.name", &exact_name) && !req.namespace_.empty()) {
    auto kv = store_->Get(KeyFor(*req.kind, req.namespace_, exact_name));
    reply.revision = store_->CurrentRevision();
    if (kv.ok() && filter->Matches(req.kind, kv->value))
      reply.items.push_back({std::move(kv->value), kv->mod_revision});
    return reply;
  }

  const int64_t want = req.limit;
  std::string last_returned;
  bool more = false;
  while (true) {
    store::ListOptions page = opts;
    page.limit = filter->empty ? want : std::max<int64_t>(want, 256);
    if (want == 0) page.limit = 0;
    auto res = store_->List(page);
    if (!res.ok()) {
      if (res.status().Is(Reason::kExpired) && exact_by_version && opts.start_after.empty())
        return Status::Expired("The resourceVersion for the provided list is too old.");
      if (res.status().Is(Reason::kExpired))
        return Status::Expired("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.");
      return res.status();
    }
    opts.revision = res->revision;
    reply.revision = res->revision;
    bool stopped_early = false;
    for (size_t i = 0; i < res->items.size(); ++i) {
      auto& kv = res->items[i];
      if (!filter->Matches(req.kind, kv.value)) continue;
      if (want > 0 && static_cast<int64_t>(reply.items.size()) == want) {
        stopped_early = true;
        break;
      }
      last_returned = kv.key;
      reply.items.push_back({std::move(kv.value), kv.mod_revision});
    }
    if (stopped_early) {
      more = true;
      break;
    }
    if (!res->more) break;
    if (want > 0 && static_cast<int64_t>(reply.items.size()) == want) {
      more = true;
      if (filter->empty) reply.remaining = res->remaining;
      break;
    }
    opts.start_after = res->items.empty() ? opts.start_after : res->items.back().key;
  }
  if (more && !last_returned.empty())
    reply.continue_token = EncodeContinue(reply.revision, last_returned);
  return reply;
}

Status Registry::CheckNamespace(const ApiRequest& req) const {
  if (!req.kind->namespaced) return Status::Ok();
  if (req.namespace_.empty()) return Status::BadRequest("the namespace of the object must be set");
  const KindInfo* ns_kind = kinds_->ByGroupResource("", "namespaces");
  auto kv = store_->Get(KeyFor(*ns_kind, "", req.namespace_));
  if (!kv.ok()) return Status::NotFound("namespaces \"" + req.namespace_ + "\" not found");
  bool terminating = false;
  try {
    StoredView ns(ns_kind, kv->value);
    terminating = MetaOf(ns_kind, ns.root()).hasDeletionTimestamp();
  } catch (const kj::Exception&) {
  }
  if (terminating)
    return Status(Reason::kMethodNotAllowed,
                  "unable to create new content in namespace " + req.namespace_ +
                      " because it is being terminated");
  return Status::Ok();
}

Status Registry::ValidateMeta(const Object& obj, const Strategy& strategy, bool create) const {
  std::vector<StatusCause> causes;
  auto meta = obj.meta();
  std::string name = meta.getName().cStr();
  std::string why;
  if (name.empty()) {
    causes.push_back(FieldRequired("metadata.name", "name or generateName is required"));
  } else if (strategy.NameIsLabel() ? !IsDns1123Label(name, &why) : !IsDns1123Subdomain(name, &why)) {
    causes.push_back(FieldInvalid("metadata.name", GoQuote(name), why));
  }
  for (const auto& [k, v] : ToStdMap(meta.getLabels())) {
    if (!IsQualifiedName(k, &why)) causes.push_back(FieldInvalid("metadata.labels", GoQuote(k), why));
    if (!IsValidLabelValue(v, &why)) causes.push_back(FieldInvalid("metadata.labels", GoQuote(v), why));
  }
  size_t annotation_bytes = 0;
  for (const auto& [k, v] : ToStdMap(meta.getAnnotations())) {
    if (!IsQualifiedName(Lower(k), &why)) causes.push_back(FieldInvalid("metadata.annotations", GoQuote(k), why));
    annotation_bytes += k.size() + v.size();
  }
  if (annotation_bytes > 256 * 1024)
    causes.push_back({"FieldValueTooLong", "Too long: must have at most 262144 bytes",
                      "metadata.annotations"});
  if (obj.kind()->namespaced && !std::string(meta.getNamespace().cStr()).empty() &&
      !IsDns1123Label(meta.getNamespace().cStr(), &why))
    causes.push_back(FieldInvalid("metadata.namespace", GoQuote(meta.getNamespace().cStr()), why));
  for (size_t i = 0; i < meta.getOwnerReferences().size(); ++i) {
    auto ref = meta.getOwnerReferences()[i];
    std::string p = "metadata.ownerReferences[" + std::to_string(i) + "]";
    if (ref.getApiVersion().size() == 0) causes.push_back(FieldInvalid(p + ".apiVersion", "\"\"", "version must not be empty"));
    if (ref.getKind().size() == 0) causes.push_back(FieldInvalid(p + ".kind", "\"\"", "kind must not be empty"));
    if (ref.getName().size() == 0) causes.push_back(FieldInvalid(p + ".name", "\"\"", "name must not be empty"));
    if (ref.getUid().size() == 0) causes.push_back(FieldInvalid(p + ".uid", "\"\"", "uid must not be empty"));
  }
  if (!causes.empty()) return InvalidError(*obj.kind(), name, std::move(causes));
  return Status::Ok();
}

// Applies the generic update rules to `obj` (the proposed new state) given `old`, then the
// kind's defaults and validation. `old` null means create.
Status Registry::Finalize(const ApiRequest& req, Object& obj, const Object* old,
                          bool status_subresource, std::vector<StatusCause>* causes) const {
  const Strategy& strategy = strategies_.For(*obj.kind());
  if (old != nullptr) {
    if (status_subresource) {
      // Only status changes: start from the old object and take the new status.
      Object merged = old->Clone();
      CopyField(obj, merged, "status");
      obj = std::move(merged);
    } else if (req.subresource == "finalize") {
      // namespaces/finalize: only spec.finalizers changes.
      Object merged = old->Clone();
      CopyField(obj, merged, "spec");
      obj = std::move(merged);
    } else if (req.subresource == "resize" && obj.kind()->kind == "Pod") {
      // pods/resize: only the containers' resources change (matched by name), and the
      // kubelet is told through status.resize.
      Object merged = old->Clone();
      auto from = obj.get<api::Pod>().getSpec().getContainers();
      auto to = merged.as<api::Pod>().getSpec().getContainers();
      bool changed = false;
      for (size_t i = 0; i < to.size(); ++i) {
        for (auto c : from) {
          if (c.getName() != to[i].getName()) continue;
          if (!SemanticEqual(capnp::toDynamic(c.getResources()), capnp::toDynamic(to[i].getResources().asReader()))) {
            to[i].setResources(c.getResources());
            changed = true;
          }
        }
      }
      if (changed) merged.as<api::Pod>().getStatus().setResize("Proposed");
      obj = std::move(merged);
    } else {
      if (obj.kind()->HasSubresource("status")) CopyField(*old, obj, "status");
      // A namespace's spec.finalizers change only through namespaces/finalize.
      if (obj.kind()->kind == "Namespace") CopyField(*old, obj, "spec");
    }
    auto m = obj.meta();
    auto o = old->meta();
    // What a client may not change through an update.
    m.setName(o.getName());
    if (o.hasNamespace()) m.setNamespace(o.getNamespace()); else m.disownNamespace();
    m.setUid(o.getUid());
    m.setCreationTimestamp(o.getCreationTimestamp());
    m.setGeneration(o.getGeneration());
    if (o.hasDeletionTimestamp()) m.setDeletionTimestamp(o.getDeletionTimestamp());
    else m.disownDeletionTimestamp();
    if (o.hasDeletionGracePeriodSeconds()) m.setDeletionGracePeriodSeconds(o.getDeletionGracePeriodSeconds());
    else m.disownDeletionGracePeriodSeconds();
    if (o.hasGenerateName()) m.setGenerateName(o.getGenerateName()); else m.disownGenerateName();
    if (o.hasDeletionTimestamp()) {
      // Finalizers may only be removed once deletion started.
      std::vector<std::string> kept;
      for (auto f : m.getFinalizers()) kept.push_back(f.cStr());
      for (const auto& f : kept) {
        bool was = false;
        for (auto of : o.getFinalizers()) was |= (f == of.cStr());
        if (!was) {
          causes->push_back(FieldForbidden("metadata.finalizers", "no new finalizers can be added if the object is being deleted, found new finalizers [\"" + f + "\"]"));
        }
      }
    }
  }
  strategy.Default(obj);
  // A status write keeps the stored spec, hence the generation.
  if (old != nullptr && !status_subresource && strategy.HasGeneration(obj) &&
      !FieldEquals(obj.reader(), old->reader(), "spec")) {
    obj.meta().setGeneration(old->meta().getGeneration() + 1);
  }
  Status meta_status = ValidateMeta(obj, strategy, old == nullptr);
  if (!meta_status.ok()) {
    for (auto& c : meta_status.causes()) causes->push_back(c);
  }
  std::vector<StatusCause> more;
  if (old == nullptr) {
    more = strategy.Validate(obj);
  } else if (req.subresource == "resize" && obj.kind()->kind == "Pod") {
    // Judge everything but the resources against the old pod.
    Object old_view = old->Clone();
    auto from = obj.get<api::Pod>().getSpec().getContainers();
    auto to = old_view.as<api::Pod>().getSpec().getContainers();
    for (size_t i = 0; i < to.size() && i < from.size(); ++i) to[i].setResources(from[i].getResources());
    more = strategy.ValidateUpdate(obj, old_view);
  } else if (status_subresource) {
    more = strategy.ValidateStatusUpdate(obj, *old);
  } else {
    more = strategy.ValidateUpdate(obj, *old);
  }
  causes->insert(causes->end(), more.begin(), more.end());
  return Status::Ok();
}

void Registry::Create(const ApiRequest& req, Object obj, WriteDone done) {
  if (obj.kind() != req.kind)
    return done(Status::BadRequest("the object's kind " + obj.kind()->kind + " does not match the request's " + req.kind->kind));
  auto meta = obj.meta();
  std::string ns = meta.getNamespace().cStr();
  if (req.kind->namespaced) {
    if (ns.empty()) {
      meta.setNamespace(req.namespace_);
    } else if (!req.namespace_.empty() && ns != req.namespace_) {
      return done(Status::BadRequest("the namespace of the provided object does not match the namespace sent on the request"));
    }
  } else {
    meta.disownNamespace();
  }
  ApiRequest r = req;
  r.namespace_ = obj.namespace_();
  if (Status s = CheckNamespace(r); !s.ok()) return done(s);
  if (meta.hasResourceVersion() && meta.getResourceVersion().size() > 0)
    return done(Status::BadRequest("resourceVersion should not be set on objects to be created"));

  const Strategy& strategy = strategies_.For(*req.kind);
  bool generated = false;
  if (meta.getName().size() == 0 && meta.getGenerateName().size() > 0) {
    meta.setName(std::string(meta.getGenerateName().cStr()) + RandomSuffix(5));
    generated = true;
  }
  meta.setUid(NewUid());
  meta.setCreationTimestamp(FormatRfc3339(clock_->WallNanos()));
  meta.disownDeletionTimestamp();
  meta.disownDeletionGracePeriodSeconds();
  meta.disownSelfLink();
  meta.setGeneration(strategy.HasGeneration(obj) ? 1 : 0);
  strategy.PrepareForCreate(obj);
  std::vector<StatusCause> causes;
  CATTLE_RETURN_IF_ERROR_CB(Finalize(req, obj, nullptr, false, &causes), done);
  if (!causes.empty()) return done(InvalidError(*req.kind, obj.name(), std::move(causes)));
  if (req.dry_run) return done(WriteReply{std::move(obj), {}, true, false});

  std::string key = KeyFor(*req.kind, obj.namespace_(), obj.name());
  std::string bytes = StoredBytes(obj);
  auto shared = std::make_shared<Object>(std::move(obj));
  store_->CreateAsync(key, std::move(bytes), [this, req, shared, generated, done](Result<int64_t> rev) mutable {
    if (!rev.ok()) {
      if (rev.status().Is(Reason::kAlreadyExists)) {
        if (generated) {
          // Another object took the generated name: try a new suffix.
          shared->meta().setName("");
          return Create(req, std::move(*shared), done);
        }
        return done(Status::AlreadyExists(req.kind->GroupResource() + " \"" + shared->name() + "\" already exists"));
      }
      return done(rev.status());
    }
    shared->set_resource_version(*rev);
    done(WriteReply{std::move(*shared), {}, true, false});
  });
}

void Registry::CommitUpdate(const ApiRequest& req, const std::string& key, Object updated,
                            const Object& current, WriteDone done, std::function<void()> retry) {
  // A write that changes nothing keeps the revision. Compared field by field with the
  // resourceVersions made alike (the stored bytes never carry one; see StoredBytes).
  {
    auto meta = updated.meta();
    auto current_meta = current.meta();
    if (current_meta.hasResourceVersion()) {
      meta.setResourceVersion(current_meta.getResourceVersion());
    } else {
      meta.disownResourceVersion();
    }
    if (updated.reader().as<capnp::AnyStruct>() == current.reader().as<capnp::AnyStruct>())
      return done(WriteReply{current.Clone(), {}, false, false});
  }
  if (req.dry_run) {
    updated.set_resource_version(current.resource_version());
    return done(WriteReply{std::move(updated), {}, false, false});
  }
  auto meta = updated.meta();
  // Removing the last finalizer of an object being deleted (with no grace left) deletes it.
  if (meta.hasDeletionTimestamp() && meta.getFinalizers().size() == 0 &&
      (!meta.hasDeletionGracePeriodSeconds() || meta.getDeletionGracePeriodSeconds().getValue() == 0) &&
      !HasSpecFinalizers(updated)) {
    return DeleteNow(req, key, std::move(updated), done);
  }
  std::string bytes = StoredBytes(updated);
  auto shared = std::make_shared<Object>(std::move(updated));
  store_->UpdateAsync(key, std::move(bytes), current.resource_version(),
                      [shared, done, retry, req](Result<int64_t> rev) {
                        if (!rev.ok()) {
                          if (rev.status().Is(Reason::kConflict) && retry) return retry();
                          if (rev.status().Is(Reason::kConflict))
                            return done(ConflictError(*req.kind, shared->name()));
                          if (rev.status().Is(Reason::kNotFound))
                            return done(NotFoundError(*req.kind, shared->name()));
                          return done(rev.status());
                        }
                        shared->set_resource_version(*rev);
                        done(WriteReply{std::move(*shared), {}, false, false});
                      });
}

void Registry::Update(const ApiRequest& req, Object obj, WriteDone done) {
  if (obj.kind() != req.kind)
    return done(Status::BadRequest("the object's kind " + obj.kind()->kind + " does not match the request's " + req.kind->kind));
  if (obj.name() != req.name)
    return done(Status::BadRequest("the name of the object (" + obj.name() + ") does not match the name on the URL (" + req.name + ")"));
  if (req.kind->namespaced && !obj.namespace_().empty() && obj.namespace_() != req.namespace_)
    return done(Status::BadRequest("the namespace of the provided object does not match the namespace sent on the request"));
  std::string key = KeyFor(*req.kind, req.namespace_, req.name);
  auto kv = store_->Get(key);
  if (!kv.ok()) {
    if (kv.status().Is(Reason::kNotFound)) return done(NotFoundError(*req.kind, req.name));
    return done(kv.status());
  }
  auto current = Object::FromBytes(req.kind, kv->value, kv->mod_revision);
  if (!current.ok()) return done(current.status());
  int64_t client_rv = obj.resource_version();
  if (obj.meta().getResourceVersion().size() > 0 && client_rv != kv->mod_revision)
    return done(ConflictError(*req.kind, req.name));
  bool status_sub = req.subresource == "status";
  std::vector<StatusCause> causes;
  CATTLE_RETURN_IF_ERROR_CB(Finalize(req, obj, &*current, status_sub, &causes), done);
  if (!causes.empty()) return done(InvalidError(*req.kind, req.name, std::move(causes)));
  std::function<void()> retry;
  if (client_rv == 0) {
    // Unconditional update: retry against the newest state.
    auto shared = std::make_shared<Object>(obj.Clone());
    retry = [this, req, shared, done]() { Update(req, shared->Clone(), done); };
  }
  CommitUpdate(req, key, std::move(obj), *current, done, retry);
}

void Registry::GuaranteedUpdate(const ApiRequest& req, Mutator mutate, bool status_subresource,
                                WriteDone done, int attempts_left) {
  std::string key = KeyFor(*req.kind, req.namespace_, req.name);
  auto kv = store_->Get(key);
  if (!kv.ok()) {
    if (kv.status().Is(Reason::kNotFound)) return done(NotFoundError(*req.kind, req.name));
    return done(kv.status());
  }
  auto current = Object::FromBytes(req.kind, kv->value, kv->mod_revision);
  if (!current.ok()) return done(current.status());
  Object updated = current->Clone();
  if (Status s = mutate(updated); !s.ok()) return done(s);
  std::vector<StatusCause> causes;
  CATTLE_RETURN_IF_ERROR_CB(Finalize(req, updated, &*current, status_subresource, &causes), done);
  if (!causes.empty()) return done(InvalidError(*req.kind, req.name, std::move(causes)));
  std::function<void()> retry;
  if (attempts_left > 0) {
    retry = [this, req, mutate, status_subresource, done, attempts_left]() {
      GuaranteedUpdate(req, mutate, status_subresource, done, attempts_left - 1);
    };
  }
  CommitUpdate(req, key, std::move(updated), *current, done, retry);
}

void Registry::Patch(const ApiRequest& req, const std::string& patch_type,
                     const std::string& patch, WriteDone done) {
  Result<Json> parsed = Status::BadRequest("");
  if (patch_type == "apply") {
    auto docs = ParseYamlDocuments(patch);
    if (!docs.ok()) return done(docs.status());
    if (docs->size() != 1) return done(Status::BadRequest("apply patch must be exactly one object"));
    parsed = std::move((*docs)[0]);
  } else {
    parsed = ParseJsonText(patch);
  }
  if (!parsed.ok()) return done(parsed.status());
  Json patch_json = std::move(*parsed);
  if (patch_type == "json" && !patch_json.is_array())
    return done(Status::BadRequest("json patch must be an array of operations"));
  if (patch_type != "json" && !patch_json.is_object())
    return done(Status::BadRequest("patch must be a JSON object"));
  if (patch_type != "merge" && patch_type != "json" && patch_type != "strategic" && patch_type != "apply")
    return done(Status(Reason::kUnsupportedMediaType, "unsupported patch type: " + patch_type));

  const KindInfo* kind = req.kind;
  bool status_sub = req.subresource == "status";
  FieldValidation validation = req.field_validation;
  auto mutate = [kind, patch_type, patch_json, validation, this](Object& current) -> Status {
    Json doc = current.ToJson();
    Result<Json> patched = Status::Internal("");
    if (patch_type == "merge") {
      patched = MergePatch(doc, patch_json);
    } else if (patch_type == "json") {
      patched = ApplyJsonPatch(doc, patch_json);
    } else {
      patched = StrategicMergePatch(doc, patch_json, kind->schema);
    }
    if (!patched.ok()) return patched.status();
    // A resourceVersion in the patch is a precondition.
    std::string rv = current.meta().getResourceVersion().cStr();
    if (patched->contains("metadata") && (*patched)["metadata"].is_object()) {
      auto& m = (*patched)["metadata"];
      if (m.contains("resourceVersion") && m["resourceVersion"].is_string() &&
          m["resourceVersion"].get<std::string>() != rv)
        return ConflictError(*kind, current.name());
    }
    DecodeOptions opts;
    opts.unknown_fields = validation;
    auto obj = Object::FromJson(*kinds_, *patched, opts, kind);
    if (!obj.ok()) return obj.status();
    current = std::move(*obj);
    return Status::Ok();
  };
  if (patch_type == "apply") {
    // Server-side apply, as an upsert: create when absent.
    auto existing = store_->Get(KeyFor(*req.kind, req.namespace_, req.name));
    if (!existing.ok() && existing.status().Is(Reason::kNotFound)) {
      DecodeOptions opts;
      opts.unknown_fields = validation;
      auto obj = Object::FromJson(*kinds_, patch_json, opts, kind);
      if (!obj.ok()) return done(obj.status());
      if (obj->name().empty()) obj->meta().setName(req.name);
      if (obj->name() != req.name)
        return done(Status::BadRequest("the name of the object (" + obj->name() + ") does not match the name on the URL (" + req.name + ")"));
      return Create(req, std::move(*obj), done);
    }
  }
  GuaranteedUpdate(req, mutate, status_sub, done);
}

void Registry::DeleteNow(const ApiRequest& req, const std::string& key, Object current,
                         WriteDone done) {
  if (req.dry_run) return done(WriteReply{std::move(current), {}, false, true});
  int64_t expected = current.resource_version();
  auto shared = std::make_shared<Object>(std::move(current));
  store_->DeleteAsync(key, expected, [this, req, shared, done](Result<int64_t> rev) {
    if (!rev.ok()) {
      if (rev.status().Is(Reason::kConflict)) return Delete(req, done);  // changed meanwhile: redo
      if (rev.status().Is(Reason::kNotFound)) return done(NotFoundError(*req.kind, req.name));
      return done(rev.status());
    }
    shared->set_resource_version(*rev);
    done(WriteReply{std::move(*shared), {}, false, true});
  });
}

void Registry::Delete(const ApiRequest& req, WriteDone done) {
  if (req.kind->kind == "Namespace" && IsImmortalNamespace(req.name))
    return done(Status::Forbidden("namespaces \"" + req.name + "\" is forbidden: this namespace may not be deleted"));
  std::string key = KeyFor(*req.kind, req.namespace_, req.name);
  auto kv = store_->Get(key);
  if (!kv.ok()) {
    if (kv.status().Is(Reason::kNotFound)) return done(NotFoundError(*req.kind, req.name));
    return done(kv.status());
  }
  auto current = Object::FromBytes(req.kind, kv->value, kv->mod_revision);
  if (!current.ok()) return done(current.status());
  auto meta = current->meta();
  if (!req.precondition_uid.empty() && req.precondition_uid != meta.getUid().cStr())
    return done(Status::Conflict("Precondition failed: UID in precondition: " + req.precondition_uid +
                                 ", UID in object meta: " + meta.getUid().cStr()));
  if (!req.precondition_resource_version.empty() &&
      req.precondition_resource_version != std::to_string(kv->mod_revision))
    return done(Status::Conflict("Precondition failed: ResourceVersion in precondition: " +
                                 req.precondition_resource_version +
                                 ", ResourceVersion in object meta: " + std::to_string(kv->mod_revision)));
  if (req.grace_period_seconds && *req.grace_period_seconds < 0)
    return done(InvalidError(*req.kind, req.name, {FieldInvalid("gracePeriodSeconds", std::to_string(*req.grace_period_seconds), "must be greater than or equal to 0")}));

  // Graceful deletion: pods bound to a node wait for their kubelet.
  int64_t grace = 0;
  if (req.kind->kind == "Pod") {
    auto pod = current->get<api::Pod>();
    grace = pod.getSpec().hasTerminationGracePeriodSeconds()
                ? pod.getSpec().getTerminationGracePeriodSeconds().getValue()
                : 30;
    if (req.grace_period_seconds) grace = *req.grace_period_seconds;
    std::string phase = pod.getStatus().getPhase().cStr();
    if (pod.getSpec().getNodeName().size() == 0 || phase == "Succeeded" || phase == "Failed")
      grace = 0;
    if (meta.hasDeletionGracePeriodSeconds() && meta.getDeletionGracePeriodSeconds().getValue() < grace)
      grace = meta.getDeletionGracePeriodSeconds().getValue();  // never lengthen
    if (grace == 0 && req.grace_period_seconds && *req.grace_period_seconds == 0)
      grace = 0;
  }
  bool namespace_finalizers = HasSpecFinalizers(*current);
  std::vector<std::string> add_finalizers;
  if (req.propagation_policy == "Foreground") add_finalizers.push_back("foregroundDeletion");
  if (req.propagation_policy == "Orphan") add_finalizers.push_back("orphan");
  bool has_finalizers = meta.getFinalizers().size() > 0 || !add_finalizers.empty() || namespace_finalizers;

  if (grace == 0 && !has_finalizers) return DeleteNow(req, key, std::move(*current), done);

  int64_t now = clock_->WallNanos();
  auto mutate = [grace, now, add_finalizers](Object& obj) -> Status {
    auto m = obj.meta();
    std::string ts = FormatRfc3339(now + grace * 1000000000LL);
    if (!m.hasDeletionTimestamp() || ts < std::string(m.getDeletionTimestamp().cStr()))
      m.setDeletionTimestamp(ts);
    m.initDeletionGracePeriodSeconds().setValue(grace);
    std::vector<std::string> fins;
    for (auto f : m.getFinalizers()) fins.push_back(f.cStr());
    for (const auto& f : add_finalizers)
      if (std::find(fins.begin(), fins.end(), f) == fins.end()) fins.push_back(f);
    auto list = m.initFinalizers(fins.size());
    for (size_t i = 0; i < fins.size(); ++i) list.set(i, fins[i]);
    if (obj.kind()->kind == "Namespace") obj.as<api::Namespace>().initStatus().setPhase("Terminating");
    return Status::Ok();
  };
  // Deletion metadata is not part of a client's update: write it directly.
  std::string kind_name = req.kind->kind;
  Object updated = current->Clone();
  (void)mutate(updated);
  if (req.dry_run) return done(WriteReply{std::move(updated), {}, false, false});
  std::string bytes = StoredBytes(updated);
  auto shared = std::make_shared<Object>(std::move(updated));
  store_->UpdateAsync(key, std::move(bytes), kv->mod_revision,
                      [this, req, shared, done](Result<int64_t> rev) {
                        if (!rev.ok()) {
                          if (rev.status().Is(Reason::kConflict)) return Delete(req, done);
                          return done(rev.status());
                        }
                        shared->set_resource_version(*rev);
                        done(WriteReply{std::move(*shared), {}, false, false});
                      });
}

void Registry::Bind(const ApiRequest& req, Object binding, WriteDone done) {
  auto b = binding.get<api::Binding>();
  std::string node = b.getTarget().getName().cStr();
  if (node.empty())
    return done(Status::Invalid("Binding \"" + req.name + "\" is invalid: target.name: Required value", {FieldRequired("target.name")}));
  std::string uid = b.getMetadata().getUid().cStr();
  ApiRequest pod_req = req;
  pod_req.subresource = "";
  auto mutate = [node, uid, this, name = req.name](Object& pod) -> Status {
    auto p = pod.as<api::Pod>();
    if (!uid.empty() && uid != p.getMetadata().getUid().cStr())
      return Status::Conflict("Operation cannot be fulfilled on pods/binding \"" + name + "\": UID mismatch");
    if (p.getMetadata().hasDeletionTimestamp())
      return Status::Conflict("Operation cannot be fulfilled on pods/binding \"" + name + "\": pod " + name + " is being deleted, cannot be assigned to a host");
    if (p.getSpec().getNodeName().size() > 0)
      return Status::Conflict("Operation cannot be fulfilled on pods/binding \"" + name + "\": pod " + name + " is already assigned to node \"" + p.getSpec().getNodeName().cStr() + "\"");
    p.getSpec().setNodeName(node);
    // PodScheduled=True, as the scheduler's binding makes it.
    auto status = p.getStatus();
    std::vector<std::pair<std::string, std::string>> keep;
    auto old = status.getConditions();
    auto orphanage = capnp::Orphanage::getForMessageContaining(status);
    auto conds = orphanage.newOrphan<capnp::List<api::Condition>>(old.size() + 1);
    size_t n = 0;
    for (auto c : old) {
      if (c.getType() == "PodScheduled") continue;
      conds.get().setWithCaveats(n++, c);
    }
    auto c = conds.get()[n++];
    c.setType("PodScheduled");
    c.setStatus("True");
    c.setLastTransitionTime(FormatRfc3339(clock_->WallNanos()));
    conds.truncate(n);
    status.adoptConditions(std::move(conds));
    return Status::Ok();
  };
  // The binding changes spec and status together: bypass the status/spec split.
  std::string key = KeyFor(*req.kind, req.namespace_, req.name);
  auto kv = store_->Get(key);
  if (!kv.ok()) return done(NotFoundError(*req.kind, req.name));
  auto current = Object::FromBytes(req.kind, kv->value, kv->mod_revision);
  if (!current.ok()) return done(current.status());
  Object updated = current->Clone();
  if (Status s = mutate(updated); !s.ok()) return done(s);
  auto self = this;
  CommitUpdate(pod_req, key, std::move(updated), *current, done,
               [self, req, binding = std::make_shared<Object>(std::move(binding)), done]() {
                 self->Bind(req, binding->Clone(), done);
               });
}

Result<std::unique_ptr<WatchHandle>> Registry::Watch(const ApiRequest& req, WatchSink sink,
                                                     int64_t* start_revision) {
  const Strategy& strategy = strategies_.For(*req.kind);
  auto filter_result = MakeFilter(req, strategy);
  if (!filter_result.ok()) return filter_result.status();
  auto filter = std::make_shared<Filter>(std::move(*filter_result));
  const KindInfo* kind = req.kind;
  std::string prefix = PrefixFor(*kind, req.namespace_);

  // Watches take resourceVersionMatch only with sendInitialEvents, which is not served here.
  if (!req.resource_version_match.empty()) {
    const std::string why =
        "Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided";
    return Status::Invalid("ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: " + why,
                           {{"FieldValueForbidden", why, "resourceVersionMatch"}});
  }
  int64_t after = 0;
  bool send_initial = req.resource_version.empty() || req.resource_version == "0";
  if (!send_initial) {
    if (!ParseRevision(req.resource_version, &after))
      return Status::BadRequest("invalid resource version: " + req.resource_version);
    if (after < store_->CompactedRevision())
      return Status::Expired("too old resource version: " + req.resource_version + " (" +
                             std::to_string(store_->CompactedRevision() + 1) + ")");
  } else {
    ApiRequest list_req = req;
    list_req.resource_version = "";
    list_req.resource_version_match = "";
    list_req.limit = 0;
    list_req.continue_token = "";
    auto list = List(list_req);
    if (!list.ok()) return list.status();
    for (auto& item : list->items) {
      WatchEvent ev;
      ev.type = "ADDED";
      ev.kind = kind;
      ev.item = std::move(item);
      sink(ev);
    }
    after = list->revision;
  }

  if (start_revision != nullptr) *start_revision = after;
  auto state = std::make_unique<WatchState>();
  auto on_event = [kind, filter, sink](const store::Event& e) {
    WatchEvent ev;
    ev.kind = kind;
    if (e.type == store::EventType::kDelete) {
      if (!filter->Matches(kind, e.prev_kv.value)) return;
      ev.type = "DELETED";
      ev.item = {e.prev_kv.value, e.revision};
    } else {
      bool now = filter->Matches(kind, e.kv.value);
      bool before = !e.is_create() && filter->Matches(kind, e.prev_kv.value);
      if (!now && !before) return;
      ev.type = now && before ? "MODIFIED" : now ? "ADDED" : "DELETED";
      ev.item = {e.kv.value, e.revision};
    }
    sink(ev);
  };
  auto on_error = [kind, sink](const Status& s) {
    WatchEvent ev;
    ev.type = "ERROR";
    ev.kind = kind;
    ev.error = s;
    sink(ev);
  };
  state->watch = store_->WatchPrefix(prefix, after, on_event, on_error);
  return std::unique_ptr<WatchHandle>(std::move(state));
}

}  // namespace cattle::apiserver
