// `kubectl logs` end to end inside one process: a simulated kubelet (in-process apiserver,
// fake clock) serving its log endpoint over real ZeroMQ, and the apiserver's
// KubeletLogClient finding it where the kubelet registered (InternalIP and
// daemonEndpoints.kubeletEndpoint.Port), signing its requests with the cluster's token.
// Lines appear, --previous after a scripted crash, -f receives new lines and ends when the
// container exits, Kubernetes' errors, cancellation, requesters that vanish, garbage on the
// socket, requests without the right token, and Nodes that try to redirect the apiserver.
#include <gtest/gtest.h>

#include <capnp/message.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <zmq.hpp>

#include "apiserver/kubelet_logs.h"
#include "apiserver/local_client.h"
#include "cattle/events.h"
#include "cattle/fake_clock.h"
#include "cattle/kubelet_auth.h"
#include "cattle/wire.h"
#include "core.capnp.h"
#include "kubelet-sim/kubelet.h"
#include "kubelet-sim/log_server.h"
#include "kubelet-sim/sim_runtime.h"
#include "kubelet.capnp.h"

namespace cattle::kubelet {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

bool Eventually(const std::function<bool()>& cond, milliseconds timeout = seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return cond();
}

bool Has(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

constexpr const char* kToken = "3b7f0c1e9a5d4f2b8c6e1a0d7f3b9c5e";

// A follow running on its own thread, collecting what arrives.
class Follower {
 public:
  Follower(apiserver::KubeletLogClient* client, Object pod, apiserver::LogOptions options,
           std::function<bool(const std::string&)> keep_going = nullptr)
      : pod_(std::move(pod)) {
    options.follow = true;
    done_ = std::async(std::launch::async, [this, client, options, keep_going] {
      return client->StreamLogs(
          pod_, options,
          [this, keep_going](std::string_view chunk) {
            std::lock_guard<std::mutex> lock(mu_);
            text_.append(chunk);
            return keep_going ? keep_going(text_) : true;
          },
          &cancelled_);
    });
  }
  ~Follower() {
    cancelled_ = true;
    if (done_.valid()) done_.wait();
  }
  std::string text() {
    std::lock_guard<std::mutex> lock(mu_);
    return text_;
  }
  bool WaitFor(const std::string& needle) {
    return Eventually([&] { return Has(text(), needle); });
  }
  // The stream's result once it ended; nullopt if it is still open after `timeout`.
  std::optional<Status> Result(milliseconds timeout = seconds(20)) {
    if (done_.wait_for(timeout) != std::future_status::ready) return std::nullopt;
    return done_.get();
  }
  void Cancel() { cancelled_ = true; }

 private:
  Object pod_;
  std::atomic<bool> cancelled_{false};
  std::mutex mu_;
  std::string text_;
  std::future<Status> done_;
};

class KubeletLogServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LogServerOptions lo;
    lo.heartbeat_interval = milliseconds(100);
    lo.follow_poll_interval = milliseconds(20);
    lo.addresses = {InternalIpFor(1), InternalIpFor(2)};  // node-1's and node-2's InternalIP
    lo.auth_token = kToken;
    log_server_ = std::make_unique<KubeletLogServer>(&clock_, lo);
    ASSERT_TRUE(log_server_->Start().ok());
    KubeletOptions o;
    o.node_name = "node-1";
    o.pod_worker_threads = 2;
    o.kubelet_port = log_server_->port();
    runtime_ = std::make_unique<SimulatedRuntime>(&clock_);
    recorder_ = std::make_unique<EventRecorder>(api(), &clock_, "kubelet", "node-1");
    kubelet_ = std::make_unique<Kubelet>(api(), &clock_, runtime_.get(), recorder_.get(), o);
    Kubelet* k = kubelet_.get();
    log_server_->AddNode("node-1", [k](const std::string& ns, const std::string& pod, const std::string& uid,
                                       const std::string& container, bool previous) {
      return k->OpenContainerLog(ns, pod, uid, container, previous);
    });
    kubelet_->Start();
    ASSERT_TRUE(Eventually([&] { return kubelet_->running(); }));
    client_ = std::make_unique<apiserver::KubeletLogClient>(server_.registry.get(),
                                                            apiserver::KubeletLogClientOptions{.auth_token = kToken});
  }
  void TearDown() override {
    client_.reset();
    log_server_->Stop();  // before the kubelet its opener uses
    kubelet_.reset();
  }

  ApiClient* api() { return server_.client.get(); }

  Object CreatePod(const std::string& name, Json annotations = Json::object(),
                   Json containers = Json::array({{{"name", "web"}, {"image", "nginx"}}}),
                   const std::string& node = "node-1") {
    Json pod = {{"apiVersion", "v1"},
                {"kind", "Pod"},
                {"metadata", {{"name", name}, {"namespace", "default"}}},
                {"spec", {{"containers", containers}}}};
    if (!node.empty()) pod["spec"]["nodeName"] = node;
    if (!annotations.empty()) pod["metadata"]["annotations"] = annotations;
    auto obj = Object::FromJson(api()->kinds(), pod);
    EXPECT_TRUE(obj.ok()) << obj.status().ToString();
    auto created = api()->Create(*obj);
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return created.ok() ? std::move(*created) : Object(api()->Kind("pods"));
  }

