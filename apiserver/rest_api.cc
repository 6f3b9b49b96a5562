#include "apiserver/rest_api.h"

#include <condition_variable>
#include <deque>
#include <future>
#include <random>

#include "apiserver/discovery.h"
#include "apiserver/protobuf_body.h"
#include "apiserver/strategy.h"
#include "cattle/codec.h"
#include "cattle/json_patch.h"
#include "cattle/strategic_merge.h"
#include "cattle/log.h"
#include "cattle/printers.h"
#include "cattle/selector.h"
#include "cattle/utf8.h"

namespace cattle::apiserver {

namespace {

constexpr const char* kJson = "application/json";

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

Result<WriteReply> Await(const std::function<void(WriteDone)>& op) {
  auto promise = std::make_shared<std::promise<Result<WriteReply>>>();
  auto future = promise->get_future();
  op([promise](Result<WriteReply> r) { promise->set_value(std::move(r)); });
  return future.get();
}

bool ParseBool(const std::string& v) { return v == "true" || v == "1" || v == "True"; }

std::optional<int64_t> ParseInt(const std::string& v) {
  if (v.empty()) return std::nullopt;
  try {
    size_t pos = 0;
    long long n = std::stoll(v, &pos);
    if (pos != v.size()) return std::nullopt;
    return n;
  } catch (...) {
    return std::nullopt;
  }
}

std::string ListKind(const KindInfo& kind) { return kind.kind + "List"; }

Json PartialMetadata(const Json& obj) {
  return Json{{"kind", "PartialObjectMetadata"},
              {"apiVersion", "meta.k8s.io/v1"},
              {"metadata", obj.contains("metadata") ? obj["metadata"] : Json::object()}};
}

}  // namespace

Json StatusJson(const Status& status, const KindInfo* kind, const std::string& name) {
  Json out = {{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", Json::object()},
              {"status", "Failure"}, {"message", status.message()},
              {"reason", ReasonName(status.reason())}, {"code", ReasonHttpCode(status.reason())}};
  Json details = Json::object();
  if (!name.empty()) details["name"] = name;
  if (kind != nullptr) {
    if (!kind->group.empty()) details["group"] = kind->group;
    details["kind"] = status.Is(Reason::kInvalid) ? kind->kind : kind->plural;
  }
  if (!status.causes().empty()) {
    Json causes = Json::array();
    for (const auto& c : status.causes()) {
      Json cause = {{"reason", c.type.empty() ? "FieldValueInvalid" : c.type}, {"message", c.message}};
      if (!c.field.empty()) cause["field"] = c.field;
      causes.push_back(std::move(cause));
    }
    details["causes"] = std::move(causes);
  }
  if (status.retry_after_seconds() > 0) details["retryAfterSeconds"] = status.retry_after_seconds();
  if (!details.empty()) out["details"] = std::move(details);
  return out;
}

// One request on its way through the REST layer.
struct RestApi::Call {
  const HttpRequest& http;
  HttpResponder& out;
  ApiRequest req;
  std::string group, version;
  bool table = false;          // Accept asks for a meta.k8s.io Table
  std::string include_object;  // Table rows: None | Metadata | Object

  void ReplyJson(int code, const Json& body,
                 const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    out.Reply(code, kJson, DumpJson(body) + "\n", headers);
  }
  void ReplyError(const Status& s, const std::string& name = "") {
    std::vector<std::pair<std::string, std::string>> headers;
    if (s.retry_after_seconds() > 0) headers.emplace_back("Retry-After", std::to_string(s.retry_after_seconds()));
    ReplyJson(ReasonHttpCode(s.reason()), StatusJson(s, req.kind, name.empty() ? req.name : name), headers);
  }
  void ReplyWrite(const Result<WriteReply>& r, int ok_code, const std::string& name = "") {
    if (!r.ok()) return ReplyError(r.status(), name);
    std::vector<std::pair<std::string, std::string>> headers;
    for (const auto& w : r->warnings) {
      std::string quoted;
      for (char c : w) {
        if (c == '"' || c == '\\') quoted += '\\';
        quoted += c;
      }
      headers.emplace_back("Warning", "299 - \"" + quoted + "\"");
    }
    ReplyJson(r->created ? 201 : ok_code, r->object.ToJson(), headers);
  }
};

RestApi::RestApi(Registry* registry, Clock* clock, RestApiOptions options)
    : registry_(registry), clock_(clock), options_(std::move(options)) {}

void RestApi::Handle(const HttpRequest& http, HttpResponder& out) {
  Call call{http, out, {}, "", "", false, "Metadata"};
  const std::string& path = http.path;
  const KindRegistry& kinds = registry_->kinds();
  auto not_found = [&] {
    call.ReplyJson(404, StatusJson(Status::NotFound("the server could not find the requested resource"), nullptr, ""));
  };
  if (path == "/version" || path == "/version/") return call.ReplyJson(200, VersionInfo());
  if (path == "/healthz" || path == "/livez" || path == "/readyz" || path.rfind("/healthz/", 0) == 0 ||
      path.rfind("/livez/", 0) == 0 || path.rfind("/readyz/", 0) == 0) {
    if (http.HasQuery("verbose")) {
      return out.Reply(200, "text/plain; charset=utf-8",
                       "[+]ping ok\n[+]etcd ok\n" + std::string(path.substr(1, path.find('/', 1) - 1)) + " check passed\n");
    }
    return out.Reply(200, "text/plain; charset=utf-8", "ok");
  }
  std::string accept = http.Header("accept");
  bool aggregated = AcceptsAggregatedDiscovery(accept);
  if (path == "/api" || path == "/api/") {
    if (aggregated) return out.Reply(200, kAggregatedDiscoveryContentType, AggregatedDiscovery(kinds, true).dump());
    return call.ReplyJson(200, ApiVersions(options_.server_address));
  }
  if (path == "/apis" || path == "/apis/") {
    if (aggregated) return out.Reply(200, kAggregatedDiscoveryContentType, AggregatedDiscovery(kinds, false).dump());
    return call.ReplyJson(200, ApiGroupList(kinds));
  }
  if (path == "/openapi/v3" || path == "/openapi/v3/") return call.ReplyJson(200, OpenApiIndex(kinds));
  if (path.rfind("/openapi/v3/", 0) == 0) {
    auto doc = OpenApiDocument(kinds, path.substr(std::string("/openapi/v3/").size()));
    if (!doc.ok()) return call.ReplyError(doc.status());
    return call.ReplyJson(200, *doc);
  }

  auto segs = SplitPath(path);
  size_t rest = 0;
  if (segs.size() >= 2 && segs[0] == "api") {
    call.version = segs[1];
    rest = 2;
  } else if (segs.size() >= 2 && segs[0] == "apis") {
    call.group = segs[1];
    if (segs.size() == 2) {
      auto g = ApiGroup(kinds, call.group);
      if (!g.ok()) return not_found();
      return call.ReplyJson(200, *g);
    }
    call.version = segs[2];
    rest = 3;
  } else {
    return not_found();
  }
  if (segs.size() == rest) {
    auto list = ApiResourceList(kinds, call.group, call.version);
    if (!list.ok()) return not_found();
    return call.ReplyJson(200, *list);
  }
  // [namespaces/{ns}/]{resource}[/{name}[/{subresource}]]
  std::vector<std::string> r(segs.begin() + static_cast<long>(rest), segs.end());
  if (r.size() >= 3 && r[0] == "namespaces") {
    const KindInfo* k = kinds.ByGroupResource(call.group, r[2]);
    if (k != nullptr && k->namespaced) {
      call.req.namespace_ = r[1];
      r.erase(r.begin(), r.begin() + 2);
    }
  }
  const KindInfo* kind = kinds.ByGroupResource(call.group, r[0]);
  if (kind == nullptr || kind->version != call.version || r.size() > 3) return not_found();
  call.req.kind = kind;
  if (r.size() >= 2) call.req.name = r[1];
  if (r.size() == 3) call.req.subresource = r[2];
  if (!kind->namespaced && !call.req.namespace_.empty()) return not_found();
  HandleResource(call);
}

void RestApi::HandleResource(Call& call) {
  const HttpRequest& http = call.http;
  ApiRequest& req = call.req;
  std::string accept = http.Header("accept");
  call.table = accept.find("as=Table") != std::string::npos;
  call.include_object = http.Query("includeObject", "Metadata");
  req.label_selector = http.Query("labelSelector");
  req.field_selector = http.Query("fieldSelector");
  req.resource_version = http.Query("resourceVersion");
  req.resource_version_match = http.Query("resourceVersionMatch");
  if (auto limit = ParseInt(http.Query("limit")); limit) req.limit = *limit;
  else if (http.HasQuery("limit") && !http.Query("limit").empty())
    return call.ReplyError(Status::BadRequest("limit: invalid value " + http.Query("limit")));
  req.continue_token = http.Query("continue");
  std::string fv = http.Query("fieldValidation", "Warn");
  if (fv == "Strict") req.field_validation = FieldValidation::kStrict;
  else if (fv == "Warn" || fv.empty()) req.field_validation = FieldValidation::kWarn;
  else if (fv == "Ignore") req.field_validation = FieldValidation::kIgnore;
  else
    return call.ReplyError(Status::BadRequest("fieldValidation: invalid value \"" + fv +
                                              "\": must be one of Ignore, Warn or Strict"));
  req.field_manager = http.Query("fieldManager");
  req.dry_run = http.HasQuery("dryRun");
  req.allow_bookmarks = ParseBool(http.Query("allowWatchBookmarks"));

  const std::string& method = http.method;
  const std::string& sub = req.subresource;
  const KindInfo& kind = *req.kind;
  auto not_allowed = [&] {
    call.ReplyError(Status(Reason::kMethodNotAllowed, "the server does not allow this method on the requested resource"));
  };
  auto sub_not_found = [&] {
    call.ReplyError(Status::NotFound("the server could not find the requested resource"));
  };
  bool is_pod = kind.kind == "Pod";
  bool scalable = kind.HasSubresource("scale") || kind.kind == "Deployment" || kind.kind == "ReplicaSet" ||
                  kind.kind == "StatefulSet";
  if (!sub.empty()) {
    bool known = sub == "status" ? kind.HasSubresource("status")
                 : sub == "scale" ? scalable
                 : (sub == "binding" || sub == "eviction" || sub == "log" || sub == "resize") ? is_pod
                 : sub == "finalize" ? kind.kind == "Namespace"
                                     : false;
    if (!known) return sub_not_found();
  }
  if (kind.namespaced && req.namespace_.empty() && !req.name.empty()) return sub_not_found();

  if (method == "GET") {
    if (req.name.empty()) {
      if (ParseBool(http.Query("watch"))) return Watch(call);
      return List(call);
    }
    if (ParseBool(http.Query("watch"))) {
      // Old-style watch of one object: /watch is gone, but ?watch on an object URL is not
      // served by Kubernetes either.
      return not_allowed();
    }
    if (sub == "scale") return GetScale(call);
    if (sub == "log") return Logs(call);
    if (sub == "binding" || sub == "eviction" || sub == "finalize") return not_allowed();
    return Get(call);
  }
  if (method == "POST") {
    if (req.name.empty()) {
      if (kind.namespaced && req.namespace_.empty()) return sub_not_found();
      return Create(call);
    }
    if (sub == "binding") return Bind(call);
    if (sub == "eviction") return Evict(call);
    return not_allowed();
  }
  if (method == "PUT") {
    if (req.name.empty()) return not_allowed();
    if (sub == "scale") return WriteScale(call);
    if (sub == "" || sub == "status" || sub == "finalize" || sub == "resize") return Update(call);
    return not_allowed();
  }
  if (method == "PATCH") {
    if (req.name.empty()) return not_allowed();
    if (sub == "scale") return WriteScale(call);
    if (sub == "" || sub == "status" || sub == "resize") return Patch(call);
    return not_allowed();
  }
  if (method == "DELETE") {
    if (!sub.empty()) return not_allowed();
    if (req.name.empty()) return DeleteCollection(call);
    return Delete(call);
  }
  not_allowed();
}

// --- reads ----------------------------------------------------------------------------

void RestApi::Get(Call& call) {
  ApiRequest req = call.req;
  req.subresource.clear();
  auto obj = registry_->Get(req);
  if (!obj.ok()) return call.ReplyError(obj.status());
  if (call.table) {
    Table t = MakeTable(*req.kind, {&*obj}, clock_->WallNanos());
    Json cols = Json::array();
    for (const auto& c : t.columns) cols.push_back(ColumnDefinitionJson(c));
    Json json = obj->ToJson();
    Json row = {{"cells", t.rows[0].cells}};
    if (call.include_object == "Object") row["object"] = json;
    else if (call.include_object != "None") row["object"] = PartialMetadata(json);
    return call.ReplyJson(200, {{"kind", "Table"}, {"apiVersion", "meta.k8s.io/v1"},
                                {"metadata", {{"resourceVersion", std::to_string(obj->resource_version())}}},
                                {"columnDefinitions", cols}, {"rows", Json::array({row})}});
  }
  call.ReplyJson(200, obj->ToJson());
}

void RestApi::List(Call& call) {
  auto list = registry_->List(call.req);
  if (!list.ok()) return call.ReplyError(list.status());
  const KindInfo& kind = *call.req.kind;
  Json meta = {{"resourceVersion", std::to_string(list->revision)}};
  if (!list->continue_token.empty()) {
    meta["continue"] = list->continue_token;
    if (list->remaining > 0) meta["remainingItemCount"] = list->remaining;
  }
  std::vector<Object> objects;
  objects.reserve(list->items.size());
  for (const auto& item : list->items) {
    auto obj = Object::FromBytes(&kind, item.bytes, item.revision);
    if (!obj.ok()) return call.ReplyError(obj.status());
    objects.push_back(std::move(*obj));
  }
  if (call.table) {
    std::vector<const Object*> ptrs;
    for (const auto& o : objects) ptrs.push_back(&o);
    Table t = MakeTable(kind, ptrs, clock_->WallNanos());
    Json cols = Json::array();
    for (const auto& c : t.columns) cols.push_back(ColumnDefinitionJson(c));
    Json rows = Json::array();
    for (size_t i = 0; i < objects.size(); ++i) {
      Json row = {{"cells", t.rows[i].cells}};
      if (call.include_object == "Object") row["object"] = objects[i].ToJson();
      else if (call.include_object != "None") row["object"] = PartialMetadata(objects[i].ToJson());
      rows.push_back(std::move(row));
    }
    return call.ReplyJson(200, {{"kind", "Table"}, {"apiVersion", "meta.k8s.io/v1"}, {"metadata", meta},
                                {"columnDefinitions", cols}, {"rows", rows}});
  }
  Json items = Json::array();
  for (const auto& o : objects) items.push_back(o.ToJson());
  call.ReplyJson(200, {{"kind", ListKind(kind)}, {"apiVersion", kind.ApiVersion()}, {"metadata", meta},
                       {"items", std::move(items)}});
}

void RestApi::Watch(Call& call) {
  const KindInfo& kind = *call.req.kind;
  struct Queue {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<WatchEvent> events;
    bool overflow = false;
  };
  auto queue = std::make_shared<Queue>();
  size_t limit = options_.watch_queue_limit;
  auto sink = [queue, limit](const WatchEvent& ev) {
    std::lock_guard<std::mutex> lock(queue->mu);
    if (queue->overflow) return;
    if (queue->events.size() >= limit) {
      queue->overflow = true;
    } else {
      queue->events.push_back(ev);
    }
    queue->cv.notify_one();
  };
  int64_t last_revision = 0;
  auto handle = registry_->Watch(call.req, sink, &last_revision);
  if (!handle.ok() && !handle.status().Is(Reason::kExpired)) return call.ReplyError(handle.status());

  // Table watches send the column definitions with the first row only.
  bool columns_sent = false;
  auto encode = [&](const std::string& type, Json object) {
    return DumpJson(Json{{"type", type}, {"object", std::move(object)}}) + "\n";
  };
  auto encode_item = [&](const WatchEvent& ev) -> std::string {
    auto obj = Object::FromBytes(&kind, ev.item.bytes, ev.item.revision);
    if (!obj.ok()) return encode("ERROR", StatusJson(obj.status(), &kind, ""));
    Json json = obj->ToJson();
    if (!call.table) return encode(ev.type, std::move(json));
    Table t = MakeTable(kind, {&*obj}, clock_->WallNanos());
    Json cols = Json::array();
    if (!columns_sent)
      for (const auto& c : t.columns) cols.push_back(ColumnDefinitionJson(c));
    columns_sent = true;
    Json row = {{"cells", t.rows[0].cells}};
    if (call.include_object == "Object") row["object"] = json;
    else if (call.include_object != "None") row["object"] = PartialMetadata(json);
    return encode(ev.type, {{"kind", "Table"}, {"apiVersion", "meta.k8s.io/v1"},
                            {"metadata", {{"resourceVersion", std::to_string(ev.item.revision)}}},
                            {"columnDefinitions", cols}, {"rows", Json::array({row})}});
  };
  auto bookmark = [&] {
    return encode("BOOKMARK", {{"kind", kind.kind}, {"apiVersion", kind.ApiVersion()},
                               {"metadata", {{"resourceVersion", std::to_string(last_revision)}}}});
  };

  if (!call.out.BeginStream(200, kJson)) return;
  if (!handle.ok()) {  // Expired: the client relists
    call.out.Write(encode("ERROR", StatusJson(handle.status(), &kind, "")));
    return;
  }
  Duration timeout;
  if (auto t = ParseInt(call.http.Query("timeoutSeconds")); t && *t > 0) {
    timeout = std::chrono::seconds(*t);
  } else {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    auto min = std::chrono::duration_cast<std::chrono::milliseconds>(options_.min_request_timeout).count();
    timeout = std::chrono::milliseconds(min + static_cast<int64_t>(rng() % static_cast<uint64_t>(min + 1)));
  }
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + timeout;
  auto last_sent = start;
  std::deque<WatchEvent> batch;
  for (;;) {
    bool overflow;
    {
      std::unique_lock<std::mutex> lock(queue->mu);
      queue->cv.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(500)),
                           [&] { return !queue->events.empty() || queue->overflow; });
      batch.swap(queue->events);
      overflow = queue->overflow;
    }
    for (const auto& ev : batch) {
      std::string line;
      if (ev.type == "ERROR") {
        line = encode("ERROR", StatusJson(ev.error, &kind, ""));
      } else {
        try {
          line = encode_item(ev);
        } catch (const std::exception& e) {  // one event's failure; the stream goes on
          CATTLE_LOG(ERROR) << "watch event not encoded" << kv("resource", kind.plural) << kv("what", SanitizeUtf8(e.what()));
          line = encode("ERROR", StatusJson(Status::Internal("cannot encode the object"), &kind, ""));
        } catch (const kj::Exception& e) {
          CATTLE_LOG(ERROR) << "watch event not encoded" << kv("resource", kind.plural)
                            << kv("what", SanitizeUtf8(e.getDescription().cStr()));
          line = encode("ERROR", StatusJson(Status::Internal("cannot encode the object"), &kind, ""));
        }
        last_revision = std::max(last_revision, ev.item.revision);
      }
      if (!call.out.Write(line)) return;
      last_sent = std::chrono::steady_clock::now();
      if (ev.type == "ERROR") return;
    }
    batch.clear();
    if (overflow) {
      CATTLE_LOG(WARN) << "http watch too slow; ending it" << kv("resource", kind.plural) << kv("remote", call.http.remote);
      return;
    }
    auto now = std::chrono::steady_clock::now();
    if (call.out.ClientGone() || call.out.ServerStopping()) return;
    if (now >= deadline) {
      if (call.req.allow_bookmarks) call.out.Write(bookmark());
      return;
    }
    if (call.req.allow_bookmarks && now - last_sent >= options_.bookmark_interval) {
      if (!call.out.Write(bookmark())) return;
      last_sent = now;
    }
  }
}

