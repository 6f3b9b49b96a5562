#include "scheduler/scheduler.h"

#include <algorithm>

#include "cattle/log.h"

namespace cattle::scheduler {
namespace {

// validation.NoteLengthLimit: Event messages are cut there (" ..." appended).
constexpr size_t kNoteLengthLimit = 1024;

std::string TruncateMessage(const std::string& m) {
  if (m.size() <= kNoteLengthLimit) return m;
  const std::string suffix = " ...";
  return m.substr(0, kNoteLengthLimit - suffix.size()) + suffix;
}

bool Assigned(const Object& pod) { return pod.get<api::Pod>().getSpec().getNodeName().size() > 0; }

bool Terminal(const Object& pod) {
  auto phase = pod.get<api::Pod>().getStatus().getPhase();
  return phase == "Succeeded" || phase == "Failed";
}

int32_t Priority(const Object& pod) {
  auto spec = pod.get<api::Pod>().getSpec();
  return spec.hasPriority() ? spec.getPriority().getValue() : 0;
}

// A pod this scheduler should place now.
bool Pending(const Object& pod, const std::string& scheduler_name) {
  auto p = pod.get<api::Pod>();
  auto spec = p.getSpec();
  if (spec.getNodeName().size() > 0 || p.getMetadata().getDeletionTimestamp().size() > 0)
    return false;
  if (spec.getSchedulingGates().size() > 0) return false;
  return spec.getSchedulerName().size() == 0 || spec.getSchedulerName() == scheduler_name.c_str();
}

// isPodUpdated: anything but resourceVersion, generation, managedFields and status.
bool PodChanged(const Object& a, const Object& b) {
  auto strip = [](const Object& o) {
    Json j = o.ToJson();
    j.erase("status");
    if (j.contains("metadata")) {
      j["metadata"].erase("resourceVersion");
      j["metadata"].erase("generation");
      j["metadata"].erase("managedFields");
    }
    return j;
  };
  return strip(a) != strip(b);
}

// Whether a bound pod's update may free room on its node: it finished, or its requests
// went down (in-place resize).
bool FreesResources(const Object& old_pod, const Object& new_pod) {
  if (Terminal(new_pod) && !Terminal(old_pod)) return true;
  if (PodInfo::Same(old_pod, new_pod)) return false;
  Resources before = PodRequests(old_pod.get<api::Pod>().getSpec(), false);
  Resources after = PodRequests(new_pod.get<api::Pod>().getSpec(), false);
  if (after.milli_cpu < before.milli_cpu || after.memory < before.memory ||
      after.ephemeral_storage < before.ephemeral_storage)
    return true;
  for (const auto& [name, v] : before.scalar) {
    auto it = after.scalar.find(name);
    if (it == after.scalar.end() || it->second < v) return true;
  }
  return false;
}

std::vector<std::tuple<std::string, std::string, std::string>> Taints(api::Node::Reader n) {
  std::vector<std::tuple<std::string, std::string, std::string>> out;
  for (auto t : n.getSpec().getTaints())
    out.emplace_back(t.getKey().cStr(), t.getValue().cStr(), t.getEffect().cStr());
  return out;
}

std::map<std::string, std::string> ConditionStatuses(api::Node::Reader n) {
  std::map<std::string, std::string> out;
  for (auto c : n.getStatus().getConditions()) out[c.getType().cStr()] = c.getStatus().cStr();
  return out;
}

// nodeSchedulingPropertiesChange: what a filter or score could look at. Heartbeats
// (condition times) do not count.
bool NodeSchedulingPropertiesChanged(const Object& a, const Object& b) {
  auto x = a.get<api::Node>(), y = b.get<api::Node>();
  return x.getSpec().getUnschedulable() != y.getSpec().getUnschedulable() ||
         ToStdMap(x.getStatus().getAllocatable()) != ToStdMap(y.getStatus().getAllocatable()) ||
         ToStdMap(x.getMetadata().getLabels()) != ToStdMap(y.getMetadata().getLabels()) ||
         ToStdMap(x.getMetadata().getAnnotations()) != ToStdMap(y.getMetadata().getAnnotations()) ||
         Taints(x) != Taints(y) || ConditionStatuses(x) != ConditionStatuses(y);
}

EventHandlers PodHandlers(std::shared_ptr<SchedulingQueue> q, std::string name) {
  EventHandlers h;
  h.on_add = [q, name](const ObjectPtr& pod) {
    if (Pending(*pod, name)) q->Add(pod->Key(), Priority(*pod));
  };
  h.on_update = [q, name](const ObjectPtr& old_pod, const ObjectPtr& pod) {
    if (Assigned(*pod)) {
      if (!Assigned(*old_pod)) {
        q->Delete(pod->Key());  // just bound (by us or by someone else)
      } else if (FreesResources(*old_pod, *pod)) {
        q->MoveAllToActive("AssignedPodUpdate");
      }
      return;
    }
    if (!Pending(*pod, name)) {
      q->Delete(pod->Key());
    } else if (Pending(*old_pod, name) && PodChanged(*old_pod, *pod)) {
      q->Update(pod->Key(), Priority(*pod));
    } else {
      q->Add(pod->Key(), Priority(*pod));
    }
  };
  h.on_delete = [q](const ObjectPtr& pod) {
    if (Assigned(*pod)) {
      q->MoveAllToActive("AssignedPodDelete");
    } else {
      q->Delete(pod->Key());
    }
  };
  return h;
}

EventHandlers NodeHandlers(std::shared_ptr<SchedulingQueue> q) {
  EventHandlers h;
  h.on_add = [q](const ObjectPtr&) { q->MoveAllToActive("NodeAdd"); };
  h.on_update = [q](const ObjectPtr& old_node, const ObjectPtr& node) {
    if (NodeSchedulingPropertiesChanged(*old_node, *node)) q->MoveAllToActive("NodeUpdate");
  };
  return h;
}

}  // namespace

SchedulerOptions SchedulerOptions::Scaled(const TimeScale& scale) const {
  SchedulerOptions o = *this;
  o.pod_initial_backoff = scale(pod_initial_backoff);
  o.pod_max_backoff = scale(pod_max_backoff);
  o.assumed_pod_ttl = scale(assumed_pod_ttl);
  return o;
}

Scheduler::Scheduler(ApiClient* client, InformerFactory* informers, EventRecorder* recorder,
                     const Framework* framework, Clock* clock, SchedulerOptions options)
    : client_(client),
      recorder_(recorder),
      framework_(framework),
      clock_(clock),
      options_(std::move(options)),
      pods_(informers->For(client->Kind("pods"))),
      nodes_(informers->For(client->Kind("nodes"))),
      queue_(std::make_shared<SchedulingQueue>(
          clock, SchedulingQueueOptions{options_.pod_initial_backoff, options_.pod_max_backoff})),
      cache_(pods_, nodes_, clock, options_.assumed_pod_ttl),
      rng_(options_.seed != 0 ? options_.seed : std::random_device{}()) {
  pods_->AddIndex(kPodNodeNameIndex, PodNodeNameIndex);
  pods_->AddHandlers(PodHandlers(queue_, options_.scheduler_name));
  nodes_->AddHandlers(NodeHandlers(queue_));
}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Run() {
  if (started_.exchange(true)) return;
  for (int i = 0; i < std::max(1, options_.bind_workers); ++i) binders_.emplace_back([this] { BinderLoop(); });
  thread_ = std::thread([this] { Loop(); });
}

void Scheduler::Stop() {
  stopping_ = true;
  queue_->ShutDown();
  if (thread_.joinable()) thread_.join();
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard<std::mutex> lock(bind_mu_);
    binders_stopping_ = true;
    dropped.swap(binds_);
  }
  bind_cv_.notify_all();
  for (auto& t : binders_)
    if (t.joinable()) t.join();
  binders_.clear();
  dropped.clear();  // never started: their pods stay assumed until the TTL, unused
}