  Object Pod(const std::string& name) {
    auto got = api()->Get(api()->Kind("pods"), "default", name);
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    return got.ok() ? std::move(*got) : Object(api()->Kind("pods"));
  }

  Json FirstStatus(const std::string& name) {
    Json j = Pod(name).ToJson();
    auto cs = j["status"].value("containerStatuses", Json::array());
    return cs.empty() ? Json() : cs[0];
  }

  void WaitRunning(const std::string& name, int restarts = 0) {
    ASSERT_TRUE(Eventually([&] {
      Json cs = FirstStatus(name);
      return !cs.is_null() && cs["state"].contains("running") && cs.value("restartCount", -1) == restarts;
    })) << name << ": " << FirstStatus(name).dump();
  }

  // The whole log, or the error.
  Result<std::string> Logs(const std::string& pod, apiserver::LogOptions options = {}) {
    std::string out;
    Status s = client_->StreamLogs(Pod(pod), options, [&](std::string_view c) {
      out.append(c);
      return true;
    }, nullptr);
    if (!s.ok()) return s;
    return out;
  }

  // A Node as a kubelet would register it: InternalIP `ip` ("": no addresses) and `port`
  // (0: no daemonEndpoints), plus `annotations`.
  void CreateNode(const std::string& name, const std::string& ip, int port, Json annotations = Json::object()) {
    Json node = {{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", name}}}};
    if (!annotations.empty()) node["metadata"]["annotations"] = annotations;
    if (!ip.empty()) node["status"]["addresses"] = Json::array({{{"type", "InternalIP"}, {"address", ip}}});
    if (port != 0) node["status"]["daemonEndpoints"] = {{"kubeletEndpoint", {{"Port", port}}}};
    auto obj = Object::FromJson(api()->kinds(), node);
    ASSERT_TRUE(obj.ok()) << obj.status().ToString();
    auto created = api()->Create(*obj);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    if (!ip.empty() || port != 0) {  // whatever create keeps of the status, post it as the status
      Json j = created->ToJson();
      j["status"] = node["status"];
      auto with_status = Object::FromJson(api()->kinds(), j);
      ASSERT_TRUE(with_status.ok()) << with_status.status().ToString();
      auto posted = api()->UpdateStatus(*with_status);
      ASSERT_TRUE(posted.ok()) << posted.status().ToString();
    }
  }

  FakeClock clock_;
  apiserver::LocalApiServer server_{&clock_};
  std::unique_ptr<KubeletLogServer> log_server_;
  std::unique_ptr<SimulatedRuntime> runtime_;
  std::unique_ptr<EventRecorder> recorder_;
  std::unique_ptr<Kubelet> kubelet_;
  std::unique_ptr<apiserver::KubeletLogClient> client_;
};

TEST_F(KubeletLogServerTest, NodeRegistersItsInternalIpAndPort) {
  std::string endpoint = log_server_->endpoint();
  int port = log_server_->port();
  ASSERT_GT(port, 0);
  EXPECT_EQ(endpoint, "tcp://127.0.1.1:" + std::to_string(port));
  auto node = api()->Get(api()->Kind("nodes"), "", "node-1");
  ASSERT_TRUE(node.ok());
  Json j = node->ToJson();
  EXPECT_FALSE(j["metadata"]["annotations"].contains("cattle.dev/kubelet-endpoint")) << j.dump();
  EXPECT_EQ(j["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"], port);
  EXPECT_EQ(j["status"]["addresses"][0], Json({{"type", "InternalIP"}, {"address", "127.0.1.1"}}));
  auto resolved = apiserver::KubeletEndpoint(*node);
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_EQ(*resolved, endpoint);
  // The field survives JSON both ways under Kubernetes' names (Port is capitalised).
  auto again = Object::FromJson(api()->kinds(), j);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->ToJson()["status"]["daemonEndpoints"], Json({{"kubeletEndpoint", {{"Port", port}}}}));
}

TEST_F(KubeletLogServerTest, HollowNodesShareOneEndpointAndRequestsNameTheirNode) {
  // A second node in the same process, served by the same socket.
  KubeletOptions o;
  o.node_name = "node-2";
  o.pod_worker_threads = 1;
  o.kubelet_port = log_server_->port();
  SimulatedRuntime runtime2(&clock_);
  auto kubelet2 = std::make_unique<Kubelet>(api(), &clock_, &runtime2, nullptr, o);
  Kubelet* k = kubelet2.get();
  log_server_->AddNode("node-2", [k](const std::string& ns, const std::string& pod, const std::string& uid,
                                     const std::string& container, bool previous) {
    return k->OpenContainerLog(ns, pod, uid, container, previous);
  });
  kubelet2->Start();
  ASSERT_TRUE(Eventually([&] { return kubelet2->running(); }));
  auto node2 = api()->Get(api()->Kind("nodes"), "", "node-2");
  ASSERT_TRUE(node2.ok());
  auto endpoint2 = apiserver::KubeletEndpoint(*node2);
  ASSERT_TRUE(endpoint2.ok()) << endpoint2.status().ToString();
  EXPECT_EQ(*endpoint2, "tcp://127.0.2.1:" + std::to_string(log_server_->port()));

  CreatePod("here", {}, Json::array({{{"name", "web"}, {"image", "httpd:2.4"}}}), "node-1");
  CreatePod("there", {}, Json::array({{{"name", "web"}, {"image", "redis"}}}), "node-2");
  WaitRunning("here");
  WaitRunning("there");
  auto here = Logs("here");
  auto there = Logs("there");
  ASSERT_TRUE(here.ok() && there.ok());
  EXPECT_TRUE(Has(*here, "AH00489: Apache/2.4 (Unix) configured -- resuming normal operations\n")) << *here;
  EXPECT_TRUE(Has(*there, "Ready to accept connections tcp\n")) << *there;

  log_server_->RemoveNode("node-2");
  auto gone = Logs("there");
  ASSERT_FALSE(gone.ok());
  EXPECT_TRUE(gone.status().Is(Reason::kNotFound)) << gone.status().ToString();
  log_server_->Stop();  // before kubelet2 and its runtime go
  kubelet2.reset();
}

TEST_F(KubeletLogServerTest, LinesAppearWithTailTimestampsSinceAndLimit) {
  CreatePod("web");
  WaitRunning("web");
  auto all = Logs("web");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->rfind("container web started (simulated, image docker.io/library/nginx:latest)\n", 0), 0u) << *all;
  EXPECT_TRUE(Has(*all, "[notice] 1#1: start worker processes\n")) << *all;