// --- writes ---------------------------------------------------------------------------

namespace {

// The request body as JSON (JSON, YAML or Kubernetes protobuf by Content-Type).
Result<Json> BodyJson(const HttpRequest& http) {
  std::string type = Lower(http.Header("content-type"));
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  if (type == "application/vnd.kubernetes.protobuf") {  // client-go's typed clients
    if (http.body.empty()) return Status::BadRequest("the request body is empty");
    return DecodeKubernetesProtobuf(http.body);
  }
  if (type.find("protobuf") != std::string::npos || type.find("cbor") != std::string::npos)
    return Status(Reason::kUnsupportedMediaType, "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml");
  if (http.body.empty()) return Status::BadRequest("the request body is empty");
  if (type == "application/yaml" || type == "application/apply-patch+yaml") {
    auto docs = ParseYamlDocuments(http.body);
    if (!docs.ok()) return docs.status();
    if (docs->size() != 1) return Status::BadRequest("the request body must hold exactly one object");
    return std::move((*docs)[0]);
  }
  if (!type.empty() && type != "application/json" && type.find("json") == std::string::npos)
    return Status(Reason::kUnsupportedMediaType, "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml");
  return ParseJsonText(http.body);
}

// A POST or PUT body decoded into the request's kind, with the fieldValidation=Warn
// warnings the decoding gave.
struct DecodedBody {
  Json json;
  Object obj;
  std::vector<std::string> warnings;
};

// `name`, when given, is set to the body's metadata.name as soon as the body parses (for the
// error reply when decoding fails).
Result<DecodedBody> DecodeBody(const KindRegistry& kinds, const HttpRequest& http, const ApiRequest& req,
                               std::string* name = nullptr) {
  auto body = BodyJson(http);
  if (!body.ok()) return body.status();
  if (name != nullptr && body->is_object()) {
    auto meta = body->find("metadata");
    if (meta != body->end() && meta->is_object()) {
      auto n = meta->find("name");
      if (n != meta->end() && n->is_string()) *name = SanitizeUtf8(n->get<std::string>());
    }
  }
  DecodedBody out{std::move(*body), Object(req.kind), {}};
  DecodeOptions opts;
  opts.unknown_fields = req.field_validation;
  opts.warnings = &out.warnings;
  auto obj = Object::FromJson(kinds, out.json, opts, req.kind);
  if (!obj.ok()) return obj.status();
  out.obj = std::move(*obj);
  return out;
}

}  // namespace

