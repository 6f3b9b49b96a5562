// Kubernetes' REST semantics in the registry, over a real RocksDB store in a temp dir.
#include "apiserver/registry.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <map>

#include "apps.capnp.h"
#include "core.capnp.h"

namespace cattle::apiserver {
namespace {

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cattle-registry-XXXXXX";
    dir_ = mkdtemp(tmpl);
    store::StoreOptions o;
    o.dir = dir_;
    auto s = store::Store::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    registry_ = std::make_unique<Registry>(store_.get(), &KindRegistry::Default(), RealClock::Get());
    ASSERT_TRUE(registry_->Bootstrap().ok());
  }
  void TearDown() override {
    registry_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  ApiRequest Req(const char* resource, const std::string& name = "", const std::string& ns = "default") {
    ApiRequest r;
    const KindInfo* k = KindRegistry::Default().Resolve(resource);
    r.kind = k;
    r.name = name;
    r.namespace_ = k->namespaced ? ns : "";
    return r;
  }
  Object Parse(const std::string& json) {
    auto o = Object::FromJson(KindRegistry::Default(), Json::parse(json));
    EXPECT_TRUE(o.ok()) << o.status().ToString();
    return std::move(*o);
  }
  template <typename F>
  Result<WriteReply> Sync(F call) {
    std::promise<Result<WriteReply>> p;
    call([&](Result<WriteReply> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  Result<WriteReply> Create(const std::string& json, const char* resource = nullptr) {
    Object o = Parse(json);
    ApiRequest r = Req(resource ? resource : o.kind()->plural.c_str(), "", o.namespace_().empty() ? "default" : o.namespace_());
    return Sync([&](WriteDone d) { registry_->Create(r, std::move(o), d); });
  }
  Result<WriteReply> Update(Object o, const std::string& sub = "") {
    ApiRequest r = Req(o.kind()->plural.c_str(), o.name(), o.namespace_());
    r.subresource = sub;
    return Sync([&](WriteDone d) { registry_->Update(r, std::move(o), d); });
  }
  Result<WriteReply> Delete(const char* resource, const std::string& name, std::optional<int64_t> grace = {}) {
    ApiRequest r = Req(resource, name);
    r.grace_period_seconds = grace;
    return Sync([&](WriteDone d) { registry_->Delete(r, d); });
  }
  Result<WriteReply> Patch(const char* resource, const std::string& name, const std::string& type, const std::string& patch) {
    ApiRequest r = Req(resource, name);
    return Sync([&](WriteDone d) { registry_->Patch(r, type, patch, d); });
  }

  std::string dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Registry> registry_;
};

constexpr char kDeploy[] = R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"default","labels":{"app":"web"}},
  "spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"nginx:1.26"}]}}}})";
constexpr char kPod[] = R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","namespace":"default","labels":{"app":"%s"}},
  "spec":{%s"containers":[{"name":"c","image":"busybox"}]}})";

std::string PodJson(const std::string& name, const std::string& app = "web", const std::string& node = "") {
  char buf[1024];
  std::string n = node.empty() ? "" : "\"nodeName\":\"" + node + "\",";
  snprintf(buf, sizeof(buf), kPod, name.c_str(), app.c_str(), n.c_str());
  return buf;
}

TEST_F(RegistryTest, CreateDefaultsMetadataAndRefusesDuplicates) {
  auto r = Create(kDeploy);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto m = r->object.meta();
  EXPECT_EQ(std::string(m.getUid().cStr()).size(), 36u);
  EXPECT_FALSE(std::string(m.getCreationTimestamp().cStr()).empty());
  EXPECT_EQ(m.getGeneration(), 1);
  EXPECT_GT(r->object.resource_version(), 0);
  auto again = Create(kDeploy);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().reason(), Reason::kAlreadyExists);
  EXPECT_EQ(again.status().message(), "deployments.apps \"web\" already exists");
}

TEST_F(RegistryTest, CreateInAMissingNamespaceIsNotFound) {
  std::string j = PodJson("p");
  j.replace(j.find("\"default\""), 9, "\"nowhere\"");
  auto r = Create(j);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), Reason::kNotFound);
  EXPECT_EQ(r.status().message(), "namespaces \"nowhere\" not found");
}

