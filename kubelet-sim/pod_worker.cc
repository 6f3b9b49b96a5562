#include "kubelet-sim/pod_worker.h"

#include <algorithm>

#include <capnp/any.h>

#include "cattle/log.h"
#include "core.capnp.h"
#include "kubelet-sim/sim_runtime.h"
#include "kubelet-sim/util.h"

namespace cattle::kubelet {
namespace {

// Kubernetes' CrashLoopBackOff and image pull back-off: 10 s doubling to 300 s.
constexpr Duration kBackoffInitial = std::chrono::seconds(10);
constexpr Duration kBackoffMax = std::chrono::seconds(300);

void Lower(TimePoint* wake, TimePoint t) {
  if (t < *wake) *wake = t;
}

bool ShouldRestart(const std::string& policy, int exit_code) {
  if (policy == "Never") return false;
  if (policy == "OnFailure") return exit_code != 0;
  return true;  // Always (the default)
}

int64_t ParseTime(capnp::Text::Reader text) {
  int64_t ns = 0;
  if (text.size() == 0 || !ParseRfc3339(Str(text), &ns)) return 0;
  return ns;
}

// Whether two pods' statuses are the same, field by field (what their JSON would show:
// unset and empty differ, trailing zeros do not): used to skip redundant writes. Compared
// on the Cap'n Proto encoding, without building JSON, since every sync asks.
bool SameStatus(const Object& a, const Object& b) {
  capnp::AnyStruct::Reader sa = a.get<api::Pod>().getStatus();
  capnp::AnyStruct::Reader sb = b.get<api::Pod>().getStatus();
  return sa == sb;
}

// The kubelet's conditions, in the order Kubernetes writes them.
const char* const kOwnConditions[] = {"PodReadyToStartContainers", "Initialized", "Ready",
                                      "ContainersReady", "PodScheduled"};

bool IsOwnCondition(const std::string& type) {
  for (const char* c : kOwnConditions)
    if (type == c) return true;
  return false;
}

}  // namespace

PodWorker::PodWorker(std::string uid, std::string key, const PodWorkerEnv* env)
    : uid_(std::move(uid)), key_(std::move(key)), env_(env),
      crash_backoff_(kBackoffInitial, kBackoffMax, env->options->time_scale),
      pull_backoff_(kBackoffInitial, kBackoffMax, env->options->time_scale) {}

std::string PodWorker::PodDescription(const Object& pod) const {
  return pod.name() + "_" + pod.namespace_() + "(" + uid_ + ")";
}

void PodWorker::Event(const Object& pod, const std::string& type, const std::string& reason,
                      const std::string& message) {
  if (env_->recorder != nullptr) env_->recorder->Event(pod, type, reason, message);
}

ScriptedBehaviour PodWorker::BehaviourFor(const Object& pod, const std::string& container) const {
  return ParseBehaviour(ToStdMap(pod.meta().getAnnotations()), container);
}

ContainerConfig PodWorker::ConfigFor(const Object& pod, int index) const {
  auto spec = pod.get<api::Pod>().getSpec();
  auto c = spec.getContainers()[index];
  ContainerConfig cfg;
  cfg.pod_uid = uid_;
  cfg.pod_namespace = pod.namespace_();
  cfg.pod_name = pod.name();
  cfg.name = Str(c.getName());
  cfg.image = Str(c.getImage());
  for (auto s : c.getCommand()) cfg.command.push_back(Str(s));
  for (auto s : c.getArgs()) cfg.args.push_back(Str(s));
  ScriptedBehaviour b = BehaviourFor(pod, cfg.name);
  const TimeScale& scale = env_->options->time_scale;
  if (b.exit_after) cfg.exit_after = scale(*b.exit_after);
  cfg.exit_code = b.exit_code;
  if (b.stop_delay) cfg.stop_delay = scale(*b.stop_delay);
  return cfg;
}

// --- adoption (a restarted kubelet) --------------------------------------------------------

void PodWorker::Adopt(const Object& pod) {
  auto p = pod.get<api::Pod>();
  auto spec = p.getSpec();
  auto status = p.getStatus();
  TimePoint now = env_->clock->Now();
  int64_t wall = env_->clock->WallNanos();
  auto to_mono = [&](int64_t t) { return now - Duration(std::max<int64_t>(wall - t, 0)); };
  auto terminated_of = [](api::ContainerStateTerminated::Reader t) {
    Terminated out;
    out.exit_code = t.getExitCode();
    out.reason = Str(t.getReason());
    out.message = Str(t.getMessage());
    out.started_at = ParseTime(t.getStartedAt());
    out.finished_at = ParseTime(t.getFinishedAt());
    out.container_id = Str(t.getContainerID());
    return out;
  };

  std::string phase = Str(status.getPhase());
  if (phase == "Succeeded" || phase == "Failed") {
    terminal_ = true;
    frozen_ = true;  // a finished pod's status is final: never rewritten
    phase_ = phase;
  }
  pod_ip_ = Str(status.getPodIP());
  if (!pod_ip_.empty() && !spec.getHostNetwork() && !env_->ips->Reserve(uid_, pod_ip_)) {
    CATTLE_LOG(WARN) << "pod IP held by another pod" << kv("pod", key_) << kv("ip", pod_ip_);
  }
  start_time_ = ParseTime(status.getStartTime());
  reason_ = Str(status.getReason());
  message_ = Str(status.getMessage());
  std::string policy = Str(spec.getRestartPolicy());

  for (auto ic : spec.getInitContainers()) {
    Container c;
    c.name = Str(ic.getName());
    c.spec_image = Str(ic.getImage());
    init_containers_.push_back(c);
  }
  for (auto ics : status.getInitContainerStatuses()) {
    for (auto& c : init_containers_) {
      if (c.name != Str(ics.getName()) || !ics.getState().hasTerminated()) continue;
      c.terminated = terminated_of(ics.getState().getTerminated());
      c.id = Str(ics.getContainerID());
      c.image_ref = Str(ics.getImage());
      c.image_id = Str(ics.getImageID());
      c.phase = Phase::kExited;
      c.has_run = true;
    }
  }
  init_done_ = !init_containers_.empty() &&
               std::all_of(init_containers_.begin(), init_containers_.end(),
                           [](const Container& c) { return c.phase == Phase::kExited; });
  if (init_containers_.empty()) init_done_ = true;

  auto specs = spec.getContainers();
  for (size_t i = 0; i < specs.size(); ++i) {
    Container c;
    c.name = Str(specs[i].getName());
    c.spec_image = Str(specs[i].getImage());
    for (auto cs : status.getContainerStatuses()) {
      if (Str(cs.getName()) != c.name) continue;
      c.restart_count = cs.getRestartCount();
      c.image_ref = Str(cs.getImage());
      c.image_id = Str(cs.getImageID());
      if (c.image_ref == c.spec_image) c.image_ref.clear();  // never pulled: shown as in the spec
      c.id = Str(cs.getContainerID());
      if (cs.getLastState().hasTerminated()) {
        c.last_state = terminated_of(cs.getLastState().getTerminated());
        c.previous_id = c.last_state->container_id;
        c.has_run = true;
      }
      auto state = cs.getState();
      if (state.hasRunning() && !c.id.empty()) {
        c.started_at = ParseTime(state.getRunning().getStartedAt());
        Status s = env_->runtime->AdoptContainer(ConfigFor(pod, static_cast<int>(i)), c.id, c.started_at);
        if (s.ok()) {
          c.phase = Phase::kRunning;
          c.has_run = true;
          c.started = true;
          c.ready = cs.getReady();
        }
      } else if (state.hasTerminated()) {
        Terminated t = terminated_of(state.getTerminated());
        if (t.container_id.empty()) t.container_id = c.id;
        c.has_run = true;
        c.finished_mono = to_mono(t.finished_at);
        if (terminal_ || !ShouldRestart(policy, t.exit_code)) {
          c.terminated = t;
          c.phase = Phase::kExited;
        } else {
          c.last_state = t;
          c.phase = Phase::kWaiting;
          c.needs_backoff_check = true;
        }
      } else if (state.hasWaiting()) {
        c.phase = Phase::kWaiting;
        c.waiting_reason = Str(state.getWaiting().getReason());
        c.waiting_message = Str(state.getWaiting().getMessage());
        if (c.last_state) {
          c.needs_backoff_check = true;
          c.finished_mono = to_mono(c.last_state->finished_at);
        }
      }
    }
    containers_.push_back(std::move(c));
  }
}

// --- one container's state machine -----------------------------------------------------

void PodWorker::StartInstance(Container& c, const Object& pod, int index, TimePoint now) {
  ContainerRuntime* rt = env_->runtime;
  auto id = rt->CreateContainer(ConfigFor(pod, index));
  if (!id.ok()) {
    c.phase = Phase::kWaiting;
    c.waiting_reason = "CreateContainerError";
    c.waiting_message = id.status().message();
    Event(pod, "Warning", "Failed", "Error: " + id.status().message());
    return;
  }
  Event(pod, "Normal", "Created", "Created container " + c.name);
  Status s = rt->StartContainer(*id);
  if (!s.ok()) {
    rt->RemoveContainer(*id);
    c.phase = Phase::kWaiting;
    c.waiting_reason = "RunContainerError";
    c.waiting_message = s.message();
    Event(pod, "Warning", "Failed", "Error: " + s.message());
    return;
  }
  Event(pod, "Normal", "Started", "Started container " + c.name);
  // Keep the instance before this one (logs --previous); older ones go, as Kubernetes'
  // container garbage collection keeps one dead instance per container.
  if (!c.previous_id.empty() && c.previous_id != c.id) rt->RemoveContainer(c.previous_id);
  if (c.has_run) {
    c.restart_count++;
    c.previous_id = c.id;
  }
  c.id = *id;
  c.has_run = true;
  c.phase = Phase::kRunning;
  c.terminated.reset();
  c.ready = false;
  c.started = true;
  c.stop_sent = false;
  c.probes_logged = false;
  c.readiness_logged = -1;
  auto info = rt->Inspect(*id);
  c.started_at = info ? info->started_at : env_->clock->WallNanos();
  (void)now;
}

void PodWorker::OnExited(Container& c, const ContainerInfo& info, const Object& pod, TimePoint now) {
  Terminated t;
  t.exit_code = info.exit_code;
  t.reason = info.reason.empty() ? (info.exit_code == 0 ? "Completed" : "Error") : info.reason;
  t.started_at = info.started_at != 0 ? info.started_at : c.started_at;
  t.finished_at = info.finished_at;
  t.container_id = c.id;
  int64_t wall = env_->clock->WallNanos();
  c.finished_mono = now - Duration(std::max<int64_t>(wall - t.finished_at, 0));
  c.ready = false;
  c.started = false;
  c.stop_sent = false;
  std::string policy = Str(pod.get<api::Pod>().getSpec().getRestartPolicy());
  if (c.restart_now || ShouldRestart(policy, t.exit_code)) {
    c.last_state = t;
    c.terminated.reset();
    c.phase = Phase::kWaiting;
    c.waiting_reason.clear();
    c.waiting_message.clear();
    c.needs_backoff_check = !c.restart_now;
    c.restart_now = false;
  } else {
    c.terminated = t;
    c.phase = Phase::kExited;
  }
}

void PodWorker::Step(Container& c, const Object& pod, int index, TimePoint now, TimePoint* wake) {
  auto spec = pod.get<api::Pod>().getSpec();
  auto cspec = spec.getContainers()[index];
  std::string image = Str(cspec.getImage());
  ScriptedBehaviour b = BehaviourFor(pod, c.name);
  const TimeScale& scale = env_->options->time_scale;
  ContainerRuntime* rt = env_->runtime;

  for (int guard = 0; guard < 8; ++guard) {
    switch (c.phase) {
      case Phase::kWaiting: {
        if (c.needs_backoff_check) {
          // Kubernetes' doBackOff: the back-off counts from the last exit.
          if (crash_backoff_.InBackOffSince(c.name, c.finished_mono, now)) {
            c.waiting_reason = "CrashLoopBackOff";
            c.waiting_message = "back-off " + FormatGoDuration(crash_backoff_.Get(c.name)) +
                                " restarting failed container=" + c.name + " pod=" + PodDescription(pod);
            if (!c.backoff_event_sent) {
              Event(pod, "Warning", "BackOff",
                    "Back-off restarting failed container " + c.name + " in pod " + PodDescription(pod));
              c.backoff_event_sent = true;
            }
            Lower(wake, crash_backoff_.EndsAt(c.name, c.finished_mono));
            return;
          }
          crash_backoff_.Next(c.name, c.finished_mono, now);
          c.needs_backoff_check = false;
          c.backoff_event_sent = false;
        }
        c.spec_image = image;
        if (now < c.error_shown_until) {  // ErrImagePull stays visible for a moment
          Lower(wake, c.error_shown_until);
          return;
        }
        if (pull_backoff_.InBackOffSinceUpdate(image, now)) {
          c.waiting_reason = "ImagePullBackOff";
          c.waiting_message = "Back-off pulling image \"" + image + "\"";
          if (!c.pull_backoff_event_sent) {
            Event(pod, "Normal", "BackOff", "Back-off pulling image \"" + image + "\"");
            Event(pod, "Warning", "Failed", "Error: ImagePullBackOff");
            c.pull_backoff_event_sent = true;
          }
          Lower(wake, pull_backoff_.LastUpdate(image) + scale(pull_backoff_.Get(image)));
          return;
        }
        c.pull_backoff_event_sent = false;
        std::string policy = Str(cspec.getImagePullPolicy());
        auto present = rt->ImageStatus(image);
        if (policy == "Never" && !present) {
          c.waiting_reason = "ErrImageNeverPull";
          c.waiting_message = "Container image \"" + image + "\" is not present with pull policy of Never";
          Event(pod, "Warning", "ErrImageNeverPull", c.waiting_message);
          return;  // nothing will change until the spec does
        }
        if (policy != "Always" && present) {
          Event(pod, "Normal", "Pulled", "Container image \"" + image + "\" already present on machine");
          c.image_ref = present->image_ref;
          c.image_id = present->image_id;
          c.image_size = present->size_bytes;
          c.pull_started = now;
          c.pull_ready_at = now;
          c.announce_pulled = false;
          c.phase = Phase::kPulling;
          continue;
        }
        Event(pod, "Normal", "Pulling", "Pulling image \"" + image + "\"");
        Duration took = b.image_pull_duration.value_or(env_->options->image_pull_duration);
        auto pulled = rt->PullImage(image, b.image_pull_fail, scale(took));
        if (!pulled.ok()) {
          Event(pod, "Warning", "Failed", "Failed to pull image \"" + image + "\": " + pulled.status().message());
          Event(pod, "Warning", "Failed", "Error: ErrImagePull");
          pull_backoff_.Next(image, now, now);
          c.waiting_reason = "ErrImagePull";
          c.waiting_message = pulled.status().message();
          c.error_shown_until = now + scale(env_->options->image_pull_error_display);
          Lower(wake, c.error_shown_until);
          return;
        }
        c.image_ref = pulled->image_ref;
        c.image_id = pulled->image_id;
        c.image_size = pulled->size_bytes;
        c.pull_started = now;
        c.pull_ready_at = pulled->ready_at;
        c.pull_took = took;
        c.announce_pulled = true;
        c.phase = Phase::kPulling;
        continue;
      }
      case Phase::kPulling: {
        if (now < c.pull_ready_at) {
          c.waiting_reason = "ContainerCreating";
          c.waiting_message.clear();
          Lower(wake, c.pull_ready_at);
          return;
        }
        if (c.announce_pulled) {
          std::string took = FormatGoDuration(c.pull_took);
          Event(pod, "Normal", "Pulled",
                "Successfully pulled image \"" + image + "\" in " + took + " (" + took +
                    " including waiting). Image size: " + std::to_string(c.image_size) + " bytes.");
          c.announce_pulled = false;
        }
        pull_backoff_.Forget(image);
        StartInstance(c, pod, index, now);
        if (c.phase != Phase::kRunning) return;
        continue;
      }
      case Phase::kRunning: {
        auto info = rt->Inspect(c.id);
        if (!info) {  // the runtime lost it: report it as Kubernetes does
          ContainerInfo gone;
          gone.state = ContainerState::kExited;
          gone.exit_code = 137;
          gone.reason = "ContainerStatusUnknown";
          gone.started_at = c.started_at;
          gone.finished_at = env_->clock->WallNanos();
          OnExited(c, gone, pod, now);
          continue;
        }
        if (info->state == ContainerState::kExited) {
          OnExited(c, *info, pod, now);
          continue;
        }
        if (image != c.spec_image && !c.stop_sent) {
          // The spec's image changed: restart the container with the new one (restartCount+1).
          Event(pod, "Normal", "Killing", "Container " + c.name + " definition changed, will be restarted");
          int64_t grace_s = spec.hasTerminationGracePeriodSeconds() ? spec.getTerminationGracePeriodSeconds().getValue() : 30;
          (void)rt->StopContainer(c.id, scale(std::chrono::seconds(grace_s)));
          c.stop_sent = true;
          c.restart_now = true;
          continue;
        }
        // Readiness (probes will decide here later).
        c.started = true;
        bool ready = !b.never_ready;
        if (ready && b.ready_after) {
          int64_t wall = env_->clock->WallNanos();
          TimePoint started_mono = now - Duration(std::max<int64_t>(wall - c.started_at, 0));
          TimePoint ready_at = started_mono + scale(*b.ready_after);
          if (now < ready_at) {
            ready = false;
            Lower(wake, ready_at);
          }
        }
        RecordProbes(c, pod, index, ready);
        c.ready = ready;
        Lower(wake, info->next_change);
        return;
      }
      case Phase::kExited:
        return;
    }
  }
}

bool PodWorker::StopAll(const Object& pod, Duration grace, TimePoint now, TimePoint* wake) {
  (void)now;
  bool all = true;
  for (auto& c : containers_) {
    switch (c.phase) {
      case Phase::kRunning: {
        if (!c.stop_sent) {
          Event(pod, "Normal", "Killing", "Stopping container " + c.name);
          (void)env_->runtime->StopContainer(c.id, grace);
          c.stop_sent = true;
        }
        auto info = env_->runtime->Inspect(c.id);
        if (info && info->state != ContainerState::kExited) {
          all = false;
          Lower(wake, info->next_change);
          break;
        }
        Terminated t;
        t.exit_code = info ? info->exit_code : 137;
        t.reason = info ? (info->reason.empty() ? (t.exit_code == 0 ? "Completed" : "Error") : info->reason)
                        : "ContainerStatusUnknown";
        t.started_at = c.started_at;
        t.finished_at = info ? info->finished_at : env_->clock->WallNanos();
        t.container_id = c.id;
        c.terminated = t;
        c.phase = Phase::kExited;
        c.ready = false;
        c.started = false;
        break;
      }
      case Phase::kWaiting:
      case Phase::kPulling:
        if (c.last_state) {  // between restarts: the last instance is the final state
          c.terminated = c.last_state;
          c.last_state.reset();
        } else {
          Terminated t;
          t.exit_code = 137;
          t.reason = "ContainerStatusUnknown";
          t.message = "The container could not be located when the pod was terminated";
          c.terminated = t;
        }
        c.phase = Phase::kExited;
        c.ready = false;
        c.started = false;
        break;
      case Phase::kExited:
        break;
    }
  }
  return all;
}

void PodWorker::Teardown() {
  for (auto* list : {&containers_, &init_containers_}) {
    for (auto& c : *list) {
      for (const std::string& id : {c.id, c.previous_id}) {
        if (id.empty()) continue;
        (void)env_->runtime->StopContainer(id, Duration::zero());
        env_->runtime->RemoveContainer(id);
      }
    }
  }
  env_->ips->Release(uid_);
}

// --- status ----------------------------------------------------------------------------

std::string PodWorker::ComputePhase(const Object& pod) const {
  if (terminal_) return phase_;
  int waiting = 0, running = 0, stopped = 0, succeeded = 0;
  for (const auto& c : containers_) {
    switch (c.phase) {
      case Phase::kRunning:
        running++;
        break;
      case Phase::kExited:
        stopped++;
        if (c.terminated && c.terminated->exit_code == 0) succeeded++;
        break;
      case Phase::kWaiting:
      case Phase::kPulling:
        if (c.last_state) stopped++;
        else waiting++;
        break;
    }
  }
  std::string policy = Str(pod.get<api::Pod>().getSpec().getRestartPolicy());
  if (waiting > 0) return "Pending";
  if (running > 0) return "Running";
  if (stopped > 0) {
    if (policy == "Never" || policy == "OnFailure") {
      if (stopped == succeeded) return "Succeeded";
      if (policy == "Never") return "Failed";
    }
    return "Running";  // restarting
  }
  return "Pending";
}

Object PodWorker::BuildStatus(const Object& pod) const {
  Object out = pod.Clone();
  auto old = pod.get<api::Pod>().getStatus();
  auto st = out.as<api::Pod>().getStatus();
  std::string now = FormatRfc3339(env_->clock->WallNanos());

  st.setPhase(phase_);
  if (!reason_.empty()) st.setReason(reason_);
  if (!message_.empty()) st.setMessage(message_);

  // Conditions: ours, then whatever others set (DisruptionTarget, readiness gates).
  struct Cond {
    std::string type, status, reason, message, transition;
  };
  std::vector<std::string> unready;
  for (const auto& c : containers_)
    if (!c.ready) unready.push_back(c.name);
  std::string unready_msg;
  if (!unready.empty()) {
    unready_msg = "containers with unready status: [";
    for (size_t i = 0; i < unready.size(); ++i) unready_msg += (i ? " " : "") + unready[i];
    unready_msg += "]";
  }
  bool all_ready = unready.empty() && !containers_.empty();
  auto ready_cond = [&](const char* type) {
    if (all_ready) return Cond{type, "True", "", "", ""};
    if (terminal_) return Cond{type, "False", "PodCompleted", "", ""};
    return Cond{type, "False", "ContainersNotReady", unready_msg, ""};
  };
  std::vector<Cond> conds = {
      Cond{"PodReadyToStartContainers", (!terminal_ && !pod_ip_.empty()) ? "True" : "False", "", "", ""},
      Cond{"Initialized", init_done_ ? "True" : "False", init_done_ ? "" : "ContainersNotInitialized", "", ""},
      ready_cond("Ready"),
      ready_cond("ContainersReady"),
      Cond{"PodScheduled", "True", "", "", ""},
  };
  for (auto& c : conds) {
    c.transition = now;
    for (auto o : old.getConditions()) {
      if (Str(o.getType()) == c.type && Str(o.getStatus()) == c.status && o.getLastTransitionTime().size() > 0)
        c.transition = Str(o.getLastTransitionTime());
    }
  }
  std::vector<size_t> others;  // old conditions we do not own, kept as they are
  auto old_conds = old.getConditions();
  for (size_t i = 0; i < old_conds.size(); ++i)
    if (!IsOwnCondition(Str(old_conds[i].getType()))) others.push_back(i);
  {
    auto list = st.initConditions(conds.size() + others.size());
    for (size_t i = 0; i < conds.size(); ++i) {
      list[i].setType(conds[i].type);
      list[i].setStatus(conds[i].status);
      list[i].setLastTransitionTime(conds[i].transition);
      if (!conds[i].reason.empty()) list[i].setReason(conds[i].reason);
      if (!conds[i].message.empty()) list[i].setMessage(conds[i].message);
    }
    for (size_t i = 0; i < others.size(); ++i) list.setWithCaveats(conds.size() + i, old_conds[others[i]]);
  }

  if (!pod_ip_.empty()) {
    st.setPodIP(pod_ip_);
    st.initPodIPs(1)[0].setIp(pod_ip_);
  }
  if (!env_->host_ip.empty()) {
    st.setHostIP(env_->host_ip);
    st.initHostIPs(1)[0].setIp(env_->host_ip);
  }
  if (start_time_ != 0) st.setStartTime(FormatRfc3339(start_time_));

  auto fill = [&](api::ContainerStatus::Builder cs, const Container& c) {
    cs.setName(c.name);
    auto write_terminated = [](api::ContainerStateTerminated::Builder b, const Terminated& t) {
      b.setExitCode(t.exit_code);
      if (!t.reason.empty()) b.setReason(t.reason);
      if (!t.message.empty()) b.setMessage(t.message);
      if (t.started_at != 0) b.setStartedAt(FormatRfc3339(t.started_at));
      if (t.finished_at != 0) b.setFinishedAt(FormatRfc3339(t.finished_at));
      if (!t.container_id.empty()) b.setContainerID(t.container_id);
    };
    auto state = cs.initState();
    switch (c.phase) {
      case Phase::kWaiting:
      case Phase::kPulling: {
        auto w = state.initWaiting();
        std::string reason = c.phase == Phase::kPulling || c.waiting_reason.empty() ? "ContainerCreating" : c.waiting_reason;
        w.setReason(reason);
        if (c.phase == Phase::kWaiting && !c.waiting_message.empty()) w.setMessage(c.waiting_message);
        break;
      }
      case Phase::kRunning:
        state.initRunning().setStartedAt(FormatRfc3339(c.started_at));
        break;
      case Phase::kExited:
        if (c.terminated) write_terminated(state.initTerminated(), *c.terminated);
        break;
    }
    auto last = cs.initLastState();
    if (c.last_state) write_terminated(last.initTerminated(), *c.last_state);
    cs.setReady(c.ready);
    cs.setRestartCount(c.restart_count);
    cs.setImage(c.image_ref.empty() ? c.spec_image : c.image_ref);
    cs.setImageID(c.image_id);
    if (!c.id.empty()) cs.setContainerID(c.id);
    cs.initStarted().setValue(c.phase == Phase::kRunning && c.started);
  };

  if (!init_containers_.empty()) {
    auto list = st.initInitContainerStatuses(init_containers_.size());
    for (size_t i = 0; i < init_containers_.size(); ++i) {
      fill(list[i], init_containers_[i]);
      list[i].setReady(init_containers_[i].phase == Phase::kExited && init_containers_[i].terminated &&
                       init_containers_[i].terminated->exit_code == 0);
    }
  }
  // Kubernetes sorts container statuses by name.
  std::vector<const Container*> sorted;
  for (const auto& c : containers_) sorted.push_back(&c);
  std::sort(sorted.begin(), sorted.end(), [](const Container* a, const Container* b) { return a->name < b->name; });
  auto list = st.initContainerStatuses(sorted.size());
  for (size_t i = 0; i < sorted.size(); ++i) fill(list[i], *sorted[i]);
  return out;
}

Status PodWorker::WriteStatus(const ObjectPtr& pod) {
  if (frozen_) return Status::Ok();
  Object desired = BuildStatus(*pod);
  if (SameStatus(desired, *pod)) return Status::Ok();
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto sending = std::make_shared<const Object>(std::move(desired));
    {
      std::lock_guard<std::mutex> lock(sent_mu_);
      sent_ = sending;
    }
    auto written = env_->client->UpdateStatus(*sending);
    if (written.ok()) {
      last_written_ = std::make_shared<const Object>(std::move(*written));
      return Status::Ok();
    }
    if (written.status().Is(Reason::kNotFound)) return Status::Ok();  // gone: the informer will say
    if (!written.status().Is(Reason::kConflict)) return written.status();
    auto fresh = env_->client->Get(pod->kind(), pod->namespace_(), pod->name());
    if (!fresh.ok()) return fresh.status().Is(Reason::kNotFound) ? Status::Ok() : fresh.status();
    if (fresh->uid() != uid_) return Status::Ok();
    desired = BuildStatus(*fresh);
    if (SameStatus(desired, *fresh)) {
      last_written_ = std::make_shared<const Object>(std::move(*fresh));
      return Status::Ok();
    }
  }
  return Status::Conflict("pod " + key_ + " kept changing while its status was written");
}

