#include "kubelet-sim/log_server.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "cattle/kubelet_auth.h"
#include "cattle/log.h"
#include "cattle/wire.h"
#include "kubelet.capnp.h"

namespace cattle::kubelet {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

// Requests are small; anything bigger is answered TooLarge (and past 1 MiB ZeroMQ drops
// the connection without reading it).
constexpr size_t kMaxRequestBytes = 64 * 1024;
constexpr int64_t kMaxFrameBytes = 1024 * 1024;
// Replies queued per requester before it counts as not reading (and its streams go).
constexpr int kSendHighWaterMark = 64;

// A decoded message; owns the aligned copy its reader points into.
struct Decoded {
  kj::Array<capnp::word> words;
  std::unique_ptr<capnp::FlatArrayMessageReader> reader;
  wire::KubeletMessage::Reader message;
};

// BadRequest on anything that is not a whole, readable KubeletMessage.
Result<std::unique_ptr<Decoded>> Decode(std::string_view bytes) {
  if (bytes.size() > kMaxRequestBytes)
    return Status::TooLarge("request of " + std::to_string(bytes.size()) + " bytes exceeds the limit of " +
                            std::to_string(kMaxRequestBytes));
  if (bytes.empty() || bytes.size() % sizeof(capnp::word) != 0)
    return Status::BadRequest("malformed message: " + std::to_string(bytes.size()) +
                              " bytes is not a whole number of 8-byte words");
  auto d = std::make_unique<Decoded>();
  d->words = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
  memcpy(d->words.begin(), bytes.data(), bytes.size());
  try {
    capnp::ReaderOptions options;
    options.traversalLimitInWords = bytes.size() / sizeof(capnp::word) * 4 + 1024;
    options.nestingLimit = 16;
    d->reader = std::make_unique<capnp::FlatArrayMessageReader>(d->words.asPtr(), options);
    d->message = d->reader->getRoot<wire::KubeletMessage>();
    (void)d->message.which();
  } catch (const kj::Exception& e) {
    return Status::BadRequest(std::string("malformed message: ") + e.getDescription().cStr());
  }
  return d;
}

std::string Text(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

// A request this server will not read: Forbidden, as Kubernetes' kubelet answers a client it does
// not authorize (its 401 for no credentials has no Status reason of its own here).
Status Refused(std::string message) { return Status::Forbidden(std::move(message)); }

}  // namespace

class KubeletLogServer::Impl {
 public:
  Impl(Clock* clock, LogServerOptions options)
      : clock_(clock), options_(std::move(options)), router_(ctx_, zmq::socket_type::router) {}
  ~Impl() { Stop(); }

  void AddNode(const std::string& node, LogOpener opener) {
    std::lock_guard<std::mutex> lock(nodes_mu_);
    nodes_[node] = std::move(opener);
  }
  void RemoveNode(const std::string& node) {
    std::lock_guard<std::mutex> lock(nodes_mu_);
    nodes_.erase(node);
  }