  apiserver::LogOptions tail;
  tail.tail_lines = 1;
  EXPECT_EQ(*Logs("web", tail), "2024/01/01 00:00:00 [notice] 1#1: start worker process 29\n");
  tail.tail_lines = 0;
  EXPECT_EQ(*Logs("web", tail), "");

  apiserver::LogOptions stamped;
  stamped.timestamps = true;
  stamped.tail_lines = 1;
  EXPECT_EQ(*Logs("web", stamped), "2024-01-01T00:00:00Z 2024/01/01 00:00:00 [notice] 1#1: start worker process 29\n");

  apiserver::LogOptions limited;
  limited.limit_bytes = 9;
  EXPECT_EQ(*Logs("web", limited), "container");

  // sinceSeconds counts back from the kubelet's clock.
  clock_.Advance(seconds(10));
  apiserver::LogOptions recent;
  recent.since_seconds = 5;
  EXPECT_EQ(*Logs("web", recent), "");
  recent.since_seconds = 3600;
  EXPECT_EQ(*Logs("web", recent), *all);

  apiserver::LogOptions named;
  named.container = "web";
  EXPECT_EQ(*Logs("web", named), *all);
}

TEST_F(KubeletLogServerTest, PreviousAfterARestartAndOnlyOnePreviousInstanceIsKept) {
  CreatePod("crash", {{"cattle.dev/exit-after", "10s"}, {"cattle.dev/exit-code", "3"}});
  WaitRunning("crash");
  apiserver::LogOptions previous;
  previous.previous = true;
  auto none = Logs("crash", previous);
  ASSERT_FALSE(none.ok());
  EXPECT_TRUE(none.status().Is(Reason::kBadRequest));
  EXPECT_EQ(none.status().message(), "previous terminated container \"web\" in pod \"crash\" not found");

  clock_.Advance(seconds(10));  // exits with 3; the first restart comes at once
  WaitRunning("crash", 1);
  auto before = Logs("crash", previous);
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  EXPECT_TRUE(Has(*before, "container web started (simulated"));
  EXPECT_TRUE(Has(*before, "container web exiting with code 3\n")) << *before;
  auto current = Logs("crash");
  ASSERT_TRUE(current.ok());
  EXPECT_TRUE(Has(*current, "container web started (simulated"));
  EXPECT_FALSE(Has(*current, "exiting")) << *current;
  apiserver::LogOptions stamped = previous;
  stamped.timestamps = true;
  stamped.tail_lines = 1;
  EXPECT_EQ(*Logs("crash", stamped), "2024-01-01T00:00:10Z container web exiting with code 3\n");

  // In CrashLoopBackOff (second exit at 20 s, back-off 10 s), logs show the last run.
  clock_.Advance(seconds(10));
  ASSERT_TRUE(Eventually([&] {
    Json cs = FirstStatus("crash");
    return cs["state"].contains("waiting") && cs["state"]["waiting"].value("reason", "") == "CrashLoopBackOff";
  }));
  auto last_run = Logs("crash");
  ASSERT_TRUE(last_run.ok());
  EXPECT_TRUE(Has(*last_run, "exiting with code 3"));
  // Only the current and one previous instance are kept, however often it restarts.
  clock_.Advance(seconds(10));
  WaitRunning("crash", 2);
  EXPECT_EQ(runtime_->ContainerCount(), 2u);
}

