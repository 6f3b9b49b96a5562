// HttpServer's transport limits over real loopback sockets: header, idle, body and
// write-stall deadlines, the per-client and total connection caps, and a watch (RestApi) whose
// client never reads. Clients are raw sockets, some bound to other 127.x source addresses.
#include "apiserver/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "apiserver/local_client.h"
#include "apiserver/rest_api.h"
#include "cattle/fake_clock.h"

namespace cattle::apiserver {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

bool Eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout = 10s) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return cond();
}

// A blocking TCP connection to 127.0.0.1:port from `source` (any 127.x address), or -1.
int Connect(int port, const std::string& source = "127.0.0.1", int rcvbuf = 0) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  ::inet_pton(AF_INET, source.c_str(), &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool SendText(int fd, const std::string& text) {
  return ::send(fd, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size());
}

// Reads what arrives until the server closes the connection or `timeout` passes; true when it
// closed (EOF or reset).
bool ReadUntilClosed(int fd, std::chrono::milliseconds timeout, std::string* got = nullptr) {
  auto deadline = Clock::now() + timeout;
  char buf[16384];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
    if (n > 0 && got) got->append(buf, static_cast<size_t>(n));
  }
}

struct Reply {
  int code = 0;
  std::string head;
  std::string body;
};

// Reads one Content-Length response (within `timeout`); code 0 when none came.
// Reads one reply. Bytes past it (a pipelined request's reply that came in the same read)
// stay in `data` for the next call.
Reply ReadReply(int fd, std::string& data, std::chrono::milliseconds timeout = 5s) {
  Reply r;
  auto deadline = Clock::now() + timeout;
  size_t header_end = std::string::npos, want = 0;
  char buf[16384];
  for (;;) {
    if (header_end == std::string::npos && (header_end = data.find("\r\n\r\n")) != std::string::npos) {
      r.head = data.substr(0, header_end);
      auto at = r.head.find("Content-Length: ");
      want = at == std::string::npos ? 0 : std::stoul(r.head.substr(at + 16));
    }
    if (header_end != std::string::npos && data.size() >= header_end + 4 + want) {
      r.code = std::stoi(r.head.substr(9, 3));
      r.body = data.substr(header_end + 4, want);
      data.erase(0, header_end + 4 + want);
      return r;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return r;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) return r;
    data.append(buf, static_cast<size_t>(n));
  }
}

Reply ReadReply(int fd, std::chrono::milliseconds timeout = 5s) {
  std::string data;
  return ReadReply(fd, data, timeout);
}

// Reads a response's status line and headers, byte by byte (nothing past them).
std::string ReadHead(int fd, std::chrono::milliseconds timeout = 5s) {
  std::string head;
  auto deadline = Clock::now() + timeout;
  while (head.size() < 4 || head.compare(head.size() - 4, 4, "\r\n\r\n") != 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return "";
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    char c;
    if (::recv(fd, &c, 1, MSG_DONTWAIT) != 1) return "";
    head += c;
  }
  return head;
}

std::string Get(const std::string& path) { return "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"; }

// Answers "ok PATH"; /echo answers the body; /stream streams 64 KiB chunks until the client
// or the server stops.
class TestHandler : public HttpHandler {
 public:
  void Handle(const HttpRequest& request, HttpResponder& out) override {
    if (request.path == "/echo") return out.Reply(200, "text/plain", request.body);
    if (request.path == "/stream") {
      out.BeginStream(200, "text/plain");
      std::string chunk(64 * 1024, 'x');
      while (!out.ServerStopping() && out.Write(chunk)) stream_bytes += static_cast<int64_t>(chunk.size());
      stream_ended = true;
      return;
    }
    out.Reply(200, "text/plain", "ok " + request.path);
  }
  std::atomic<int64_t> stream_bytes{0};
  std::atomic<bool> stream_ended{false};
};

