// The HTTP face of the apiserver (HttpServer + RestApi) over a real registry and store:
// paths, verbs, Status errors, Table output, watch framing, scale, eviction, bad input.
#include "apiserver/rest_api.h"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>

#include "apiserver/http_server.h"
#include "apiserver/local_client.h"
#include "cattle/fake_clock.h"
#include "testutil/hostile_bodies.h"

namespace cattle::apiserver {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct Reply {
  int code = 0;
  std::string content_type;
  std::string body;
  std::string header(const std::string& name) const { return headers.count(name) ? headers.at(name) : ""; }
  std::map<std::string, std::string> headers;
  Json json() const { return Json::parse(body); }
};

class RestApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    api_ = std::make_unique<RestApi>(server_.registry.get(), &clock_, RestApiOptions{});
    HttpServerOptions o;
    o.port = 0;
    o.max_body_bytes = 64 * 1024;
    http_ = std::make_unique<HttpServer>(api_.get(), o);
    ASSERT_TRUE(http_->Start().ok());
  }
  void TearDown() override { http_->Stop(); }

  Reply Call(const std::string& method, const std::string& target, const std::string& body = "",
             const std::string& content_type = "application/json", const std::string& accept = "application/json") {
    net::io_context ioc;
    tcp::socket s(ioc);
    s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(http_->port())));
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::accept, accept);
    if (!body.empty()) req.set(http::field::content_type, content_type);
    req.body() = body;
    req.prepare_payload();
    http::write(s, req);
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    boost::system::error_code ec;
    http::read(s, buf, parser, ec);
    Reply r;
    if (ec) return r;
    auto res = parser.release();
    r.code = res.result_int();
    r.content_type = std::string(res[http::field::content_type]);
    for (const auto& f : res) r.headers[std::string(f.name_string())] = std::string(f.value());
    r.body = res.body();
    return r;
  }
  Reply Post(const std::string& target, const std::string& body) { return Call("POST", target, body); }
  Reply Get(const std::string& target) { return Call("GET", target); }

  FakeClock clock_;  // only for timestamps and history compaction; streams use real time
  LocalApiServer server_{&clock_};
  std::unique_ptr<RestApi> api_;
  std::unique_ptr<HttpServer> http_;
};

constexpr char kPod[] =
    R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p1","labels":{"app":"web"}},)"
    R"("spec":{"containers":[{"name":"c","image":"nginx"}]}})";
constexpr char kDeployment[] =
    R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":2,)"
    R"("selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},)"
    R"("spec":{"containers":[{"name":"web","image":"nginx","ports":[{"containerPort":80}]}]}}}})";