bool PodWorker::IsEchoOfOwnStatus(const Object& before, const Object& pod) const {
  ObjectPtr sent;
  {
    std::lock_guard<std::mutex> lock(sent_mu_);
    sent = sent_;
  }
  if (!sent || !SameStatus(*sent, pod)) return false;
  auto a = before.get<api::Pod>(), b = pod.get<api::Pod>();
  if (!(capnp::AnyStruct::Reader(a.getSpec()) == capnp::AnyStruct::Reader(b.getSpec()))) return false;
  auto ma = before.meta(), mb = pod.meta();
  auto same = [](auto x, auto y) { return capnp::AnyStruct::Reader(x) == capnp::AnyStruct::Reader(y); };
  return ma.getUid() == mb.getUid() && ma.getGeneration() == mb.getGeneration() &&
         ma.getDeletionTimestamp() == mb.getDeletionTimestamp() &&
         ma.hasDeletionTimestamp() == mb.hasDeletionTimestamp() &&
         ma.hasDeletionGracePeriodSeconds() == mb.hasDeletionGracePeriodSeconds() &&
         same(ma.getDeletionGracePeriodSeconds(), mb.getDeletionGracePeriodSeconds()) && same(ma.getLabels(), mb.getLabels()) &&
         same(ma.getAnnotations(), mb.getAnnotations()) && ma.getOwnerReferences().size() == mb.getOwnerReferences().size() &&
         ma.getFinalizers().size() == mb.getFinalizers().size();
}