TEST_F(KubeletLogServerTest, FollowReceivesNewLinesAndEndsWhenTheContainerExits) {
  CreatePod("job", {{"cattle.dev/exit-after", "30s"}},
            Json::array({{{"name", "web"},
                          {"image", "nginx"},
                          {"readinessProbe", {{"httpGet", {{"path", "/healthz"}, {"port", 80}}}}}}}));
  WaitRunning("job");
  apiserver::LogOptions o;
  o.timestamps = true;
  Follower f(client_.get(), Pod("job"), o);
  ASSERT_TRUE(f.WaitFor("start worker process 29\n")) << f.text();
  ASSERT_TRUE(f.WaitFor("[cattle-sim] readiness probe succeeded: GET http://10.244.1.2:80/healthz\n")) << f.text();
  EXPECT_FALSE(f.Result(milliseconds(300)).has_value()) << "a follow must stay open while the container runs";
  EXPECT_EQ(log_server_->stream_count(), 1u);

  clock_.Advance(seconds(30));
  auto result = f.Result();
  ASSERT_TRUE(result.has_value()) << "the follow did not end when the container exited: " << f.text();
  EXPECT_TRUE(result->ok()) << result->ToString();
  std::string text = f.text();
  const std::string last = "2024-01-01T00:00:30Z container web exiting with code 0\n";
  ASSERT_GE(text.size(), last.size());
  EXPECT_EQ(text.substr(text.size() - last.size()), last) << text;
  EXPECT_TRUE(Eventually([&] { return log_server_->stream_count() == 0; }));

  // Following an instance that already exited gives its log and ends.
  apiserver::LogOptions prev;
  prev.previous = true;
  WaitRunning("job", 1);
  Follower old(client_.get(), Pod("job"), prev);
  auto r = old.Result();
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->ok());
  EXPECT_TRUE(Has(old.text(), "exiting with code 0"));
}

TEST_F(KubeletLogServerTest, FollowEndsWhenThePodIsDeleted) {
  CreatePod("doomed");
  WaitRunning("doomed");
  Follower f(client_.get(), Pod("doomed"), {});
  ASSERT_TRUE(f.WaitFor("start worker process 29\n"));
  ASSERT_TRUE(api()->Delete(api()->Kind("pods"), "default", "doomed").ok());
  auto result = f.Result();
  ASSERT_TRUE(result.has_value()) << f.text();
  EXPECT_TRUE(result->ok()) << result->ToString();
  EXPECT_TRUE(Has(f.text(), "container web: SIGTERM received (grace period 30s)\n")) << f.text();
  EXPECT_TRUE(Has(f.text(), "signal 15 (SIGTERM) received, exiting\n")) << f.text();
  EXPECT_TRUE(Has(f.text(), "container web exiting with code 0\n")) << f.text();
}

TEST_F(KubeletLogServerTest, CancelledOrUnwantedFollowsAreDroppedOnBothSides) {
  CreatePod("web");
  WaitRunning("web");
  {
    Follower f(client_.get(), Pod("web"), {});
    ASSERT_TRUE(f.WaitFor("start worker process 29\n"));
    ASSERT_TRUE(Eventually([&] { return log_server_->stream_count() == 1; }));
    auto started = std::chrono::steady_clock::now();
    f.Cancel();
    auto r = f.Result(seconds(2));
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->ok());
    EXPECT_LT(std::chrono::steady_clock::now() - started, milliseconds(1000));
    EXPECT_TRUE(Eventually([&] { return log_server_->stream_count() == 0; }));
  }
  {
    // The HTTP client went away: on_chunk says so.
    Follower f(client_.get(), Pod("web"), {}, [](const std::string&) { return false; });
    auto r = f.Result();
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->ok());
    EXPECT_TRUE(Eventually([&] { return log_server_->stream_count() == 0; }));
  }
}

