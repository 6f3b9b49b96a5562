#include "cattle/client.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <zmq.hpp>

#include "cattle/log.h"
#include "cattle/wire.h"
#include "core.capnp.h"

namespace cattle {

using wire_util::AsData;
using wire_util::Decoded;

namespace {
using Clock_ = std::chrono::steady_clock;
using ReplyFn = std::function<void(Result<std::unique_ptr<Decoded>>)>;

Status ResponseStatus(const Decoded& d) {
  auto resp = d.envelope().getResponse();
  if (!resp.hasStatus()) return Status::Ok();
  return wire_util::GetStatus(resp.getStatus());
}

}  // namespace

class Client::Impl {
 public:
  struct WatchState {
    const KindInfo* kind = nullptr;
    std::string ns;
    WatchOptions options;
    std::function<void(ClientWatchEvent&)> on_event;
    std::function<void(const Status&)> on_error;
    // I/O thread only:
    uint64_t server_id = 0;
    uint64_t expected_seq = 1;
    bool established = false;
    bool finished = false;
    bool waiting_retry = false;
    Clock_::time_point last_heard;
    Clock_::time_point retry_at;
    std::atomic<int64_t> last_rev{0};
  };

  explicit Impl(const ClientOptions& options)
      : options_(options), dealer_(ctx_, zmq::socket_type::dealer) {
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    dealer_.set(zmq::sockopt::linger, 0);
    dealer_.set(zmq::sockopt::immediate, 1);  // never queue for a server that is not there
    dealer_.set(zmq::sockopt::rcvhwm, 0);     // we read promptly; never drop inbound
    dealer_.set(zmq::sockopt::sndhwm, 100000);
    dealer_.set(zmq::sockopt::reconnect_ivl, 50);
    dealer_.set(zmq::sockopt::reconnect_ivl_max, 500);
    dealer_.connect(options_.endpoint);
    io_ = std::thread([this] { Loop(); });
  }

  ~Impl() {
    Post([this] { stopping_ = true; });
    if (io_.joinable()) io_.join();
    for (auto& [id, p] : pending_) p.fn(Status::Unavailable("client closed"));
    pending_.clear();
    close(wake_fd_);
  }

  uint64_t NextId() { return next_id_.fetch_add(1); }

  // Runs `fn` on the I/O thread.
  void Post(std::function<void()> fn) {
    {
      std::lock_guard<std::mutex> lock(cmd_mu_);
      commands_.push_back(std::move(fn));
    }
    uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
  }

  bool OnIoThread() const { return std::this_thread::get_id() == io_.get_id(); }

  void Send(uint64_t id, std::string bytes, Duration timeout, ReplyFn fn) {
    auto deadline = Clock_::now() + std::chrono::duration_cast<Clock_::duration>(timeout);
    auto connect_deadline =
        Clock_::now() + std::chrono::duration_cast<Clock_::duration>(options_.connect_timeout);
    auto shared = std::make_shared<std::string>(std::move(bytes));
    auto task = [this, id, shared, deadline, connect_deadline, fn = std::move(fn)]() mutable {
      Pending& p = pending_[id];
      p = Pending{std::move(fn), deadline, std::move(*shared), false, connect_deadline};
      // Behind older unsent requests, or when the socket takes no more: wait in line.
      if (!unsent_.empty() || !TrySend(p)) unsent_.push_back(id);
    };
    if (OnIoThread()) task(); else Post(std::move(task));
  }

  // Sends the request in `msg`; `fn` runs on the I/O thread with the answer.
  void CallAsync(capnp::MallocMessageBuilder& msg, Duration timeout, ReplyFn fn) {
    auto req = msg.getRoot<wire::Envelope>().getRequest();
    uint64_t id = NextId();
    req.setId(id);
    Send(id, wire_util::Serialize(msg), timeout, std::move(fn));
  }