TEST_F(RestApiTest, VersionHealthAndDiscovery) {
  auto v = Get("/version");
  EXPECT_EQ(v.code, 200);
  EXPECT_EQ(v.json()["major"], "1");
  EXPECT_EQ(v.json()["minor"], "32");
  EXPECT_EQ(Get("/healthz").body, "ok");
  EXPECT_EQ(Get("/readyz").code, 200);
  auto agg = Call("GET", "/apis", "", "", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json");
  EXPECT_EQ(agg.content_type, "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList");
  EXPECT_EQ(agg.json()["kind"], "APIGroupDiscoveryList");
  auto legacy = Get("/apis");
  EXPECT_EQ(legacy.json()["kind"], "APIGroupList");
  EXPECT_EQ(Get("/api/v1").json()["kind"], "APIResourceList");
  EXPECT_EQ(Get("/openapi/v3").code, 200);
  auto missing = Get("/nope/at/all");
  EXPECT_EQ(missing.code, 404);
  EXPECT_EQ(missing.json()["kind"], "Status");
  EXPECT_EQ(missing.json()["reason"], "NotFound");
}

TEST_F(RestApiTest, CreateGetListUpdateDeleteWithKubernetesCodes) {
  auto created = Post("/api/v1/namespaces/default/pods", kPod);
  ASSERT_EQ(created.code, 201) << created.body;
  Json pod = created.json();
  EXPECT_EQ(pod["kind"], "Pod");
  EXPECT_FALSE(pod["metadata"]["uid"].get<std::string>().empty());

  auto again = Post("/api/v1/namespaces/default/pods", kPod);
  EXPECT_EQ(again.code, 409);
  EXPECT_EQ(again.json()["reason"], "AlreadyExists");
  EXPECT_EQ(again.json()["details"]["name"], "p1");
  EXPECT_EQ(again.json()["details"]["kind"], "pods");

  auto got = Get("/api/v1/namespaces/default/pods/p1");
  EXPECT_EQ(got.code, 200);
  EXPECT_EQ(got.json()["metadata"]["uid"], pod["metadata"]["uid"]);

  auto list = Get("/api/v1/pods?labelSelector=app%3Dweb");
  EXPECT_EQ(list.json()["kind"], "PodList");
  EXPECT_EQ(list.json()["items"].size(), 1u);
  EXPECT_FALSE(list.json()["metadata"]["resourceVersion"].get<std::string>().empty());
  EXPECT_EQ(Get("/api/v1/pods?labelSelector=app%21%3Dweb").json()["items"].size(), 0u);
  EXPECT_EQ(Get("/api/v1/pods?fieldSelector=metadata.name%3Dp1").json()["items"].size(), 1u);
  auto bad_selector = Get("/api/v1/pods?labelSelector=app%3D%3D%3D");
  EXPECT_EQ(bad_selector.code, 400) << bad_selector.body;
  EXPECT_EQ(bad_selector.json()["reason"], "BadRequest");

  // A stale update is a Conflict; the current one succeeds.
  Json stale = got.json();
  stale["metadata"]["labels"]["v"] = "1";
  EXPECT_EQ(Call("PUT", "/api/v1/namespaces/default/pods/p1", stale.dump()).code, 200);
  stale["metadata"]["labels"]["v"] = "2";
  auto conflict = Call("PUT", "/api/v1/namespaces/default/pods/p1", stale.dump());
  EXPECT_EQ(conflict.code, 409);
  EXPECT_EQ(conflict.json()["reason"], "Conflict");

  auto deleted = Call("DELETE", "/api/v1/namespaces/default/pods/p1", R"({"propagationPolicy":"Background"})");
  EXPECT_EQ(deleted.code, 200) << deleted.body;
  EXPECT_EQ(Get("/api/v1/namespaces/default/pods/p1").code, 404);
  auto gone = Get("/api/v1/namespaces/default/pods/p1").json();
  EXPECT_EQ(gone["message"], "pods \"p1\" not found");
}

TEST_F(RestApiTest, InvalidObjectsNameTheKindAndFieldAndStoreNothing) {
  std::string bad = kDeployment;
  bad.replace(bad.find("\"replicas\":2"), 12, "\"replicas\":-1");
  auto r = Post("/apis/apps/v1/namespaces/default/deployments", bad);
  EXPECT_EQ(r.code, 422) << r.body;
  Json s = r.json();
  EXPECT_EQ(s["reason"], "Invalid");
  EXPECT_EQ(s["details"]["kind"], "Deployment");
  EXPECT_EQ(s["details"]["name"], "web");
  EXPECT_EQ(s["details"]["causes"][0]["field"], "spec.replicas");
  EXPECT_EQ(Get("/apis/apps/v1/namespaces/default/deployments/web").code, 404);

  // Unknown fields: rejected under Strict, warned under Warn (the default), dropped under Ignore.
  std::string unknown = kDeployment;
  unknown.replace(unknown.find("\"replicas\":2"), 12, "\"replicas\":2,\"foo\":1");
  auto strict = Post("/apis/apps/v1/namespaces/default/deployments?fieldValidation=Strict", unknown);
  EXPECT_EQ(strict.code, 400);
  EXPECT_NE(strict.json()["message"].get<std::string>().find("unknown field \"spec.foo\""), std::string::npos);
  auto warn = Post("/apis/apps/v1/namespaces/default/deployments", unknown);
  EXPECT_EQ(warn.code, 201);
  EXPECT_NE(warn.header("Warning").find("unknown field"), std::string::npos);

  // Malformed bodies, wrong types, bodies too large.
  EXPECT_EQ(Post("/api/v1/namespaces/default/pods", "{not json").code, 400);
  EXPECT_EQ(Call("POST", "/api/v1/namespaces/default/pods", "x: [", "application/yaml").code, 400);
  EXPECT_EQ(Call("POST", "/api/v1/namespaces/default/pods", kPod, "text/plain").code, 415);
  EXPECT_EQ(Call("PATCH", "/api/v1/namespaces/default/pods/p1", "{}", "application/json").code, 415);
  auto huge = Post("/api/v1/namespaces/default/configmaps", std::string(100 * 1024, 'x'));
  EXPECT_EQ(huge.code, 413);
  // The server still serves.
  EXPECT_EQ(Get("/apis/apps/v1/namespaces/default/deployments/web").code, 200);
}

// A client that sends its whole too-large body before reading (curl, kubectl) gets the 413,
// not a connection reset: the server drains what it did not read before closing.
TEST_F(RestApiTest, AClientStillSendingATooLargeBodyGetsThe413) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    net::io_context ioc;
    tcp::socket s(ioc);
    s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(http_->port())));
    std::string body(8 << 20, 'x');
    std::string head = "POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    boost::system::error_code ec;
    net::write(s, net::buffer(head), ec);
    ASSERT_FALSE(ec) << ec.message();
    net::write(s, net::buffer(body), ec);
    ASSERT_FALSE(ec) << "sending the body: " << ec.message();
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    http::read(s, buf, parser, ec);
    ASSERT_FALSE(ec) << "reading the reply: " << ec.message();
    auto res = parser.release();
    EXPECT_EQ(res.result_int(), 413);
    Json status = Json::parse(res.body());
    EXPECT_EQ(status["reason"], "RequestEntityTooLarge");
  }
  EXPECT_EQ(Get("/healthz").code, 200);
}

