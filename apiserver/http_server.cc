#include "apiserver/http_server.h"

#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <condition_variable>
#include <deque>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <kj/exception.h>
#include <nlohmann/json.hpp>

#include "cattle/log.h"
#include "cattle/utf8.h"

namespace cattle::apiserver {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// What the exception being handled says (inside a catch block only), as valid UTF-8.
std::string CurrentExceptionText() {
  try {
    throw;
  } catch (const std::exception& e) {
    return cattle::SanitizeUtf8(e.what());
  } catch (const kj::Exception& e) {
    return cattle::SanitizeUtf8(e.getDescription().cStr());
  } catch (...) {
    return "unknown exception";
  }
}

std::string PlainStatusJson(int code, const char* reason, const std::string& message) {
  nlohmann::ordered_json status = {{"kind", "Status"},     {"apiVersion", "v1"}, {"metadata", nlohmann::json::object()},
                                   {"status", "Failure"}, {"message", message}, {"reason", reason},
                                   {"code", code}};
  return status.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

// A complete early reply (sent before the request was read to its end): a Kubernetes Status
// body and Connection: close. `retry_after` adds Retry-After: 1, which client-go (kubectl)
// honours by retrying.
std::string EarlyReply(int code, const char* reason, const std::string& message, bool retry_after = false) {
  std::string body = PlainStatusJson(code, reason, message);
  std::string text = "HTTP/1.1 " + std::to_string(code) + " " +
                     std::string(http::obsolete_reason(static_cast<http::status>(code))) +
                     "\r\nContent-Type: application/json\r\nCache-Control: no-cache, private\r\n";
  if (retry_after) text += "Retry-After: 1\r\n";
  return text + "Connection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

int Millis(Duration d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return static_cast<int>(std::clamp<int64_t>(ms, 0, std::numeric_limits<int>::max()));
}

// Writes all of `data` to the socket `fd` (blocking or not). Waits at most `stall` each time
// the socket takes no more bytes; false on a stall, an error or a closed connection.
bool SendAll(int fd, std::string_view data, Duration stall) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      int ready = ::poll(&p, 1, Millis(stall));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) return false;  // the client took nothing for `stall`, or poll failed
      continue;                      // writable, or an error that the next send reports
    }
    return false;
  }
  return true;
}

// Errors that only say the client went away (no reply is owed).
bool IsDisconnect(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == http::error::partial_message || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == net::error::operation_aborted ||
         ec == net::error::bad_descriptor || ec == net::error::broken_pipe || ec == net::error::not_connected;
}

// After an early reply, what the client still sends is read and dropped for this long, or
// up to this many bytes, before the connection is closed.
constexpr Duration kDrainTime = std::chrono::seconds(2);
constexpr size_t kMaxDrainBytes = 64 << 20;
// Refused connections draining at once; beyond that they are closed at once.
constexpr int kMaxDrainingRefusals = 256;
// File descriptors kept for the rest of the process (store, ZeroMQ, logs) and draining
// refusals when the connection cap is derived from RLIMIT_NOFILE.
constexpr int64_t kReservedFds = 512 + kMaxDrainingRefusals;
constexpr size_t kHeaderLimit = 64 * 1024;

}  // namespace

std::string UrlDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%' && i + 2 < s.size()) {
      int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += (plus_is_space && c == '+') ? ' ' : c;
  }
  return out;
}

std::multimap<std::string, std::string> ParseQuery(std::string_view query) {
  std::multimap<std::string, std::string> out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    std::string key = UrlDecode(part.substr(0, eq), true);
    std::string value = eq == std::string_view::npos ? "" : UrlDecode(part.substr(eq + 1), true);
    out.emplace(std::move(key), std::move(value));
  }
  return out;
}

std::string HttpRequest::Query(const std::string& name, const std::string& fallback) const {
  auto it = query.find(name);
  return it == query.end() ? fallback : it->second;
}

std::string HttpRequest::Header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

int64_t RaiseOpenFileLimit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
  if (rl.rlim_cur != rl.rlim_max) {
    rlimit want = rl;
    want.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &want) == 0) rl = want;
  }
  if (rl.rlim_cur == RLIM_INFINITY) return std::numeric_limits<int64_t>::max();
  return static_cast<int64_t>(rl.rlim_cur);
}