TEST_F(RegistryTest, GenerateNameGivesUniqueNames) {
  std::set<std::string> names;
  for (int i = 0; i < 20; ++i) {
    auto r = Create(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"generateName":"cfg-","namespace":"default"}})");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->object.name().rfind("cfg-", 0), 0u);
    EXPECT_EQ(r->object.name().size(), 9u);
    names.insert(r->object.name());
  }
  EXPECT_EQ(names.size(), 20u);
}

TEST_F(RegistryTest, InvalidObjectsGetKubernetesMessages) {
  std::string bad = kDeploy;
  bad.replace(bad.find("\"replicas\":2"), 12, "\"replicas\":-1");
  auto r = Create(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), Reason::kInvalid);
  EXPECT_NE(r.status().message().find("Deployment.apps \"web\" is invalid: "), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("spec.replicas: Invalid value: -1"), std::string::npos) << r.status().message();
  ASSERT_FALSE(r.status().causes().empty());
  EXPECT_EQ(r.status().causes()[0].field, "spec.replicas");

  auto bad_name = Create(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Bad_Name","namespace":"default"}})");
  ASSERT_FALSE(bad_name.ok());
  EXPECT_EQ(bad_name.status().reason(), Reason::kInvalid);
  EXPECT_NE(bad_name.status().message().find("metadata.name: Invalid value: \"Bad_Name\""), std::string::npos)
      << bad_name.status().message();
}

TEST_F(RegistryTest, GenerationConflictsAndNoOpWrites) {
  auto created = Create(kDeploy);
  ASSERT_TRUE(created.ok());
  int64_t rv1 = created->object.resource_version();

  // A write that changes nothing keeps the revision.
  auto same = Update(created->object.Clone());
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_EQ(same->object.resource_version(), rv1);

  // Metadata change: new revision, same generation.
  Object labeled = created->object.Clone();
  SetStringMap(labeled.meta().initLabels(), {{"app", "web"}, {"team", "a"}});
  auto l = Update(std::move(labeled));
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_GT(l->object.resource_version(), rv1);
  EXPECT_EQ(l->object.meta().getGeneration(), 1);

  // A stale resourceVersion is a Conflict.
  Object stale = created->object.Clone();
  stale.as<api::Deployment>().getSpec().initReplicas().setValue(5);
  auto c = Update(std::move(stale));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().reason(), Reason::kConflict);
  EXPECT_NE(c.status().message().find("the object has been modified"), std::string::npos);

  // Spec change: generation + 1.
  Object scaled = l->object.Clone();
  scaled.as<api::Deployment>().getSpec().initReplicas().setValue(5);
  auto s = Update(std::move(scaled));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->object.meta().getGeneration(), 2);

  // An ordinary update never changes status; the status subresource never changes spec.
  Object with_status = s->object.Clone();
  with_status.as<api::Deployment>().initStatus().setReplicas(7);
  with_status.as<api::Deployment>().getSpec().initReplicas().setValue(9);
  auto u = Update(std::move(with_status));
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->object.get<api::Deployment>().getStatus().getReplicas(), 0);
  EXPECT_EQ(u->object.get<api::Deployment>().getSpec().getReplicas().getValue(), 9);
  Object status_write = u->object.Clone();
  status_write.as<api::Deployment>().initStatus().setReplicas(7);
  status_write.as<api::Deployment>().getSpec().initReplicas().setValue(1);
  auto st = Update(std::move(status_write), "status");
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->object.get<api::Deployment>().getStatus().getReplicas(), 7);
  EXPECT_EQ(st->object.get<api::Deployment>().getSpec().getReplicas().getValue(), 9);
  EXPECT_EQ(st->object.meta().getGeneration(), 3);
}