TEST_F(KubeletLogServerTest, KubernetesErrors) {
  CreatePod("web");
  CreatePod("two", {}, Json::array({{{"name", "a"}, {"image", "nginx"}}, {{"name", "b"}, {"image", "redis"}}}));
  CreatePod("slow", {{"cattle.dev/image-pull-duration", "100s"}});
  CreatePod("floating", {}, Json::array({{{"name", "web"}, {"image", "nginx"}}}), "");
  WaitRunning("web");
  WaitRunning("two");

  apiserver::LogOptions nope;
  nope.container = "nope";
  auto r = Logs("web", nope);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().Is(Reason::kBadRequest));
  EXPECT_EQ(r.status().message(), "container nope is not valid for pod web");

  r = Logs("two");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().Is(Reason::kBadRequest));
  EXPECT_EQ(r.status().message(), "a container name must be specified for pod two, choose one of: [a b]");
  apiserver::LogOptions b;
  b.container = "b";
  r = Logs("two", b);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(Has(*r, "container b started (simulated, image docker.io/library/redis:latest)\n"));
  EXPECT_TRUE(Has(*r, "Ready to accept connections tcp\n"));

  ASSERT_TRUE(Eventually([&] {
    Json cs = FirstStatus("slow");
    return !cs.is_null() && cs["state"].contains("waiting");
  }));
  r = Logs("slow");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().Is(Reason::kBadRequest));
  EXPECT_EQ(r.status().message(), "container \"web\" in pod \"slow\" is waiting to start: ContainerCreating");

  r = Logs("floating");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().Is(Reason::kBadRequest));
  EXPECT_EQ(r.status().message(), "pod floating does not have a host assigned");

  apiserver::LogOptions bad;
  bad.tail_lines = -1;
  r = Logs("web", bad);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().Is(Reason::kInvalid));
  EXPECT_EQ(r.status().message(),
            "PodLogOptions \"web\" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0");

  // A pod object the kubelet does not run (a stale copy with another UID).
  Object stale = Pod("web");
  stale.meta().setUid("00000000-0000-0000-0000-000000000000");
  Status s = client_->StreamLogs(stale, {}, [](std::string_view) { return true; }, nullptr);
  EXPECT_TRUE(s.Is(Reason::kNotFound)) << s.ToString();
  EXPECT_EQ(s.message(), "pods \"web\" not found");
}

TEST_F(KubeletLogServerTest, UnreachableKubeletsAreServiceUnavailable) {
  // A node that registered nothing, and one whose kubelet is not there.
  CreateNode("bare", "", 0);
  CreateNode("ghost", "127.0.0.1", 1);
  for (const char* name : {"bare", "ghost"})
    CreatePod(std::string("on-") + name, {}, Json::array({{{"name", "web"}, {"image", "nginx"}}}), name);
  auto r = Logs("on-bare");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().Is(Reason::kServiceUnavailable)) << r.status().ToString();

  auto started = std::chrono::steady_clock::now();
  r = Logs("on-ghost");
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().Is(Reason::kServiceUnavailable)) << r.status().ToString();
  EXPECT_GE(took, milliseconds(4900));
  EXPECT_LT(took, milliseconds(8000));

  // Cancelling while waiting for an absent kubelet returns promptly.
  std::atomic<bool> cancelled{false};
  auto waiting = std::async(std::launch::async, [&] {
    return client_->StreamLogs(Pod("on-ghost"), {}, [](std::string_view) { return true; }, &cancelled);
  });
  std::this_thread::sleep_for(milliseconds(100));
  cancelled = true;
  ASSERT_EQ(waiting.wait_for(milliseconds(500)), std::future_status::ready);
}

// --- the wire, raw ------------------------------------------------------------------------

// A requester on the wire, signing what it sends with `token` ("": sending it unsigned).
class RawPeer {
 public:
  explicit RawPeer(const std::string& endpoint, std::string token = kToken)
      : token_(std::move(token)), socket_(ctx_, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.connect(endpoint);
  }
  void SendBytes(const std::string& bytes) {
    if (!token_.empty()) SendFrame(kubelet_auth::Mac(token_, bytes), true);
    SendFrame(bytes, false);
  }
  void SendFrame(const std::string& bytes, bool more) {
    ASSERT_TRUE(socket_.send(zmq::buffer(bytes), more ? zmq::send_flags::sndmore : zmq::send_flags::none));
  }
  static std::string FollowRequest(uint64_t id, const std::string& pod) {
    capnp::MallocMessageBuilder msg;
    auto r = msg.initRoot<wire::KubeletMessage>().initLogRequest();
    r.setId(id);
    r.setNode("node-1");
    r.setNamespace("default");
    r.setPod(pod);
    r.setContainer("web");
    r.setFollow(true);
    return wire_util::Serialize(msg);
  }
  void SendFollow(uint64_t id, const std::string& pod) { SendBytes(FollowRequest(id, pod)); }
  // The next reply's kind and status (reason name for errors), or "" after 5 s of silence.
  std::pair<std::string, std::string> Next() {
    zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 1, milliseconds(5000));
    if (!(items[0].revents & ZMQ_POLLIN)) return {"", ""};
    zmq::message_t m;
    (void)socket_.recv(m, zmq::recv_flags::none);
    auto decoded = kj::heapArray<capnp::word>(m.size() / sizeof(capnp::word));
    memcpy(decoded.begin(), m.data(), decoded.size() * sizeof(capnp::word));
    capnp::FlatArrayMessageReader reader(decoded.asPtr());
    auto reply = reader.getRoot<wire::KubeletMessage>().getLogReply();
    switch (reply.which()) {
      case wire::LogReply::CHUNK: return {"chunk", ""};
      case wire::LogReply::END: return {"end", ""};
      case wire::LogReply::HEARTBEAT: return {"heartbeat", ""};
      case wire::LogReply::ERROR: return {"error", reply.getError().getReason().cStr()};
    }
    return {"?", ""};
  }
  // The next reply's error message ("" when it is not an error or nothing came).
  std::string NextErrorMessage() {
    zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 1, milliseconds(5000));
    if (!(items[0].revents & ZMQ_POLLIN)) return "";
    zmq::message_t m;
    (void)socket_.recv(m, zmq::recv_flags::none);
    auto decoded = kj::heapArray<capnp::word>(m.size() / sizeof(capnp::word));
    memcpy(decoded.begin(), m.data(), decoded.size() * sizeof(capnp::word));
    capnp::FlatArrayMessageReader reader(decoded.asPtr());
    auto reply = reader.getRoot<wire::KubeletMessage>().getLogReply();
    return reply.which() == wire::LogReply::ERROR ? reply.getError().getMessage().cStr() : "";
  }
  void Close() { socket_.close(); }

 private:
  std::string token_;
  zmq::context_t ctx_{1};
  zmq::socket_t socket_;
};