class HttpServerTest : public ::testing::Test {
 protected:
  void Start(HttpServerOptions o) {
    o.port = 0;
    server_ = std::make_unique<HttpServer>(&handler_, o);
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override {
    for (int fd : fds_) ::close(fd);
    if (server_) server_->Stop();
  }
  int Open(const std::string& source = "127.0.0.1", int rcvbuf = 0) {
    int fd = Connect(server_->port(), source, rcvbuf);
    if (fd >= 0) fds_.push_back(fd);
    return fd;
  }
  // A GET on a fresh connection: the reply's code (0: none within 5 s).
  int FreshGet(const std::string& source = "127.0.0.1") {
    int fd = Open(source);
    if (fd < 0 || !SendText(fd, Get("/fresh"))) return 0;
    return ReadReply(fd).code;
  }

  TestHandler handler_;
  std::unique_ptr<HttpServer> server_;
  std::vector<int> fds_;
};

TEST_F(HttpServerTest, KeepAliveServesRequestsOnOneConnection) {
  Start({});
  int fd = Open();
  ASSERT_GE(fd, 0);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(SendText(fd, Get("/n" + std::to_string(i))));
    Reply r = ReadReply(fd);
    EXPECT_EQ(r.code, 200);
    EXPECT_EQ(r.body, "ok /n" + std::to_string(i));
  }
  // Pipelined: two requests in one write, two replies in order.
  ASSERT_TRUE(SendText(fd, Get("/a") + Get("/b")));
  std::string both;  // the two replies may come in one read
  EXPECT_EQ(ReadReply(fd, both).body, "ok /a");
  EXPECT_EQ(ReadReply(fd, both).body, "ok /b");
  std::string body(200000, 'b');
  ASSERT_TRUE(SendText(fd, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                               "\r\n\r\n" + body));
  EXPECT_EQ(ReadReply(fd).body, body);
}

TEST_F(HttpServerTest, StalledHeaderIsClosedAtTheHeaderDeadlineWhileOthersAreServed) {
  HttpServerOptions o;
  o.header_timeout = 500ms;
  Start(o);
  int stalled = Open();
  ASSERT_TRUE(SendText(stalled, "GET /api/v1/namespaces HTTP/1.1\r\nHo"));
  EXPECT_EQ(FreshGet(), 200);
  auto start = Clock::now();
  EXPECT_TRUE(ReadUntilClosed(stalled, 5s));
  EXPECT_GE(Clock::now() - start, 300ms);
  // A connection that never sends a byte is closed too.
  int silent = Open();
  EXPECT_TRUE(ReadUntilClosed(silent, 5s));
  // Left: the fresh client's keep-alive connection, which is not stalled.
  EXPECT_TRUE(Eventually([&] { return server_->connection_count() == 1; }));
}

TEST_F(HttpServerTest, HeaderDeadlineCountsFromTheStartNotFromTheLastByte) {
  HttpServerOptions o;
  o.header_timeout = 600ms;
  Start(o);
  int fd = Open();
  // One byte every 100 ms would never finish the header; the deadline is absolute.
  auto start = Clock::now();
  bool closed = false;
  for (int i = 0; i < 60 && !closed; ++i) {
    if (!SendText(fd, "X")) closed = true;
    std::string ignored;
    if (ReadUntilClosed(fd, 100ms, &ignored)) closed = true;
  }
  EXPECT_TRUE(closed);
  EXPECT_LT(Clock::now() - start, 3s);
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionIsClosedAfterTheIdleTimeout) {
  HttpServerOptions o;
  o.idle_timeout = 500ms;
  Start(o);
  int fd = Open();
  ASSERT_TRUE(SendText(fd, Get("/one")));
  EXPECT_EQ(ReadReply(fd).code, 200);
  auto start = Clock::now();
  EXPECT_TRUE(ReadUntilClosed(fd, 5s));
  EXPECT_GE(Clock::now() - start, 300ms);
  EXPECT_TRUE(Eventually([&] { return server_->connection_count() == 0; }));
}