TEST_F(RegistryTest, PodStatusWritesKeepTheStoredSpecAndRevisionWhenNothingChanges) {
  auto created = Create(PodJson("s"));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  // The status subresource takes only the status: a spec change sent along (here one an
  // ordinary update refuses) is dropped, not judged.
  Object write = created->object.Clone();
  write.as<api::Pod>().getStatus().setPhase("Running");
  write.as<api::Pod>().getSpec().setRestartPolicy("Never");
  auto st = Update(write.Clone(), "status");
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(std::string(st->object.get<api::Pod>().getStatus().getPhase().cStr()), "Running");
  EXPECT_EQ(std::string(st->object.get<api::Pod>().getSpec().getRestartPolicy().cStr()), "Always");
  EXPECT_EQ(st->object.meta().getGeneration(), created->object.meta().getGeneration());
  EXPECT_GT(st->object.resource_version(), created->object.resource_version());
  Object unconditional = write.Clone();
  unconditional.meta().disownResourceVersion();
  auto spec_update = Update(std::move(unconditional));
  ASSERT_FALSE(spec_update.ok());
  EXPECT_EQ(spec_update.status().reason(), Reason::kInvalid);
  // The same status again: no write, the revision stays.
  Object again = st->object.Clone();
  auto same = Update(std::move(again), "status");
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_EQ(same->object.resource_version(), st->object.resource_version());
}

TEST_F(RegistryTest, PodsAreDeletedGracefullyOnceBound) {
  ASSERT_TRUE(Create(PodJson("unbound")).ok());
  auto gone = Delete("pods", "unbound");
  ASSERT_TRUE(gone.ok());
  EXPECT_TRUE(gone->deleted);

  ASSERT_TRUE(Create(PodJson("bound", "web", "node-1")).ok());
  auto terminating = Delete("pods", "bound");
  ASSERT_TRUE(terminating.ok()) << terminating.status().ToString();
  EXPECT_FALSE(terminating->deleted);
  EXPECT_TRUE(terminating->object.meta().hasDeletionTimestamp());
  EXPECT_EQ(terminating->object.meta().getDeletionGracePeriodSeconds().getValue(), 30);
  ASSERT_TRUE(registry_->Get(Req("pods", "bound")).ok());
  // The kubelet confirms with grace 0.
  auto confirmed = Delete("pods", "bound", 0);
  ASSERT_TRUE(confirmed.ok());
  EXPECT_TRUE(confirmed->deleted);
  EXPECT_EQ(registry_->Get(Req("pods", "bound")).status().reason(), Reason::kNotFound);
}

TEST_F(RegistryTest, FinalizersHoldDeletionUntilRemoved) {
  auto c = Create(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"f","namespace":"default","finalizers":["example.com/hold"]}})");
  ASSERT_TRUE(c.ok());
  auto d = Delete("configmaps", "f");
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->deleted);
  EXPECT_TRUE(d->object.meta().hasDeletionTimestamp());
  auto p = Patch("configmaps", "f", "merge", R"({"metadata":{"finalizers":null}})");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(registry_->Get(Req("configmaps", "f")).status().reason(), Reason::kNotFound);
}

TEST_F(RegistryTest, NamespacesTerminateUntilTheirFinalizersAreCleared) {
  auto c = Create(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team"}})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->object.ToJson()["spec"]["finalizers"], Json::array({"kubernetes"}));
  EXPECT_EQ(c->object.ToJson()["status"]["phase"], "Active");
  auto d = Delete("namespaces", "team");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_FALSE(d->deleted);
  EXPECT_EQ(d->object.ToJson()["status"]["phase"], "Terminating");
  // No new content in a terminating namespace.
  std::string j = PodJson("late");
  j.replace(j.find("\"default\""), 9, "\"team\"");
  EXPECT_FALSE(Create(j).ok());
  // An ordinary update cannot drop spec.finalizers; namespaces/finalize can.
  Object plain = d->object.Clone();
  plain.as<api::Namespace>().getSpec().initFinalizers(0);
  auto u = Update(plain.Clone());
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_TRUE(registry_->Get(Req("namespaces", "team")).ok());
  auto f = Update(plain.Clone(), "finalize");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(registry_->Get(Req("namespaces", "team")).status().reason(), Reason::kNotFound);
}

TEST_F(RegistryTest, SystemNamespacesCannotBeDeleted) {
  for (const char* ns : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    ApiRequest r = Req("namespaces", ns);
    auto d = Sync([&](WriteDone done) { registry_->Delete(r, done); });
    ASSERT_FALSE(d.ok()) << ns;
    EXPECT_EQ(d.status().reason(), Reason::kForbidden) << ns;
    EXPECT_EQ(d.status().message(), std::string("namespaces \"") + ns + "\" is forbidden: this namespace may not be deleted");
    auto g = registry_->Get(Req("namespaces", ns));
    ASSERT_TRUE(g.ok()) << ns;
    EXPECT_FALSE(g->meta().hasDeletionTimestamp()) << ns;
  }
  // Any other namespace still can be.
  ASSERT_TRUE(Create(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"kube-other"}})").ok());
  EXPECT_TRUE(Delete("namespaces", "kube-other").ok());
}

