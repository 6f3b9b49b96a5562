#include "controller-manager/controller_util.h"

#include <algorithm>
#include <cstring>

#include "cattle/codec.h"
#include "cattle/log.h"

namespace cattle::controllers {
namespace {

std::string S(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

}  // namespace

// ---------------------------------------------------------------------------------------
// ControllerExpectations

bool ControllerExpectations::Satisfied(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return true;
  const Entry& e = it->second;
  if (e.adds <= 0 && e.deletes <= 0) return true;
  return clock_->Now() - e.set_at > timeout_;  // expired: act again rather than wait forever
}

void ControllerExpectations::ExpectCreations(const std::string& key, int adds) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry e;
  e.adds = adds;
  e.set_at = clock_->Now();
  entries_[key] = std::move(e);
}

void ControllerExpectations::ExpectDeletions(const std::string& key,
                                             const std::vector<std::string>& pod_keys) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry e;
  e.delete_keys.insert(pod_keys.begin(), pod_keys.end());
  e.deletes = static_cast<int>(e.delete_keys.size());
  e.set_at = clock_->Now();
  entries_[key] = std::move(e);
}

void ControllerExpectations::CreationObserved(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) it->second.adds--;
}

void ControllerExpectations::DeletionObserved(const std::string& key, const std::string& pod_key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  if (it->second.delete_keys.erase(pod_key) > 0) it->second.deletes--;
}

void ControllerExpectations::Delete(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.erase(key);
}

ControllerExpectations::Pending ControllerExpectations::Get(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  Pending p;
  auto it = entries_.find(key);
  if (it == entries_.end()) return p;
  p.exists = true;
  p.adds = it->second.adds;
  p.deletes = it->second.deletes;
  return p;
}

// ---------------------------------------------------------------------------------------
// Owner references

std::vector<OwnerRef> GetOwnerRefs(const Object& obj) {
  std::vector<OwnerRef> out;
  for (auto r : obj.meta().getOwnerReferences()) {
    OwnerRef o;
    o.api_version = S(r.getApiVersion());
    o.kind = S(r.getKind());
    o.name = S(r.getName());
    o.uid = S(r.getUid());
    if (r.hasController()) o.controller = r.getController().getValue();
    if (r.hasBlockOwnerDeletion()) o.block_owner_deletion = r.getBlockOwnerDeletion().getValue();
    out.push_back(std::move(o));
  }
  return out;
}

std::optional<OwnerRef> GetControllerOf(const Object& obj) {
  for (auto& r : GetOwnerRefs(obj))
    if (r.IsController()) return r;
  return std::nullopt;
}

OwnerRef NewControllerRef(const Object& owner) {
  OwnerRef r;
  r.api_version = owner.kind()->ApiVersion();
  r.kind = owner.kind()->kind;
  r.name = owner.name();
  r.uid = owner.uid();
  r.controller = true;
  r.block_owner_deletion = true;
  return r;
}

void SetOwnerRefs(api::ObjectMeta::Builder meta, const std::vector<OwnerRef>& refs) {
  if (refs.empty()) {
    if (meta.hasOwnerReferences()) meta.disownOwnerReferences();
    return;
  }
  auto list = meta.initOwnerReferences(refs.size());
  for (size_t i = 0; i < refs.size(); ++i) {
    auto b = list[i];
    b.setApiVersion(refs[i].api_version);
    b.setKind(refs[i].kind);
    b.setName(refs[i].name);
    b.setUid(refs[i].uid);
    if (refs[i].controller) b.initController().setValue(*refs[i].controller);
    if (refs[i].block_owner_deletion)
      b.initBlockOwnerDeletion().setValue(*refs[i].block_owner_deletion);
  }
}

namespace {

Result<Object> Adopt(ApiClient* client, const Object& owner, const Object& obj) {
  Object copy = obj.Clone();
  auto refs = GetOwnerRefs(copy);
  refs.push_back(NewControllerRef(owner));
  SetOwnerRefs(copy.meta(), refs);
  return client->Update(copy);  // carries the cached resourceVersion: Conflict if it changed
}

Status Release(ApiClient* client, const Object& owner, const Object& obj) {
  Object copy = obj.Clone();
  auto refs = GetOwnerRefs(copy);
  refs.erase(std::remove_if(refs.begin(), refs.end(),
                            [&](const OwnerRef& r) { return r.uid == owner.uid(); }),
             refs.end());
  SetOwnerRefs(copy.meta(), refs);
  auto r = client->Update(copy);
  return r.ok() ? Status::Ok() : r.status();
}

std::string Describe(const Object& obj) {
  return obj.kind()->kind + " " + obj.namespace_() + "/" + obj.name() + " (" + obj.uid() + ")";
}

}  // namespace

