#include "apiserver/local_client.h"

#include <filesystem>
#include <future>
#include <mutex>

namespace cattle::apiserver {
namespace {

ApiRequest Req(const KindInfo* kind, const std::string& ns, const std::string& name) {
  ApiRequest r;
  r.kind = kind;
  r.namespace_ = kind->namespaced ? ns : "";
  r.name = name;
  return r;
}

void ApplyWrite(ApiRequest& r, const WriteOptions& o) {
  r.dry_run = o.dry_run;
  r.subresource = o.subresource;
  r.field_manager = o.field_manager;
  r.field_validation = o.field_validation == "Ignore" ? FieldValidation::kIgnore
                       : o.field_validation == "Warn" ? FieldValidation::kWarn
                                                      : FieldValidation::kStrict;
}

template <typename F>
Result<Object> Wait(F call) {
  std::promise<Result<WriteReply>> p;
  auto f = p.get_future();
  call([&p](Result<WriteReply> r) { p.set_value(std::move(r)); });
  auto r = f.get();
  if (!r.ok()) return r.status();
  return std::move(r->object);
}

class LocalWatch : public WatchStream {
 public:
  int64_t last_revision() const override { return last_rev->load(); }
  std::unique_ptr<WatchHandle> handle;
  std::shared_ptr<std::atomic<int64_t>> last_rev = std::make_shared<std::atomic<int64_t>>(0);
};

}  // namespace

Result<Object> LocalApiClient::Get(const KindInfo* kind, const std::string& ns, const std::string& name) {
  return registry_->Get(Req(kind, ns, name));
}

Result<ObjectList> LocalApiClient::List(const KindInfo* kind, const std::string& ns, const ListOptions& o) {
  ApiRequest r = Req(kind, ns, "");
  r.label_selector = o.label_selector;
  r.field_selector = o.field_selector;
  r.resource_version = o.resource_version;
  r.resource_version_match = o.resource_version_match;
  r.limit = o.limit;
  r.continue_token = o.continue_token;
  auto list = registry_->List(r);
  if (!list.ok()) return list.status();
  ObjectList out;
  out.resource_version = std::to_string(list->revision);
  out.continue_token = list->continue_token;
  out.remaining = list->remaining;
  for (auto& item : list->items) {
    auto obj = Object::FromBytes(kind, item.bytes, item.revision);
    if (!obj.ok()) return obj.status();
    out.items.push_back(std::move(*obj));
  }
  return out;
}

Result<Object> LocalApiClient::Create(const Object& obj, const WriteOptions& o) {
  ApiRequest r = Req(obj.kind(), obj.namespace_().empty() ? "default" : obj.namespace_(), "");
  ApplyWrite(r, o);
  return Wait([&](WriteDone d) { registry_->Create(r, obj.Clone(), d); });
}

Result<Object> LocalApiClient::Update(const Object& obj, const WriteOptions& o) {
  ApiRequest r = Req(obj.kind(), obj.namespace_(), obj.name());
  ApplyWrite(r, o);
  return Wait([&](WriteDone d) { registry_->Update(r, obj.Clone(), d); });
}

Result<Object> LocalApiClient::Patch(const KindInfo* kind, const std::string& ns, const std::string& name,
                                     const std::string& patch_type, const std::string& patch,
                                     const WriteOptions& o) {
  ApiRequest r = Req(kind, ns, name);
  ApplyWrite(r, o);
  return Wait([&](WriteDone d) { registry_->Patch(r, patch_type, patch, d); });
}

Result<Object> LocalApiClient::Delete(const KindInfo* kind, const std::string& ns, const std::string& name,
                                      const DeleteOptions& o) {
  ApiRequest r = Req(kind, ns, name);
  r.grace_period_seconds = o.grace_period_seconds;
  r.precondition_uid = o.precondition_uid;
  r.precondition_resource_version = o.precondition_resource_version;
  r.propagation_policy = o.propagation_policy;
  r.dry_run = o.dry_run;
  return Wait([&](WriteDone d) { registry_->Delete(r, d); });
}

Result<Object> LocalApiClient::Bind(const std::string& ns, const std::string& pod, const std::string& node,
                                    const std::string& pod_uid) {
  const KindInfo* pods = kinds().ByGroupResource("", "pods");
  Object binding(kinds().BodyKind("Binding"));
  binding.meta().setName(pod);
  binding.meta().setNamespace(ns);
  if (!pod_uid.empty()) binding.meta().setUid(pod_uid);
  auto target = binding.root().init("target").as<capnp::DynamicStruct>();
  target.set("kind", capnp::Text::Reader("Node"));
  target.set("name", capnp::Text::Reader(node.c_str()));
  ApiRequest r = Req(pods, ns, pod);
  r.subresource = "binding";
  return Wait([&](WriteDone d) { registry_->Bind(r, std::move(binding), d); });
}

Result<std::unique_ptr<WatchStream>> LocalApiClient::Watch(
    const KindInfo* kind, const std::string& ns, const WatchOptions& o,
    std::function<void(ClientWatchEvent&)> on_event, std::function<void(const Status&)> on_error) {
  ApiRequest r = Req(kind, ns, "");
  r.label_selector = o.label_selector;
  r.field_selector = o.field_selector;
  r.resource_version = o.resource_version;
  auto watch = std::make_unique<LocalWatch>();
  auto last = watch->last_rev;
  int64_t start = 0;
  auto handle = registry_->Watch(
      r,
      [kind, on_event, on_error, last](const WatchEvent& ev) {
        if (ev.type == "ERROR") {
          if (on_error) on_error(ev.error);
          return;
        }
        auto obj = Object::FromBytes(kind, ev.item.bytes, ev.item.revision);
        if (!obj.ok()) return;
        if (ev.item.revision > last->load()) last->store(ev.item.revision);
        ClientWatchEvent ce{ev.type, std::move(*obj)};
        on_event(ce);
      },
      &start);
  if (!handle.ok()) return handle.status();
  if (start > last->load()) last->store(start);
  watch->handle = std::move(*handle);
  return std::unique_ptr<WatchStream>(std::move(watch));
}

LocalApiServer::LocalApiServer(Clock* clock) {
  char tmpl[] = "/tmp/cattle-local-XXXXXX";
  dir = mkdtemp(tmpl);
  store::StoreOptions o;
  o.dir = dir;
  o.clock = clock;
  auto s = store::Store::Open(o);
  if (!s.ok()) abort();  // a test environment that cannot open a temp store is broken
  store = std::move(*s);
  registry = std::make_unique<Registry>(store.get(), &KindRegistry::Default(), clock);
  (void)registry->Bootstrap();
  client = std::make_unique<LocalApiClient>(registry.get());
}

LocalApiServer::~LocalApiServer() {
  client.reset();
  registry.reset();
  store.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace cattle::apiserver