TEST_F(RegistryTest, SelectorsAndConsistentPaging) {
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(Create(PodJson("p" + std::to_string(i), i % 2 ? "odd" : "even", i < 3 ? "node-1" : "")).ok());
  ApiRequest r = Req("pods");
  r.label_selector = "app=odd";
  auto odd = registry_->List(r);
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ(odd->items.size(), 5u);
  r.label_selector = "app in (odd, even),app!=even";
  EXPECT_EQ(registry_->List(r)->items.size(), 5u);
  r.label_selector = "";
  r.field_selector = "spec.nodeName=node-1";
  EXPECT_EQ(registry_->List(r)->items.size(), 3u);
  r.field_selector = "spec.nodeName!=node-1,status.phase!=Failed";
  EXPECT_EQ(registry_->List(r)->items.size(), 7u);
  r.field_selector = "spec.bogus=1";
  EXPECT_EQ(registry_->List(r).status().reason(), Reason::kBadRequest);
  r.field_selector = "";
  r.label_selector = "app in (";
  EXPECT_EQ(registry_->List(r).status().reason(), Reason::kBadRequest);

  // Pages of 3 at one revision, with writes in between.
  ApiRequest page = Req("pods");
  page.limit = 3;
  std::vector<std::string> names;
  int64_t revision = 0;
  for (int round = 0; round < 10; ++round) {
    auto l = registry_->List(page);
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    if (revision == 0) revision = l->revision;
    EXPECT_EQ(l->revision, revision);
    for (auto& it : l->items) names.push_back(Object::FromBytes(page.kind, it.bytes)->name());
    ASSERT_TRUE(Create(PodJson("late" + std::to_string(round))).ok());
    if (l->continue_token.empty()) break;
    page.continue_token = l->continue_token;
  }
  EXPECT_EQ(names.size(), 10u) << "pages must reflect the first page's revision";
}

TEST_F(RegistryTest, WatchFiltersAndTranslatesSelectorExits) {
  ASSERT_TRUE(Create(PodJson("w", "web")).ok());
  ApiRequest r = Req("pods");
  r.label_selector = "app=web";
  r.resource_version = std::to_string(store_->CurrentRevision());
  std::mutex mu;
  std::vector<std::string> events;
  auto h = registry_->Watch(r, [&](const WatchEvent& e) {
    std::lock_guard<std::mutex> lock(mu);
    events.push_back(e.type + " " + Object::FromBytes(e.kind, e.item.bytes)->name());
  });
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE(Patch("pods", "w", "merge", R"({"metadata":{"labels":{"x":"1"}}})").ok());
  ASSERT_TRUE(Patch("pods", "w", "merge", R"({"metadata":{"labels":{"app":"db"}}})").ok());
  ASSERT_TRUE(Create(PodJson("other", "db")).ok());
  ASSERT_TRUE(Patch("pods", "w", "strategic", R"({"metadata":{"labels":{"app":"web"}}})").ok());
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (events.size() >= 3) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(events, (std::vector<std::string>{"MODIFIED w", "DELETED w", "ADDED w"}));

  ApiRequest old = Req("pods");
  old.resource_version = "0";
  store_->CompactNow();
  auto initial = registry_->Watch(old, [](const WatchEvent&) {});
  EXPECT_TRUE(initial.ok());
}