// --- the sync ----------------------------------------------------------------------------

PodSyncResult PodWorker::Sync(const ObjectPtr& informer_pod) {
  std::lock_guard<std::mutex> lock(mu_);
  PodSyncResult result;
  if (!informer_pod) {
    Teardown();
    result.finished = true;
    return result;
  }
  // Our own last write may be newer than what the informer has delivered so far.
  ObjectPtr pod = informer_pod;
  if (last_written_ && last_written_->resource_version() > pod->resource_version()) pod = last_written_;
  if (!adopted_) {
    Adopt(*pod);
    adopted_ = true;
  }
  const TimeScale& scale = env_->options->time_scale;
  TimePoint now = env_->clock->Now();
  int64_t wall = env_->clock->WallNanos();
  TimePoint wake = kNoDeadline;
  auto meta = pod->meta();
  auto spec = pod->get<api::Pod>().getSpec();

  if (meta.hasDeletionTimestamp() && meta.getDeletionTimestamp().size() > 0) {
    int64_t grace_s = meta.hasDeletionGracePeriodSeconds() ? meta.getDeletionGracePeriodSeconds().getValue()
                      : spec.hasTerminationGracePeriodSeconds() ? spec.getTerminationGracePeriodSeconds().getValue()
                                                                 : 30;
    if (!StopAll(*pod, scale(std::chrono::seconds(std::max<int64_t>(grace_s, 0))), now, &wake)) {
      result.status = WriteStatus(pod);
      result.wake_at = wake;
      return result;
    }
    if (!terminal_) {
      // A deleted pod whose containers stopped is terminal (Kubernetes >= 1.27).
      bool all_zero = std::all_of(containers_.begin(), containers_.end(), [](const Container& c) {
        return c.terminated && c.terminated->exit_code == 0;
      });
      phase_ = all_zero ? "Succeeded" : "Failed";
      terminal_ = true;
    }
    Status s = WriteStatus(pod);
    if (!s.ok()) {
      result.status = s;
      return result;
    }
    DeleteOptions del;
    del.grace_period_seconds = 0;
    del.precondition_uid = uid_;
    auto deleted = env_->client->Delete(pod->kind(), pod->namespace_(), pod->name(), del);
    if (!deleted.ok() && !deleted.status().Is(Reason::kNotFound) && !deleted.status().Is(Reason::kConflict)) {
      result.status = deleted.status();
      return result;
    }
    CATTLE_LOG(INFO) << "pod deleted" << kv("pod", key_) << kv("uid", uid_);
    Teardown();
    result.finished = true;
    return result;
  }

  if (!terminal_) {
    // The sandbox: an IP and a start time, kept for the pod's whole life.
    if (pod_ip_.empty()) {
      if (spec.getHostNetwork()) {
        pod_ip_ = env_->host_ip;
      } else {
        auto ip = env_->ips->Allocate(uid_);
        if (!ip.ok()) {
          result.status = ip.status();
          return result;
        }
        pod_ip_ = *ip;
      }
    }
    if (start_time_ == 0) start_time_ = wall;

    if (spec.hasActiveDeadlineSeconds() && !deadline_exceeded_) {
      Duration limit = scale(std::chrono::seconds(spec.getActiveDeadlineSeconds().getValue()));
      TimePoint deadline = now - Duration(std::max<int64_t>(wall - start_time_, 0)) + limit;
      if (now >= deadline) {
        deadline_exceeded_ = true;
        Event(*pod, "Warning", "DeadlineExceeded", "Pod was active on the node longer than the specified deadline");
      } else {
        Lower(&wake, deadline);
      }
    }

    if (deadline_exceeded_) {
      int64_t grace_s = spec.hasTerminationGracePeriodSeconds() ? spec.getTerminationGracePeriodSeconds().getValue() : 30;
      if (StopAll(*pod, scale(std::chrono::seconds(grace_s)), now, &wake)) {
        terminal_ = true;
        phase_ = "Failed";
        reason_ = "DeadlineExceeded";
        message_ = "Pod was active on the node longer than the specified deadline";
      }
    } else {
      if (!init_done_) {
        // Init containers complete at once (see README: left out for now).
        for (auto& c : init_containers_) {
          if (c.phase == Phase::kExited) continue;
          Terminated t;
          t.reason = "Completed";
          t.started_at = wall;
          t.finished_at = wall;
          c.terminated = t;
          c.image_ref = NormalizeImage(c.spec_image);
          c.image_id = FakeImageId(c.image_ref);
          c.phase = Phase::kExited;
          c.has_run = true;
        }
        init_done_ = true;
      }
      for (size_t i = 0; i < containers_.size(); ++i) Step(containers_[i], *pod, static_cast<int>(i), now, &wake);
      phase_ = ComputePhase(*pod);
      if (phase_ == "Succeeded" || phase_ == "Failed") terminal_ = true;
    }
  }
  result.status = WriteStatus(pod);
  result.wake_at = wake;
  return result;
}