TEST_F(RestApiTest, PatchesNoOpsAndSubresources) {
  ASSERT_EQ(Post("/apis/apps/v1/namespaces/default/deployments", kDeployment).code, 201);
  auto before = Get("/apis/apps/v1/namespaces/default/deployments/web").json();
  // Strategic merge keeps the container's ports while changing its image.
  auto smp = Call("PATCH", "/apis/apps/v1/namespaces/default/deployments/web",
                  R"({"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"web"}],)"
                  R"("containers":[{"name":"web","image":"nginx:1.27"}]}}}})",
                  "application/strategic-merge-patch+json");
  ASSERT_EQ(smp.code, 200) << smp.body;
  Json c = smp.json()["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(c["image"], "nginx:1.27");
  EXPECT_EQ(c["ports"][0]["containerPort"], 80);
  EXPECT_EQ(smp.json()["metadata"]["generation"], 2);
  // A no-op patch keeps resourceVersion and generation.
  std::string rv = smp.json()["metadata"]["resourceVersion"];
  auto noop = Call("PATCH", "/apis/apps/v1/namespaces/default/deployments/web", R"({"spec":{"replicas":2}})",
                   "application/merge-patch+json");
  EXPECT_EQ(noop.json()["metadata"]["resourceVersion"], rv);
  EXPECT_EQ(noop.json()["metadata"]["generation"], 2);
  auto jp = Call("PATCH", "/apis/apps/v1/namespaces/default/deployments/web",
                 R"([{"op":"replace","path":"/spec/replicas","value":4}])", "application/json-patch+json");
  EXPECT_EQ(jp.json()["spec"]["replicas"], 4);
  EXPECT_NE(before["metadata"]["resourceVersion"], jp.json()["metadata"]["resourceVersion"]);

  // scale
  auto scale = Get("/apis/apps/v1/namespaces/default/deployments/web/scale").json();
  EXPECT_EQ(scale["kind"], "Scale");
  EXPECT_EQ(scale["apiVersion"], "autoscaling/v1");
  EXPECT_EQ(scale["spec"]["replicas"], 4);
  EXPECT_EQ(scale["status"]["selector"], "app=web");
  auto scaled = Call("PATCH", "/apis/apps/v1/namespaces/default/deployments/web/scale", R"({"spec":{"replicas":5}})",
                     "application/merge-patch+json");
  EXPECT_EQ(scaled.code, 200) << scaled.body;
  EXPECT_EQ(Get("/apis/apps/v1/namespaces/default/deployments/web").json()["spec"]["replicas"], 5);
  auto negative = Call("PATCH", "/apis/apps/v1/namespaces/default/deployments/web/scale", R"({"spec":{"replicas":-1}})",
                       "application/merge-patch+json");
  EXPECT_EQ(negative.code, 422);
  EXPECT_EQ(Get("/apis/apps/v1/namespaces/default/deployments/web").json()["spec"]["replicas"], 5);

  // Server-side apply creates when absent.
  auto applied = Call("PATCH", "/api/v1/namespaces/default/configmaps/cfg?fieldManager=kubectl",
                      R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"a":"1"}})",
                      "application/apply-patch+yaml");
  EXPECT_EQ(applied.code, 201) << applied.body;
  EXPECT_EQ(Get("/api/v1/namespaces/default/configmaps/cfg").json()["data"]["a"], "1");
  // null deletes a field (uncordon).
  ASSERT_EQ(Post("/api/v1/nodes", R"({"apiVersion":"v1","kind":"Node","metadata":{"name":"n1"},"spec":{"unschedulable":true}})").code, 201);
  auto uncordon = Call("PATCH", "/api/v1/nodes/n1", R"({"spec":{"unschedulable":null}})", "application/strategic-merge-patch+json");
  EXPECT_EQ(uncordon.code, 200);
  EXPECT_FALSE(uncordon.json()["spec"].contains("unschedulable"));
}