TEST_F(RegistryTest, PatchesAndBinding) {
  ASSERT_TRUE(Create(PodJson("b")).ok());
  auto jp = Patch("pods", "b", "json", R"([{"op":"add","path":"/metadata/labels/tier","value":"front"}])");
  ASSERT_TRUE(jp.ok()) << jp.status().ToString();
  EXPECT_EQ(ToStdMap(jp->object.meta().getLabels()).at("tier"), "front");
  auto bad = Patch("pods", "b", "json", R"([{"op":"test","path":"/metadata/name","value":"nope"}])");
  EXPECT_FALSE(bad.ok());
  auto unknown = Patch("pods", "b", "merge", R"({"spec":{"bogus":1}})");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("unknown field \"spec.bogus\""), std::string::npos);

  const KindInfo* bk = KindRegistry::Default().BodyKind("Binding");
  auto bind = [&](const std::string& node) {
    Object binding(bk);
    binding.meta().setName("b");
    binding.as<api::Binding>().initTarget().setName(node);
    ApiRequest r = Req("pods", "b");
    r.subresource = "binding";
    return Sync([&](WriteDone d) { registry_->Bind(r, std::move(binding), d); });
  };
  auto first = bind("node-2");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(std::string(first->object.get<api::Pod>().getSpec().getNodeName().cStr()), "node-2");
  auto second = bind("node-3");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().reason(), Reason::kConflict);
}

// ---- resourceVersion and resourceVersionMatch ---------------------------------------------

std::string ConfigMapJson(const std::string& name, const std::string& value) {
  return R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":")" + name +
         R"(","namespace":"default"},"data":{"k":")" + value + R"("}})";
}

// name → data.k of every item of a list reply.
std::map<std::string, std::string> ConfigMapData(const ListReply& list) {
  std::map<std::string, std::string> out;
  for (const auto& item : list.items) {
    auto obj = Object::FromBytes(list.kind, item.bytes, item.revision);
    EXPECT_TRUE(obj.ok());
    if (!obj.ok()) continue;
    Json j = obj->ToJson();
    out[j["metadata"]["name"].get<std::string>()] = j["data"]["k"].get<std::string>();
  }
  return out;
}

TEST_F(RegistryTest, ListWithResourceVersionMatchExactServesThatRevisionFromHistory) {
  auto a = Create(ConfigMapJson("a", "1"));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  const int64_t past = a->object.resource_version();
  ASSERT_TRUE(Patch("configmaps", "a", "merge", R"({"data":{"k":"2"}})").ok());
  ASSERT_TRUE(Create(ConfigMapJson("b", "1")).ok());
  const int64_t now = store_->CurrentRevision();
  ASSERT_GT(now, past);

  ApiRequest r = Req("configmaps");
  r.resource_version = std::to_string(past);
  r.resource_version_match = "Exact";
  auto exact = registry_->List(r);
  ASSERT_TRUE(exact.ok()) << exact.status().ToString();
  EXPECT_EQ(exact->revision, past);
  EXPECT_EQ(ConfigMapData(*exact), (std::map<std::string, std::string>{{"a", "1"}}));
  ASSERT_EQ(exact->items.size(), 1u);
  EXPECT_EQ(exact->items[0].revision, past);

  // NotOlderThan (explicit, or a bare resourceVersion without a limit): the newest data.
  for (const char* match : {"NotOlderThan", ""}) {
    r.resource_version_match = match;
    auto newer = registry_->List(r);
    ASSERT_TRUE(newer.ok()) << newer.status().ToString();
    EXPECT_EQ(newer->revision, now) << "match=" << match;
    EXPECT_EQ(ConfigMapData(*newer), (std::map<std::string, std::string>{{"a", "2"}, {"b", "1"}}));
  }
  // A bare resourceVersion with a limit is Exact (Kubernetes' legacy rule), and so are its
  // continue pages.
  r.resource_version_match = "";
  r.limit = 1;
  auto paged = registry_->List(r);
  ASSERT_TRUE(paged.ok()) << paged.status().ToString();
  EXPECT_EQ(paged->revision, past);
  EXPECT_EQ(ConfigMapData(*paged), (std::map<std::string, std::string>{{"a", "1"}}));
  // Exact with a metadata.name selector is not answered from the current object.
  r.limit = 0;
  r.resource_version_match = "Exact";
  r.field_selector = "metadata.name=a";
  auto by_name = registry_->List(r);
  ASSERT_TRUE(by_name.ok()) << by_name.status().ToString();
  EXPECT_EQ(ConfigMapData(*by_name), (std::map<std::string, std::string>{{"a", "1"}}));
  // "0" is any: the newest is fine.
  ApiRequest any = Req("configmaps");
  any.resource_version = "0";
  any.resource_version_match = "NotOlderThan";
  auto any_list = registry_->List(any);
  ASSERT_TRUE(any_list.ok()) << any_list.status().ToString();
  EXPECT_EQ(any_list->items.size(), 2u);
}