// One accepted connection. Owned by the I/O thread, except while `busy`: then one worker
// thread serves a request on it and the I/O thread starts nothing on it.
struct HttpConn {
  explicit HttpConn(tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}
  int fd() { return socket.native_handle(); }

  tcp::socket socket;
  net::steady_timer timer;  // the deadline of the current read stage
  uint64_t timer_generation = 0;
  bool timed_out = false;   // the current stage's deadline passed (its reads were cancelled)
  beast::flat_buffer buffer;
  std::optional<http::request_parser<http::string_body>> parser;
  std::string ip;           // source address: the per-client cap's key
  std::string remote;       // "ip:port"
  bool counted = false;     // counts against the caps (false: a refused one, draining)
  bool closed = false;
  bool draining_refusal = false;  // a refused one, counted in Impl::draining_refusals_
  bool busy = false;        // GUARDED_BY(Impl::mu_)
  size_t drained = 0;
};

class HttpServer::Impl {
 public:
  Impl(HttpHandler* handler, HttpServerOptions options)
      : handler_(handler),
        options_(std::move(options)),
        acceptor_(ioc_),
        accept_timer_(ioc_),
        work_(net::make_work_guard(ioc_)) {}

  ~Impl() { Stop(); }

  Status Start() {
    int64_t files = RaiseOpenFileLimit();
    if (files < 0) files = 1024;
    max_connections_ = static_cast<int>(
        std::min<int64_t>(std::max(options_.max_connections, 1), std::max<int64_t>(files - kReservedFds, 16)));
    if (max_connections_ < options_.max_connections) {
      CATTLE_LOG(WARN) << "http: the open-file limit lowers the connection cap" << kv("rlimit_nofile", files)
                       << kv("max_connections", max_connections_);
    }
    boost::system::error_code ec;
    auto address = net::ip::make_address(options_.address, ec);
    if (ec) return Status::BadRequest("invalid HTTP address " + options_.address + ": " + ec.message());
    tcp::endpoint ep(address, static_cast<unsigned short>(options_.port));
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status(Reason::kServiceUnavailable, "cannot listen on " + options_.address + ":" +
                                                     std::to_string(options_.port) + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    Accept();
    io_thread_ = std::thread([this] { RunIo(); });
    started_ = true;
    return Status::Ok();
  }

  void Stop() {
    if (stopping_.exchange(true)) return;
    if (!started_) return;
    {
      // Workers blocked in a write or a stream see their socket fail; idle ones are closed by
      // the I/O thread below.
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& c : conns_)
        if (c->busy) ::shutdown(c->fd(), SHUT_RDWR);
    }
    net::post(ioc_, [this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
      accept_timer_.cancel();
      std::vector<ConnPtr> idle;
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (const auto& c : conns_)
          if (!c->busy) idle.push_back(c);
      }
      for (const auto& c : idle) Close(c);
    });
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return conns_.empty(); });
    }
    work_.reset();
    ioc_.stop();
    if (io_thread_.joinable()) io_thread_.join();
    std::unique_lock<std::mutex> lock(work_mu_);
    workers_stopping_ = true;
    work_cv_.notify_all();
    work_cv_.wait(lock, [this] { return workers_ == 0; });
  }

  int port() const { return port_; }
  int64_t connection_count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return open_;
  }
  int max_connections() const { return max_connections_; }
  bool stopping() const { return stopping_.load(); }

 private:
  class Responder;
  using ConnPtr = std::shared_ptr<HttpConn>;

  void RunIo() {
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (const std::exception& e) {
        CATTLE_LOG(ERROR) << "http: I/O handler threw" << kv("error", e.what());
      }
    }
  }

  // --- the I/O thread ----------------------------------------------------------------------

  void Accept() {
    acceptor_.async_accept(ioc_, [this](boost::system::error_code ec, tcp::socket socket) {
      OnAccept(ec, std::move(socket));
    });
  }

  void OnAccept(boost::system::error_code ec, tcp::socket socket) {
    if (stopping()) return;
    if (ec) {
      if (ec == net::error::no_descriptors || ec == net::error::no_buffer_space || ec == net::error::no_memory ||
          ec == boost::system::errc::too_many_files_open_in_system) {
        // The connection stays in the listen backlog; accepting again at once would only
        // spin. Pause (5 ms, doubling up to 500 ms) until descriptors are free.
        accept_backoff_ = accept_backoff_ == Duration::zero() ? std::chrono::milliseconds(5)
                                                                : std::min<Duration>(accept_backoff_ * 2, std::chrono::milliseconds(500));
        auto now = std::chrono::steady_clock::now();
        if (now - last_accept_warning_ >= std::chrono::seconds(10)) {
          last_accept_warning_ = now;
          CATTLE_LOG(WARN) << "http accept: out of file descriptors; pausing" << kv("error", ec.message())
                           << kv("open", connection_count());
        }
        accept_timer_.expires_after(accept_backoff_);
        accept_timer_.async_wait([this](boost::system::error_code e) {
          if (!e && !stopping()) Accept();
        });
        return;
      }
      if (ec != net::error::operation_aborted) Accept();
      return;
    }
    accept_backoff_ = Duration::zero();
    Accept();
    auto ep = socket.remote_endpoint(ec);
    if (ec) return;  // already gone
    auto c = std::make_shared<HttpConn>(std::move(socket));
    c->ip = ep.address().to_string();
    c->remote = c->ip + ":" + std::to_string(ep.port());
    std::string refusal;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = per_client_.find(c->ip);
      int from_client = it == per_client_.end() ? 0 : it->second;
      if (open_ >= max_connections_) {
        refusal = "too many open connections";
      } else if (from_client >= options_.max_connections_per_client) {
        refusal = "too many open connections from " + c->ip;
      } else {
        per_client_[c->ip]++;
        ++open_;
        c->counted = true;
      }
      conns_.insert(c);
    }
    if (!refusal.empty()) return Refuse(c, refusal);
    c->socket.set_option(tcp::no_delay(true), ec);
    ReadHeader(c);
  }

  // Answers 429 on a connection over a cap and closes it, gently while few are draining.
  void Refuse(const ConnPtr& c, const std::string& why) {
    ++refused_since_log_;
    auto now = std::chrono::steady_clock::now();
    if (now - last_refusal_log_ >= std::chrono::seconds(10)) {
      last_refusal_log_ = now;
      CATTLE_LOG(WARN) << "http: refusing connections" << kv("why", why) << kv("refused", refused_since_log_)
                       << kv("open", connection_count());
      refused_since_log_ = 0;
    }
    std::string reply = EarlyReply(429, "TooManyRequests", why, /*retry_after=*/true);
    if (draining_refusals_ >= kMaxDrainingRefusals) {
      ::send(c->fd(), reply.data(), reply.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      return Close(c);
    }
    ++draining_refusals_;
    c->draining_refusal = true;
    ReplyAndClose(c, std::move(reply));
  }

  // Starts the deadline of a read stage: when it passes, the stage's reads are cancelled and
  // the connection is marked timed_out.
  void Arm(const ConnPtr& c, Duration d) {
    uint64_t generation = ++c->timer_generation;
    c->timed_out = false;
    c->timer.expires_after(d);
    c->timer.async_wait([c, generation](boost::system::error_code ec) {
      if (ec || generation != c->timer_generation || c->closed) return;
      c->timed_out = true;
      boost::system::error_code ignored;
      c->socket.cancel(ignored);
    });
  }
  void Disarm(const ConnPtr& c) {
    ++c->timer_generation;
    c->timer.cancel();
  }

  void ReadHeader(const ConnPtr& c) {
    Arm(c, options_.header_timeout);
    c->parser.emplace();
    c->parser->body_limit(options_.max_body_bytes);
    c->parser->header_limit(kHeaderLimit);
    http::async_read_header(c->socket, c->buffer, *c->parser,
                            [this, c](boost::system::error_code ec, size_t) { OnHeader(c, ec); });
  }

  void OnHeader(const ConnPtr& c, boost::system::error_code ec) {
    if (c->closed) return;
    if (stopping()) return Close(c);
    if (ec == http::error::body_limit) return ReplyTooLarge(c);
    if (ec) {
      // A stalled header (timed out) or a client that left gets no reply.
      if (c->timed_out || IsDisconnect(ec)) return Close(c);
      return ReplyAndClose(c, EarlyReply(400, "BadRequest", "malformed HTTP request: " + ec.message()));
    }
    if (c->parser->is_done()) return Dispatch(c);
    // The body's deadline grows with its announced size (a chunked one: the body limit).
    double bytes = static_cast<double>(c->parser->content_length().value_or(options_.max_body_bytes));
    auto allowance = std::chrono::duration_cast<Duration>(
        std::chrono::duration<double, std::nano>(static_cast<double>(options_.body_timeout_per_mib.count()) *
                                                 bytes / (1024.0 * 1024.0)));
    Arm(c, options_.body_timeout + allowance);
    auto expect = c->parser->get()[http::field::expect];
    if (beast::iequals(expect, "100-continue")) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(c->socket, net::buffer(kContinue), [this, c](boost::system::error_code e, size_t) {
        if (e) return Close(c);
        ReadBody(c);
      });
      return;
    }
    ReadBody(c);
  }

  void ReadBody(const ConnPtr& c) {
    http::async_read(c->socket, c->buffer, *c->parser, [this, c](boost::system::error_code ec, size_t) {
      if (c->closed) return;
      if (stopping()) return Close(c);
      if (ec == http::error::body_limit) return ReplyTooLarge(c);
      if (ec && c->timed_out) {
        return ReplyAndClose(c, EarlyReply(408, "Timeout", "the request body was not received in time"));
      }
      if (ec && IsDisconnect(ec)) return Close(c);
      if (ec) return ReplyAndClose(c, EarlyReply(400, "BadRequest", "malformed HTTP request: " + ec.message()));
      Dispatch(c);
    });
  }

  void ReplyTooLarge(const ConnPtr& c) {
    ReplyAndClose(c, EarlyReply(413, "RequestEntityTooLarge",
                                "the request body is larger than " + std::to_string(options_.max_body_bytes) + " bytes"));
  }

  // Keep-alive: waits (idle deadline) for the first bytes of the next request, then reads
  // its header under the header deadline. (A read, not async_wait: Asio's epoll reactor may
  // miss readiness that arrived while nothing waited.)
  void WaitForNext(const ConnPtr& c) {
    if (c->buffer.size() > 0) return ReadHeader(c);  // pipelined: already here
    Arm(c, options_.idle_timeout);
    c->socket.async_read_some(c->buffer.prepare(16 * 1024), [this, c](boost::system::error_code ec, size_t n) {
      if (c->closed) return;
      if (ec || stopping()) return Close(c);
      c->buffer.commit(n);
      ReadHeader(c);
    });
  }

  // Sends `reply` on a connection whose request was not read to its end, then closes it
  // without a reset: closing a socket with unread input makes the kernel send RST, and a
  // client still uploading (curl, kubectl) would see "connection reset" instead of the reply.
  // So stop sending, then read and drop what the client still sends, for a bounded time and
  // size, until it closes too (Go's net/http does the same).
  void ReplyAndClose(const ConnPtr& c, std::string reply) {
    Arm(c, kDrainTime);
    auto text = std::make_shared<std::string>(std::move(reply));
    net::async_write(c->socket, net::buffer(*text), [this, c, text](boost::system::error_code ec, size_t) {
      if (c->closed) return;
      if (ec) return Close(c);
      c->socket.shutdown(tcp::socket::shutdown_send, ec);
      Drain(c);
    });
  }
  void Drain(const ConnPtr& c) {
    c->socket.async_read_some(c->buffer.prepare(64 * 1024), [this, c](boost::system::error_code ec, size_t n) {
      c->drained += n;
      if (ec || c->drained >= kMaxDrainBytes || stopping()) return Close(c);
      Drain(c);
    });
  }

  void Close(const ConnPtr& c) {
    if (c->closed) return;
    c->closed = true;
    Disarm(c);
    boost::system::error_code ignored;
    c->socket.close(ignored);
    if (c->draining_refusal) --draining_refusals_;
    std::lock_guard<std::mutex> lock(mu_);
    if (c->counted) {
      --open_;
      auto it = per_client_.find(c->ip);
      if (it != per_client_.end() && --it->second <= 0) per_client_.erase(it);
    }
    conns_.erase(c);
    if (conns_.empty()) cv_.notify_all();
  }

  // Hands a complete request to a worker.
  void Dispatch(const ConnPtr& c) {
    Disarm(c);
    auto msg = c->parser->release();
    c->parser.reset();
    auto req = std::make_shared<HttpRequest>();
    req->method = std::string(msg.method_string());
    req->target = std::string(msg.target());
    std::string_view target = req->target;
    size_t q = target.find('?');
    req->path = UrlDecode(target.substr(0, q), false);
    if (q != std::string_view::npos) req->query = ParseQuery(target.substr(q + 1));
    for (const auto& field : msg) {
      std::string name(field.name_string());
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      req->headers[name] = std::string(field.value());
    }
    req->body = std::move(msg.body());
    req->remote = c->remote;
    unsigned version = msg.version();
    bool keep_alive = msg.keep_alive();
    {
      std::lock_guard<std::mutex> lock(mu_);
      c->busy = true;
    }
    Submit([this, c, req, version, keep_alive] { Serve(c, *req, version, keep_alive); });
  }

  // --- workers -----------------------------------------------------------------------------

  void Serve(const ConnPtr& c, const HttpRequest& req, unsigned version, bool keep_alive);

  void Submit(std::function<void()> job) {
    std::lock_guard<std::mutex> lock(work_mu_);
    jobs_.push_back(std::move(job));
    if (static_cast<int64_t>(jobs_.size()) <= idle_workers_) {
      work_cv_.notify_one();
      return;
    }
    ++workers_;
    std::thread([this] { RunWorker(); }).detach();
  }

  void RunWorker() {
    std::unique_lock<std::mutex> lock(work_mu_);
    for (;;) {
      ++idle_workers_;
      bool woken = work_cv_.wait_for(lock, std::chrono::seconds(60), [this] { return !jobs_.empty() || workers_stopping_; });
      --idle_workers_;
      if (jobs_.empty()) {
        if (!woken || workers_stopping_) break;
        continue;
      }
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      job = nullptr;
      lock.lock();
    }
    if (--workers_ == 0) work_cv_.notify_all();
  }

  HttpHandler* handler_;
  HttpServerOptions options_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  net::steady_timer accept_timer_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  std::thread io_thread_;
  int port_ = 0;
  int max_connections_ = 0;
  bool started_ = false;
  std::atomic<bool> stopping_{false};

  // I/O thread only.
  Duration accept_backoff_ = Duration::zero();
  std::chrono::steady_clock::time_point last_accept_warning_{}, last_refusal_log_{};
  int64_t refused_since_log_ = 0;
  int draining_refusals_ = 0;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  int64_t open_ = 0;                                 // GUARDED_BY(mu_): counted connections
  std::unordered_map<std::string, int> per_client_;  // GUARDED_BY(mu_): counted, by source IP
  std::unordered_set<ConnPtr> conns_;                // GUARDED_BY(mu_): every open one

  std::mutex work_mu_;
  std::condition_variable work_cv_;
  std::deque<std::function<void()>> jobs_;  // GUARDED_BY(work_mu_)
  int64_t workers_ = 0;                     // GUARDED_BY(work_mu_)
  int64_t idle_workers_ = 0;                // GUARDED_BY(work_mu_)
  bool workers_stopping_ = false;           // GUARDED_BY(work_mu_)
};

