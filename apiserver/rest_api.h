// RestApi: Kubernetes' REST API over HTTP (the paths, verbs, query parameters, content
// types and response shapes kubectl and client-go use), mapped onto the Registry — the same
// validation, defaulting and store as the ZeroMQ face.
//
// Served: /version, /healthz, /livez, /readyz; discovery (/api, /apis, aggregated and
// legacy, /api/v1, /apis/{g}/{v}); /openapi/v3; every kind's collection and object URLs
// (GET list/watch, POST, PUT, PATCH merge/json/strategic/apply, DELETE, deletecollection);
// subresources status, scale, binding, eviction, resize, log (from the kubelet) and
// namespaces/finalize; server-side Table output; metav1.Status errors.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "apiserver/http_server.h"
#include "apiserver/kubelet_logs.h"
#include "apiserver/registry.h"
#include "cattle/clock.h"

namespace cattle::apiserver {

// Streams a pod's log to `on_chunk` (false from it: stop); returns when the log ends, the
// client is gone or `cancelled` turns true. Errors are Kubernetes' (NotFound, BadRequest).
using PodLogSource =
    std::function<Status(const Object& pod, const LogOptions& options,
                         const std::function<bool(std::string_view)>& on_chunk,
                         const std::atomic<bool>* cancelled)>;

struct RestApiOptions {
  // host:port clients reach this server at (the serverAddress in /api).
  std::string server_address = "127.0.0.1:7401";
  // Watches without timeoutSeconds end after a random time in [min, 2*min] (Kubernetes'
  // --min-request-timeout). Default: 1800 s.
  Duration min_request_timeout = std::chrono::seconds(1800);
  // Idle time after which a watch that allows bookmarks gets one. Default: 60 s.
  Duration bookmark_interval = std::chrono::seconds(60);
  // Events queued for one slow watcher before its watch ends. Default: 10000.
  size_t watch_queue_limit = 10000;
  PodLogSource logs;  // unset: the log subresource answers ServiceUnavailable (see KubeletLogClient)
};

class RestApi : public HttpHandler {
 public:
  RestApi(Registry* registry, Clock* clock, RestApiOptions options);
  void Handle(const HttpRequest& request, HttpResponder& responder) override;

 private:
  struct Call;
  void HandleResource(Call& call);
  void List(Call& call);
  void Watch(Call& call);
  void Get(Call& call);
  void Create(Call& call);
  void Update(Call& call);
  void Patch(Call& call);
  void Delete(Call& call);
  void DeleteCollection(Call& call);
  void Bind(Call& call);
  void Evict(Call& call);
  void GetScale(Call& call);
  void WriteScale(Call& call);
  void Logs(Call& call);

  Registry* registry_;
  Clock* clock_;
  RestApiOptions options_;
};

// A metav1.Status for an error, as kubectl reads it (kind, status Failure, code, reason,
// message, details with the resource, name and the causes of Invalid).
Json StatusJson(const Status& status, const KindInfo* kind, const std::string& name);

}  // namespace cattle::apiserver