Result<std::shared_ptr<ContainerLog>> PodWorker::Log(const std::string& container, bool previous) const {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string pod = key_.substr(key_.find('/') + 1);
  const std::string which = "container \"" + container + "\" in pod \"" + pod + "\"";
  const Container* c = nullptr;
  for (const auto* list : {&containers_, &init_containers_})
    for (const auto& candidate : *list)
      if (candidate.name == container && c == nullptr) c = &candidate;
  if (c == nullptr) return Status::BadRequest(which + " is not available");

  const bool has_last = c->last_state && !c->last_state->container_id.empty();
  std::string id;
  if (previous) {
    if (!has_last) return Status::BadRequest("previous terminated " + which + " not found");
    id = c->last_state->container_id;
  } else if (c->phase == Phase::kRunning) {
    id = c->id;
  } else if (c->phase == Phase::kExited && c->terminated && !c->terminated->container_id.empty()) {
    id = c->terminated->container_id;
  } else if (has_last) {  // between restarts (CrashLoopBackOff): the last run
    id = c->last_state->container_id;
  } else if (c->phase == Phase::kExited) {
    return Status::BadRequest(which + " is terminated");
  } else if (c->waiting_reason == "ErrImagePull") {
    return Status::BadRequest(which + " is waiting to start: image can't be pulled");
  } else if (c->waiting_reason == "ImagePullBackOff") {
    return Status::BadRequest(which + " is waiting to start: trying and failing to pull image");
  } else {
    std::string reason = c->phase == Phase::kPulling || c->waiting_reason.empty() ? "ContainerCreating" : c->waiting_reason;
    return Status::BadRequest(which + " is waiting to start: " + reason);
  }
  auto log = env_->runtime->Log(id);
  if (log) return log;
  // The instance is gone from the runtime (its output did not survive a kubelet restart).
  if (previous) return Status::BadRequest("previous terminated " + which + " not found");
  return Status::BadRequest("unable to retrieve container logs for " + id);
}