// Writes a reply or a stream on a worker thread, straight to the socket, each write bounded
// by the write-stall deadline.
class HttpServer::Impl::Responder : public HttpResponder {
 public:
  Responder(Impl* server, int fd, unsigned version, bool keep_alive)
      : server_(server), fd_(fd), version_(version), keep_alive_(keep_alive) {}

  void Reply(int status, const std::string& content_type, std::string body,
             const std::vector<std::pair<std::string, std::string>>& headers) override {
    if (done_) return;
    done_ = true;
    std::string head = Head(status, content_type, headers, body.size());
    if (body.size() <= 64 * 1024) {
      Send(head + body);
    } else if (Send(head)) {
      Send(body);
    }
  }

  bool BeginStream(int status, const std::string& content_type) override {
    if (done_) return false;
    done_ = true;
    streaming_ = true;
    if (version_ < 11) keep_alive_ = false;  // HTTP/1.0 has no chunks: the stream ends with the connection
    return Send(Head(status, content_type, {}, std::nullopt));
  }

  bool Write(std::string_view chunk) override {
    if (!streaming_ || failed_) return false;
    if (chunk.empty()) return true;  // an empty chunk would end the stream
    if (version_ < 11) return Send(chunk);
    char size[32];
    int n = std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
    std::string framed;
    framed.reserve(static_cast<size_t>(n) + chunk.size() + 2);
    framed.append(size, static_cast<size_t>(n)).append(chunk).append("\r\n");
    return Send(framed);
  }

