// HttpServer: the apiserver's HTTP/1.1 face (Boost.Beast), for kubectl and other
// Kubernetes clients. It only moves bytes: every request is handed to an HttpHandler (the
// REST API in rest_api.h), which answers with one response or a chunked stream (watches,
// log follows).
//
// Threading: one thread accepts; every connection gets its own thread that reads requests,
// calls the handler and writes replies (keep-alive). A streaming handler keeps its
// connection's thread until the stream ends. At most `max_connections` connections are
// served at once; further ones are answered 429 and closed.
#pragma once

#include <atomic>
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
  // Called on a connection's thread; may block (streams) but should return promptly once
  // ClientGone() or ServerStopping() turns true.
  virtual void Handle(const HttpRequest& request, HttpResponder& responder) = 0;
};

struct HttpServerOptions {
  std::string address = "127.0.0.1";  // Default: loopback only
  int port = 7401;                     // Default: 7401; 0 picks a free port
  // Largest request body accepted; larger ones get 413 (Kubernetes: 3 MiB).
  size_t max_body_bytes = 3 * 1024 * 1024;  // Default: 3 MiB
  int max_connections = 1024;               // Default: 1024
};

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
  int64_t connection_count() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Percent-decoding of URL paths and query components ("+" is a space in queries).
std::string UrlDecode(std::string_view s, bool plus_is_space);
// Splits "a=1&b=x%20y" into decoded pairs.
std::multimap<std::string, std::string> ParseQuery(std::string_view query);

}  // namespace cattle::apiserver