void RestApi::Create(Call& call) {
  std::string body_name;
  auto body = DecodeBody(registry_->kinds(), call.http, call.req, &body_name);
  if (!body.ok()) return call.ReplyError(body.status(), body_name);  // named when the body gave one
  std::string name = body->obj.name();
  auto r = Await([&](WriteDone done) { registry_->Create(call.req, std::move(body->obj), done); });
  if (r.ok()) {
    r->created = true;
    r->warnings.insert(r->warnings.begin(), body->warnings.begin(), body->warnings.end());
  }
  call.ReplyWrite(r, 201, name);
}

void RestApi::Update(Call& call) {
  auto body = DecodeBody(registry_->kinds(), call.http, call.req);
  if (!body.ok()) return call.ReplyError(body.status());
  auto r = Await([&](WriteDone done) { registry_->Update(call.req, std::move(body->obj), done); });
  if (r.ok()) r->warnings.insert(r->warnings.begin(), body->warnings.begin(), body->warnings.end());
  call.ReplyWrite(r, 200);
}

namespace {

// The registry's patch type for a PATCH's Content-Type ("merge", "json", "strategic",
// "apply"), or Kubernetes' 415 error.
Result<std::string> PatchTypeOf(const HttpRequest& http) {
  std::string type = Lower(http.Header("content-type"));
  type = type.substr(0, type.find(';'));
  if (type == "application/merge-patch+json") return std::string("merge");
  if (type == "application/json-patch+json") return std::string("json");
  if (type == "application/strategic-merge-patch+json") return std::string("strategic");
  if (type == "application/apply-patch+yaml") return std::string("apply");
  return Status(Reason::kUnsupportedMediaType,
                "the body of the request was in an unknown format - accepted media types include: "
                "application/json-patch+json, application/merge-patch+json, "
                "application/apply-patch+yaml, application/strategic-merge-patch+json");
}

}  // namespace