  bool ClientGone() override {
    if (failed_) return true;
    pollfd p{fd_, POLLIN | POLLRDHUP, 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) return failed_ = true;
    if (p.revents & POLLIN) {
      char c;
      ssize_t n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n == 0) return failed_ = true;
    }
    return false;
  }

  bool ServerStopping() override { return server_->stopping(); }

  // Ends a stream (the last chunk); true when the connection can serve another request.
  bool Finish() {
    if (streaming_ && version_ >= 11) Send("0\r\n\r\n");
    return !failed_ && keep_alive_;
  }
  bool done() const { return done_; }
  // After a handler threw mid-stream: the stream is broken, so no last chunk, and the
  // connection closes.
  void Abort() { failed_ = true; }

 private:
  std::string Head(int status, const std::string& content_type,
                   const std::vector<std::pair<std::string, std::string>>& headers,
                   std::optional<size_t> content_length) const {
    std::string h = version_ >= 11 ? "HTTP/1.1 " : "HTTP/1.0 ";
    h += std::to_string(status) + " " + std::string(http::obsolete_reason(static_cast<http::status>(status))) + "\r\n";
    h += "Content-Type: " + content_type + "\r\nCache-Control: no-cache, private\r\n";
    for (const auto& [k, v] : headers) h += k + ": " + v + "\r\n";
    if (content_length) {
      h += "Content-Length: " + std::to_string(*content_length) + "\r\n";
    } else if (version_ >= 11) {
      h += "Transfer-Encoding: chunked\r\n";
    }
    if (!keep_alive_ && version_ >= 11) h += "Connection: close\r\n";
    if (keep_alive_ && version_ < 11) h += "Connection: keep-alive\r\n";
    return h + "\r\n";
  }

  bool Send(std::string_view data) {
    if (failed_) return false;
    if (!SendAll(fd_, data, server_->options_.write_timeout)) failed_ = true;
    return !failed_;
  }

  Impl* server_;
  int fd_;
  unsigned version_;
  bool keep_alive_;
  bool done_ = false;
  bool streaming_ = false;
  bool failed_ = false;
};