TEST_F(KubeletLogServerTest, GarbageGetsAnErrorAndTheServerKeepsServing) {
  CreatePod("web");
  WaitRunning("web");
  RawPeer peer(log_server_->endpoint());
  peer.SendBytes("abc");                   // not whole words
  EXPECT_EQ(peer.Next(), std::make_pair(std::string("error"), std::string("BadRequest")));
  peer.SendBytes("garbage!garbage!");      // words, but no message
  EXPECT_EQ(peer.Next(), std::make_pair(std::string("error"), std::string("BadRequest")));
  peer.SendBytes(std::string(100 * 1024, '\0'));  // too large
  EXPECT_EQ(peer.Next(), std::make_pair(std::string("error"), std::string("RequestEntityTooLarge")));
  {
    capnp::MallocMessageBuilder msg;  // a reply sent as a request
    msg.initRoot<wire::KubeletMessage>().initLogReply().setEnd();
    peer.SendBytes(wire_util::Serialize(msg));
    EXPECT_EQ(peer.Next(), std::make_pair(std::string("error"), std::string("BadRequest")));
  }
  {
    capnp::MallocMessageBuilder msg;  // a request for a node this process does not serve
    auto r = msg.initRoot<wire::KubeletMessage>().initLogRequest();
    r.setId(7);
    r.setNode("node-9");
    r.setPod("web");
    r.setContainer("web");
    peer.SendBytes(wire_util::Serialize(msg));
    EXPECT_EQ(peer.Next(), std::make_pair(std::string("error"), std::string("NotFound")));
  }
  // Random bytes of every length up to 64: answered, never a crash.
  uint64_t x = 0x9E3779B97F4A7C15ULL;
  for (int len = 1; len <= 64; ++len) {
    std::string junk;
    for (int i = 0; i < len; ++i) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      junk.push_back(static_cast<char>(x));
    }
    peer.SendBytes(junk);
    auto [kind, reason] = peer.Next();
    EXPECT_TRUE(kind == "error" || kind == "end" || kind == "chunk") << len << " " << kind;
    while (kind == "chunk") kind = peer.Next().first;  // a lucky valid request: drain it
  }
  auto r = Logs("web");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(Has(*r, "start worker processes"));
}

TEST_F(KubeletLogServerTest, AVanishedRequesterLeavesNoStreamBehind) {
  CreatePod("web");
  WaitRunning("web");
  for (int round = 0; round < 3; ++round) {
    RawPeer peer(log_server_->endpoint());
    peer.SendFollow(1, "web");
    auto first = peer.Next();
    EXPECT_EQ(first.first, "chunk");
    ASSERT_TRUE(Eventually([&] { return log_server_->stream_count() == 1; }));
    // Heartbeats keep coming while it is idle.
    std::string kind;
    do kind = peer.Next().first;
    while (kind == "chunk");
    EXPECT_EQ(kind, "heartbeat");
    peer.Close();  // gone without a cancel
    EXPECT_TRUE(Eventually([&] { return log_server_->stream_count() == 0; }, seconds(5)))
        << "the stream of a vanished requester was kept";
  }
}

// --- authentication ------------------------------------------------------------------------