TEST_F(RestApiTest, TablesCarryColumnsRowsAndMetadata) {
  ASSERT_EQ(Post("/api/v1/namespaces/default/pods", kPod).code, 201);
  const std::string table = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
  auto t = Call("GET", "/api/v1/pods?limit=500", "", "", table).json();
  EXPECT_EQ(t["kind"], "Table");
  EXPECT_EQ(t["columnDefinitions"][0]["name"], "Name");
  EXPECT_EQ(t["rows"][0]["cells"][0], "p1");
  EXPECT_EQ(t["rows"][0]["cells"][2], "Pending");
  EXPECT_EQ(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
  EXPECT_EQ(t["rows"][0]["object"]["metadata"]["namespace"], "default");
  auto full = Call("GET", "/api/v1/pods?includeObject=Object", "", "", table).json();
  EXPECT_EQ(full["rows"][0]["object"]["kind"], "Pod");
}

// Reads a chunked watch stream line by line.
class WatchReader {
 public:
  WatchReader(int port, const std::string& target) : socket_(ioc_) {
    socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(socket_, req);
    parser_.body_limit(1 << 30);
    http::read_header(socket_, buffer_, parser_);
    code = parser_.get().result_int();
  }
  // The next event line, or "" at the end of the stream.
  std::string Next() {
    for (;;) {
      size_t nl = pending_.find('\n');
      if (nl != std::string::npos) {
        std::string line = pending_.substr(0, nl);
        pending_.erase(0, nl + 1);
        return line;
      }
      if (parser_.is_done()) return "";
      char data[4096];
      parser_.get().body().data = data;
      parser_.get().body().size = sizeof(data);
      boost::system::error_code ec;
      http::read_some(socket_, buffer_, parser_, ec);
      if (ec && ec != http::error::need_buffer) return "";
      pending_.append(data, sizeof(data) - parser_.get().body().size);
    }
  }
  int code = 0;

 private:
  net::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
  http::response_parser<http::buffer_body> parser_;
  std::string pending_;
};

TEST_F(RestApiTest, WatchStreamsEventsAfterTheResourceVersionOnePerLine) {
  auto created = Post("/api/v1/namespaces/default/pods", kPod).json();
  std::string rv = created["metadata"]["resourceVersion"];

  // resourceVersion=0: the current state as ADDED first, then changes.
  WatchReader from_zero(http_->port(), "/api/v1/namespaces/default/pods?watch=true&resourceVersion=0&timeoutSeconds=5");
  EXPECT_EQ(from_zero.code, 200);
  Json first = Json::parse(from_zero.Next());
  EXPECT_EQ(first["type"], "ADDED");
  EXPECT_EQ(first["object"]["metadata"]["name"], "p1");

  // From the create's revision: only what came after it.
  WatchReader after(http_->port(), "/api/v1/namespaces/default/pods?watch=true&resourceVersion=" + rv +
                                       "&fieldSelector=metadata.name%3Dp1&allowWatchBookmarks=true&timeoutSeconds=3");
  ASSERT_EQ(Call("PATCH", "/api/v1/namespaces/default/pods/p1", R"({"metadata":{"labels":{"x":"1"}}})",
                 "application/merge-patch+json").code, 200);
  Json modified = Json::parse(after.Next());
  EXPECT_EQ(modified["type"], "MODIFIED");
  EXPECT_EQ(modified["object"]["metadata"]["labels"]["x"], "1");
  EXPECT_EQ(Json::parse(from_zero.Next())["type"], "MODIFIED");
  ASSERT_EQ(Call("DELETE", "/api/v1/namespaces/default/pods/p1").code, 200);
  EXPECT_EQ(Json::parse(after.Next())["type"], "DELETED");
  // timeoutSeconds ends the stream, after a bookmark when bookmarks are allowed.
  auto start = std::chrono::steady_clock::now();
  Json bookmark = Json::parse(after.Next());
  EXPECT_EQ(bookmark["type"], "BOOKMARK");
  EXPECT_EQ(bookmark["object"]["kind"], "Pod");
  EXPECT_EQ(after.Next(), "");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST_F(RestApiTest, WatchFromACompactedRevisionGetsExpired) {
  WatchReader old(http_->port(), "/api/v1/namespaces/default/pods?watch=true&resourceVersion=1&timeoutSeconds=5");
  // Revision 1 is the bootstrap's; nothing is compacted yet, so this is a live watch.
  EXPECT_EQ(old.code, 200);
  ASSERT_EQ(Post("/api/v1/namespaces/default/configmaps", R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}})").code, 201);
  clock_.Advance(std::chrono::minutes(10));
  server_.store->CompactNow();
  ASSERT_GT(server_.store->CompactedRevision(), 1);
  WatchReader expired(http_->port(), "/api/v1/namespaces/default/pods?watch=true&resourceVersion=1");
  EXPECT_EQ(expired.code, 200);
  Json e = Json::parse(expired.Next());
  EXPECT_EQ(e["type"], "ERROR");
  EXPECT_EQ(e["object"]["code"], 410);
  EXPECT_EQ(e["object"]["reason"], "Expired");
  EXPECT_EQ(expired.Next(), "");
}

TEST_F(RestApiTest, ListResourceVersionMatchExactNotOlderThanAndInvalidCombinations) {
  const std::string base = "/api/v1/namespaces/default/configmaps";
  auto created = Post(base, R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"k":"1"}})");
  ASSERT_EQ(created.code, 201) << created.body;
  const std::string past = created.json()["metadata"]["resourceVersion"].get<std::string>();
  ASSERT_EQ(Call("PATCH", base + "/a", R"({"data":{"k":"2"}})", "application/merge-patch+json").code, 200);

  auto exact = Get(base + "?resourceVersion=" + past + "&resourceVersionMatch=Exact");
  ASSERT_EQ(exact.code, 200) << exact.body;
  EXPECT_EQ(exact.json()["metadata"]["resourceVersion"], past);
  ASSERT_EQ(exact.json()["items"].size(), 1u);
  EXPECT_EQ(exact.json()["items"][0]["data"]["k"], "1");
  auto newer = Get(base + "?resourceVersion=" + past + "&resourceVersionMatch=NotOlderThan");
  ASSERT_EQ(newer.code, 200) << newer.body;
  EXPECT_EQ(newer.json()["items"][0]["data"]["k"], "2");

  auto no_rv = Get(base + "?resourceVersionMatch=Exact");
  EXPECT_EQ(no_rv.code, 422) << no_rv.body;
  EXPECT_EQ(no_rv.json()["reason"], "Invalid");
  EXPECT_EQ(no_rv.json()["message"],
            "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is "
            "forbidden unless resourceVersion is provided");
  EXPECT_EQ(no_rv.json()["details"]["causes"][0]["field"], "resourceVersionMatch");
  EXPECT_EQ(Get(base + "?resourceVersion=0&resourceVersionMatch=Exact").code, 422);

  // Newer than the store: kube-apiserver's wait (3 s), then 504 with a retry hint.
  const std::string future = std::to_string(server_.store->CurrentRevision() + 1000);
  auto too_new = Get(base + "?resourceVersion=" + future + "&resourceVersionMatch=NotOlderThan");
  EXPECT_EQ(too_new.code, 504) << too_new.body;
  EXPECT_EQ(too_new.json()["reason"], "Timeout");
  EXPECT_EQ(too_new.json()["details"]["retryAfterSeconds"], 1);
  EXPECT_EQ(too_new.header("Retry-After"), "1");
  EXPECT_EQ(Get(base + "/a?resourceVersion=" + future).code, 504);

  clock_.Advance(std::chrono::minutes(10));
  server_.store->CompactNow();
  ASSERT_GT(server_.store->CompactedRevision(), std::stoll(past));
  auto gone = Get(base + "?resourceVersion=" + past + "&resourceVersionMatch=Exact");
  EXPECT_EQ(gone.code, 410) << gone.body;
  EXPECT_EQ(gone.json()["reason"], "Expired");
  EXPECT_EQ(gone.json()["message"], "The resourceVersion for the provided list is too old.");
  auto get = Get(base + "/a?resourceVersion=" + past);  // not older than: the newest is
  ASSERT_EQ(get.code, 200) << get.body;
  EXPECT_EQ(get.json()["data"]["k"], "2");
}