  Result<std::unique_ptr<Decoded>> Call(capnp::MallocMessageBuilder& msg, Duration timeout) {
    auto req = msg.getRoot<wire::Envelope>().getRequest();
    uint64_t id = NextId();
    req.setId(id);
    // A mutex and condition variable rather than std::promise: setting a promise's value
    // costs the I/O thread an extra futex system call (std::call_once), once per request.
    struct Reply {
      std::mutex mu;
      std::condition_variable cv;
      std::optional<Result<std::unique_ptr<Decoded>>> result;  // GUARDED_BY(mu)
    };
    auto reply = std::make_shared<Reply>();
    Send(id, wire_util::Serialize(msg), timeout, [reply](Result<std::unique_ptr<Decoded>> r) {
      {
        std::lock_guard<std::mutex> lock(reply->mu);
        reply->result.emplace(std::move(r));
      }
      reply->cv.notify_one();  // unlocked: the woken caller finds the mutex free
    });
    std::unique_lock<std::mutex> lock(reply->mu);
    reply->cv.wait(lock, [&] { return reply->result.has_value(); });
    return std::move(*reply->result);
  }

  // Watches ---------------------------------------------------------------------------

  Result<int64_t> StartWatch(std::shared_ptr<WatchState> state) {
    auto promise = std::make_shared<std::promise<Status>>();
    auto future = promise->get_future();
    Post([this, state, promise] { Establish(state, state->options.resource_version, promise); });
    Status s = future.get();
    if (!s.ok()) return s;
    return state->last_rev.load();
  }

  void StopWatch(std::shared_ptr<WatchState> state) {
    auto stop = [this, state] {
      if (state->finished) return;
      state->finished = true;
      CancelServerWatch(state);
    };
    if (OnIoThread()) {
      stop();
      return;
    }
    std::promise<void> done;
    Post([&] {
      stop();
      done.set_value();
    });
    done.get_future().wait();
  }

  int64_t resumes() const { return resumes_.load(); }

 private:
  struct Pending {
    ReplyFn fn;
    Clock_::time_point deadline;
    std::string bytes;
    bool sent = false;
    Clock_::time_point connect_deadline;
  };

  // Sends the request unless it was; false when the socket would not take it now.
  bool TrySend(Pending& p) {
    if (p.sent) return true;
    try {
      auto r = dealer_.send(zmq::buffer(p.bytes), zmq::send_flags::dontwait);
      if (r) {
        p.sent = true;
        p.bytes.clear();
      }
    } catch (const zmq::error_t&) {
    }
    return p.sent;
  }

  // Sends the waiting requests in order, up to the first the socket refuses.
  void SendUnsent() {
    while (!unsent_.empty()) {
      auto it = pending_.find(unsent_.front());
      if (it != pending_.end() && !TrySend(it->second)) return;
      unsent_.pop_front();
    }
  }

  void CancelServerWatch(const std::shared_ptr<WatchState>& state) {
    if (state->server_id == 0) return;
    by_server_id_.erase(state->server_id);
    capnp::MallocMessageBuilder msg;
    auto req = msg.initRoot<wire::Envelope>().initRequest();
    uint64_t id = NextId();
    req.setId(id);
    req.setVerb(wire::Verb::CANCEL_WATCH);
    req.setWatchId(state->server_id);
    state->server_id = 0;
    Send(id, wire_util::Serialize(msg), std::chrono::seconds(1), [](auto) {});
  }

