#include "apiserver/zmq_server.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <zmq.hpp>

#include "cattle/codec.h"
#include "cattle/log.h"
#include "cattle/utf8.h"
#include "cattle/wire.h"

namespace cattle::apiserver {

using wire_util::AsData;
using wire_util::Serialize;

// Objects in one createMany request, at most.
constexpr size_t kMaxCreateMany = 1000;

class ZmqServer::Impl {
 public:
  Impl(Registry* registry, ZmqServerOptions options)
      : registry_(registry), options_(std::move(options)), router_(ctx_, zmq::socket_type::router) {}

  ~Impl() { Stop(); }

  Status Start() {
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) return Status::Internal("eventfd failed");
    try {
      router_.set(zmq::sockopt::router_mandatory, 1);
      router_.set(zmq::sockopt::sndhwm, options_.send_high_water_mark);
      router_.set(zmq::sockopt::rcvhwm, 100000);
      router_.set(zmq::sockopt::linger, 0);
      // Far above any valid request: bigger frames are cut off by ZeroMQ itself; anything
      // between kMaxRequestBytes and this gets a TooLarge reply.
      router_.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(64 * 1024 * 1024));
      router_.bind(options_.endpoint);
      endpoint_ = router_.get(zmq::sockopt::last_endpoint);
    } catch (const zmq::error_t& e) {
      return Status::Unavailable("cannot bind " + options_.endpoint + ": " + e.what());
    }
    for (int i = 0; i < std::max(1, options_.workers); ++i) workers_.emplace_back([this] { Worker(); });
    io_ = std::thread([this] { Loop(); });
    return Status::Ok();
  }

  void Stop() {
    if (stopping_.exchange(true)) return;
    Wake();
    if (io_.joinable()) io_.join();
    {
      std::lock_guard<std::mutex> lock(work_mu_);
      workers_stop_ = true;
    }
    work_cv_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
    // Cancel watches outside the loop: no callback runs after this.
    watches_.clear();
    if (wake_fd_ >= 0) close(wake_fd_);
    wake_fd_ = -1;
  }

  std::string endpoint() const { return endpoint_; }
  int64_t watch_count() const { return watch_count_.load(); }

 private:
  void Worker() {
    while (true) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(work_mu_);
        work_cv_.wait(lock, [this] { return workers_stop_ || !work_.empty(); });
        if (work_.empty()) return;  // stopping, and drained
        task = std::move(work_.front());
        work_.pop_front();
      }
      try {
        task();
      } catch (...) {  // Offload answers what it can; nothing may end the worker
        CATTLE_LOG(ERROR) << "worker task failed with an exception";
      }
    }
  }

  struct ServerWatch {
    std::string identity;
    uint64_t watch_id = 0;
    std::mutex mu;
    uint64_t seq = 0;   // guarded by mu
    bool dead = false;  // guarded by mu
    std::unique_ptr<WatchHandle> handle;  // I/O thread only
  };
  struct Outgoing {
    std::string identity;
    bool delimiter = false;
    std::string payload;
  };

  // Runs `task` on a worker. Whatever it throws is the request's failure, answered to `to`
  // (a bug, but one request's, not the server's).
  void Offload(Outgoing to, uint64_t id, std::function<void()> task) {
    auto guarded = [this, to = std::move(to), id, task = std::move(task)] {
      try {
        task();
      } catch (const kj::Exception& e) {
        ReplyError(to, id, Status::BadRequest("malformed request: " + SanitizeUtf8(e.getDescription().cStr())));
      } catch (const std::exception& e) {
        CATTLE_LOG(ERROR) << "request failed with an exception" << kv("what", SanitizeUtf8(e.what()));
        ReplyError(to, id, Status::Internal(SanitizeUtf8(e.what())));
      }
    };
    {
      std::lock_guard<std::mutex> lock(work_mu_);
      work_.push_back(std::move(guarded));
    }
    work_cv_.notify_one();
  }

  void Wake() {
    uint64_t one = 1;
    if (wake_fd_ >= 0) (void)!write(wake_fd_, &one, sizeof(one));
  }

  void Push(Outgoing out) {
    bool was_empty;
    {
      std::lock_guard<std::mutex> lock(out_mu_);
      was_empty = outbox_.empty();
      outbox_.push_back(std::move(out));
    }
    if (was_empty) Wake();
  }

  void Loop() {
    auto next_heartbeat = std::chrono::steady_clock::now() + options_.heartbeat_interval;
    while (!stopping_.load()) {
      zmq::pollitem_t items[] = {{router_.handle(), 0, ZMQ_POLLIN, 0},
                                 {nullptr, wake_fd_, ZMQ_POLLIN, 0}};
      auto now = std::chrono::steady_clock::now();
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_heartbeat - now);
      try {
        zmq::poll(items, 2, std::max<std::chrono::milliseconds>(wait, std::chrono::milliseconds(0)));
      } catch (const zmq::error_t& e) {
        if (e.num() == EINTR) continue;
        CATTLE_LOG(ERROR) << "poll failed: " << e.what();
        break;
      }
      if (items[1].revents & ZMQ_POLLIN) {
        uint64_t v;
        (void)!read(wake_fd_, &v, sizeof(v));
      }
      // Bounded batch of requests so replies and events keep flowing under load.
      for (int i = 0; i < 256 && !stopping_.load(); ++i) {
        if (!ReceiveOne()) break;
      }
      Flush();
      if (std::chrono::steady_clock::now() >= next_heartbeat) {
        Heartbeat();
        next_heartbeat = std::chrono::steady_clock::now() + options_.heartbeat_interval;
        Flush();
      }
    }
  }

  // Receives and handles one message; false when none is waiting.
  bool ReceiveOne() {
    std::vector<zmq::message_t> frames;
    try {
      while (true) {
        zmq::message_t frame;
        auto got = router_.recv(frame, frames.empty() ? zmq::recv_flags::dontwait : zmq::recv_flags::none);
        if (!got) return false;
        bool more = frame.more();
        frames.push_back(std::move(frame));
        if (!more) break;
      }
    } catch (const zmq::error_t& e) {
      CATTLE_LOG(WARN) << "recv failed: " << e.what();
      return false;
    }
    if (frames.size() < 2) return true;
    Outgoing reply;
    reply.identity = frames.front().to_string();
    reply.delimiter = frames.size() >= 3 && frames[1].size() == 0;
    const zmq::message_t& payload = frames.back();
    Handle(reply, std::string_view(static_cast<const char*>(payload.data()), payload.size()));
    return true;
  }

  void ReplyError(Outgoing to, uint64_t id, const Status& s) {
    capnp::MallocMessageBuilder msg;
    auto resp = msg.initRoot<wire::Envelope>().initResponse();
    resp.setId(id);
    if (!s.ok()) wire_util::SetStatus(resp.initStatus(), s);
    to.payload = Serialize(msg);
    Push(std::move(to));
  }

  void ReplyWrite(Outgoing to, uint64_t id, Result<WriteReply>& r) {
    if (!r.ok()) return ReplyError(std::move(to), id, r.status());
    capnp::MallocMessageBuilder msg;
    auto resp = msg.initRoot<wire::Envelope>().initResponse();
    resp.setId(id);
    std::string bytes = r->object.ToBytes();
    auto item = resp.initItem();
    item.setObject(AsData(bytes));
    item.setRevision(r->object.resource_version());
    resp.setKind(r->object.kind()->kind);
    if (!r->warnings.empty()) {
      auto w = resp.initWarnings(r->warnings.size());
      for (size_t i = 0; i < r->warnings.size(); ++i) w.set(i, r->warnings[i]);
    }
    to.payload = Serialize(msg);
    Push(std::move(to));
  }

  WriteDone WriteReplier(Outgoing to, uint64_t id) {
    return [this, to, id](Result<WriteReply> r) { ReplyWrite(to, id, r); };
  }

  void Handle(Outgoing to, std::string_view bytes) {
    auto decoded = wire_util::Decoded::Parse(bytes);
    if (!decoded.ok()) return ReplyError(std::move(to), 0, decoded.status());
    uint64_t id = 0;
    try {
      auto env = (*decoded)->envelope();
      // Every field now (Text terminated and UTF-8, pointers of the right kind): nothing
      // below meets a malformed one later. Object bodies are checked when decoded.
      if (Status s = ValidateCapnp(capnp::toDynamic(env)); !s.ok())
        return ReplyError(std::move(to), 0, Status::BadRequest("malformed request: " + s.message()));
      if (env.which() != wire::Envelope::REQUEST)
        return ReplyError(std::move(to), 0, Status::BadRequest("expected a request"));
      id = env.getRequest().getId();
      HandleRequest(to, env.getRequest());
    } catch (const kj::Exception& e) {
      ReplyError(std::move(to), id,
                 Status::BadRequest("malformed request: " + SanitizeUtf8(e.getDescription().cStr())));
    } catch (const std::exception& e) {
      CATTLE_LOG(ERROR) << "request failed with an exception" << kv("what", SanitizeUtf8(e.what()));
      ReplyError(std::move(to), id, Status::Internal(SanitizeUtf8(e.what())));
    }
  }

  void HandleRequest(Outgoing to, wire::Request::Reader r) {
    uint64_t id = r.getId();
    if (r.getVerb() == wire::Verb::HEALTH) {
      capnp::MallocMessageBuilder msg;
      auto resp = msg.initRoot<wire::Envelope>().initResponse();
      resp.setId(id);
      resp.setResourceVersion(std::to_string(registry_->store()->CurrentRevision()));
      to.payload = Serialize(msg);
      return Push(std::move(to));
    }
    if (r.getVerb() == wire::Verb::CANCEL_WATCH) {
      CancelWatch(to.identity, r.getWatchId());
      return ReplyError(std::move(to), id, Status::Ok());
    }
    ApiRequest req;
    req.kind = registry_->kinds().ByGroupResource(r.getGroup().cStr(), r.getResource().cStr());
    if (req.kind == nullptr)
      return ReplyError(std::move(to), id,
                        Status::NotFound("the server could not find the requested resource (" +
                                         std::string(r.getResource().cStr()) + ")"));
    req.namespace_ = r.getNamespace().cStr();
    req.name = r.getName().cStr();
    req.subresource = r.getSubresource().cStr();
    req.label_selector = r.getLabelSelector().cStr();
    req.field_selector = r.getFieldSelector().cStr();
    req.resource_version = r.getResourceVersion().cStr();
    req.resource_version_match = r.getResourceVersionMatch().cStr();
    req.wait_for_revision = false;  // reads run on the I/O thread: a too-new revision fails at once
    req.limit = r.getLimit();
    req.continue_token = r.getContinue().cStr();
    std::string fv = r.getFieldValidation().cStr();
    req.field_validation = fv == "Ignore" ? FieldValidation::kIgnore
                           : fv == "Warn" ? FieldValidation::kWarn
                                          : FieldValidation::kStrict;
    req.field_manager = r.getFieldManager().cStr();
    req.dry_run = r.getDryRun();
    if (r.getHasGracePeriodSeconds()) req.grace_period_seconds = r.getGracePeriodSeconds();
    req.precondition_uid = r.getPreconditionUid().cStr();
    req.precondition_resource_version = r.getPreconditionResourceVersion().cStr();
    req.propagation_policy = r.getPropagationPolicy().cStr();
    req.allow_bookmarks = r.getAllowWatchBookmarks();
    if (req.kind->namespaced && req.namespace_.empty() &&
        (r.getVerb() != wire::Verb::LIST && r.getVerb() != wire::Verb::WATCH &&
         r.getVerb() != wire::Verb::CREATE && r.getVerb() != wire::Verb::CREATE_MANY))
      return ReplyError(std::move(to), id, Status::BadRequest("a namespace is required for namespaced resource " + req.kind->plural));
    bool finalize = req.subresource == "finalize" && req.kind->kind == "Namespace";
    if (!req.subresource.empty() && req.subresource != "status" && req.subresource != "binding" && !finalize)
      return ReplyError(std::move(to), id, Status::NotFound("the server could not find the requested resource (" + req.kind->plural + "/" + req.subresource + ")"));
    if (!req.subresource.empty() && !finalize && !req.kind->HasSubresource(req.subresource))
      return ReplyError(std::move(to), id, Status::NotFound(req.kind->plural + "/" + req.subresource + " is not served"));

    switch (r.getVerb()) {
      case wire::Verb::GET: {
        auto obj = registry_->Get(req);
        Result<WriteReply> reply = obj.ok() ? Result<WriteReply>(WriteReply{std::move(*obj), {}})
                                            : Result<WriteReply>(obj.status());
        return ReplyWrite(std::move(to), id, reply);
      }
      case wire::Verb::LIST: {
        auto list = registry_->List(req);
        if (!list.ok()) return ReplyError(std::move(to), id, list.status());
        capnp::MallocMessageBuilder msg;
        auto resp = msg.initRoot<wire::Envelope>().initResponse();
        resp.setId(id);
        auto items = resp.initItems(list->items.size());
        for (size_t i = 0; i < list->items.size(); ++i) {
          items[i].setObject(AsData(list->items[i].bytes));
          items[i].setRevision(list->items[i].revision);
        }
        resp.setResourceVersion(std::to_string(list->revision));
        resp.setContinue(list->continue_token);
        resp.setRemainingItemCount(list->remaining);
        resp.setKind(req.kind->kind);
        to.payload = Serialize(msg);
        return Push(std::move(to));
      }
      case wire::Verb::CREATE:
      case wire::Verb::UPDATE: {
        // Writes run on the worker pool: decoding, defaulting, validation and encoding
        // are CPU work that should not hold up the socket.
        bool create = r.getVerb() == wire::Verb::CREATE;
        std::string body = wire_util::ToString(r.getBody());
        return Offload(to, id, [this, to, id, req, create, body = std::move(body)]() mutable {
          const KindInfo* body_kind = req.kind;
          if (req.subresource == "binding") body_kind = registry_->kinds().BodyKind("Binding");
          auto obj = Object::FromBytes(body_kind, body);
          if (!obj.ok()) return ReplyError(std::move(to), id, obj.status());
          if (req.subresource == "binding") {
            if (!create)
              return ReplyError(std::move(to), id, Status(Reason::kMethodNotAllowed, "binding supports create only"));
            return registry_->Bind(req, std::move(*obj), WriteReplier(to, id));
          }
          if (create) {
            if (!req.subresource.empty())
              return ReplyError(std::move(to), id, Status(Reason::kMethodNotAllowed, "create is not supported on " + req.subresource));
            return registry_->Create(req, std::move(*obj), WriteReplier(to, id));
          }
          return registry_->Update(req, std::move(*obj), WriteReplier(to, id));
        });
      }
      case wire::Verb::CREATE_MANY: {
        if (!req.subresource.empty())
          return ReplyError(std::move(to), id, Status(Reason::kMethodNotAllowed, "createMany is not supported on " + req.subresource));
        auto list = r.getBodies();
        if (list.size() > kMaxCreateMany)
          return ReplyError(std::move(to), id,
                            Status::BadRequest("createMany: " + std::to_string(list.size()) + " objects; at most " +
                                               std::to_string(kMaxCreateMany) + " per request"));
        std::vector<std::string> bodies;
        bodies.reserve(list.size());
        for (auto b : list) bodies.push_back(wire_util::ToString(b));
        return Offload(to, id, [this, to, id, req, bodies = std::move(bodies)]() mutable {
          CreateMany(std::move(to), id, req, std::move(bodies));
        });
      }
      case wire::Verb::PATCH:
        return Offload(to, id, [this, to, id, req, type = std::string(r.getPatchType().cStr()),
                        patch = std::string(r.getPatch().cStr())]() mutable {
          registry_->Patch(req, type, patch, WriteReplier(to, id));
        });
      case wire::Verb::DELETE:
        return Offload(to, id, [this, to, id, req]() mutable { registry_->Delete(req, WriteReplier(to, id)); });
      case wire::Verb::WATCH:
        return StartWatch(std::move(to), id, r.getWatchId(), req);
      default:
        return ReplyError(std::move(to), id, Status::BadRequest("unknown verb"));
    }
  }

  // createMany: each body is a create of its own (decoded, validated, stored, answered on
  // its own); one reply carries the results once the last one is in.
  void CreateMany(Outgoing to, uint64_t id, const ApiRequest& req, std::vector<std::string> bodies) {
    struct Results {
      std::mutex mu;
      std::vector<Status> status;       // GUARDED_BY(mu)
      std::vector<int64_t> revision;    // GUARDED_BY(mu)
      size_t left;                      // GUARDED_BY(mu)
    };
    const size_t n = bodies.size();
    auto results = std::make_shared<Results>();
    results->status.resize(n);
    results->revision.resize(n);
    results->left = n;
    auto finish = [this, to, id, results](size_t i, const Status& st, int64_t rev) {
      {
        std::lock_guard<std::mutex> lock(results->mu);
        results->status[i] = st;
        results->revision[i] = rev;
        if (--results->left > 0) return;
      }
      capnp::MallocMessageBuilder msg;
      auto resp = msg.initRoot<wire::Envelope>().initResponse();
      resp.setId(id);
      auto list = resp.initResults(results->status.size());
      for (size_t k = 0; k < results->status.size(); ++k) {
        if (!results->status[k].ok()) wire_util::SetStatus(list[k].initStatus(), results->status[k]);
        list[k].setRevision(results->revision[k]);
      }
      Outgoing out = to;
      out.payload = Serialize(msg);
      Push(std::move(out));
    };
    if (n == 0) return ReplyError(std::move(to), id, Status::Ok());
    for (size_t i = 0; i < n; ++i) {
      auto obj = Object::FromBytes(req.kind, bodies[i]);
      if (!obj.ok()) {
        finish(i, obj.status(), 0);
        continue;
      }
      registry_->Create(req, std::move(*obj), [finish, i](Result<WriteReply> r) {
        if (r.ok()) {
          finish(i, Status::Ok(), r->object.resource_version());
        } else {
          finish(i, r.status(), 0);
        }
      });
    }
  }

  // One event of watch `w` to its peer (a store thread calls this through the sink).
  void Send(ServerWatch& w, const Outgoing& route, const WatchEvent& ev) {
    capnp::MallocMessageBuilder msg;
    auto e = msg.initRoot<wire::Envelope>().initWatchEvent();
    e.setWatchId(w.watch_id);
    e.setType(ev.type);
    if (ev.type == "ERROR") {
      wire_util::SetStatus(e.initError(), ev.error);
    } else {
      auto item = e.initItem();
      item.setObject(AsData(ev.item.bytes));
      item.setRevision(ev.item.revision);
    }
    std::lock_guard<std::mutex> lock(w.mu);
    if (w.dead) return;
    e.setSeq(++w.seq);
    Outgoing out = route;
    out.payload = Serialize(msg);
    Push(std::move(out));
  }

  void StartWatch(Outgoing to, uint64_t id, uint64_t watch_id, const ApiRequest& req) {
    auto key = std::make_pair(to.identity, watch_id);
    if (watches_.count(key))
      return ReplyError(std::move(to), id, Status::BadRequest("watch id " + std::to_string(watch_id) + " is in use"));
    auto sw = std::make_shared<ServerWatch>();
    sw->identity = to.identity;
    sw->watch_id = watch_id;
    Outgoing route = to;
    std::weak_ptr<ServerWatch> weak = sw;
    auto sink = [this, weak, route](const WatchEvent& ev) {
      auto w = weak.lock();
      if (!w) return;
      try {
        Send(*w, route, ev);
      } catch (const std::exception& e) {  // the store's thread calls this: it must not throw
        CATTLE_LOG(ERROR) << "watch event not sent" << kv("what", SanitizeUtf8(e.what()));
      } catch (const kj::Exception& e) {
        CATTLE_LOG(ERROR) << "watch event not sent" << kv("what", SanitizeUtf8(e.getDescription().cStr()));
      }
    };
    int64_t start = 0;
    auto handle = registry_->Watch(req, sink, &start);
    if (!handle.ok()) return ReplyError(std::move(to), id, handle.status());
    sw->handle = std::move(*handle);
    watches_[key] = sw;
    watch_count_.store(watches_.size());
    // The acknowledgement: the watch is registered; live events follow `start`.
    capnp::MallocMessageBuilder msg;
    auto resp = msg.initRoot<wire::Envelope>().initResponse();
    resp.setId(id);
    resp.setResourceVersion(std::to_string(start));
    to.payload = Serialize(msg);
    Push(std::move(to));
  }

  void CancelWatch(const std::string& identity, uint64_t watch_id) {
    auto it = watches_.find({identity, watch_id});
    if (it == watches_.end()) return;
    {
      std::lock_guard<std::mutex> lock(it->second->mu);
      it->second->dead = true;
    }
    auto sw = it->second;
    watches_.erase(it);
    watch_count_.store(watches_.size());
    sw->handle.reset();  // cancels the store watch; no callback runs after this
  }

  void DropPeer(const std::string& identity) {
    std::vector<uint64_t> ids;
    for (auto& [key, sw] : watches_)
      if (key.first == identity) ids.push_back(key.second);
    if (!ids.empty()) {
      CATTLE_LOG(WARN) << "dropping " << ids.size() << " watch(es) of a peer that is gone or not reading";
    }
    for (uint64_t id : ids) CancelWatch(identity, id);
    dropped_.insert(identity);
  }

  void Heartbeat() {
    for (auto& [key, sw] : watches_) {
      capnp::MallocMessageBuilder msg;
      auto e = msg.initRoot<wire::Envelope>().initWatchEvent();
      e.setWatchId(sw->watch_id);
      e.setType("HEARTBEAT");
      std::lock_guard<std::mutex> lock(sw->mu);
      if (sw->dead) continue;
      e.setSeq(++sw->seq);
      Push({sw->identity, false, Serialize(msg)});
    }
  }

  void Flush() {
    std::deque<Outgoing> batch;
    {
      std::lock_guard<std::mutex> lock(out_mu_);
      batch.swap(outbox_);
    }
    dropped_.clear();
    for (auto& out : batch) {
      if (dropped_.count(out.identity)) continue;
      try {
        auto sent = router_.send(zmq::buffer(out.identity), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
        if (!sent) {
          DropPeer(out.identity);
          continue;
        }
        if (out.delimiter) router_.send(zmq::message_t(), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
        router_.send(zmq::buffer(out.payload), zmq::send_flags::dontwait);
      } catch (const zmq::error_t& e) {
        // EHOSTUNREACH: the peer disconnected.
        DropPeer(out.identity);
      }
    }
  }

  Registry* registry_;
  ZmqServerOptions options_;
  zmq::context_t ctx_{1};
  zmq::socket_t router_;
  std::string endpoint_;
  std::thread io_;
  std::atomic<bool> stopping_{false};
  int wake_fd_ = -1;
  std::mutex out_mu_;
  std::deque<Outgoing> outbox_;  // guarded by out_mu_
  std::map<std::pair<std::string, uint64_t>, std::shared_ptr<ServerWatch>> watches_;  // I/O thread
  std::set<std::string> dropped_;  // I/O thread, per flush
  std::atomic<int64_t> watch_count_{0};
  std::mutex work_mu_;
  std::condition_variable work_cv_;
  std::deque<std::function<void()>> work_;  // guarded by work_mu_
  bool workers_stop_ = false;               // guarded by work_mu_
  std::vector<std::thread> workers_;
};

ZmqServer::ZmqServer(Registry* registry, ZmqServerOptions options)
    : impl_(std::make_unique<Impl>(registry, std::move(options))) {}
ZmqServer::~ZmqServer() = default;
Status ZmqServer::Start() { return impl_->Start(); }
void ZmqServer::Stop() { impl_->Stop(); }
std::string ZmqServer::endpoint() const { return impl_->endpoint(); }
int64_t ZmqServer::watch_count() const { return impl_->watch_count(); }

}  // namespace cattle::apiserver