TEST_F(HttpServerTest, SlowBodyIsAnswered408AtTheBodyDeadline) {
  HttpServerOptions o;
  o.body_timeout = 500ms;
  o.body_timeout_per_mib = 0s;
  Start(o);
  int fd = Open();
  ASSERT_TRUE(SendText(fd, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly ten b"));
  auto start = Clock::now();
  Reply r = ReadReply(fd, 5s);
  EXPECT_EQ(r.code, 408);
  EXPECT_NE(r.body.find("\"reason\":\"Timeout\""), std::string::npos) << r.body;
  EXPECT_NE(r.head.find("Connection: close"), std::string::npos);
  EXPECT_GE(Clock::now() - start, 300ms);
  EXPECT_TRUE(ReadUntilClosed(fd, 5s));
}

TEST_F(HttpServerTest, BodyDeadlineGrowsWithTheAnnouncedSize) {
  HttpServerOptions o;
  o.body_timeout = 200ms;
  o.body_timeout_per_mib = 2s;  // a 1 MiB body: 2.2 s
  Start(o);
  int fd = Open();
  std::string body(1 << 20, 'z');
  ASSERT_TRUE(SendText(fd, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                               "\r\n\r\n" + body.substr(0, 1000)));
  std::this_thread::sleep_for(800ms);  // past the base deadline, within the allowance
  ASSERT_TRUE(SendText(fd, body.substr(1000)));
  Reply r = ReadReply(fd);
  EXPECT_EQ(r.code, 200);
  EXPECT_EQ(r.body.size(), body.size());
}

TEST_F(HttpServerTest, PerClientCapRefusesThatClientOnly) {
  HttpServerOptions o;
  o.max_connections_per_client = 3;
  Start(o);
  for (int i = 0; i < 3; ++i) ASSERT_GE(Open("127.0.0.7"), 0);
  ASSERT_TRUE(Eventually([&] { return server_->connection_count() == 3; }));
  int over = Open("127.0.0.7");
  ASSERT_GE(over, 0);
  Reply r = ReadReply(over);
  EXPECT_EQ(r.code, 429);
  EXPECT_NE(r.head.find("Retry-After: 1"), std::string::npos) << r.head;
  EXPECT_NE(r.body.find("TooManyRequests"), std::string::npos) << r.body;
  EXPECT_TRUE(ReadUntilClosed(over, 5s));
  // Another source address is not affected.
  EXPECT_EQ(FreshGet("127.0.0.1"), 200);
  EXPECT_EQ(FreshGet("127.0.0.8"), 200);
}

TEST_F(HttpServerTest, FullServerRefusesNewConnectionsAndKeepsServingAcceptedOnes) {
  HttpServerOptions o;
  o.max_connections = 4;
  o.header_timeout = 1s;
  Start(o);
  EXPECT_EQ(server_->max_connections(), 4);
  int active = Open();
  ASSERT_TRUE(SendText(active, Get("/first")));
  ASSERT_EQ(ReadReply(active).code, 200);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(SendText(Open("127.0.0." + std::to_string(10 + i)), "GET / HT"));
  ASSERT_TRUE(Eventually([&] { return server_->connection_count() == 4; }));
  auto start = Clock::now();
  EXPECT_EQ(FreshGet("127.0.0.20"), 429);
  EXPECT_LT(Clock::now() - start, 1s);
  // The accepted keep-alive client is still served while the server is full.
  ASSERT_TRUE(SendText(active, Get("/second")));
  EXPECT_EQ(ReadReply(active).body, "ok /second");
  // Once the stalled ones reach their header deadline, there is room again.
  EXPECT_TRUE(Eventually([&] { return server_->connection_count() <= 1; }));
  EXPECT_EQ(FreshGet("127.0.0.20"), 200);
}

TEST_F(HttpServerTest, StreamWhoseClientStopsReadingIsDroppedAfterTheWriteTimeout) {
  HttpServerOptions o;
  o.write_timeout = 500ms;
  Start(o);
  int fd = Open("127.0.0.1", /*rcvbuf=*/16 * 1024);
  ASSERT_TRUE(SendText(fd, Get("/stream")));
  // The client never reads: the socket buffers fill, then the server gives up on it.
  EXPECT_TRUE(Eventually([&] { return handler_.stream_ended.load(); }, 15s));
  EXPECT_LT(handler_.stream_bytes.load(), 64 << 20);  // what was buffered is bounded
  EXPECT_TRUE(Eventually([&] { return server_->connection_count() == 0; }));
}

TEST_F(HttpServerTest, EarlyRepliesAreReadByAClientStillUploading) {
  HttpServerOptions o;
  o.max_body_bytes = 1024;
  Start(o);
  int fd = Open();
  std::string body(512 * 1024, 'u');
  ASSERT_TRUE(SendText(fd, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                               "\r\n\r\n"));
  // The 413 comes at once; the upload that follows is drained, not reset.
  std::thread upload([&] { SendText(fd, body); });
  Reply r = ReadReply(fd);
  upload.join();
  EXPECT_EQ(r.code, 413);
  EXPECT_NE(r.body.find("RequestEntityTooLarge"), std::string::npos);
}

double CpuSeconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

TEST_F(HttpServerTest, OutOfFileDescriptorsPausesAcceptingInsteadOfSpinning) {
  Start({});
  // Sockets made now, connected once the process has no descriptor left for accept().
  std::vector<int> pending;
  for (int i = 0; i < 4; ++i) pending.push_back(::socket(AF_INET, SOCK_STREAM, 0));
  for (int fd : pending) fds_.push_back(fd);
  int open_now = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd"); it != std::filesystem::directory_iterator(); ++it)
    open_now++;
  rlimit saved{};
  ::getrlimit(RLIMIT_NOFILE, &saved);
  rlimit low = saved;
  low.rlim_cur = static_cast<rlim_t>(open_now);  // no room: accept() fails with EMFILE
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(static_cast<uint16_t>(server_->port()));
  ::inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  for (int fd : pending) ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote), 0);
  double cpu_before = CpuSeconds();
  std::this_thread::sleep_for(1s);  // measuring CPU use over a fixed span
  double cpu_used = CpuSeconds() - cpu_before;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  EXPECT_LT(cpu_used, 0.3) << "the accept loop spun on EMFILE";
  // With descriptors back, the waiting connections are accepted and served.
  ASSERT_TRUE(SendText(pending[0], Get("/after")));
  EXPECT_EQ(ReadReply(pending[0]).body, "ok /after");
}

