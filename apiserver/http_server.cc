#include "apiserver/http_server.h"

#include <poll.h>
#include <sys/socket.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

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

// Sends an error reply on a connection whose request was not read to its end, then closes it
// without a reset: closing a socket with unread input makes the kernel send RST, and a client
// still uploading (curl, kubectl) then sees "connection reset" instead of the reply. So stop
// sending, then read and drop what the client is still sending, for a bounded time and size,
// until it closes too. Go's net/http does the same after an early reply.
void ReplyAndCloseGently(tcp::socket& socket, const std::string& reply) {
  boost::system::error_code ec;
  net::write(socket, net::buffer(reply), ec);
  if (ec) return;
  int fd = socket.native_handle();
  ::shutdown(fd, SHUT_WR);
  constexpr size_t kMaxDrainBytes = 64 << 20;
  constexpr int kMaxDrainMs = 2000;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kMaxDrainMs);
  char sink[64 * 1024];
  size_t drained = 0;
  while (drained < kMaxDrainBytes) {
    int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
    if (left <= 0) return;
    pollfd p{fd, POLLIN, 0};
    int ready = ::poll(&p, 1, left);
    if (ready <= 0) return;  // timeout or error
    ssize_t n = ::recv(fd, sink, sizeof sink, 0);
    if (n <= 0) return;  // the client closed (or the server is stopping: shutdown(SHUT_RDWR))
    drained += static_cast<size_t>(n);
  }
}

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

class HttpServer::Impl {
 public:
  Impl(HttpHandler* handler, HttpServerOptions options)
      : handler_(handler), options_(std::move(options)), acceptor_(ioc_) {}

  ~Impl() { Stop(); }

  Status Start() {
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
    accept_thread_ = std::thread([this] { AcceptLoop(); });
    return Status::Ok();
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    if (acceptor_.is_open()) ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    if (accept_thread_.joinable()) accept_thread_.join();
    boost::system::error_code ec;
    acceptor_.close(ec);
    std::unique_lock<std::mutex> lock(mu_);
    for (tcp::socket* s : sockets_) ::shutdown(s->native_handle(), SHUT_RDWR);
    cv_.wait(lock, [this] { return active_ == 0; });
  }

  int port() const { return port_; }
  int64_t connection_count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return active_;
  }
  bool stopping() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stopping_;
  }

 private:
  class Responder;

  void AcceptLoop() {
    for (;;) {
      auto socket = std::make_unique<tcp::socket>(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(*socket, ec);
      if (stopping()) return;
      if (ec) {
        if (ec == net::error::no_descriptors) {
          CATTLE_LOG(WARN) << "http accept: out of file descriptors";
          std::this_thread::yield();
        }
        continue;
      }
      std::unique_lock<std::mutex> lock(mu_);
      if (active_ >= options_.max_connections) {
        lock.unlock();
        std::string body = PlainStatusJson(429, "TooManyRequests", "too many open connections");
        std::string resp = "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nConnection: close\r\n"
                           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
        net::write(*socket, net::buffer(resp), ec);
        socket->close(ec);
        continue;
      }
      ++active_;
      tcp::socket* raw = socket.get();
      sockets_.insert(raw);
      lock.unlock();
      std::thread([this, s = std::move(socket)]() mutable {
        Serve(*s);
        std::lock_guard<std::mutex> l(mu_);
        sockets_.erase(s.get());
        boost::system::error_code ignored;
        s->close(ignored);
        s.reset();
        if (--active_ == 0) cv_.notify_all();
      }).detach();
    }
  }

  void Serve(tcp::socket& socket);

  HttpHandler* handler_;
  HttpServerOptions options_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread accept_thread_;
  int port_ = 0;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  int64_t active_ = 0;                 // GUARDED_BY(mu_)
  std::set<tcp::socket*> sockets_;     // GUARDED_BY(mu_)
};

class HttpServer::Impl::Responder : public HttpResponder {
 public:
  Responder(Impl* server, tcp::socket& socket, unsigned version, bool keep_alive)
      : server_(server), socket_(socket), version_(version), keep_alive_(keep_alive) {}

  void Reply(int status, const std::string& content_type, std::string body,
             const std::vector<std::pair<std::string, std::string>>& headers) override {
    if (done_) return;
    done_ = true;
    http::response<http::string_body> res{static_cast<http::status>(status), version_};
    res.set(http::field::content_type, content_type);
    res.set("Cache-Control", "no-cache, private");
    for (const auto& [k, v] : headers) res.insert(k, v);
    res.keep_alive(keep_alive_);
    res.body() = std::move(body);
    res.prepare_payload();
    boost::system::error_code ec;
    http::write(socket_, res, ec);
    if (ec) failed_ = true;
  }