void RestApi::Patch(Call& call) {
  auto type = PatchTypeOf(call.http);
  if (!type.ok()) return call.ReplyError(type.status());
  const std::string& patch_type = *type;
  if (call.http.body.empty()) return call.ReplyError(Status::BadRequest("the patch is empty"));
  auto r = Await([&](WriteDone done) { registry_->Patch(call.req, patch_type, call.http.body, done); });
  call.ReplyWrite(r, 200);
}

namespace {

// DeleteOptions from the body (optional) and the query.
Status ReadDeleteOptions(const HttpRequest& http, ApiRequest& req) {
  if (!http.body.empty()) {
    auto body = ParseJsonText(http.body);
    if (!body.ok()) return body.status();
    if (!body->is_object()) return Status::BadRequest("DeleteOptions must be a JSON object");
    const Json& b = *body;
    if (b.contains("gracePeriodSeconds") && b["gracePeriodSeconds"].is_number_integer())
      req.grace_period_seconds = b["gracePeriodSeconds"].get<int64_t>();
    if (b.contains("propagationPolicy") && b["propagationPolicy"].is_string())
      req.propagation_policy = b["propagationPolicy"].get<std::string>();
    if (b.contains("orphanDependents") && b["orphanDependents"].is_boolean() && req.propagation_policy.empty())
      req.propagation_policy = b["orphanDependents"].get<bool>() ? "Orphan" : "Background";
    if (b.contains("preconditions") && b["preconditions"].is_object()) {
      const Json& p = b["preconditions"];
      if (p.contains("uid") && p["uid"].is_string()) req.precondition_uid = p["uid"].get<std::string>();
      if (p.contains("resourceVersion") && p["resourceVersion"].is_string())
        req.precondition_resource_version = p["resourceVersion"].get<std::string>();
    }
    if (b.contains("dryRun") && b["dryRun"].is_array() && !b["dryRun"].empty()) req.dry_run = true;
  }
  if (auto g = ParseInt(http.Query("gracePeriodSeconds")); g) req.grace_period_seconds = *g;
  if (http.HasQuery("propagationPolicy")) req.propagation_policy = http.Query("propagationPolicy");
  if (http.HasQuery("orphanDependents") && req.propagation_policy.empty())
    req.propagation_policy = ParseBool(http.Query("orphanDependents")) ? "Orphan" : "Background";
  const std::string& p = req.propagation_policy;
  if (!p.empty() && p != "Orphan" && p != "Background" && p != "Foreground")
    return Status::Invalid("propagationPolicy: Unsupported value: \"" + p + "\": supported values: \"Foreground\", \"Background\", \"Orphan\"",
                           {{"FieldValueNotSupported", "Unsupported value: \"" + p + "\"", "propagationPolicy"}});
  return Status::Ok();
}

}  // namespace