  // (Re-)establishes `state` from `rv`. `first`: the caller of Watch() waits on it, and
  // gets every error; later attempts retry until they succeed or hit Expired.
  void Establish(std::shared_ptr<WatchState> state, const std::string& rv,
                 std::shared_ptr<std::promise<Status>> first) {
    if (state->finished) return;
    state->waiting_retry = false;
    state->established = false;
    state->server_id = NextId();
    state->expected_seq = 1;
    by_server_id_[state->server_id] = state;
    capnp::MallocMessageBuilder msg;
    auto req = msg.initRoot<wire::Envelope>().initRequest();
    uint64_t id = NextId();
    req.setId(id);
    req.setVerb(wire::Verb::WATCH);
    req.setWatchId(state->server_id);
    req.setGroup(state->kind->group);
    req.setResource(state->kind->plural);
    req.setNamespace(state->ns);
    req.setLabelSelector(state->options.label_selector);
    req.setFieldSelector(state->options.field_selector);
    req.setResourceVersion(rv);
    uint64_t sid = state->server_id;
    Duration timeout = first ? options_.request_timeout
                             : std::min(options_.request_timeout, options_.watch_silence_timeout);
    Send(id, wire_util::Serialize(msg), timeout,
         [this, state, first, sid](Result<std::unique_ptr<Decoded>> r) {
           if (state->finished || state->server_id != sid) {
             if (first) first->set_value(Status::Unavailable("watch stopped"));
             return;
           }
           Status s = r.ok() ? ResponseStatus(**r) : r.status();
           if (s.ok()) {
             int64_t start = atoll((*r)->envelope().getResponse().getResourceVersion().cStr());
             if (start > state->last_rev.load()) state->last_rev.store(start);
             state->established = true;
             state->last_heard = Clock_::now();
             if (first) first->set_value(Status::Ok());
             return;
           }
           by_server_id_.erase(sid);
           state->server_id = 0;
           if (first) {
             state->finished = true;
             first->set_value(s);
             return;
           }
           if (s.Is(Reason::kExpired) || s.Is(Reason::kBadRequest) || s.Is(Reason::kNotFound)) {
             Finish(state, s);
             return;
           }
           state->waiting_retry = true;
           state->retry_at = Clock_::now() + std::chrono::duration_cast<Clock_::duration>(options_.watch_retry_interval);
         });
  }

  void Finish(const std::shared_ptr<WatchState>& state, const Status& s) {
    if (state->finished) return;
    state->finished = true;
    CancelServerWatch(state);
    if (state->on_error) state->on_error(s);
  }

  void Resume(const std::shared_ptr<WatchState>& state, const char* why) {
    CATTLE_LOG(DEBUG) << "resuming watch" << kv("resource", state->kind->plural) << kv("why", why)
                      << kv("after", state->last_rev.load());
    resumes_.fetch_add(1);
    CancelServerWatch(state);
    Establish(state, std::to_string(state->last_rev.load()), nullptr);
  }

  void OnWatchEvent(wire::WatchEvent::Reader e) {
    auto it = by_server_id_.find(e.getWatchId());
    if (it == by_server_id_.end()) return;  // a watch we already left
    auto state = it->second;
    if (state->finished) return;
    if (e.getSeq() != state->expected_seq) {
      Resume(state, "sequence gap");
      return;
    }
    state->expected_seq++;
    state->last_heard = Clock_::now();
    std::string type = e.getType().cStr();
    if (type == "HEARTBEAT" || type == "BOOKMARK") return;
    if (type == "ERROR") {
      Status s = wire_util::GetStatus(e.getError());
      if (s.Is(Reason::kExpired) || s.Is(Reason::kGone)) {
        Finish(state, s);
      } else {
        Resume(state, "server error");
      }
      return;
    }
    auto item = e.getItem();
    auto obj = Object::FromBytes(state->kind, wire_util::ToString(item.getObject()), item.getRevision());
    if (!obj.ok()) {
      CATTLE_LOG(WARN) << "undecodable watch event" << kv("error", obj.status().ToString());
      return;
    }
    if (item.getRevision() > state->last_rev.load()) state->last_rev.store(item.getRevision());
    ClientWatchEvent ev{type, std::move(*obj)};
    state->on_event(ev);
  }