ClaimResult ClaimObjects(ApiClient* client, const Object& owner, const LabelSelector& selector,
                         const std::vector<ObjectPtr>& candidates,
                         const std::function<Status()>& can_adopt) {
  ClaimResult out;
  std::vector<Status> errors;
  const bool owner_deleting = BeingDeleted(owner);
  const std::string owner_uid = owner.uid();
  std::optional<Status> adoptable;
  for (const auto& obj : candidates) {
    const bool matches = selector.Matches(LabelsOf(*obj));
    auto ref = GetControllerOf(*obj);
    if (ref) {
      if (ref->uid != owner_uid) continue;  // someone else's
      if (matches) {
        out.claimed.push_back(obj);
        continue;
      }
      if (owner_deleting) continue;
      Status s = Release(client, owner, *obj);
      if (!s.ok() && !s.Is(Reason::kNotFound)) errors.push_back(s);
      continue;
    }
    // An orphan.
    if (owner_deleting || !matches || BeingDeleted(*obj)) continue;
    if (obj->namespace_() != owner.namespace_()) continue;
    if (!adoptable) adoptable = can_adopt ? can_adopt() : Status::Ok();
    if (!adoptable->ok()) {
      errors.push_back(Status(adoptable->reason(),
                              "can't adopt " + Describe(*obj) + ": " + adoptable->message()));
      continue;
    }
    auto adopted = Adopt(client, owner, *obj);
    if (!adopted.ok()) {
      if (!adopted.status().Is(Reason::kNotFound)) errors.push_back(adopted.status());
      continue;
    }
    out.claimed.push_back(std::make_shared<const Object>(std::move(*adopted)));
  }
  if (!errors.empty()) {
    std::string msg;
    for (const auto& e : errors) msg += (msg.empty() ? "" : "; ") + e.message();
    out.error = Status(errors[0].reason(), msg);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Labels, selectors, times

Labels LabelsOf(const Object& obj) { return ToStdMap(obj.meta().getLabels()); }

std::string AnnotationOf(const Object& obj, const std::string& key) {
  for (auto e : obj.meta().getAnnotations().getEntries())
    if (e.getKey() == key.c_str()) return S(e.getValue());
  return "";
}

Result<LabelSelector> SelectorFromApi(bool has, api::LabelSelector::Reader selector) {
  if (!has) return LabelSelector::Nothing();
  std::vector<LabelSelectorRequirement> exprs;
  for (auto e : selector.getMatchExpressions()) {
    LabelSelectorRequirement r;
    r.key = S(e.getKey());
    r.op = S(e.getOperator());
    for (auto v : e.getValues()) r.values.push_back(S(v));
    exprs.push_back(std::move(r));
  }
  return LabelSelectorFromMatch(ToStdMap(selector.getMatchLabels()), exprs);
}

int64_t ParseTime(const std::string& text) {
  int64_t n = 0;
  if (text.empty() || !ParseRfc3339(text, &n)) return 0;
  return n;
}

int64_t CreationNanos(const Object& obj) { return ParseTime(S(obj.meta().getCreationTimestamp())); }

bool BeingDeleted(const Object& obj) { return obj.meta().getDeletionTimestamp().size() > 0; }

IndexFunc NamespaceIndexFunc() {
  return [](const Object& o) { return std::vector<std::string>{o.namespace_()}; };
}

std::vector<ObjectPtr> ListNamespace(const Informer* informer, const std::string& ns) {
  return informer->ByIndex(kNamespaceIndex, ns);
}

std::pair<std::string, std::string> SplitKey(const std::string& key) {
  auto slash = key.find('/');
  if (slash == std::string::npos) return {"", key};
  return {key.substr(0, slash), key.substr(slash + 1)};
}

// ---------------------------------------------------------------------------------------
// Conditions

std::vector<Condition> ReadConditions(capnp::List<api::Condition>::Reader list) {
  std::vector<Condition> out;
  for (auto c : list) {
    Condition x;
    x.type = S(c.getType());
    x.status = S(c.getStatus());
    x.reason = S(c.getReason());
    x.message = S(c.getMessage());
    x.last_update_time = S(c.getLastUpdateTime());
    x.last_transition_time = S(c.getLastTransitionTime());
    out.push_back(std::move(x));
  }
  return out;
}

void WriteConditions(const std::vector<Condition>& conds,
                     const std::function<capnp::List<api::Condition>::Builder(unsigned)>& init,
                     const std::function<void()>& disown) {
  if (conds.empty()) {
    disown();
    return;
  }
  auto list = init(conds.size());
  for (size_t i = 0; i < conds.size(); ++i) {
    auto b = list[i];
    const Condition& c = conds[i];
    b.setType(c.type);
    b.setStatus(c.status);
    if (!c.reason.empty()) b.setReason(c.reason);
    if (!c.message.empty()) b.setMessage(c.message);
    if (!c.last_update_time.empty()) b.setLastUpdateTime(c.last_update_time);
    if (!c.last_transition_time.empty()) b.setLastTransitionTime(c.last_transition_time);
  }
}

const Condition* FindCondition(const std::vector<Condition>& conds, const std::string& type) {
  for (const auto& c : conds)
    if (c.type == type) return &c;
  return nullptr;
}

void RemoveCondition(std::vector<Condition>* conds, const std::string& type) {
  conds->erase(std::remove_if(conds->begin(), conds->end(),
                              [&](const Condition& c) { return c.type == type; }),
               conds->end());
}

// ---------------------------------------------------------------------------------------
// Pods

bool IsPodActive(const Object& pod) {
  auto phase = pod.get<api::Pod>().getStatus().getPhase();
  return phase != "Succeeded" && phase != "Failed" && !BeingDeleted(pod);
}

namespace {
std::optional<api::Condition::Reader> ReadyCondition(const Object& pod) {
  for (auto c : pod.get<api::Pod>().getStatus().getConditions())
    if (c.getType() == "Ready") return c;
  return std::nullopt;
}
}  // namespace

bool IsPodReady(const Object& pod) {
  auto c = ReadyCondition(pod);
  return c && c->getStatus() == "True";
}

int64_t PodReadySinceNanos(const Object& pod) {
  auto c = ReadyCondition(pod);
  if (!c) return 0;
  return ParseTime(S(c->getLastTransitionTime()));
}

bool IsPodAvailable(const Object& pod, Duration min_ready, int64_t now_wall_nanos) {
  if (!IsPodReady(pod)) return false;
  if (min_ready.count() <= 0) return true;
  int64_t since = PodReadySinceNanos(pod);
  return since != 0 && since + min_ready.count() < now_wall_nanos;
}

int32_t MaxContainerRestarts(const Object& pod) {
  int32_t m = 0;
  for (auto c : pod.get<api::Pod>().getStatus().getContainerStatuses())
    m = std::max(m, c.getRestartCount());
  return m;
}

// ---------------------------------------------------------------------------------------
// Hash

uint32_t Fnv32a(std::string_view data, uint32_t hash) {
  for (unsigned char c : data) {
    hash ^= c;
    hash *= 16777619u;
  }
  return hash;
}

std::string SafeEncodeString(std::string_view s) {
  static constexpr char kAlphanums[] = "bcdfghjklmnpqrstvwxz2456789";
  constexpr size_t kLen = sizeof(kAlphanums) - 1;
  std::string out(s.size(), ' ');
  for (size_t i = 0; i < s.size(); ++i)
    out[i] = kAlphanums[static_cast<unsigned char>(s[i]) % kLen];
  return out;
}

namespace {

// Drops empty objects and arrays (recursively), as Go's encoder drops empty omitempty
// fields: a template written with "resources":{} (kubectl rollout undo sends one) is the
// same template as one without.
void PruneEmpty(Json& j) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end();) {
      PruneEmpty(*it);
      if (it->is_null() || ((it->is_object() || it->is_array()) && it->empty())) it = j.erase(it);
      else ++it;
    }
  } else if (j.is_array()) {
    for (auto& e : j) PruneEmpty(e);
  }
}