TEST_F(RegistryTest, ExactListAtACompactedRevisionIsGone) {
  // A store that keeps only the newest event of history.
  char tmpl[] = "/tmp/cattle-registry-compact-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  store::StoreOptions o;
  o.dir = dir;
  o.compaction_max_events = 1;
  o.compaction_interval = Duration::zero();
  auto opened = store::Store::Open(o);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto store = std::move(*opened);
  Registry registry(store.get(), &KindRegistry::Default(), RealClock::Get());
  ASSERT_TRUE(registry.Bootstrap().ok());
  Object cm = Parse(ConfigMapJson("a", "1"));
  ApiRequest create = Req("configmaps");
  auto a = Sync([&](WriteDone d) { registry.Create(create, std::move(cm), d); });
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  const int64_t past = a->object.resource_version();
  for (const char* name : {"b", "c"}) {
    cm = Parse(ConfigMapJson(name, "1"));
    ASSERT_TRUE(Sync([&](WriteDone d) { registry.Create(create, std::move(cm), d); }).ok());
  }
  store->CompactNow();
  ASSERT_GE(store->CompactedRevision(), past + 1);

  ApiRequest r = Req("configmaps");
  r.resource_version = std::to_string(past);
  r.resource_version_match = "Exact";
  auto gone = registry.List(r);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().reason(), Reason::kExpired);
  EXPECT_EQ(gone.status().message(), "The resourceVersion for the provided list is too old.");
  r.resource_version_match = "";
  r.limit = 5;  // legacy Exact
  EXPECT_EQ(registry.List(r).status().reason(), Reason::kExpired);
  // Not older than a compacted revision: the newest data is.
  r.limit = 0;
  r.resource_version_match = "NotOlderThan";
  auto newest = registry.List(r);
  ASSERT_TRUE(newest.ok()) << newest.status().ToString();
  EXPECT_EQ(newest->items.size(), 3u);
  ApiRequest get = Req("configmaps", "a");
  get.resource_version = std::to_string(past);
  EXPECT_TRUE(registry.Get(get).ok());
  store.reset();
  std::filesystem::remove_all(dir);
}