  Status Start() {
    std::vector<std::string> addresses;
    for (const auto& a : options_.addresses) {
      if (!kubelet_auth::IsLoopbackAddress(a))
        return Status::BadRequest("the kubelet log server listens on loopback addresses (127.0.0.0/8) only, not \"" +
                                  a + "\"");
      if (std::find(addresses.begin(), addresses.end(), a) == addresses.end()) addresses.push_back(a);
    }
    if (addresses.empty()) return Status::BadRequest("the kubelet log server needs an address to listen on");
    if (options_.port < 0 || options_.port > 65535)
      return Status::BadRequest("the kubelet log port must be in 0..65535, not " + std::to_string(options_.port));
    if (options_.auth_token.empty()) {
      CATTLE_LOG(WARN) << (options_.insecure ? "log server: no auth token; serving logs to anyone (insecure)"
                                             : "log server: no auth token (--kubelet-auth-token-file); every log "
                                               "request will be refused");
    }
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) return Status::Internal("eventfd failed");
    try {
      router_.set(zmq::sockopt::router_mandatory, 1);
      router_.set(zmq::sockopt::sndhwm, kSendHighWaterMark);
      router_.set(zmq::sockopt::linger, 100);
      router_.set(zmq::sockopt::maxmsgsize, kMaxFrameBytes);
      // ZMTP heartbeats: a requester whose machine or connection died silently is
      // disconnected, so its streams fail their next send and go.
      router_.set(zmq::sockopt::heartbeat_ivl, 2000);
      router_.set(zmq::sockopt::heartbeat_timeout, 6000);
    } catch (const zmq::error_t& e) {
      return Status::Internal(std::string("cannot set up the kubelet log socket: ") + e.what());
    }
    // The first address picks the port (when it is 0); the others take the same one, which
    // another process may hold on one of them: then everything is bound again on a new port.
    std::string failure;
    for (int attempt = 0; attempt < 8; ++attempt) {
      std::vector<std::string> bound;
      int port = options_.port;
      std::string current;
      try {
        for (const auto& a : addresses) {
          current = "tcp://" + a + ":" + std::to_string(port);
          router_.bind(current);
          bound.push_back(router_.get(zmq::sockopt::last_endpoint));
          if (port == 0) port = std::stoi(bound.back().substr(bound.back().rfind(':') + 1));
        }
        std::lock_guard<std::mutex> lock(endpoint_mu_);
        endpoint_ = bound.front();
        port_ = port;
        failure.clear();
        break;
      } catch (const zmq::error_t& e) {
        failure = "cannot bind the kubelet log endpoint " + current + ": " + e.what();
        for (const auto& b : bound) {
          try {
            router_.unbind(b);
          } catch (const zmq::error_t&) {
          }
        }
        if (options_.port != 0 || bound.empty() || e.num() != EADDRINUSE) break;
      }
    }
    if (!failure.empty()) return Status::Unavailable(failure);
    io_ = std::thread([this] { Loop(); });
    return Status::Ok();
  }

  void Stop() {
    if (stopping_.exchange(true)) return;
    Wake();
    if (io_.joinable()) io_.join();
    if (wake_fd_ >= 0) close(wake_fd_);
    wake_fd_ = -1;
  }

  std::string endpoint() const {
    std::lock_guard<std::mutex> lock(endpoint_mu_);
    return endpoint_;
  }
  int port() const {
    std::lock_guard<std::mutex> lock(endpoint_mu_);
    return port_;
  }
  size_t stream_count() const { return stream_count_.load(); }

 private:
  // Where replies go: the requester's ROUTER identity (and whether it framed with an empty
  // delimiter, as a REQ socket does).
  struct Peer {
    std::string identity;
    bool delimiter = false;
  };
  struct Stream {
    Peer peer;
    uint64_t id = 0;
    uint64_t seq = 0;
    std::shared_ptr<ContainerLog> log;
    ContainerLog::Cursor cursor = 0;
    bool timestamps = false;
    bool follow = false;
    std::optional<int64_t> remaining;  // of limitBytes
    SteadyTime last_sent{};
  };
  enum class Pumped { kMore, kEnded, kGone };

  void Wake() {
    uint64_t one = 1;
    if (wake_fd_ >= 0) (void)!write(wake_fd_, &one, sizeof(one));
  }