  void OnMessage(const zmq::message_t& m) {
    auto decoded = Decoded::Parse(std::string_view(static_cast<const char*>(m.data()), m.size()));
    if (!decoded.ok()) {
      CATTLE_LOG(WARN) << "undecodable message from the apiserver" << kv("error", decoded.status().ToString());
      return;
    }
    try {
      auto env = (*decoded)->envelope();
      if (env.which() == wire::Envelope::WATCH_EVENT) return OnWatchEvent(env.getWatchEvent());
      if (env.which() != wire::Envelope::RESPONSE) return;
      auto it = pending_.find(env.getResponse().getId());
      if (it == pending_.end()) return;
      ReplyFn fn = std::move(it->second.fn);
      pending_.erase(it);
      fn(std::move(*decoded));
    } catch (const kj::Exception& e) {
      CATTLE_LOG(WARN) << "malformed message from the apiserver" << kv("error", e.getDescription().cStr());
    }
  }

  void Loop() {
    // Deadlines and watch silences are checked this often, not on every wake-up: with
    // thousands of requests in flight (hollow nodes, a scheduler's bindings) a scan per
    // message cost more than the messages.
    constexpr auto kCheckEvery = std::chrono::milliseconds(5);
    auto next_check = Clock_::now();
    while (!stopping_) {
      SendUnsent();
      zmq::pollitem_t items[] = {{dealer_.handle(), 0, ZMQ_POLLIN, 0},
                                 {nullptr, wake_fd_, ZMQ_POLLIN, 0}};
      try {
        zmq::poll(items, 2, std::chrono::milliseconds(unsent_.empty() ? 50 : 5));
      } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) break;
      }
      if (items[1].revents & ZMQ_POLLIN) {
        uint64_t v;
        (void)!read(wake_fd_, &v, sizeof(v));
      }
      std::deque<std::function<void()>> cmds;
      {
        std::lock_guard<std::mutex> lock(cmd_mu_);
        cmds.swap(commands_);
      }
      for (auto& c : cmds) c();
      for (int i = 0; i < 10000; ++i) {
        zmq::message_t m;
        auto got = dealer_.recv(m, zmq::recv_flags::dontwait);
        if (!got) break;
        OnMessage(m);
      }
      auto now = Clock_::now();
      if (now < next_check) continue;
      next_check = now + kCheckEvery;
      for (auto it = pending_.begin(); it != pending_.end();) {
        if (now >= it->second.deadline || (!it->second.sent && now >= it->second.connect_deadline)) {
          ReplyFn fn = std::move(it->second.fn);
          bool sent = it->second.sent;
          it = pending_.erase(it);
          fn(sent ? Status::Timeout("the apiserver did not answer in time")
                  : Status::Unavailable("cannot reach the apiserver at " + options_.endpoint));
        } else {
          ++it;
        }
      }
      std::vector<std::shared_ptr<WatchState>> states;
      for (auto& [id, s] : by_server_id_) states.push_back(s);
      for (auto& s : states) {
        if (s->finished) continue;
        if (s->established && now - s->last_heard > options_.watch_silence_timeout) Resume(s, "silence");
      }
      // Watches waiting to retry are not in by_server_id_; keep them in all_watches_.
      for (auto it = all_watches_.begin(); it != all_watches_.end();) {
        auto s = it->lock();
        if (!s || s->finished) {
          it = all_watches_.erase(it);
          continue;
        }
        if (s->waiting_retry && now >= s->retry_at) Establish(s, std::to_string(s->last_rev.load()), nullptr);
        ++it;
      }
    }
  }

 public:
  void Track(const std::shared_ptr<WatchState>& s) {
    Post([this, s] { all_watches_.push_back(s); });
  }

 private:
  ClientOptions options_;
  zmq::context_t ctx_{1};
  zmq::socket_t dealer_;
  int wake_fd_ = -1;
  std::thread io_;
  std::atomic<uint64_t> next_id_{1};
  std::atomic<int64_t> resumes_{0};
  std::mutex cmd_mu_;
  std::deque<std::function<void()>> commands_;  // guarded by cmd_mu_
  // I/O thread only:
  bool stopping_ = false;
  std::map<uint64_t, Pending> pending_;
  std::deque<uint64_t> unsent_;  // ids in pending_ not sent yet, oldest first
  std::map<uint64_t, std::shared_ptr<WatchState>> by_server_id_;
  std::vector<std::weak_ptr<WatchState>> all_watches_;
};