TEST_F(KubeletLogServerTest, RequestsWithoutTheRightTokenAreRefused) {
  CreatePod("web");
  WaitRunning("web");
  const auto refused = std::make_pair(std::string("error"), std::string("Forbidden"));
  {
    RawPeer unsigned_peer(log_server_->endpoint(), "");
    unsigned_peer.SendFollow(1, "web");
    EXPECT_EQ(unsigned_peer.Next(), refused);
    unsigned_peer.SendFollow(2, "web");
    EXPECT_EQ(unsigned_peer.NextErrorMessage(), "the kubelet refused an unauthenticated log request");
  }
  {
    RawPeer wrong(log_server_->endpoint(), "not-the-cluster-token");
    wrong.SendFollow(1, "web");
    EXPECT_EQ(wrong.Next(), refused);
    wrong.SendFollow(2, "web");
    EXPECT_EQ(wrong.NextErrorMessage(), "the kubelet refused a log request with a wrong auth token");
  }
  {
    // The right token's MAC, but of another message; and a MAC cut short.
    RawPeer replay(log_server_->endpoint(), "");
    replay.SendFrame(kubelet_auth::Mac(kToken, RawPeer::FollowRequest(1, "other")), true);
    replay.SendFrame(RawPeer::FollowRequest(1, "web"), false);
    EXPECT_EQ(replay.Next(), refused);
    std::string request = RawPeer::FollowRequest(2, "web");
    replay.SendFrame(kubelet_auth::Mac(kToken, request).substr(0, 16), true);
    replay.SendFrame(request, false);
    EXPECT_EQ(replay.Next(), refused);
  }
  EXPECT_EQ(log_server_->stream_count(), 0u);
  {
    RawPeer right(log_server_->endpoint());
    right.SendFollow(1, "web");
    EXPECT_EQ(right.Next().first, "chunk");
    EXPECT_TRUE(Eventually([&] { return log_server_->stream_count() == 1; }));
  }
  EXPECT_TRUE(Eventually([&] { return log_server_->stream_count() == 0; }, seconds(10)));

  // Through the apiserver's client: refused without the token or with another.
  for (const std::string token : {"", "not-the-cluster-token"}) {
    apiserver::KubeletLogClient other(server_.registry.get(), apiserver::KubeletLogClientOptions{.auth_token = token});
    Status st = other.StreamLogs(Pod("web"), {}, [](std::string_view) { return true; }, nullptr);
    EXPECT_TRUE(st.Is(Reason::kForbidden)) << token << ": " << st.ToString();
    EXPECT_EQ(st.message(), token.empty() ? "the kubelet refused an unauthenticated log request"
                                          : "the kubelet refused a log request with a wrong auth token");
  }
  auto r = Logs("web");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(Has(*r, "start worker processes"));
}

TEST_F(KubeletLogServerTest, WithoutATokenNobodyIsServedUnlessExplicitlyInsecure) {
  CreatePod("web");
  WaitRunning("web");
  Kubelet* k = kubelet_.get();
  auto opener = [k](const std::string& ns, const std::string& pod, const std::string& uid,
                    const std::string& container, bool previous) {
    return k->OpenContainerLog(ns, pod, uid, container, previous);
  };
  {
    KubeletLogServer closed(&clock_, {});
    closed.AddNode("node-1", opener);
    ASSERT_TRUE(closed.Start().ok());
    for (const std::string token : {"", kToken}) {
      RawPeer peer(closed.endpoint(), token);
      peer.SendFollow(1, "web");
      EXPECT_EQ(peer.NextErrorMessage(),
                "this kubelet has no auth token (--kubelet-auth-token-file) and serves no logs") << token;
    }
    closed.Stop();
  }
  {
    LogServerOptions o;
    o.insecure = true;
    KubeletLogServer open(&clock_, o);
    open.AddNode("node-1", opener);
    ASSERT_TRUE(open.Start().ok());
    RawPeer peer(open.endpoint(), "");
    peer.SendFollow(1, "web");
    EXPECT_EQ(peer.Next().first, "chunk");
    open.Stop();
  }
  // It listens on loopback addresses only.
  for (const char* address : {"0.0.0.0", "localhost", "192.0.2.3", "127.1", "::1"}) {
    LogServerOptions o;
    o.addresses = {address};
    o.auth_token = kToken;
    KubeletLogServer bad(&clock_, o);
    Status st = bad.Start();
    EXPECT_TRUE(st.Is(Reason::kBadRequest)) << address << ": " << st.ToString();
  }
}

// --- where the apiserver connects ------------------------------------------------------------