void RestApi::Delete(Call& call) {
  if (Status s = ReadDeleteOptions(call.http, call.req); !s.ok()) return call.ReplyError(s);
  auto r = Await([&](WriteDone done) { registry_->Delete(call.req, done); });
  call.ReplyWrite(r, 200);
}

void RestApi::DeleteCollection(Call& call) {
  if (Status s = ReadDeleteOptions(call.http, call.req); !s.ok()) return call.ReplyError(s);
  ApiRequest list_req = call.req;
  list_req.limit = 0;
  list_req.continue_token.clear();
  auto list = registry_->List(list_req);
  if (!list.ok()) return call.ReplyError(list.status());
  const KindInfo& kind = *call.req.kind;
  Json items = Json::array();
  for (const auto& item : list->items) {
    auto obj = Object::FromBytes(&kind, item.bytes, item.revision);
    if (!obj.ok()) continue;
    ApiRequest del = call.req;
    del.namespace_ = obj->namespace_();
    del.name = obj->name();
    del.precondition_uid = obj->uid();
    auto r = Await([&](WriteDone done) { registry_->Delete(del, done); });
    if (r.ok()) items.push_back(r->object.ToJson());
    else if (!r.status().Is(Reason::kNotFound) && !r.status().Is(Reason::kConflict))
      return call.ReplyError(r.status(), del.name);
  }
  call.ReplyJson(200, {{"kind", ListKind(kind)}, {"apiVersion", kind.ApiVersion()},
                       {"metadata", {{"resourceVersion", std::to_string(registry_->store()->CurrentRevision())}}},
                       {"items", std::move(items)}});
}