namespace {

class WatchStreamImpl : public WatchStream {
 public:
  WatchStreamImpl(Client::Impl* impl, std::shared_ptr<Client::Impl::WatchState> state)
      : impl_(impl), state_(std::move(state)) {}
  ~WatchStreamImpl() override { impl_->StopWatch(state_); }
  int64_t last_revision() const override { return state_->last_rev.load(); }

 private:
  Client::Impl* impl_;
  std::shared_ptr<Client::Impl::WatchState> state_;
};

void FillTarget(wire::Request::Builder req, const KindInfo* kind, const std::string& ns,
                const std::string& name) {
  req.setGroup(kind->group);
  req.setResource(kind->plural);
  req.setNamespace(ns);
  req.setName(name);
}

}  // namespace

const KindInfo* ApiClient::Kind(const std::string& plural) const {
  for (const char* group : {"", "apps", "coordination.k8s.io", "policy", "networking.k8s.io",
                            "discovery.k8s.io"}) {
    if (const KindInfo* k = kinds().ByGroupResource(group, plural)) return k;
  }
  return nullptr;
}

Client::Client(ClientOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>(options_)) {}
Client::~Client() = default;

int64_t Client::watch_resumes() const { return impl_->resumes(); }

namespace {
// Unwraps a reply carrying one object.
Result<Object> ObjectReply(const KindRegistry& kinds, const KindInfo* kind,
                           Result<std::unique_ptr<Decoded>> r) {
  if (!r.ok()) return r.status();
  Status s = ResponseStatus(**r);
  if (!s.ok()) return s;
  auto resp = (*r)->envelope().getResponse();
  const KindInfo* k = kind;
  std::string kind_name = resp.getKind().cStr();
  if (!kind_name.empty() && kind_name != kind->kind) {
    for (const auto& candidate : kinds.kinds())
      if (candidate.kind == kind_name) k = &candidate;
  }
  return Object::FromBytes(k, wire_util::ToString(resp.getItem().getObject()),
                           resp.getItem().getRevision());
}
}  // namespace

Result<int64_t> Client::Health(Duration timeout) {
  capnp::MallocMessageBuilder msg;
  msg.initRoot<wire::Envelope>().initRequest().setVerb(wire::Verb::HEALTH);
  auto r = impl_->Call(msg, timeout);
  if (!r.ok()) return r.status();
  Status s = ResponseStatus(**r);
  if (!s.ok()) return s;
  return static_cast<int64_t>(atoll((*r)->envelope().getResponse().getResourceVersion().cStr()));
}

Result<Object> Client::Get(const KindInfo* kind, const std::string& ns, const std::string& name) {
  capnp::MallocMessageBuilder msg;
  auto req = msg.initRoot<wire::Envelope>().initRequest();
  req.setVerb(wire::Verb::GET);
  FillTarget(req, kind, ns, name);
  return ObjectReply(kinds(), kind, impl_->Call(msg, options_.request_timeout));
}

