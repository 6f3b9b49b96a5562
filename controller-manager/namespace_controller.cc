#include "controller-manager/namespace_controller.h"

#include <algorithm>

#include "cattle/log.h"
#include "core.capnp.h"

namespace cattle::controllers {
namespace {

constexpr const char* kKubernetesFinalizer = "kubernetes";

bool HasSpecFinalizer(const Object& ns) {
  for (auto f : ns.get<api::Namespace>().getSpec().getFinalizers())
    if (f == kKubernetesFinalizer) return true;
  return false;
}

}  // namespace

NamespaceController::NamespaceController(InformerFactory* informers, ApiClient* client,
                                         EventRecorder* recorder, Clock* clock, TimeScale scale)
    : client_(client),
      namespaces_kind_(client->Kind("namespaces")),
      namespaces_(informers->For(namespaces_kind_)),
      queue_(clock) {
  (void)scale;
  (void)recorder;  // Kubernetes' namespace controller records no events either
  auto on = [this](const ObjectPtr& ns) {
    if (ns->meta().hasDeletionTimestamp()) queue_.Add(ns->name());
  };
  namespaces_->AddHandlers({on, [on](const ObjectPtr&, const ObjectPtr& ns) { on(ns); }, nullptr});
}

NamespaceController::~NamespaceController() { Stop(); }

void NamespaceController::Run(int workers) {
  for (int i = 0; i < std::max(1, workers); ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

void NamespaceController::Stop() {
  queue_.ShutDown();
  for (auto& t : workers_)
    if (t.joinable()) t.join();
  workers_.clear();
}

void NamespaceController::WorkerLoop() {
  std::string name;
  while (queue_.Get(&name)) {
    Status s = Sync(name);
    if (s.ok()) {
      queue_.Forget(name);
    } else {
      // Content still being deleted is expected; other errors are worth a line.
      if (!s.Is(Reason::kConflict)) {
        CATTLE_LOG(WARN) << "namespace deletion failed; retrying" << kv("namespace", name) << kv("error", s.ToString());
      }
      queue_.AddRateLimited(name);
    }
    queue_.Done(name);
  }
}

Result<int> NamespaceController::DeleteContent(const std::string& ns) {
  int remaining = 0;
  for (const KindInfo& kind : client_->kinds().kinds()) {
    if (!kind.namespaced) continue;
    auto list = client_->List(&kind, ns);
    if (!list.ok()) return list.status();
    for (const auto& item : list->items) {
      remaining++;
      if (item.meta().hasDeletionTimestamp()) continue;
      DeleteOptions opts;
      opts.precondition_uid = item.uid();
      auto r = client_->Delete(&kind, ns, item.name(), opts);
      if (!r.ok() && !r.status().Is(Reason::kNotFound) && !r.status().Is(Reason::kConflict)) return r.status();
      if (!r.ok() || !r->meta().hasDeletionTimestamp()) remaining--;  // gone at once
    }
  }
  return remaining;
}

Status NamespaceController::Sync(const std::string& name) {
  ObjectPtr cached = namespaces_->Get(name);
  if (!cached || !cached->meta().hasDeletionTimestamp()) return Status::Ok();
  auto ns = client_->Get(namespaces_kind_, "", name);
  if (!ns.ok()) return ns.status().Is(Reason::kNotFound) ? Status::Ok() : ns.status();
  if (!ns->meta().hasDeletionTimestamp() || !HasSpecFinalizer(*ns)) return Status::Ok();

  if (ns->get<api::Namespace>().getStatus().getPhase() != "Terminating") {
    Object updated = ns->Clone();
    updated.as<api::Namespace>().getStatus().setPhase("Terminating");
    auto r = client_->UpdateStatus(updated);
    if (r.ok()) ns = std::move(r);
  }

  auto remaining = DeleteContent(name);
  if (!remaining.ok()) return remaining.status();
  if (*remaining > 0) {
    CATTLE_LOG(DEBUG) << "namespace content remaining" << kv("namespace", name) << kv("objects", *remaining);
    return Status::Conflict("content remaining in namespace " + name);
  }

  // Finalize: "kubernetes" leaves spec.finalizers.
  for (int attempt = 0;; ++attempt) {
    auto cur = client_->Get(namespaces_kind_, "", name);
    if (!cur.ok()) return cur.status().Is(Reason::kNotFound) ? Status::Ok() : cur.status();
    if (!HasSpecFinalizer(*cur)) break;
    std::vector<std::string> kept;
    for (auto f : cur->get<api::Namespace>().getSpec().getFinalizers())
      if (f != kKubernetesFinalizer) kept.push_back(f.cStr());
    auto spec = cur->as<api::Namespace>().getSpec();
    if (kept.empty()) {
      spec.disownFinalizers();
    } else {
      auto list = spec.initFinalizers(kept.size());
      for (size_t i = 0; i < kept.size(); ++i) list.set(i, kept[i]);
    }
    auto r = client_->Update(*cur);
    if (r.ok() || r.status().Is(Reason::kNotFound)) break;
    if (!r.status().Is(Reason::kConflict) || attempt >= 4) return r.status();
  }
  CATTLE_LOG(INFO) << "namespace emptied and finalized" << kv("namespace", name);
  // Gone once no metadata finalizer holds it.
  auto cur = client_->Get(namespaces_kind_, "", name);
  if (cur.ok() && cur->meta().getFinalizers().size() == 0) {
    DeleteOptions opts;
    opts.precondition_uid = cur->uid();
    auto r = client_->Delete(namespaces_kind_, "", name, opts);
    if (!r.ok() && !r.status().Is(Reason::kNotFound) && !r.status().Is(Reason::kConflict)) return r.status();
  }
  return Status::Ok();
}

}  // namespace cattle::controllers