// The template's JSON as compared and hashed: empty values pruned.
Json CanonicalTemplateJson(api::PodTemplateSpec::Reader tmpl) {
  Json j = EncodeJson(capnp::toDynamic(tmpl));
  PruneEmpty(j);
  return j;
}

}  // namespace

std::string ComputeTemplateHash(api::PodTemplateSpec::Reader tmpl,
                                std::optional<int32_t> collision_count) {
  std::string text = CanonicalTemplateJson(tmpl).dump();
  uint32_t h = Fnv32a(text);
  if (collision_count) {
    unsigned char bytes[8] = {0};
    uint32_t v = static_cast<uint32_t>(*collision_count);
    for (int i = 0; i < 4; ++i) bytes[i] = static_cast<unsigned char>(v >> (8 * i));
    h = Fnv32a(std::string_view(reinterpret_cast<const char*>(bytes), 8), h);
  }
  return SafeEncodeString(std::to_string(h));
}

std::string TemplateJsonIgnoringHash(api::PodTemplateSpec::Reader tmpl) {
  Json j = CanonicalTemplateJson(tmpl);
  if (j.contains("metadata") && j["metadata"].is_object()) {
    Json& meta = j["metadata"];
    if (meta.contains("labels") && meta["labels"].is_object()) {
      meta["labels"].erase(kPodTemplateHashLabel);
      if (meta["labels"].empty()) meta.erase("labels");
    }
    if (meta.empty()) j.erase("metadata");
  }
  return j.dump();
}