// A real watch (RestApi) whose client never reads is dropped after the write timeout.
TEST(HttpServerWatchTest, WatchThatIsNeverReadIsDroppedAfterTheWriteTimeout) {
  FakeClock clock;
  LocalApiServer local(&clock);
  RestApi api(local.registry.get(), &clock, RestApiOptions{});
  HttpServerOptions o;
  o.port = 0;
  o.write_timeout = 500ms;
  HttpServer http(&api, o);
  ASSERT_TRUE(http.Start().ok());
  int fd = Connect(http.port(), "127.0.0.1", /*rcvbuf=*/16 * 1024);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendText(fd, Get("/api/v1/namespaces/default/configmaps?watch=true")));
  ASSERT_EQ(ReadHead(fd).substr(0, 12), "HTTP/1.1 200");  // the watch is registered
  // ~8 MiB of events: more than the socket buffers hold.
  std::string value(200 * 1024, 'v');
  for (int i = 0; i < 40; ++i) {
    int w = Connect(http.port());
    ASSERT_GE(w, 0);
    std::string body = R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm)" + std::to_string(i) +
                       R"("},"data":{"v":")" + value + R"("}})";
    ASSERT_TRUE(SendText(w, "POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\n"
                            "Content-Type: application/json\r\nContent-Length: " +
                                std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body));
    EXPECT_EQ(ReadReply(w).code, 201);
    ::close(w);
  }
  EXPECT_TRUE(Eventually([&] { return http.connection_count() == 0; }, 15s));
  ::close(fd);
  http.Stop();
}

}  // namespace
}  // namespace cattle::apiserver