Result<ObjectList> Client::List(const KindInfo* kind, const std::string& ns, const ListOptions& options) {
  capnp::MallocMessageBuilder msg;
  auto req = msg.initRoot<wire::Envelope>().initRequest();
  req.setVerb(wire::Verb::LIST);
  FillTarget(req, kind, ns, "");
  req.setLabelSelector(options.label_selector);
  req.setFieldSelector(options.field_selector);
  req.setResourceVersion(options.resource_version);
  req.setResourceVersionMatch(options.resource_version_match);
  req.setLimit(options.limit);
  req.setContinue(options.continue_token);
  auto r = impl_->Call(msg, options_.request_timeout);
  if (!r.ok()) return r.status();
  Status s = ResponseStatus(**r);
  if (!s.ok()) return s;
  auto resp = (*r)->envelope().getResponse();
  ObjectList list;
  list.resource_version = resp.getResourceVersion().cStr();
  list.continue_token = resp.getContinue().cStr();
  list.remaining = resp.getRemainingItemCount();
  for (auto item : resp.getItems()) {
    auto obj = Object::FromBytes(kind, wire_util::ToString(item.getObject()), item.getRevision());
    if (!obj.ok()) return obj.status();
    list.items.push_back(std::move(*obj));
  }
  return list;
}

namespace {
void FillWrite(wire::Request::Builder req, const WriteOptions& o) {
  req.setDryRun(o.dry_run);
  req.setFieldValidation(o.field_validation);
  req.setFieldManager(o.field_manager);
  req.setSubresource(o.subresource);
}
}  // namespace

namespace {

void FillCreate(capnp::MallocMessageBuilder& msg, const Object& obj, const WriteOptions& options,
                std::string* bytes) {
  auto req = msg.initRoot<wire::Envelope>().initRequest();
  req.setVerb(wire::Verb::CREATE);
  FillTarget(req, obj.kind(), obj.namespace_().empty() && obj.kind()->namespaced ? "default" : obj.namespace_(), "");
  FillWrite(req, options);
  *bytes = obj.ToBytes();
  req.setBody(AsData(*bytes));
}

}  // namespace

Result<Object> Client::Create(const Object& obj, const WriteOptions& options) {
  capnp::MallocMessageBuilder msg;
  std::string bytes;
  FillCreate(msg, obj, options, &bytes);
  return ObjectReply(kinds(), obj.kind(), impl_->Call(msg, options_.request_timeout));
}

void ApiClient::CreateManyAsync(std::vector<Object> objs, std::function<void(std::vector<Status>)> done) {
  std::vector<Status> out;
  out.reserve(objs.size());
  for (const Object& obj : objs) out.push_back(Create(obj).status());
  done(std::move(out));
}

void Client::CreateManyAsync(std::vector<Object> objs, std::function<void(std::vector<Status>)> done) {
  const size_t n = objs.size();
  if (n == 0) return done({});
  const KindInfo* kind = objs[0].kind();
  auto ns_of = [](const Object& o) {
    return o.namespace_().empty() && o.kind()->namespaced ? std::string("default") : o.namespace_();
  };
  const std::string ns = ns_of(objs[0]);
  for (const Object& o : objs) {
    if (o.kind() != kind || ns_of(o) != ns)
      return done(std::vector<Status>(n, Status::BadRequest("createMany: the objects must be of one kind and namespace")));
  }
  capnp::MallocMessageBuilder msg;
  auto req = msg.initRoot<wire::Envelope>().initRequest();
  req.setVerb(wire::Verb::CREATE_MANY);
  FillTarget(req, kind, ns, "");
  FillWrite(req, {});
  std::vector<std::string> bytes;
  bytes.reserve(n);
  for (const Object& o : objs) bytes.push_back(o.ToBytes());
  auto bodies = req.initBodies(n);
  for (size_t i = 0; i < n; ++i) bodies.set(i, AsData(bytes[i]));
  impl_->CallAsync(msg, options_.request_timeout, [n, done = std::move(done)](Result<std::unique_ptr<Decoded>> r) {
    Status whole = r.ok() ? ResponseStatus(**r) : r.status();
    if (!whole.ok()) return done(std::vector<Status>(n, whole));
    auto results = (*r)->envelope().getResponse().getResults();
    if (results.size() != n)
      return done(std::vector<Status>(
          n, Status::Internal("createMany: " + std::to_string(results.size()) + " results for " + std::to_string(n) + " objects")));
    std::vector<Status> out;
    out.reserve(n);
    for (auto res : results) out.push_back(res.hasStatus() ? wire_util::GetStatus(res.getStatus()) : Status::Ok());
    done(std::move(out));
  });
}