bool EqualIgnoreHash(api::PodTemplateSpec::Reader a, api::PodTemplateSpec::Reader b) {
  return TemplateJsonIgnoringHash(a) == TemplateJsonIgnoringHash(b);
}

// ---------------------------------------------------------------------------------------
// Work

std::vector<Status> RunParallel(int n, int parallelism, const std::function<Status(int)>& fn) {
  std::vector<Status> results(std::max(n, 0));
  if (n <= 0) return results;
  if (n == 1 || parallelism <= 1) {
    for (int i = 0; i < n; ++i) results[i] = fn(i);
    return results;
  }
  std::atomic<int> next{0};
  auto work = [&] {
    for (int i = next.fetch_add(1); i < n; i = next.fetch_add(1)) results[i] = fn(i);
  };
  std::vector<std::thread> threads;
  int t = std::min(n, parallelism);
  for (int i = 0; i < t - 1; ++i) threads.emplace_back(work);
  work();
  for (auto& th : threads) th.join();
  return results;
}

std::pair<int, Status> SlowStartBatch(int count, int initial_batch,
                                      const std::function<Status()>& fn) {
  int remaining = count;
  int successes = 0;
  for (int batch = std::min(remaining, initial_batch); batch > 0;
       batch = std::min(2 * batch, remaining)) {
    auto results = RunParallel(batch, 16, [&](int) { return fn(); });
    Status first;
    for (auto& r : results) {
      if (r.ok()) {
        successes++;
      } else if (first.ok()) {
        first = r;
      }
    }
    if (!first.ok()) return {successes, first};
    remaining -= batch;
  }
  return {successes, Status::Ok()};
}

void QueueWorkers::Start(int n) {
  for (int i = 0; i < n; ++i) threads_.emplace_back([this] { Work(); });
}

void QueueWorkers::Stop() {
  stopping_ = true;
  queue_->ShutDown();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void QueueWorkers::Work() {
  // Acting on a partial cache would create what already exists: wait for every informer.
  for (const Informer* inf : informers_) {
    while (!stopping_ && !inf->HasSynced()) {
      if (!inf->WaitForSync(std::chrono::milliseconds(100)))
        std::this_thread::sleep_for(std::chrono::milliseconds(5));  // informer not started yet
    }
  }
  std::string key;
  while (queue_->Get(&key)) {
    Status s = sync_(key);
    if (s.ok()) {
      queue_->Forget(key);
    } else {
      if (s.Is(Reason::kConflict)) {
        CATTLE_LOG(DEBUG) << "sync conflict; retrying" << kv("controller", name_) << kv("key", key)
                          << kv("error", s.ToString());
      } else {
        CATTLE_LOG(WARN) << "sync failed; retrying" << kv("controller", name_) << kv("key", key)
                         << kv("error", s.ToString());
      }
      queue_->AddRateLimited(key);
    }
    queue_->Done(key);
  }
}

}  // namespace cattle::controllers