void PodWorker::RecordProbes(Container& c, const Object& pod, int index, bool ready) {
  auto cspec = pod.get<api::Pod>().getSpec().getContainers()[index];
  auto describe = [&](api::Probe::Reader p) {
    auto port = [](api::IntOrString::Reader v) {
      return v.isInt() ? std::to_string(v.getInt()) : Str(v.getStr());
    };
    std::string host = pod_ip_.empty() ? "127.0.0.1" : pod_ip_;
    if (p.hasHttpGet()) {
      auto h = p.getHttpGet();
      std::string scheme = h.getScheme().size() > 0 && Str(h.getScheme()) == "HTTPS" ? "https" : "http";
      std::string path = h.getPath().size() > 0 ? Str(h.getPath()) : "/";
      return "GET " + scheme + "://" + (h.getHost().size() > 0 ? Str(h.getHost()) : host) + ":" +
             port(h.getPort()) + path;
    }
    if (p.hasTcpSocket()) return "TCP " + host + ":" + port(p.getTcpSocket().getPort());
    if (p.hasGrpc()) return "gRPC " + host + ":" + std::to_string(p.getGrpc().getPort());
    std::string cmd = "exec";
    if (p.hasExec())
      for (auto part : p.getExec().getCommand()) cmd += " " + Str(part);
    return cmd;
  };
  ContainerRuntime* rt = env_->runtime;
  if (!c.probes_logged) {
    c.probes_logged = true;
    if (cspec.hasStartupProbe())
      rt->AppendLog(c.id, "[cattle-sim] startup probe succeeded: " + describe(cspec.getStartupProbe()));
    if (cspec.hasLivenessProbe())
      rt->AppendLog(c.id, "[cattle-sim] liveness probe succeeded: " + describe(cspec.getLivenessProbe()));
  }
  if (cspec.hasReadinessProbe() && c.readiness_logged != static_cast<int8_t>(ready)) {
    c.readiness_logged = static_cast<int8_t>(ready);
    rt->AppendLog(c.id, std::string("[cattle-sim] readiness probe ") + (ready ? "succeeded: " : "failed: ") +
                            describe(cspec.getReadinessProbe()));
  }
}

}  // namespace cattle::kubelet