void RestApi::Bind(Call& call) {
  auto body = BodyJson(call.http);
  if (!body.ok()) return call.ReplyError(body.status());
  const KindInfo* binding_kind = registry_->kinds().BodyKind("Binding");
  auto binding = Object::FromJson(registry_->kinds(), *body, {}, binding_kind);
  if (!binding.ok()) return call.ReplyError(binding.status());
  auto r = Await([&](WriteDone done) { registry_->Bind(call.req, std::move(*binding), done); });
  if (!r.ok()) return call.ReplyError(r.status());
  call.ReplyJson(201, {{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", Json::object()},
                       {"status", "Success"}, {"code", 201}});
}

// --- eviction -------------------------------------------------------------------------

void RestApi::Evict(Call& call) {
  auto body = BodyJson(call.http);
  if (!body.ok()) return call.ReplyError(body.status());
  const KindInfo* eviction_kind = registry_->kinds().BodyKind("Eviction");
  auto eviction = Object::FromJson(registry_->kinds(), *body, {}, eviction_kind);
  if (!eviction.ok()) return call.ReplyError(eviction.status());
  if (!eviction->name().empty() && eviction->name() != call.req.name)
    return call.ReplyError(Status::BadRequest("name in URL does not match name in Eviction object"));

  ApiRequest pod_req = call.req;
  pod_req.subresource.clear();
  auto pod = registry_->Get(pod_req);
  if (!pod.ok()) return call.ReplyError(pod.status());
  Json pod_json = pod->ToJson();
  std::string phase = pod_json["status"].value("phase", "");
  bool terminal = phase == "Succeeded" || phase == "Failed";
  bool terminating = pod->meta().hasDeletionTimestamp();

  // The pod's disruption budget (at most one) must allow one more disruption.
  const KindInfo* pdb_kind = registry_->kinds().ByGroupResource("policy", "poddisruptionbudgets");
  if (!terminal && !terminating && pdb_kind != nullptr) {
    ApiRequest list_req;
    list_req.kind = pdb_kind;
    list_req.namespace_ = call.req.namespace_;
    auto pdbs = registry_->List(list_req);
    if (!pdbs.ok()) return call.ReplyError(pdbs.status());
    std::map<std::string, std::string> labels;
    if (pod_json["metadata"].contains("labels")) labels = pod_json["metadata"]["labels"].get<std::map<std::string, std::string>>();
    std::vector<Object> matching;
    for (const auto& item : pdbs->items) {
      auto pdb = Object::FromBytes(pdb_kind, item.bytes, item.revision);
      if (!pdb.ok()) continue;
      Json pj = pdb->ToJson();
      if (!pj.contains("spec") || !pj["spec"].contains("selector")) continue;
      auto sel = LabelSelectorFromJson(pj["spec"]["selector"]);
      if (!sel.ok() || !sel->Matches(labels)) continue;
      matching.push_back(std::move(*pdb));
    }
    if (matching.size() > 1)
      return call.ReplyError(Status::Internal("This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."));
    if (matching.size() == 1) {
      std::string pdb_name = matching[0].name();
      ApiRequest pdb_req;
      pdb_req.kind = pdb_kind;
      pdb_req.namespace_ = call.req.namespace_;
      pdb_req.name = pdb_name;
      std::string pod_name = call.req.name;
      int64_t now = clock_->WallNanos();
      auto r = Await([&](WriteDone done) {
        registry_->GuaranteedUpdate(
            pdb_req,
            [&](Object& current) -> Status {
              Json j = current.ToJson();
              Json& st = j["status"];
              int64_t allowed = st.value("disruptionsAllowed", int64_t{0});
              if (allowed <= 0) {
                Status s(Reason::kTooManyRequests, "Cannot evict pod as it would violate the pod's disruption budget.");
                s.mutable_causes().push_back(
                    {"DisruptionBudget",
                     "The disruption budget " + pdb_name + " needs " +
                         std::to_string(st.value("desiredHealthy", int64_t{0})) + " healthy pods and has " +
                         std::to_string(st.value("currentHealthy", int64_t{0})) + " currently",
                     ""});
                return s;
              }
              st["disruptionsAllowed"] = allowed - 1;
              st["disruptedPods"][pod_name] = FormatRfc3339(now);
              auto obj = Object::FromJson(registry_->kinds(), j, {}, pdb_kind);
              if (!obj.ok()) return obj.status();
              current = std::move(*obj);
              return Status::Ok();
            },
            /*status_subresource=*/true, done);
      });
      if (!r.ok()) {
        if (r.status().Is(Reason::kTooManyRequests)) {
          Json s = StatusJson(r.status(), nullptr, "");
          s["details"] = {{"causes", {{{"reason", "DisruptionBudget"}, {"message", r.status().causes()[0].message}}}}};
          return call.ReplyJson(429, s);
        }
        return call.ReplyError(r.status());
      }
    }
  }

  ApiRequest del = pod_req;
  Json opts = (*body).value("deleteOptions", Json::object());
  if (opts.is_object()) {
    if (opts.contains("gracePeriodSeconds") && opts["gracePeriodSeconds"].is_number_integer())
      del.grace_period_seconds = opts["gracePeriodSeconds"].get<int64_t>();
    if (opts.contains("preconditions") && opts["preconditions"].is_object()) {
      del.precondition_uid = opts["preconditions"].value("uid", "");
      del.precondition_resource_version = opts["preconditions"].value("resourceVersion", "");
    }
    if (opts.contains("dryRun") && opts["dryRun"].is_array() && !opts["dryRun"].empty()) del.dry_run = true;
  }
  auto r = Await([&](WriteDone done) { registry_->Delete(del, done); });
  if (!r.ok() && !r.status().Is(Reason::kNotFound)) return call.ReplyError(r.status());
  call.ReplyJson(201, {{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", Json::object()},
                       {"status", "Success"}, {"code", 201}});
}

// --- scale ----------------------------------------------------------------------------

namespace {

Json ScaleOf(const Object& obj) {
  Json j = obj.ToJson();
  Json meta = j["metadata"];
  Json m = Json::object();
  for (const char* f : {"name", "namespace", "uid", "resourceVersion", "creationTimestamp"})
    if (meta.contains(f)) m[f] = meta[f];
  int64_t replicas = j["spec"].value("replicas", int64_t{1});
  Json status = {{"replicas", j.contains("status") ? j["status"].value("replicas", int64_t{0}) : 0}};
  if (j["spec"].contains("selector")) {
    auto sel = LabelSelectorFromJson(j["spec"]["selector"]);
    if (sel.ok()) status["selector"] = sel->ToString();
  }
  return {{"kind", "Scale"}, {"apiVersion", "autoscaling/v1"}, {"metadata", m},
          {"spec", {{"replicas", replicas}}}, {"status", status}};
}

}  // namespace

void RestApi::GetScale(Call& call) {
  ApiRequest req = call.req;
  req.subresource.clear();
  auto obj = registry_->Get(req);
  if (!obj.ok()) return call.ReplyError(obj.status());
  call.ReplyJson(200, ScaleOf(*obj));
}

void RestApi::WriteScale(Call& call) {
  const KindInfo* scale_kind = registry_->kinds().BodyKind("Scale");
  bool is_patch = call.http.method == "PATCH";
  std::string patch_type;
  Json patch;
  if (is_patch) {
    auto type = PatchTypeOf(call.http);
    if (!type.ok()) return call.ReplyError(type.status());
    patch_type = *type == "apply" ? "merge" : *type;  // a Scale applied is merged: it has no other fields
  }
  auto body = is_patch && patch_type != "merge" && patch_type != "strategic"
                  ? ParseJsonText(call.http.body)
                  : BodyJson(call.http);
  if (!body.ok()) return call.ReplyError(body.status());
  ApiRequest req = call.req;
  req.subresource.clear();
  const KindInfo* kind = req.kind;
  std::string name = req.name;
  auto r = Await([&](WriteDone done) {
    registry_->GuaranteedUpdate(
        req,
        [&](Object& current) -> Status {
          Json scale = ScaleOf(current);
          Json wanted;
          if (!is_patch) {
            wanted = *body;
          } else {
            Result<Json> patched = patch_type == "json"        ? ApplyJsonPatch(scale, *body)
                                   : patch_type == "strategic" ? StrategicMergePatch(scale, *body, scale_kind->schema)
                                                               : MergePatch(scale, *body);
            if (!patched.ok()) return patched.status();
            wanted = std::move(*patched);
          }
          if (!wanted.is_object()) return Status::BadRequest("Scale must be a JSON object");
          const Json& wm = wanted.value("metadata", Json::object());
          if (wm.is_object() && wm.contains("resourceVersion") && wm["resourceVersion"].is_string() &&
              !wm["resourceVersion"].get<std::string>().empty() &&
              wm["resourceVersion"].get<std::string>() != std::to_string(current.resource_version()))
            return Status::Conflict("Operation cannot be fulfilled on " + kind->GroupResource() + " \"" + name +
                                    "\": the object has been modified; please apply your changes to the latest version and try again");
          Json spec = wanted.value("spec", Json::object());
          if (!spec.is_object() || !spec.contains("replicas") || !spec["replicas"].is_number_integer()) {
            if (spec.is_object() && spec.contains("replicas"))
              return Status::BadRequest("Scale in version \"v1\" cannot be handled as a Scale: spec.replicas: expected integer");
            spec["replicas"] = 0;
          }
          int64_t replicas = spec["replicas"].get<int64_t>();
          if (replicas < 0)
            return InvalidError(*scale_kind, name,
                                {FieldInvalid("spec.replicas", std::to_string(replicas), "must be greater than or equal to 0")});
          Json j = current.ToJson();
          j["spec"]["replicas"] = replicas;
          auto obj = Object::FromJson(registry_->kinds(), j, {}, kind);
          if (!obj.ok()) return obj.status();
          current = std::move(*obj);
          return Status::Ok();
        },
        /*status_subresource=*/false, done);
  });
  if (!r.ok()) return call.ReplyError(r.status());
  call.ReplyJson(200, ScaleOf(r->object));
}

// --- logs -----------------------------------------------------------------------------

void RestApi::Logs(Call& call) {
  ApiRequest req = call.req;
  req.subresource.clear();
  auto pod = registry_->Get(req);
  if (!pod.ok()) return call.ReplyError(pod.status());
  if (!options_.logs)
    return call.ReplyError(Status(Reason::kServiceUnavailable, "logs are not available: no kubelet connection configured"));
  const HttpRequest& http = call.http;
  LogOptions q;
  q.container = http.Query("container");
  q.previous = ParseBool(http.Query("previous"));
  q.follow = ParseBool(http.Query("follow"));
  q.timestamps = ParseBool(http.Query("timestamps"));
  for (auto [param, field] : {std::pair{"tailLines", &q.tail_lines}, std::pair{"sinceSeconds", &q.since_seconds},
                              std::pair{"limitBytes", &q.limit_bytes}}) {
    if (!http.HasQuery(param)) continue;
    auto v = ParseInt(http.Query(param));
    if (!v) return call.ReplyError(Status::BadRequest(std::string(param) + ": invalid value \"" + http.Query(param) + "\""));
    *field = *v;
  }
  if (q.since_seconds && *q.since_seconds < 1)
    return call.ReplyError(Status::Invalid(std::string("PodLogOptions \"") + req.name + "\" is invalid: sinceSeconds: Invalid value: " +
                                           std::to_string(*q.since_seconds) + ": must be greater than 0",
                                           {{"FieldValueInvalid", "Invalid value: " + std::to_string(*q.since_seconds) + ": must be greater than 0", "sinceSeconds"}}));

  std::atomic<bool> cancelled{false};
  if (!q.follow) {
    std::string text;
    Status s = options_.logs(*pod, q, [&](std::string_view chunk) { text.append(chunk); return true; }, &cancelled);
    if (!s.ok()) return call.ReplyError(s);
    return call.out.Reply(200, "text/plain", std::move(text));
  }
  // Following: the response starts with the first bytes (so an error can still be a
  // Status); a watchdog notices a client that went away while the log is quiet.
  bool started = false;
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
  std::thread watchdog([&] {
    std::unique_lock<std::mutex> lock(mu);
    while (!finished) {
      cv.wait_for(lock, std::chrono::milliseconds(200));
      if (finished) break;
      if ((started && call.out.ClientGone()) || call.out.ServerStopping()) cancelled = true;
    }
  });
  Status s = options_.logs(
      *pod, q,
      [&](std::string_view chunk) {
        std::lock_guard<std::mutex> lock(mu);
        if (!started) {
          started = true;
          if (!call.out.BeginStream(200, "text/plain")) return false;
        }
        return call.out.Write(chunk);
      },
      &cancelled);
  {
    std::lock_guard<std::mutex> lock(mu);
    finished = true;
  }
  cv.notify_all();
  watchdog.join();
  if (!started) {
    if (!s.ok()) return call.ReplyError(s);
    call.out.BeginStream(200, "text/plain");
  }
}

}  // namespace cattle::apiserver