void Scheduler::BinderLoop() {
  while (true) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(bind_mu_);
      bind_cv_.wait(lock, [this] { return binders_stopping_ || !binds_.empty(); });
      if (binders_stopping_) return;
      task = std::move(binds_.front());
      binds_.pop_front();
    }
    task();
  }
}

void Scheduler::Loop() {
  while (!stopping_) {
    if (pods_->WaitForSync(std::chrono::milliseconds(100)) &&
        nodes_->WaitForSync(std::chrono::milliseconds(100)))
      break;
  }
  CATTLE_LOG(INFO) << "scheduling" << kv("scheduler_name", options_.scheduler_name);
  QueuedPod queued;
  while (!stopping_ && queue_->Pop(&queued)) ScheduleOne(queued);
}

void Scheduler::ScheduleOne(const QueuedPod& queued) {
  ObjectPtr obj = pods_->Get(queued.key);
  if (!obj || !Pending(*obj, options_.scheduler_name) || cache_.IsAssumed(queued.key)) {
    queue_->Done(queued.key);
    return;
  }
  PodInfoPtr pod = PodInfo::From(obj);
  cache_.UpdateSnapshot(&snapshot_);
  const std::vector<NodeInfoPtr>& nodes = snapshot_.nodes;
  ScheduleResult result = framework_->SchedulePod(*pod, nodes, &rng_, &next_start_node_index_);
  if (result.node.empty()) {
    HandleFailure(obj, result.code, result.message);
    return;
  }
  // Assume first, so that the next cycle counts the pod even though the binding is still
  // in flight and the informer lags.
  cache_.Assume(pod, result.node);
  {
    std::lock_guard<std::mutex> lock(bind_mu_);
    binds_.push_back([this, obj, pod, node = result.node, queued, feasible = result.feasible_nodes,
                      n = nodes.size()] { Bind(obj, pod, node, queued, feasible, n); });
  }
  bind_cv_.notify_one();
}

