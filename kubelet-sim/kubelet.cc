#include "kubelet-sim/kubelet.h"

#include <algorithm>

#include "cattle/log.h"
#include "core.capnp.h"
#include "kubelet-sim/util.h"

namespace cattle::kubelet {
namespace {

// Failed pod syncs (the apiserver is away) retry from 5 ms doubling to 10 s, like
// Kubernetes' pod workers, which retry after about 10 s.
WorkQueueOptions QueueOptions(const KubeletOptions& o) {
  WorkQueueOptions q;
  q.base_delay = std::chrono::milliseconds(5);
  q.max_delay = o.time_scale(std::chrono::seconds(10));
  return q;
}

}  // namespace

Kubelet::Kubelet(ApiClient* client, Clock* clock, ContainerRuntime* runtime, EventRecorder* recorder,
                 KubeletOptions options, Informer* shared_pods)
    : client_(client), clock_(clock), runtime_(runtime), recorder_(recorder), options_(std::move(options)),
      node_status_(client, clock, recorder, &options_, runtime->Version()),
      lease_(client, clock, &options_), queue_(clock, QueueOptions(options_)), pods_(shared_pods) {
  env_.client = client_;
  env_.clock = clock_;
  env_.runtime = runtime_;
  env_.recorder = recorder_;
  env_.ips = &ips_;
  env_.options = &options_;
  env_.host_ip = node_status_.internal_ip();
}

Kubelet::~Kubelet() { Stop(); }

void Kubelet::Start() {
  heartbeat_thread_ = std::thread([this] { HeartbeatLoop(); });
}

void Kubelet::Stop() {
  {
    std::lock_guard<std::mutex> lock(hb_mu_);
    stopping_ = true;
  }
  hb_cv_.notify_all();
  if (heartbeat_thread_.joinable()) heartbeat_thread_.join();
  queue_.ShutDown();
  for (auto& t : worker_threads_)
    if (t.joinable()) t.join();
  worker_threads_.clear();
  if (informer_) informer_->Stop();
}

bool Kubelet::SleepUntil(TimePoint deadline) {
  std::unique_lock<std::mutex> lock(hb_mu_);
  while (!stopping_ && clock_->Now() < deadline) clock_->WaitUntil(hb_cv_, lock, deadline);
  return !stopping_;
}

std::string Kubelet::pod_cidr() const {
  std::lock_guard<std::mutex> lock(hb_mu_);
  return pod_cidr_;
}

size_t Kubelet::pod_worker_count() const {
  std::lock_guard<std::mutex> lock(workers_mu_);
  return workers_.size();
}

void Kubelet::HeartbeatLoop() {
  // Registration: retried until it succeeds (the apiserver may not be up yet).
  Duration backoff = std::chrono::milliseconds(200);
  while (true) {
    Status s = node_status_.Register();
    if (s.ok()) break;
    CATTLE_LOG(WARN) << "unable to register node" << kv("node", options_.node_name) << kv("error", s.ToString());
    if (!SleepUntil(clock_->Now() + options_.time_scale(backoff))) return;
    backoff = std::min<Duration>(backoff * 2, std::chrono::seconds(7));
  }
  {
    std::lock_guard<std::mutex> lock(hb_mu_);
    pod_cidr_ = node_status_.pod_cidr();
  }
  StartPods();

  // Ticker semantics: the next beat is due one interval after the previous one was due
  // (not after it finished), so beats keep their rhythm whatever a write costs.
  const Duration status_every = options_.time_scale(options_.node_status_update_frequency);
  TimePoint next_lease = clock_->Now();
  TimePoint next_status = next_lease + status_every;
  while (true) {
    TimePoint now = clock_->Now();
    if (now >= next_lease) {
      if (lease_.Renew(node_status_.node_uid()).ok()) {
        next_lease += lease_.NextDelay();
        if (next_lease < clock_->Now()) next_lease = clock_->Now() + lease_.NextDelay();  // fell behind
      } else {
        next_lease = clock_->Now() + lease_.NextDelay();
      }
    }
    if (now >= next_status) {
      Status s = node_status_.Update();
      if (!s.ok()) {
        CATTLE_LOG(WARN) << "error updating node status, will retry" << kv("node", options_.node_name)
                         << kv("error", s.ToString());
      }
      next_status += status_every;
      if (next_status < clock_->Now()) next_status = clock_->Now() + status_every;
    }
    if (!SleepUntil(std::min(next_lease, next_status))) return;
  }
}

void Kubelet::StartPods() {
  auto cidr = Ipv4Cidr::Parse(node_status_.pod_cidr());
  if (cidr) {
    ips_.SetCidr(*cidr);
  } else {
    CATTLE_LOG(ERROR) << "node has no usable pod CIDR; only hostNetwork pods can start"
                      << kv("node", options_.node_name) << kv("podCIDR", node_status_.pod_cidr());
  }
  if (!pods_) {
    informer_ = std::make_unique<Informer>(
        std::make_unique<ClientListerWatcher>(client_, client_->Kind("pods"), "", "",
                                              "spec.nodeName=" + options_.node_name),
        clock_);
    pods_ = informer_.get();
    informer_->AddHandlers(PodHandlers());
    informer_->Start();
  }
  while (!pods_->WaitForSync(std::chrono::milliseconds(100))) {
    std::lock_guard<std::mutex> lock(hb_mu_);
    if (stopping_) return;
  }
  // Every IP the API shows is held before any new pod gets one.
  size_t mine = 0;
  for (const auto& pod : pods_->List()) {
    if (!Mine(pod)) continue;
    ++mine;
    auto p = pod->get<api::Pod>();
    std::string ip = Str(p.getStatus().getPodIP());
    if (!ip.empty() && !p.getSpec().getHostNetwork()) (void)ips_.Reserve(pod->uid(), ip);
  }
  int threads = std::max(1, options_.pod_worker_threads);
  for (int i = 0; i < threads; ++i) worker_threads_.emplace_back([this] { WorkerLoop(); });
  pods_started_.store(true);
  CATTLE_LOG(INFO) << "pod workers started" << kv("node", options_.node_name) << kv("pods", mine);
}

EventHandlers Kubelet::PodHandlers() {
  return EventHandlers{
      [this](const ObjectPtr& pod) { Track(pod); },
      [this](const ObjectPtr& old_pod, const ObjectPtr& new_pod) {
        if (old_pod->uid() != new_pod->uid()) {
          Untrack(old_pod);  // deleted and re-created meanwhile
        } else if (IsEchoOfOwnStatus(*old_pod, *new_pod)) {
          // The watch event of our own status write tells the pod's worker nothing new:
          // Kubernetes' kubelet does not sync a pod for the status it wrote either.
          return;
        }
        Track(new_pod);
      },
      [this](const ObjectPtr& pod) { Untrack(pod); },
  };
}

bool Kubelet::Mine(const ObjectPtr& pod) const {
  return pod->get<api::Pod>().getSpec().getNodeName() == options_.node_name.c_str();
}

bool Kubelet::IsEchoOfOwnStatus(const Object& before, const Object& pod) {
  std::lock_guard<std::mutex> lock(workers_mu_);
  auto it = workers_.find(pod.uid());
  return it != workers_.end() && it->second->IsEchoOfOwnStatus(before, pod);
}

void Kubelet::Track(const ObjectPtr& pod) {
  std::string uid = pod->uid();
  {
    std::lock_guard<std::mutex> lock(workers_mu_);
    if (finished_.count(uid)) return;
    auto& slot = workers_[uid];
    if (!slot) slot = std::make_unique<PodWorker>(uid, pod->Key(), &env_);
  }
  queue_.Add(uid);
}

void Kubelet::Untrack(const ObjectPtr& pod) {
  std::string uid = pod->uid();
  {
    std::lock_guard<std::mutex> lock(workers_mu_);
    finished_.erase(uid);
    if (!workers_.count(uid)) return;
  }
  queue_.Add(uid);  // the worker sees the pod gone and stops its containers
}

void Kubelet::WorkerLoop() {
  std::string uid;
  while (queue_.Get(&uid)) {
    SyncPod(uid);
    queue_.Done(uid);
  }
}

void Kubelet::SyncPod(const std::string& uid) {
  pod_syncs_++;
  PodWorker* worker;
  {
    std::lock_guard<std::mutex> lock(workers_mu_);
    auto it = workers_.find(uid);
    if (it == workers_.end()) return;
    worker = it->second.get();  // stays valid: only this (serial) sync of `uid` erases it
  }
  ObjectPtr pod = pods_->Get(worker->key());
  if (pod && pod->uid() != uid) pod = nullptr;
  PodSyncResult r = worker->Sync(pod);
  if (r.finished) {
    std::lock_guard<std::mutex> lock(workers_mu_);
    ObjectPtr current = pods_->Get(worker->key());
    if (current && current->uid() == uid) finished_.insert(uid);
    workers_.erase(uid);
    queue_.Forget(uid);
    return;
  }
  if (!r.status.ok()) {
    CATTLE_LOG(WARN) << "error syncing pod, will retry" << kv("pod", worker->key()) << kv("error", r.status.ToString());
    queue_.AddRateLimited(uid);
  } else {
    queue_.Forget(uid);
  }
  if (r.wake_at != kNoDeadline) queue_.AddAt(uid, r.wake_at);
}

Result<std::shared_ptr<ContainerLog>> Kubelet::OpenContainerLog(const std::string& ns, const std::string& pod,
                                                                const std::string& pod_uid,
                                                                const std::string& container, bool previous) const {
  const Status not_found = Status::NotFound("pods \"" + pod + "\" not found");
  if (!pods_started_.load()) return not_found;
  ObjectPtr obj = pods_->Get(ns + "/" + pod);
  if (!obj || (!pod_uid.empty() && obj->uid() != pod_uid)) return not_found;
  std::lock_guard<std::mutex> lock(workers_mu_);
  auto it = workers_.find(obj->uid());
  if (it == workers_.end()) return not_found;
  return it->second->Log(container, previous);
}

Result<std::vector<std::string>> Kubelet::ContainerLogs(const std::string& ns, const std::string& pod,
                                                        const std::string& container, bool previous) const {
  auto log = OpenContainerLog(ns, pod, "", container, previous);
  if (!log.ok()) return log.status();
  return (*log)->Lines();
}

EventHandlers* PodRouter::Route(const ObjectPtr& pod) {
  auto it = routes_.find(pod->get<api::Pod>().getSpec().getNodeName().cStr());
  return it == routes_.end() ? nullptr : &it->second;
}

EventHandlers PodRouter::Handlers() {
  return EventHandlers{
      [this](const ObjectPtr& pod) {
        if (auto* h = Route(pod)) h->on_add(pod);
      },
      [this](const ObjectPtr& old_pod, const ObjectPtr& pod) {
        EventHandlers *was = Route(old_pod), *is = Route(pod);
        if (was == is) {
          if (is) is->on_update(old_pod, pod);
          return;
        }
        if (was) was->on_delete(old_pod);  // deleted and re-created on another node
        if (is) is->on_add(pod);
      },
      [this](const ObjectPtr& pod) {
        if (auto* h = Route(pod)) h->on_delete(pod);
      },
  };
}

}  // namespace cattle::kubelet