Result<Object> Client::Update(const Object& obj, const WriteOptions& options) {
  capnp::MallocMessageBuilder msg;
  auto req = msg.initRoot<wire::Envelope>().initRequest();
  req.setVerb(wire::Verb::UPDATE);
  FillTarget(req, obj.kind(), obj.namespace_(), obj.name());
  FillWrite(req, options);
  std::string bytes = obj.ToBytes();
  req.setBody(AsData(bytes));
  return ObjectReply(kinds(), obj.kind(), impl_->Call(msg, options_.request_timeout));
}

Result<Object> Client::Patch(const KindInfo* kind, const std::string& ns, const std::string& name,
                             const std::string& patch_type, const std::string& patch,
                             const WriteOptions& options) {
  capnp::MallocMessageBuilder msg;
  auto req = msg.initRoot<wire::Envelope>().initRequest();
  req.setVerb(wire::Verb::PATCH);
  FillTarget(req, kind, ns, name);
  FillWrite(req, options);
  req.setPatchType(patch_type);
  req.setPatch(patch);
  return ObjectReply(kinds(), kind, impl_->Call(msg, options_.request_timeout));
}

Result<Object> Client::Delete(const KindInfo* kind, const std::string& ns, const std::string& name,
                              const DeleteOptions& options) {
  capnp::MallocMessageBuilder msg;
  auto req = msg.initRoot<wire::Envelope>().initRequest();
  req.setVerb(wire::Verb::DELETE);
  FillTarget(req, kind, ns, name);
  if (options.grace_period_seconds) {
    req.setHasGracePeriodSeconds(true);
    req.setGracePeriodSeconds(*options.grace_period_seconds);
  }
  req.setPreconditionUid(options.precondition_uid);
  req.setPreconditionResourceVersion(options.precondition_resource_version);
  req.setPropagationPolicy(options.propagation_policy);
  req.setDryRun(options.dry_run);
  return ObjectReply(kinds(), kind, impl_->Call(msg, options_.request_timeout));
}

Result<Object> Client::Bind(const std::string& ns, const std::string& pod, const std::string& node,
                            const std::string& pod_uid) {
  const KindInfo* binding_kind = kinds().BodyKind("Binding");
  const KindInfo* pod_kind = kinds().ByGroupResource("", "pods");
  Object binding(binding_kind);
  auto b = binding.as<api::Binding>();
  b.getMetadata().setName(pod);
  b.getMetadata().setNamespace(ns);
  if (!pod_uid.empty()) b.getMetadata().setUid(pod_uid);
  b.initTarget().setKind("Node");
  b.getTarget().setName(node);
  capnp::MallocMessageBuilder msg;
  auto req = msg.initRoot<wire::Envelope>().initRequest();
  req.setVerb(wire::Verb::CREATE);
  FillTarget(req, pod_kind, ns, pod);
  req.setSubresource("binding");
  std::string bytes = binding.ToBytes();
  req.setBody(AsData(bytes));
  return ObjectReply(kinds(), pod_kind, impl_->Call(msg, options_.request_timeout));
}

Result<std::unique_ptr<WatchStream>> Client::Watch(const KindInfo* kind, const std::string& ns,
                                                   const WatchOptions& options,
                                                   std::function<void(ClientWatchEvent&)> on_event,
                                                   std::function<void(const Status&)> on_error) {
  auto state = std::make_shared<Impl::WatchState>();
  state->kind = kind;
  state->ns = ns;
  state->options = options;
  state->on_event = std::move(on_event);
  state->on_error = std::move(on_error);
  impl_->Track(state);
  auto started = impl_->StartWatch(state);
  if (!started.ok()) return started.status();
  return std::unique_ptr<WatchStream>(new WatchStreamImpl(impl_.get(), state));
}

}  // namespace cattle