// A ZeroMQ ROUTER on a loopback port of its own, counting the connections it accepts and the
// messages it receives.
class Decoy {
 public:
  Decoy() : router_(ctx_, zmq::socket_type::router) {
    router_.set(zmq::sockopt::linger, 0);
    router_.bind("tcp://127.0.0.1:0");
    endpoint_ = router_.get(zmq::sockopt::last_endpoint);
    monitor_.init(router_, "inproc://decoy-monitor", ZMQ_EVENT_ACCEPTED);
  }
  const std::string& endpoint() const { return endpoint_; }
  int port() const { return std::stoi(endpoint_.substr(endpoint_.rfind(':') + 1)); }
  // Takes in what arrives for `window`; the frames of the messages received so far.
  const std::vector<std::vector<std::string>>& Watch(milliseconds window) {
    auto deadline = std::chrono::steady_clock::now() + window;
    do {
      while (monitor_.check_event(0)) {
      }
      zmq::pollitem_t items[] = {{router_.handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 1, milliseconds(10));
      while (items[0].revents & ZMQ_POLLIN) {
        std::vector<std::string> frames;
        zmq::message_t m;
        if (!router_.recv(m, zmq::recv_flags::dontwait)) break;
        frames.push_back(m.to_string());
        while (m.more() && router_.recv(m, zmq::recv_flags::none)) frames.push_back(m.to_string());
        messages_.push_back(std::move(frames));
      }
    } while (std::chrono::steady_clock::now() < deadline);
    return messages_;
  }
  int accepted() const { return monitor_.accepted; }

 private:
  struct Monitor : zmq::monitor_t {
    void on_event_accepted(const zmq_event_t&, const char*) override { ++accepted; }
    int accepted = 0;
  };
  zmq::context_t ctx_{1};
  zmq::socket_t router_;
  Monitor monitor_;
  std::string endpoint_;
  std::vector<std::vector<std::string>> messages_;
};

TEST_F(KubeletLogServerTest, NodeAnnotationsAndForgedAddressesCannotRedirectLogs) {
  CreatePod("web");
  WaitRunning("web");
  Decoy decoy;
  // The old way to name an endpoint, on the real node: ignored, the kubelet still answers.
  {
    auto node = api()->Get(api()->Kind("nodes"), "", "node-1");
    ASSERT_TRUE(node.ok());
    Json j = node->ToJson();
    j["metadata"]["annotations"]["cattle.dev/kubelet-endpoint"] = decoy.endpoint();
    auto annotated = Object::FromJson(api()->kinds(), j);
    ASSERT_TRUE(annotated.ok());
    ASSERT_TRUE(api()->Update(*annotated).ok());
  }
  auto served = Logs("web");
  ASSERT_TRUE(served.ok()) << served.status().ToString();
  EXPECT_TRUE(Has(*served, "start worker processes")) << *served;

  // Nodes that name an endpoint only by annotation (tcp or ipc), or register an address
  // outside 127.0.0.0/8 or no IPv4 address: refused at once, nothing is dialed.
  struct Case {
    std::string node, ip;
    int port;
    std::string annotation, message;
  };
  const std::vector<Case> cases = {
      {"annotated", "", 0, decoy.endpoint(), "node \"annotated\" reports no InternalIP address for its kubelet"},
      {"annotated-ipc", "", 0, "ipc:///tmp/cattle-decoy.sock",
       "node \"annotated-ipc\" reports no InternalIP address for its kubelet"},
      {"remote", "192.0.2.3", decoy.port(), decoy.endpoint(),
       "node \"remote\" reports the kubelet address \"192.0.2.3\", which is not an IPv4 address in 127.0.0.0/8: "
       "refusing to connect to it"},
      {"named", "localhost", decoy.port(), "",
       "node \"named\" reports the kubelet address \"localhost\", which is not an IPv4 address in 127.0.0.0/8: "
       "refusing to connect to it"},
      {"portless", "127.0.0.1", 0, decoy.endpoint(),
       "node \"portless\" reports no usable kubelet port (status.daemonEndpoints.kubeletEndpoint.Port is 0)"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.node);
    ASSERT_NO_FATAL_FAILURE(CreateNode(c.node, c.ip, c.port,
                                       c.annotation.empty() ? Json::object()
                                                            : Json({{"cattle.dev/kubelet-endpoint", c.annotation}})));
    CreatePod("on-" + c.node, {}, Json::array({{{"name", "web"}, {"image", "nginx"}}}), c.node);
    auto started = std::chrono::steady_clock::now();
    auto r = Logs("on-" + c.node);
    EXPECT_LT(std::chrono::steady_clock::now() - started, milliseconds(1000)) << "it waited for an answer";
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(r.status().Is(Reason::kServiceUnavailable)) << r.status().ToString();
    EXPECT_EQ(r.status().message(), c.message);
  }
  // Whatever was sent would have arrived by now.
  EXPECT_TRUE(decoy.Watch(milliseconds(500)).empty()) << "the decoy received a request";
  EXPECT_EQ(decoy.accepted(), 0) << "the apiserver connected to the decoy";
}

TEST_F(KubeletLogServerTest, AForgedLoopbackAddressLearnsNoToken) {
  // Until Node status is protected, a forged loopback InternalIP:Port is dialed; what
  // arrives there is a MAC of that one request, never the token.
  Decoy decoy;
  ASSERT_NO_FATAL_FAILURE(CreateNode("forged", "127.0.0.1", decoy.port()));
  CreatePod("on-forged", {}, Json::array({{{"name", "web"}, {"image", "nginx"}}}), "forged");
  std::atomic<bool> cancelled{false};
  auto asking = std::async(std::launch::async, [&] {
    return client_->StreamLogs(Pod("on-forged"), {}, [](std::string_view) { return true; }, &cancelled);
  });
  std::vector<std::vector<std::string>> got;
  ASSERT_TRUE(Eventually([&] { return !(got = decoy.Watch(milliseconds(20))).empty(); }, seconds(5)));
  cancelled = true;
  ASSERT_EQ(asking.wait_for(seconds(2)), std::future_status::ready);
  ASSERT_EQ(got[0].size(), 3u);  // identity, MAC, request
  EXPECT_EQ(got[0][1].size(), kubelet_auth::kMacBytes);
  EXPECT_TRUE(kubelet_auth::Verify(kToken, got[0][2], got[0][1]));
  for (const auto& frames : got)
    for (const auto& f : frames) EXPECT_FALSE(Has(f, kToken)) << "the token went on the wire";
}

}  // namespace
}  // namespace cattle::kubelet
