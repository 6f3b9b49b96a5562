// HttpServer: the apiserver's HTTP/1.1 face (Boost.Beast), for kubectl and other
// Kubernetes clients. It only moves bytes: every request is handed to an HttpHandler (the
// REST API in rest_api.h), which answers with one response or a chunked stream (watches,
// log follows).
//
// Threading: one I/O thread (Asio) accepts connections and reads requests without blocking:
// a connection costs no thread while it is idle or still sending its header or body. Only a
// complete request is handed to a worker thread, which calls the handler and writes the reply
// with blocking writes; a streaming handler keeps its worker until the stream ends. Workers
// are started on demand and end after a minute without work.
//
// Limits (HttpServerOptions), as a hardened server has them:
//  - a header deadline from the accept (or from the first byte of a keep-alive request);
//  - an idle deadline between keep-alive requests;
//  - a body deadline that grows with the announced body size;
//  - a write-stall deadline: a reply or stream whose client takes no bytes for that long is
//    dropped (streams are exempt from the idle deadline, not from this one);
//  - caps on open connections, in all and per source IP. A connection over a cap is answered
//    429 (with Retry-After) and closed at once; accepted connections keep being served.
// Every early reply (400, 408, 413, 429) is sent before the request was read to its end, so
// the connection is closed gently: what the client still sends is read and dropped for a
// bounded time, so that it sees the reply rather than a reset.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cattle/clock.h"
#include "cattle/status.h"

namespace cattle::apiserver {

struct HttpRequest {
  std::string method;   // "GET", "POST", ...
  std::string target;   // as sent: "/api/v1/pods?limit=500"
  std::string path;     // percent-decoded path: "/api/v1/pods"
  std::multimap<std::string, std::string> query;  // decoded query parameters
  std::map<std::string, std::string> headers;     // lower-cased names
  std::string body;
  std::string remote;   // "127.0.0.1:54321"

  // The first value of query parameter `name`, or `fallback`.
  std::string Query(const std::string& name, const std::string& fallback = "") const;
  bool HasQuery(const std::string& name) const { return query.count(name) > 0; }
  // The header `name` (lower case), or "".
  std::string Header(const std::string& name) const;
};

// How a handler answers. Either Reply once, or BeginStream then Write chunks (each one is
// sent and flushed at once) and return; the stream ends when the handler returns.
class HttpResponder {
 public:
  virtual ~HttpResponder() = default;
  virtual void Reply(int status, const std::string& content_type, std::string body,
                     const std::vector<std::pair<std::string, std::string>>& headers = {}) = 0;
  // Sends the status line and headers of a chunked response. False when the client is gone.
  virtual bool BeginStream(int status, const std::string& content_type) = 0;
  // Sends one chunk. False when the client is gone (stop streaming then).
  virtual bool Write(std::string_view chunk) = 0;
  // True once the client closed its side (checked without blocking).
  virtual bool ClientGone() = 0;
  // True once the server is stopping: streams should end.
  virtual bool ServerStopping() = 0;
};

class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  // Called on a worker thread; may block (streams) but should return promptly once
  // ClientGone() or ServerStopping() turns true.
  virtual void Handle(const HttpRequest& request, HttpResponder& responder) = 0;
};

struct HttpServerOptions {
  std::string address = "127.0.0.1";  // Default: loopback only
  int port = 7401;                     // Default: 7401; 0 picks a free port
  // Largest request body accepted; larger ones get 413 (Kubernetes: 3 MiB).
  size_t max_body_bytes = 3 * 1024 * 1024;  // Default: 3 MiB
  // Open connections, all clients together. Start() lowers it to what the process's open-file
  // limit (RLIMIT_NOFILE) leaves room for; see RaiseOpenFileLimit().
  int max_connections = 8192;  // Default: 8192
  // Open connections from one source IP address. Every local client (kubectl, the Python
  // client, curl) connects from 127.0.0.1, so this is their shared cap; it is well above what
  // a test suite or a few kubectl watches use.
  int max_connections_per_client = 1000;  // Default: 1000
  // From a connection's accept (or a keep-alive request's first byte) to the end of the
  // request header; a connection still short of it is closed (Go's ReadHeaderTimeout).
  Duration header_timeout = std::chrono::seconds(10);  // Default: 10 s
  // How long a keep-alive connection may wait for its next request (Go's and kube-apiserver's
  // IdleTimeout: 90 s).
  Duration idle_timeout = std::chrono::seconds(90);  // Default: 90 s
  // Deadline for reading a request body, from the end of its header: body_timeout plus
  // body_timeout_per_mib for each MiB announced (the body limit for chunked bodies). A late
  // body is answered 408.
  Duration body_timeout = std::chrono::seconds(10);          // Default: 10 s
  Duration body_timeout_per_mib = std::chrono::seconds(10);  // Default: 10 s per MiB
  // A reply or stream chunk whose client takes no byte for this long is abandoned and the
  // connection closed: a watch that is never read holds at most the socket buffers.
  Duration write_timeout = std::chrono::seconds(60);  // Default: 60 s
};

// Raises the process's soft open-file limit (RLIMIT_NOFILE) to its hard limit, so that
// thousands of connections fit; returns the soft limit in force afterwards.
int64_t RaiseOpenFileLimit();

class HttpServer {
 public:
  HttpServer(HttpHandler* handler, HttpServerOptions options);
  ~HttpServer();

  // Binds and starts accepting; error when the address is taken or invalid.
  Status Start();
  // Stops accepting, ends every connection (streams see ServerStopping) and joins their
  // threads. Idempotent.
  void Stop();
  // The bound port (the real one when options.port was 0).
  int port() const;
  // Connections open now (accepted and not yet closed; refused ones not counted).
  int64_t connection_count() const;
  // The connection cap in force after Start() (options.max_connections, maybe lowered).
  int max_connections() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Percent-decoding of URL paths and query components ("+" is a space in queries).
std::string UrlDecode(std::string_view s, bool plus_is_space);
// Splits "a=1&b=x%20y" into decoded pairs.
std::multimap<std::string, std::string> ParseQuery(std::string_view query);

}  // namespace cattle::apiserver