TEST_F(RegistryTest, AResourceVersionNewerThanTheStoreWaitsThenTimesOut) {
  RegistryOptions options;
  options.revision_wait = std::chrono::milliseconds(200);
  Registry registry(store_.get(), &KindRegistry::Default(), RealClock::Get(), options);
  ASSERT_TRUE(Create(ConfigMapJson("a", "1")).ok());
  const int64_t future = store_->CurrentRevision() + 100;
  for (const char* match : {"NotOlderThan", "Exact", ""}) {
    ApiRequest r = Req("configmaps");
    r.resource_version = std::to_string(future);
    r.resource_version_match = match;
    auto t0 = std::chrono::steady_clock::now();
    auto list = registry.List(r);
    ASSERT_FALSE(list.ok()) << "match=" << match;
    EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(200));
    EXPECT_EQ(list.status().reason(), Reason::kTimeout);
    EXPECT_EQ(list.status().message(), "Too large resource version: " + std::to_string(future) +
                                           ", current: " + std::to_string(store_->CurrentRevision()));
    EXPECT_EQ(list.status().retry_after_seconds(), 1);
    ASSERT_EQ(list.status().causes().size(), 1u);
    EXPECT_EQ(list.status().causes()[0].type, "ResourceVersionTooLarge");
  }
  ApiRequest get = Req("configmaps", "a");
  get.resource_version = std::to_string(future);
  EXPECT_EQ(registry.Get(get).status().reason(), Reason::kTimeout);
  // A face that must not block gets the Timeout at once.
  get.wait_for_revision = false;
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(registry.Get(get).status().reason(), Reason::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(150));

  // A revision that arrives while the read waits is served.
  RegistryOptions patient;
  patient.revision_wait = std::chrono::seconds(20);
  Registry waiting(store_.get(), &KindRegistry::Default(), RealClock::Get(), patient);
  ApiRequest next = Req("configmaps");
  next.resource_version = std::to_string(store_->CurrentRevision() + 1);
  next.resource_version_match = "NotOlderThan";
  auto pending = std::async(std::launch::async, [&] { return waiting.List(next); });
  ASSERT_TRUE(Create(ConfigMapJson("b", "1")).ok());
  auto got = pending.get();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->items.size(), 2u);
}

TEST_F(RegistryTest, InvalidResourceVersionMatchCombinationsAreRefused) {
  ASSERT_TRUE(Create(ConfigMapJson("a", "1")).ok());
  struct Case {
    std::string rv, match, cont;
    Reason reason;
    std::string message;
  };
  std::string token;
  {
    ApiRequest page = Req("configmaps");
    page.limit = 1;
    ASSERT_TRUE(Create(ConfigMapJson("b", "1")).ok());
    auto l = registry_->List(page);
    ASSERT_TRUE(l.ok());
    token = l->continue_token;
    ASSERT_FALSE(token.empty());
  }
  const std::string prefix = "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: ";
  std::vector<Case> cases = {
      {"", "Exact", "", Reason::kInvalid,
       prefix + "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"},
      {"", "NotOlderThan", "", Reason::kInvalid,
       prefix + "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"},
      {"0", "Exact", "", Reason::kInvalid,
       prefix + "Forbidden: resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\""},
      {"1", "Sometime", "", Reason::kInvalid,
       prefix + "Unsupported value: \"Sometime\": supported values: \"Exact\", \"NotOlderThan\", \"\""},
      {"1", "Exact", token, Reason::kInvalid,
       prefix + "Forbidden: resourceVersionMatch is forbidden when continue is provided"},
      {"1", "", token, Reason::kBadRequest, "specifying resource version is not allowed when using continue"},
  };
  for (const auto& c : cases) {
    ApiRequest r = Req("configmaps");
    r.resource_version = c.rv;
    r.resource_version_match = c.match;
    r.continue_token = c.cont;
    if (!c.cont.empty()) r.limit = 1;
    auto l = registry_->List(r);
    ASSERT_FALSE(l.ok()) << "rv=" << c.rv << " match=" << c.match;
    EXPECT_EQ(l.status().reason(), c.reason) << l.status().ToString();
    EXPECT_EQ(l.status().message(), c.message);
    if (c.reason == Reason::kInvalid) {
      ASSERT_FALSE(l.status().causes().empty());
      EXPECT_EQ(l.status().causes()[0].field, "resourceVersionMatch");
    }
  }
  // "0" with a continue token is tolerated: the token's revision, exactly.
  ApiRequest r = Req("configmaps");
  r.resource_version = "0";
  r.continue_token = token;
  r.limit = 1;
  EXPECT_TRUE(registry_->List(r).ok());
  // Watches take no resourceVersionMatch (sendInitialEvents is not served).
  ApiRequest w = Req("configmaps");
  w.resource_version = "1";
  w.resource_version_match = "NotOlderThan";
  auto watch = registry_->Watch(w, [](const WatchEvent&) {});
  EXPECT_EQ(watch.status().reason(), Reason::kInvalid);
}

}  // namespace
}  // namespace cattle::apiserver