void HttpServer::Impl::Serve(const ConnPtr& c, const HttpRequest& req, unsigned version, bool keep_alive) {
  Responder responder(this, c->fd(), version, keep_alive);
  try {
    handler_->Handle(req, responder);
  } catch (...) {  // std::exception, kj::Exception or anything else: this request's failure
    std::string what = CurrentExceptionText();
    CATTLE_LOG(ERROR) << "http handler threw" << kv("path", req.path) << kv("error", what);
    if (!responder.done()) responder.Reply(500, "application/json", PlainStatusJson(500, "InternalError", what), {});
    else responder.Abort();  // a broken stream: drop the connection
  }
  if (!responder.done())
    responder.Reply(500, "application/json", PlainStatusJson(500, "InternalError", "no response"), {});
  bool again = responder.Finish();
  {
    std::lock_guard<std::mutex> lock(mu_);
    c->busy = false;
  }
  net::post(ioc_, [this, c, again] {
    if (!again || stopping()) return Close(c);
    WaitForNext(c);
  });
}

HttpServer::HttpServer(HttpHandler* handler, HttpServerOptions options)
    : impl_(std::make_unique<Impl>(handler, std::move(options))) {}
HttpServer::~HttpServer() = default;
Status HttpServer::Start() { return impl_->Start(); }
void HttpServer::Stop() { impl_->Stop(); }
int HttpServer::port() const { return impl_->port(); }
int64_t HttpServer::connection_count() const { return impl_->connection_count(); }
int HttpServer::max_connections() const { return impl_->max_connections(); }

}  // namespace cattle::apiserver