void Scheduler::Bind(const ObjectPtr& obj, const PodInfoPtr& pod, const std::string& node,
                     const QueuedPod& queued, int feasible_nodes, size_t nodes) {
  auto bound = client_->Bind(pod->namespace_, pod->name, node, pod->uid);
  if (!bound.ok()) {
    cache_.Forget(queued.key);
    HandleFailure(obj, Code::kError,
                  "running Bind plugin \"DefaultBinder\": " + bound.status().message());
    return;
  }
  scheduled_++;
  // Kubernetes logs this at V(2), below its default verbosity: one line per pod would
  // cost more than the scheduling at a thousand pods a second.
  CATTLE_LOG(DEBUG) << "bound pod" << kv("pod", queued.key) << kv("node", node)
                   << kv("attempts", queued.attempts) << kv("feasible_nodes", feasible_nodes)
                   << kv("nodes", nodes);
  recorder_->Event(*obj, "Normal", "Scheduled", "Successfully assigned " + queued.key + " to " + node);
  queue_->Done(queued.key);
}

void Scheduler::HandleFailure(const ObjectPtr& pod, Code code, const std::string& message) {
  failed_++;
  bool rejected = code == Code::kUnschedulable || code == Code::kUnschedulableAndUnresolvable;
  std::string reason = rejected ? "Unschedulable" : "SchedulerError";
  std::string key = pod->Key();
  if (rejected) {
    CATTLE_LOG(INFO) << "unable to schedule pod; no fit; waiting" << kv("pod", key)
                     << kv("err", message);
  } else {
    CATTLE_LOG(WARN) << "error scheduling pod; retrying" << kv("pod", key) << kv("err", message);
  }
  // Requeue from the informer's view: a pod deleted or bound meanwhile is not retried.
  ObjectPtr cached = pods_->Get(key);
  if (!cached || cached->uid() != pod->uid() || Assigned(*cached)) {
    queue_->Done(key);
  } else {
    queue_->AddUnschedulable(key);
  }
  recorder_->Event(*pod, "Warning", "FailedScheduling", TruncateMessage(message));
  if (cached && cached->uid() == pod->uid()) SetUnschedulableCondition(*cached, reason, message);
}

void Scheduler::SetUnschedulableCondition(const Object& pod, const std::string& reason,
                                          const std::string& message) {
  std::string transition;
  for (auto c : pod.get<api::Pod>().getStatus().getConditions()) {
    if (c.getType() != "PodScheduled") continue;
    if (c.getStatus() == "False") {
      if (c.getReason() == reason.c_str() && c.getMessage() == message.c_str() &&
          c.getLastProbeTime().size() == 0)
        return;  // unchanged: no write (podutil.UpdatePodCondition)
      transition = c.getLastTransitionTime().cStr();
    }
    break;
  }
  if (transition.empty()) transition = FormatRfc3339(clock_->WallNanos());
  Json condition = {{"type", "PodScheduled"},   {"status", "False"},
                    {"reason", reason},         {"message", message},
                    {"lastProbeTime", nullptr}, {"lastTransitionTime", transition}};
  Json patch = {{"status", {{"conditions", Json::array({condition})}}}};
  WriteOptions options;
  options.subresource = "status";
  auto r =
      client_->Patch(pod.kind(), pod.namespace_(), pod.name(), "strategic", patch.dump(), options);
  if (!r.ok())
    CATTLE_LOG(WARN) << "cannot update pod condition" << kv("pod", pod.Key())
                     << kv("error", r.status().ToString());
}

}  // namespace cattle::scheduler