  void Loop() {
    while (!stopping_.load()) {
      zmq::pollitem_t items[] = {{router_.handle(), 0, ZMQ_POLLIN, 0}, {nullptr, wake_fd_, ZMQ_POLLIN, 0}};
      auto timeout = streams_.empty() ? std::chrono::milliseconds(-1) : options_.follow_poll_interval;
      try {
        zmq::poll(items, 2, timeout);
      } catch (const zmq::error_t& e) {
        if (e.num() == EINTR) continue;
        CATTLE_LOG(ERROR) << "log server: poll failed: " << e.what();
        break;
      }
      if (items[1].revents & ZMQ_POLLIN) {
        uint64_t v;
        (void)!read(wake_fd_, &v, sizeof(v));
      }
      for (int i = 0; i < 256 && !stopping_.load(); ++i)
        if (!ReceiveOne()) break;
      ServiceStreams();
    }
    // Tell whoever still follows that this kubelet is going away.
    for (auto& [key, s] : streams_)
      (void)SendReply(s.peer, s.id, ++s.seq, [](wire::LogReply::Builder r) {
        wire_util::SetStatus(r.initError(), Status(Reason::kServiceUnavailable, "the kubelet is shutting down"));
      });
    streams_.clear();
    stream_count_.store(0);
    router_.close();
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
        if (frames.size() < 5) frames.push_back(std::move(frame));  // the rest is garbage: dropped
        if (!more) break;
      }
    } catch (const zmq::error_t& e) {
      CATTLE_LOG(WARN) << "log server: recv failed: " << e.what();
      return false;
    }
    if (frames.size() < 2) return true;
    // [identity] ([empty delimiter], as a REQ socket sends) ([MAC]) [message]
    Peer peer{frames.front().to_string(), frames.size() >= 3 && frames[1].size() == 0};
    size_t first = peer.delimiter ? 2 : 1;
    zmq::message_t& payload = frames.back();
    std::optional<std::string_view> mac;
    if (frames.size() - first == 2) mac = std::string_view(frames[first].data<char>(), frames[first].size());
    std::string_view bytes(static_cast<const char*>(payload.data()), payload.size());
    if (frames.size() - first > 2) {
      SendError(peer, 0, Status::BadRequest("malformed message: too many frames"));
      return true;
    }
    if (Status s = Authenticate(mac, bytes); !s.ok()) {
      LogRefusal(s, payload);
      SendError(peer, 0, s);
      return true;
    }
    Handle(peer, bytes);
    return true;
  }

  // OK when `bytes` may be read: its MAC is right, or this server is insecure.
  Status Authenticate(std::optional<std::string_view> mac, std::string_view bytes) const {
    if (options_.auth_token.empty()) {
      if (options_.insecure) return Status::Ok();
      return Refused("this kubelet has no auth token (--kubelet-auth-token-file) and serves no logs");
    }
    if (!mac) return Refused("the kubelet refused an unauthenticated log request");
    if (!kubelet_auth::Verify(options_.auth_token, bytes, *mac))
      return Refused("the kubelet refused a log request with a wrong auth token");
    return Status::Ok();
  }

  void LogRefusal(const Status& s, zmq::message_t& frame) {
    auto now = std::chrono::steady_clock::now();
    if (last_refusal_log_ != SteadyTime{} && now - last_refusal_log_ < std::chrono::seconds(1)) {
      ++refusals_not_logged_;
      return;
    }
    std::string from = "?";
    try {
      const char* address = frame.gets("Peer-Address");
      if (address != nullptr) from = address;
    } catch (const zmq::error_t&) {
    }
    CATTLE_LOG(WARN) << "log server: refused a request" << kv("reason", s.message()) << kv("peer", from)
                     << kv("refused_unlogged", refusals_not_logged_);
    last_refusal_log_ = now;
    refusals_not_logged_ = 0;
  }

  // Sends one LogReply built by `fill`; false when the requester is gone or not reading.
  template <typename Fill>
  bool SendReply(const Peer& peer, uint64_t id, uint64_t seq, Fill fill) {
    capnp::MallocMessageBuilder msg;
    auto reply = msg.initRoot<wire::KubeletMessage>().initLogReply();
    reply.setId(id);
    reply.setSeq(seq);
    fill(reply);
    std::string bytes = wire_util::Serialize(msg);
    try {
      if (!router_.send(zmq::buffer(peer.identity), zmq::send_flags::sndmore | zmq::send_flags::dontwait))
        return false;
      if (peer.delimiter) router_.send(zmq::message_t(), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
      return router_.send(zmq::buffer(bytes), zmq::send_flags::dontwait).has_value();
    } catch (const zmq::error_t&) {
      return false;  // EHOSTUNREACH: the requester disconnected
    }
  }

  void SendError(const Peer& peer, uint64_t id, const Status& s) {
    (void)SendReply(peer, id, 1, [&](wire::LogReply::Builder r) { wire_util::SetStatus(r.initError(), s); });
  }

  void Handle(const Peer& peer, std::string_view bytes) {
    auto decoded = Decode(bytes);
    if (!decoded.ok()) return SendError(peer, 0, decoded.status());
    try {
      auto m = (*decoded)->message;
      switch (m.which()) {
        case wire::KubeletMessage::LOG_REQUEST:
          return HandleRequest(peer, m.getLogRequest());
        case wire::KubeletMessage::LOG_CANCEL:
          return Cancel(peer, m.getLogCancel().getId());
        default:
          return SendError(peer, 0, Status::BadRequest("expected a log request or a cancel"));
      }
    } catch (const kj::Exception& e) {
      SendError(peer, 0, Status::BadRequest(std::string("malformed request: ") + e.getDescription().cStr()));
    }
  }

  void Cancel(const Peer& peer, uint64_t id) {
    streams_.erase({peer.identity, id});
    stream_count_.store(streams_.size());
  }

  void HandleRequest(const Peer& peer, wire::LogRequest::Reader r) {
    const uint64_t id = r.getId();
    const std::string node = Text(r.getNode()), pod = Text(r.getPod()), container = Text(r.getContainer());
    if (streams_.count({peer.identity, id}))
      return SendError(peer, id, Status::BadRequest("request id " + std::to_string(id) + " is in use"));
    LogOpener opener;
    {
      std::lock_guard<std::mutex> lock(nodes_mu_);
      auto it = nodes_.find(node);
      if (it != nodes_.end()) opener = it->second;
    }
    if (!opener) return SendError(peer, id, Status::NotFound("node \"" + node + "\" is not served by this kubelet"));
    if (pod.empty()) return SendError(peer, id, Status::BadRequest("a pod name is required"));
    if (container.empty())
      return SendError(peer, id, Status::BadRequest("a container name must be specified for pod " + pod));
    // PodLogOptions' validation, in Kubernetes' words.
    if (r.getHasTailLines() && r.getTailLines() < 0)
      return SendError(peer, id, Status::BadRequest("tailLines: Invalid value: " + std::to_string(r.getTailLines()) +
                                                    ": must be greater than or equal to 0"));
    if (r.getHasLimitBytes() && r.getLimitBytes() < 1)
      return SendError(peer, id, Status::BadRequest("limitBytes: Invalid value: " + std::to_string(r.getLimitBytes()) +
                                                    ": must be greater than 0"));
    if (r.getHasSinceSeconds() && r.getSinceTime().size() > 0)
      return SendError(peer, id, Status::BadRequest("at most one of `sinceTime` or `sinceSeconds` may be specified"));
    if (r.getHasSinceSeconds() && r.getSinceSeconds() < 1)
      return SendError(peer, id, Status::BadRequest("sinceSeconds: Invalid value: " +
                                                    std::to_string(r.getSinceSeconds()) + ": must be greater than 0"));
    std::optional<int64_t> since, tail;
    if (r.getHasSinceSeconds()) {
      int64_t secs = std::min<int64_t>(r.getSinceSeconds(), int64_t{1} << 32);  // no overflow below
      since = clock_->WallNanos() - secs * 1'000'000'000;
    } else if (r.getSinceTime().size() > 0) {
      int64_t t = 0;
      if (!ParseRfc3339(Text(r.getSinceTime()), &t))
        return SendError(peer, id, Status::BadRequest("sinceTime: Invalid value: \"" + Text(r.getSinceTime()) +
                                                      "\": not an RFC 3339 time"));
      since = t;
    }
    if (r.getHasTailLines()) tail = r.getTailLines();

    auto log = opener(Text(r.getNamespace()), pod, Text(r.getPodUid()), container, r.getPrevious());
    if (!log.ok()) return SendError(peer, id, log.status());

    Stream s;
    s.peer = peer;
    s.id = id;
    s.log = *log;
    s.cursor = s.log->Start(tail, since);
    s.timestamps = r.getTimestamps();
    s.follow = r.getFollow();
    if (r.getHasLimitBytes()) s.remaining = r.getLimitBytes();
    s.last_sent = std::chrono::steady_clock::now();
    Pumped p = Pump(s);
    if (p != Pumped::kMore) return;
    if (streams_.size() >= options_.max_streams) {
      return (void)SendReply(peer, id, ++s.seq, [](wire::LogReply::Builder r) {
        wire_util::SetStatus(r.initError(), Status(Reason::kTooManyRequests,
                                                   "too many log streams are being followed on this kubelet"));
      });
    }
    // Following: acknowledge at once when nothing was sent, so the requester knows the
    // stream is open and not a kubelet that does not answer.
    if (s.seq == 0 && !SendReply(peer, id, ++s.seq, [](wire::LogReply::Builder r) { r.setHeartbeat(); })) return;
    streams_.emplace(std::make_pair(peer.identity, id), std::move(s));
    stream_count_.store(streams_.size());
  }

  // Sends what `s`'s log has from its cursor on; ends the stream when the log is done (not
  // following, the limit reached, or the instance exited and everything was sent).
  Pumped Pump(Stream& s) {
    while (true) {
      if (s.remaining && *s.remaining <= 0) return End(s);
      // Read `closed` before the lines: every line of a closed log is in then.
      bool closed = s.log->closed();
      std::string chunk;
      s.log->Read(&s.cursor, s.timestamps, options_.chunk_bytes, &chunk);
      if (chunk.empty()) return closed || !s.follow ? End(s) : Pumped::kMore;
      if (s.remaining) {
        if (static_cast<int64_t>(chunk.size()) > *s.remaining) chunk.resize(static_cast<size_t>(*s.remaining));
        *s.remaining -= static_cast<int64_t>(chunk.size());
      }
      bool sent = SendReply(s.peer, s.id, ++s.seq, [&](wire::LogReply::Builder r) {
        r.setChunk(capnp::Data::Reader(reinterpret_cast<const kj::byte*>(chunk.data()), chunk.size()));
      });
      if (!sent) return Pumped::kGone;
      s.last_sent = std::chrono::steady_clock::now();
    }
  }

  Pumped End(Stream& s) {
    return SendReply(s.peer, s.id, ++s.seq, [](wire::LogReply::Builder r) { r.setEnd(); }) ? Pumped::kEnded
                                                                                             : Pumped::kGone;
  }

  void ServiceStreams() {
    auto now = std::chrono::steady_clock::now();
    for (auto it = streams_.begin(); it != streams_.end();) {
      Stream& s = it->second;
      Pumped p = Pump(s);
      if (p == Pumped::kMore && now - s.last_sent >= options_.heartbeat_interval) {
        if (SendReply(s.peer, s.id, ++s.seq, [](wire::LogReply::Builder r) { r.setHeartbeat(); })) {
          s.last_sent = now;
        } else {
          p = Pumped::kGone;
        }
      }
      if (p == Pumped::kGone) {
        CATTLE_LOG(DEBUG) << "log server: dropping a stream whose requester is gone or not reading"
                          << kv("id", s.id);
      }
      it = p == Pumped::kMore ? std::next(it) : streams_.erase(it);
    }
    stream_count_.store(streams_.size());
  }

  Clock* clock_;
  LogServerOptions options_;
  zmq::context_t ctx_{1};
  zmq::socket_t router_;  // I/O thread only, after Start
  mutable std::mutex endpoint_mu_;
  std::string endpoint_;  // GUARDED_BY(endpoint_mu_)
  int port_ = 0;          // GUARDED_BY(endpoint_mu_)
  // Refusals logged (I/O thread only): at most one line a second, counting the others.
  SteadyTime last_refusal_log_{};
  int64_t refusals_not_logged_ = 0;
  std::mutex nodes_mu_;
  std::map<std::string, LogOpener> nodes_;  // GUARDED_BY(nodes_mu_)
  std::map<std::pair<std::string, uint64_t>, Stream> streams_;  // I/O thread only
  std::atomic<size_t> stream_count_{0};
  std::atomic<bool> stopping_{false};
  int wake_fd_ = -1;
  std::thread io_;
};

KubeletLogServer::KubeletLogServer(Clock* clock, LogServerOptions options)
    : impl_(std::make_unique<Impl>(clock, std::move(options))) {}
KubeletLogServer::~KubeletLogServer() { Stop(); }
void KubeletLogServer::AddNode(const std::string& node, LogOpener opener) { impl_->AddNode(node, std::move(opener)); }
void KubeletLogServer::RemoveNode(const std::string& node) { impl_->RemoveNode(node); }
Status KubeletLogServer::Start() { return impl_->Start(); }
void KubeletLogServer::Stop() { impl_->Stop(); }
std::string KubeletLogServer::endpoint() const { return impl_->endpoint(); }
int KubeletLogServer::port() const { return impl_->port(); }
size_t KubeletLogServer::stream_count() const { return impl_->stream_count(); }

}  // namespace cattle::kubelet