TEST_F(RestApiTest, EvictionHonoursDisruptionBudgets) {
  ASSERT_EQ(Post("/api/v1/namespaces/default/pods", kPod).code, 201);
  ASSERT_EQ(Post("/apis/policy/v1/namespaces/default/poddisruptionbudgets",
                 R"({"apiVersion":"policy/v1","kind":"PodDisruptionBudget","metadata":{"name":"pdb"},)"
                 R"("spec":{"minAvailable":1,"selector":{"matchLabels":{"app":"web"}}}})").code, 201);
  const std::string eviction = R"({"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"p1","namespace":"default"}})";
  auto refused = Post("/api/v1/namespaces/default/pods/p1/eviction", eviction);
  EXPECT_EQ(refused.code, 429) << refused.body;
  EXPECT_EQ(refused.json()["reason"], "TooManyRequests");
  EXPECT_EQ(Get("/api/v1/namespaces/default/pods/p1").code, 200);

  auto pdb = Get("/apis/policy/v1/namespaces/default/poddisruptionbudgets/pdb").json();
  pdb["status"]["disruptionsAllowed"] = 1;
  ASSERT_EQ(Call("PUT", "/apis/policy/v1/namespaces/default/poddisruptionbudgets/pdb/status", pdb.dump()).code, 200);
  auto allowed = Post("/api/v1/namespaces/default/pods/p1/eviction", eviction);
  EXPECT_EQ(allowed.code, 201) << allowed.body;
  EXPECT_EQ(allowed.json()["status"], "Success");
  EXPECT_EQ(Get("/api/v1/namespaces/default/pods/p1").code, 404);  // unbound: deleted at once
  EXPECT_EQ(Get("/apis/policy/v1/namespaces/default/poddisruptionbudgets/pdb").json()["status"]["disruptionsAllowed"], 0);
}