  bool BeginStream(int status, const std::string& content_type) override {
    if (done_) return false;
    done_ = true;
    streaming_ = true;
    http::response<http::empty_body> res{static_cast<http::status>(status), version_};
    res.set(http::field::content_type, content_type);
    res.set("Cache-Control", "no-cache, private");
    res.keep_alive(keep_alive_);
    res.chunked(true);
    http::response_serializer<http::empty_body> sr{res};
    boost::system::error_code ec;
    http::write_header(socket_, sr, ec);
    if (ec) failed_ = true;
    return !failed_;
  }

  bool Write(std::string_view chunk) override {
    if (!streaming_ || failed_) return false;
    if (chunk.empty()) return true;  // an empty chunk would end the stream
    boost::system::error_code ec;
    net::write(socket_, http::make_chunk(net::buffer(chunk.data(), chunk.size())), ec);
    if (ec) failed_ = true;
    return !failed_;
  }

  bool ClientGone() override {
    if (failed_) return true;
    pollfd p{socket_.native_handle(), POLLIN | POLLRDHUP, 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) return failed_ = true;
    if (p.revents & POLLIN) {
      char c;
      ssize_t n = ::recv(socket_.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n == 0) return failed_ = true;
    }
    return false;
  }

  bool ServerStopping() override { return server_->stopping(); }

  // Ends a stream (the last chunk); true when the connection can serve another request.
  bool Finish() {
    if (streaming_ && !failed_) {
      boost::system::error_code ec;
      net::write(socket_, http::make_chunk_last(), ec);
      if (ec) failed_ = true;
    }
    return !failed_ && keep_alive_;
  }
  bool done() const { return done_; }

 private:
  Impl* server_;
  tcp::socket& socket_;
  unsigned version_;
  bool keep_alive_;
  bool done_ = false;
  bool streaming_ = false;
  bool failed_ = false;
};

void HttpServer::Impl::Serve(tcp::socket& socket) {
  boost::system::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  std::string remote;
  auto ep = socket.remote_endpoint(ec);
  if (!ec) remote = ep.address().to_string() + ":" + std::to_string(ep.port());
  beast::flat_buffer buffer;
  while (!stopping()) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(options_.max_body_bytes);
    parser.header_limit(64 * 1024);
    http::read(socket, buffer, parser, ec);
    if (ec == http::error::body_limit) {
      std::string body = PlainStatusJson(413, "RequestEntityTooLarge",
                                    "the request body is larger than " + std::to_string(options_.max_body_bytes) + " bytes");
      std::string resp = "HTTP/1.1 413 Request Entity Too Large\r\nContent-Type: application/json\r\nConnection: close\r\n"
                         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
      ReplyAndCloseGently(socket, resp);
      return;
    }
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
        ec == net::error::operation_aborted || ec == net::error::bad_descriptor) {
      return;
    }
    if (ec) {
      // Not HTTP: say so once and close.
      std::string body = PlainStatusJson(400, "BadRequest", "malformed HTTP request: " + ec.message());
      std::string resp = "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\n"
                         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
      ReplyAndCloseGently(socket, resp);
      return;
    }
    auto msg = parser.release();
    HttpRequest req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    std::string_view target = req.target;
    size_t q = target.find('?');
    req.path = UrlDecode(target.substr(0, q), false);
    if (q != std::string_view::npos) req.query = ParseQuery(target.substr(q + 1));
    for (const auto& field : msg) {
      std::string name(field.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      req.headers[name] = std::string(field.value());
    }
    req.body = std::move(msg.body());
    req.remote = remote;

    Responder responder(this, socket, msg.version(), msg.keep_alive());
    try {
      handler_->Handle(req, responder);
    } catch (...) {  // std::exception, kj::Exception or anything else: this request's failure
      std::string what = CurrentExceptionText();
      CATTLE_LOG(ERROR) << "http handler threw" << kv("path", req.path) << kv("error", what);
      if (!responder.done())
        responder.Reply(500, "application/json", PlainStatusJson(500, "InternalError", what), {});
      else
        return;  // a broken stream: drop the connection
    }
    if (!responder.done())
      responder.Reply(500, "application/json", PlainStatusJson(500, "InternalError", "no response"), {});
    if (!responder.Finish()) return;
  }
}

HttpServer::HttpServer(HttpHandler* handler, HttpServerOptions options)
    : impl_(std::make_unique<Impl>(handler, std::move(options))) {}
HttpServer::~HttpServer() = default;
Status HttpServer::Start() { return impl_->Start(); }
void HttpServer::Stop() { impl_->Stop(); }
int HttpServer::port() const { return impl_->port(); }
int64_t HttpServer::connection_count() const { return impl_->connection_count(); }

}  // namespace cattle::apiserver