TEST_F(RestApiTest, ResizeChangesOnlyContainerResources) {
  ASSERT_EQ(Post("/api/v1/namespaces/default/pods", kPod).code, 201);
  EXPECT_EQ(Get("/api/v1/namespaces/default/pods/p1/resize").json()["kind"], "Pod");
  auto r = Call("PATCH", "/api/v1/namespaces/default/pods/p1/resize",
                R"({"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"200m"}}}]}})",
                "application/strategic-merge-patch+json");
  ASSERT_EQ(r.code, 200) << r.body;
  EXPECT_EQ(r.json()["spec"]["containers"][0]["resources"]["requests"]["cpu"], "200m");
  EXPECT_EQ(r.json()["status"]["resize"], "Proposed");
  // Through the main resource the same change is forbidden.
  auto forbidden = Call("PATCH", "/api/v1/namespaces/default/pods/p1",
                        R"({"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"300m"}}}]}})",
                        "application/strategic-merge-patch+json");
  EXPECT_EQ(forbidden.code, 422);
}

// Ill-formed UTF-8 in any body format: a 400 naming the field, nothing stored, and every
// read (get, namespace list, all-namespaces list, a watch) still serving.
TEST_F(RestApiTest, IllFormedUtf8IsRefusedInEveryBodyFormatAndNothingIsStored) {
  WatchReader watch(http_->port(), "/api/v1/configmaps?watch=true&timeoutSeconds=10");
  ASSERT_EQ(watch.code, 200);
  struct Case {
    const char* name;
    std::string body, type;
  };
  std::vector<Case> cases = {
      {"yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: yaml\ndata:\n  greeting: \"\xFF\xFE\"\n",
       "application/yaml"},
      {"json", "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"json\"},\"data\":{\"greeting\":\"\xFF\xFE\"}}",
       "application/json"},
      {"protobuf", testutil::ProtobufConfigMap("protobuf", "default", "greeting", "\xFF\xFE"),
       "application/vnd.kubernetes.protobuf"},
  };
  for (const auto& c : cases) {
    auto r = Call("POST", "/api/v1/namespaces/default/configmaps", c.body, c.type);
    EXPECT_EQ(r.code, 400) << c.name << ": " << r.body;
    Json status = Json::parse(r.body, nullptr, false);  // valid JSON, so valid UTF-8
    ASSERT_FALSE(status.is_discarded()) << c.name << ": " << r.body;
    EXPECT_EQ(status["reason"], "BadRequest") << c.name;
    std::string message = status.value("message", "");
    EXPECT_NE(message.find("not valid UTF-8"), std::string::npos) << c.name << ": " << message;
    EXPECT_NE(message.find("data"), std::string::npos) << c.name << ": " << message;
    EXPECT_EQ(Get(std::string("/api/v1/namespaces/default/configmaps/") + c.name).code, 404) << c.name << " stored";
  }
  // Updates and patches too.
  ASSERT_EQ(Post("/api/v1/namespaces/default/configmaps", R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"good"}})").code, 201);
  EXPECT_EQ(Call("PUT", "/api/v1/namespaces/default/configmaps/good",
                 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"good\"},\"data\":{\"k\":\"\xC0\xAF\"}}")
                .code, 400);
  EXPECT_EQ(Call("PATCH", "/api/v1/namespaces/default/configmaps/good", "{\"data\":{\"k\":\"\xED\xA0\x80\"}}",
                 "application/merge-patch+json").code, 400);
  EXPECT_EQ(Call("PATCH", "/api/v1/namespaces/default/configmaps/good?fieldManager=t",
                 "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: good\ndata:\n  k: \"\xF4\x90\x80\x80\"\n",
                 "application/apply-patch+yaml").code, 400);
  auto good = Get("/api/v1/namespaces/default/configmaps/good");
  ASSERT_EQ(good.code, 200);
  EXPECT_FALSE(good.json().contains("data")) << good.body;

  EXPECT_EQ(Get("/api/v1/namespaces/default/configmaps").code, 200);
  auto all = Get("/api/v1/configmaps");
  ASSERT_EQ(all.code, 200);
  EXPECT_EQ(all.json()["items"].size(), 1u) << all.body;
  Json added = Json::parse(watch.Next());
  EXPECT_EQ(added["type"], "ADDED");
  EXPECT_EQ(added["object"]["metadata"]["name"], "good");
}

// A 600-byte YAML alias bomb is a fast 400, on create and on apply.
TEST_F(RestApiTest, YamlAliasBombsAreAFastBadRequest) {
  for (int levels : {7, 9}) {
    std::string bomb = testutil::AliasBomb(levels);
    auto start = std::chrono::steady_clock::now();
    auto r = Call("POST", "/api/v1/namespaces/default/configmaps", bomb, "application/yaml");
    auto took = std::chrono::steady_clock::now() - start;
    ASSERT_EQ(r.code, 400) << levels << " levels: " << r.body.substr(0, 300);
    EXPECT_NE(r.json()["message"].get<std::string>().find("aliases expand"), std::string::npos) << r.body;
    EXPECT_LT(took, std::chrono::milliseconds(100)) << levels << " levels";
    auto apply = Call("PATCH", "/api/v1/namespaces/default/configmaps/bomb?fieldManager=t", bomb,
                      "application/apply-patch+yaml");
    EXPECT_EQ(apply.code, 400) << apply.body.substr(0, 300);
  }
  EXPECT_EQ(Get("/api/v1/namespaces/default/configmaps/bomb").code, 404);
}

}  // namespace
}  // namespace cattle::apiserver
