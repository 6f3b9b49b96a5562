// The real kubectl (v1.32, through the machine's version dispatcher) against a real cluster
// started with `cattle up --nodes 3`: every command of issue 4's acceptance list, checking
// kubectl's output and, over the ZeroMQ face, the API state it leaves behind. Bad HTTP input
// (curl) gets Kubernetes' Status errors and changes nothing.
//
// Each test starts its own cluster at time scale 20 (a 30 s grace period takes 1.5 s) and
// polls with deadlines.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <thread>
#include <zmq.hpp>

#include "testutil/kube.h"

namespace cattle {
namespace {

using testutil::Cell;
using testutil::CountOf;
using testutil::Eventually;
using testutil::Fields;
using testutil::Lines;
using testutil::PodReady;
using testutil::PodTerminating;
using testutil::RowOf;
using testutil::ShellQuote;

constexpr double kTimeScale = 20;

#define EXPECT_HAS(text, needle) \
  EXPECT_NE((text).find(needle), std::string::npos) << "expected \"" << (needle) << "\" in:\n" << (text)
#define EXPECT_LACKS(text, needle) \
  EXPECT_EQ((text).find(needle), std::string::npos) << "unexpected \"" << (needle) << "\" in:\n" << (text)
#define EXPECT_MATCHES(text, re) \
  EXPECT_TRUE(std::regex_search((text), std::regex(re))) << "expected /" << (re) << "/ in:\n" << (text)

std::string WebApp(int replicas, const std::string& image = "nginx:1.26", const std::string& name = "web-app") {
  return R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: )" + name + R"(
  labels:
    app: )" + name + R"(
spec:
  replicas: )" + std::to_string(replicas) + R"(
  selector:
    matchLabels:
      app: )" + name + R"(
  template:
    metadata:
      labels:
        app: )" + name + R"(
    spec:
      containers:
      - name: )" + name + R"(
        image: )" + image + R"(
        ports:
        - containerPort: 80
)";
}

std::string Str(const Json& j, const std::string& pointer) {
  Json::json_pointer p(pointer);
  if (!j.contains(p) || !j.at(p).is_string()) return "";
  return j.at(p).get<std::string>();
}
int64_t Int(const Json& j, const std::string& pointer, int64_t def = -1) {
  Json::json_pointer p(pointer);
  if (!j.contains(p) || !j.at(p).is_number()) return def;
  return j.at(p).get<int64_t>();
}
std::string Annotation(const Json& j, const std::string& key) {
  if (!j.contains("metadata") || !j["metadata"].contains("annotations")) return "";
  return j["metadata"]["annotations"].value(key, "");
}

class KubectlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testutil::HaveCommand("kubectl")) GTEST_SKIP() << "kubectl is not installed: the kubectl tests need the real kubectl";
    std::string out;
    ASSERT_TRUE(k_.Up(3, kTimeScale, &out)) << out;
  }

  int K(const std::string& args, std::string* out = nullptr, std::string* err = nullptr) {
    return k_.Kubectl(args, out, err);
  }

  // Pods of the deployment that are not terminating.
  std::vector<Json> Pods(const std::string& app = "web-app") {
    std::vector<Json> out;
    for (auto& p : k_.List("pods", "default", "app=" + app))
      if (!PodTerminating(p)) out.push_back(p);
    return out;
  }
  std::vector<Json> AllPods(const std::string& app = "web-app") { return k_.List("pods", "default", "app=" + app); }
  // Exactly `n` pods, all Ready with `image`, and nothing terminating.
  bool SettledAt(int n, const std::string& image = "", const std::string& app = "web-app") {
    auto pods = AllPods(app);
    if (static_cast<int>(pods.size()) != n) return false;
    for (auto& p : pods) {
      if (!PodReady(p)) return false;
      if (!image.empty() && Str(p, "/spec/containers/0/image") != image) return false;
    }
    return true;
  }
  std::vector<Json> ReplicaSets(const std::string& app = "web-app") { return k_.List("replicasets", "default", "app=" + app); }
  std::set<std::string> Names(const std::vector<Json>& objs) {
    std::set<std::string> out;
    for (auto& o : objs) out.insert(Str(o, "/metadata/name"));
    return out;
  }

  void ApplyAndRollOut(int replicas, const std::string& image = "nginx:1.26") {
    std::string out;
    std::string file = k_.Write("web-app.yaml", WebApp(replicas, image));
    ASSERT_EQ(K("apply -f web-app.yaml", &out), 0) << out;
    ASSERT_EQ(K("rollout status deployment/web-app --timeout=60s", &out), 0) << out;
    EXPECT_HAS(out, "deployment \"web-app\" successfully rolled out");
    ASSERT_TRUE(Eventually([&] { return SettledAt(replicas, image); }, std::chrono::seconds(30)));
  }

  testutil::KubeCluster k_;
};

TEST_F(KubectlTest, VersionDiscoveryNodesDescribeCordon) {
  std::string out, err;
  ASSERT_EQ(K("version", &out, &err), 0) << out << err;
  EXPECT_MATCHES(out, R"(Client Version: v1\.32\.\d+)");
  EXPECT_MATCHES(out, R"(Server Version: v1\.32\.\d+)");
  EXPECT_LACKS(err, "WARNING");

  ASSERT_EQ(K("api-resources", &out, &err), 0) << out << err;
  EXPECT_MATCHES(out, R"(^NAME\s+SHORTNAMES\s+APIVERSION\s+NAMESPACED\s+KIND\n)");
  for (const char* re : {R"((^|\n)pods\s+po\s+v1\s+true\s+Pod\n)", R"((^|\n)nodes\s+no\s+v1\s+false\s+Node\n)",
                         R"((^|\n)namespaces\s+ns\s+v1\s+false\s+Namespace\n)",
                         R"((^|\n)configmaps\s+cm\s+v1\s+true\s+ConfigMap\n)", R"((^|\n)events\s+ev\s+v1\s+true\s+Event\n)",
                         R"((^|\n)deployments\s+deploy\s+apps/v1\s+true\s+Deployment\n)",
                         R"((^|\n)replicasets\s+rs\s+apps/v1\s+true\s+ReplicaSet\n)",
                         R"((^|\n)leases\s+coordination\.k8s\.io/v1\s+true\s+Lease\n)"})
    EXPECT_MATCHES(out, re);
  ASSERT_EQ(K("api-resources --api-group=apps -o name", &out), 0) << out;
  EXPECT_HAS(out, "deployments.apps\n");
  EXPECT_LACKS(out, "pods\n");

  ASSERT_EQ(K("get nodes -o wide", &out, &err), 0) << out << err;
  auto lines = Lines(out);
  ASSERT_EQ(lines.size(), 4u) << out;
  EXPECT_EQ(Fields(lines[0]), (std::vector<std::string>{"NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP",
                                                        "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"}))
      << out;
  for (const char* name : {"node-1", "node-2", "node-3"}) {
    Json node = k_.Get("nodes", "", name);
    ASSERT_FALSE(node.is_null()) << name;
    std::string ip;
    for (auto& a : node["status"]["addresses"])
      if (a.value("type", "") == "InternalIP") ip = a.value("address", "");
    auto f = Fields(RowOf(out, name));
    ASSERT_GE(f.size(), 10u) << out;
    EXPECT_EQ(f[1], "Ready") << out;
    EXPECT_EQ(f[2], "<none>") << out;
    EXPECT_EQ(f[4], Str(node, "/status/nodeInfo/kubeletVersion")) << out;
    EXPECT_EQ(f[5], ip) << out;
    EXPECT_EQ(f[6], "<none>") << out;
    EXPECT_EQ(f.back(), Str(node, "/status/nodeInfo/containerRuntimeVersion")) << out;
  }

  Json node1 = k_.Get("nodes", "", "node-1");
  ASSERT_EQ(K("describe node node-1", &out, &err), 0) << out << err;
  EXPECT_MATCHES(out, R"(^Name:\s+node-1\n)");
  EXPECT_MATCHES(out, R"(\nRoles:\s+<none>\n)");
  EXPECT_MATCHES(out, R"(kubernetes\.io/hostname=node-1)");
  EXPECT_MATCHES(out, R"(\nUnschedulable:\s+false\n)");
  EXPECT_MATCHES(out, R"(\n\s+Ready\s+True\s)");
  EXPECT_MATCHES(out, R"(\n\s+MemoryPressure\s+False\s)");
  EXPECT_MATCHES(out, R"(\n\s+InternalIP:\s+127\.0\.1\.1\n)");
  EXPECT_MATCHES(out, "\nPodCIDR:\\s+" + std::regex_replace(Str(node1, "/spec/podCIDR"), std::regex(R"(\.)"), "\\.") + "\n");
  for (const char* section : {"\nCapacity:\n", "\nAllocatable:\n", "\nSystem Info:\n", "\nNon-terminated Pods:",
                              "\nAllocated resources:\n", "\nEvents:"})
    EXPECT_HAS(out, section);
  EXPECT_MATCHES(out, R"(Events:[\s\S]*Normal\s+NodeReady\s)");

  ASSERT_EQ(K("cordon node-1", &out), 0) << out;
  EXPECT_EQ(out, "node/node-1 cordoned\n");
  EXPECT_EQ(k_.Get("nodes", "", "node-1")["spec"].value("unschedulable", false), true);
  ASSERT_EQ(K("cordon node-1", &out), 0) << out;
  EXPECT_EQ(out, "node/node-1 already cordoned\n");
  ASSERT_EQ(K("get nodes", &out), 0) << out;
  EXPECT_EQ(Cell(out, "node-1", 1), "Ready,SchedulingDisabled") << out;
  EXPECT_EQ(Cell(out, "node-2", 1), "Ready") << out;
  ASSERT_EQ(K("uncordon node-1", &out), 0) << out;
  EXPECT_EQ(out, "node/node-1 uncordoned\n");
  EXPECT_EQ(k_.Get("nodes", "", "node-1")["spec"].value("unschedulable", false), false);
  ASSERT_EQ(K("get nodes node-1", &out), 0) << out;
  EXPECT_EQ(Cell(out, "node-1", 1), "Ready") << out;
}

TEST_F(KubectlTest, ApplyRolloutGetDescribeWatchDeleteWaitEvents) {
  std::string out, err;
  k_.Write("web-app.yaml", WebApp(3));
  ASSERT_EQ(K("apply -f web-app.yaml", &out), 0) << out;
  EXPECT_EQ(out, "deployment.apps/web-app created\n");
  Json d = k_.Get("deployments", "default", "web-app");
  ASSERT_FALSE(d.is_null());
  EXPECT_EQ(Int(d, "/spec/replicas"), 3);
  EXPECT_EQ(Int(d, "/metadata/generation"), 1);
  EXPECT_EQ(Str(d, "/spec/template/spec/containers/0/ports/0/protocol"), "TCP") << "defaults applied";
  Json last = Json::parse(Annotation(d, "kubectl.kubernetes.io/last-applied-configuration"), nullptr, false);
  EXPECT_EQ(Int(last, "/spec/replicas"), 3) << d.dump();

  ASSERT_EQ(K("rollout status deployment/web-app --timeout=60s", &out), 0) << out;
  EXPECT_HAS(out, "deployment \"web-app\" successfully rolled out");
  EXPECT_TRUE(Eventually([&] { return SettledAt(3); }, std::chrono::seconds(20)));

  // Applied again after an edit: configured (a strategic merge patch that keeps the ports),
  // then unchanged.
  k_.Write("web-app.yaml", WebApp(4));
  ASSERT_EQ(K("apply -f web-app.yaml", &out), 0) << out;
  EXPECT_EQ(out, "deployment.apps/web-app configured\n");
  d = k_.Get("deployments", "default", "web-app");
  EXPECT_EQ(Int(d, "/spec/replicas"), 4);
  EXPECT_EQ(Int(d, "/metadata/generation"), 2);
  EXPECT_EQ(Int(d, "/spec/template/spec/containers/0/ports/0/containerPort"), 80) << d.dump();
  last = Json::parse(Annotation(d, "kubectl.kubernetes.io/last-applied-configuration"), nullptr, false);
  EXPECT_EQ(Int(last, "/spec/replicas"), 4);
  ASSERT_EQ(K("apply -f web-app.yaml", &out), 0) << out;
  EXPECT_EQ(out, "deployment.apps/web-app unchanged\n");
  EXPECT_EQ(Int(k_.Get("deployments", "default", "web-app"), "/metadata/generation"), 2);
  ASSERT_EQ(K("rollout status deployment/web-app --timeout=60s", &out), 0) << out;
  EXPECT_HAS(out, "successfully rolled out");
  ASSERT_TRUE(Eventually([&] { return SettledAt(4); }, std::chrono::seconds(20)));
  auto pods = Pods();
  ASSERT_EQ(pods.size(), 4u);
  auto rss = ReplicaSets();
  ASSERT_EQ(rss.size(), 1u);
  std::string rs = Str(rss[0], "/metadata/name");

  // get pods -o wide: the server-side Table with the priority-1 columns.
  ASSERT_EQ(K("get pods -o wide", &out, &err), 0) << out << err;
  ASSERT_EQ(Lines(out).size(), 5u) << out;
  EXPECT_EQ(Fields(Lines(out)[0]), (std::vector<std::string>{"NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE",
                                                             "NOMINATED", "NODE", "READINESS", "GATES"}));
  for (auto& p : pods) {
    auto f = Fields(RowOf(out, Str(p, "/metadata/name")));
    ASSERT_EQ(f.size(), 9u) << out;
    EXPECT_EQ(f[1], "1/1");
    EXPECT_EQ(f[2], "Running");
    EXPECT_EQ(f[3], "0");
    EXPECT_EQ(f[5], Str(p, "/status/podIP"));
    EXPECT_EQ(f[6], Str(p, "/spec/nodeName"));
    EXPECT_EQ(f[7], "<none>");
    EXPECT_EQ(f[8], "<none>");
  }

  // -A --show-labels: namespace and labels from each row's object metadata.
  ASSERT_EQ(K("get pods -A --show-labels", &out, &err), 0) << out << err;
  EXPECT_EQ(Fields(Lines(out)[0]),
            (std::vector<std::string>{"NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE", "LABELS"}));
  for (auto& p : pods) {
    auto f = Fields(RowOf(out, Str(p, "/metadata/name"), 1));
    ASSERT_EQ(f.size(), 7u) << out;
    EXPECT_EQ(f[0], "default");
    EXPECT_EQ(f[6], "app=web-app,pod-template-hash=" + Str(p, "/metadata/labels/pod-template-hash")) << out;
  }

  const Json& p = pods[0];
  std::string name = Str(p, "/metadata/name"), uid = Str(p, "/metadata/uid"), ip = Str(p, "/status/podIP"),
              node = Str(p, "/spec/nodeName");
  ASSERT_EQ(K("get pod " + name +
                  " -o custom-columns=NAME:.metadata.name,UID:.metadata.uid,IP:.status.podIP,RESTARTS:.status.containerStatuses[0].restartCount",
              &out, &err),
            0)
      << out << err;
  ASSERT_EQ(Lines(out).size(), 2u) << out;
  EXPECT_EQ(Fields(Lines(out)[0]), (std::vector<std::string>{"NAME", "UID", "IP", "RESTARTS"}));
  EXPECT_EQ(Fields(Lines(out)[1]), (std::vector<std::string>{name, uid, ip, "0"}));
  ASSERT_EQ(K("get pod " + name + " -o jsonpath='{.metadata.uid}'", &out, &err), 0) << out << err;
  EXPECT_EQ(out, uid);

  // describe pod, with the events of the scheduler and the kubelet.
  ASSERT_EQ(K("describe pod " + name, &out, &err), 0) << out << err;
  EXPECT_MATCHES(out, "^Name:\\s+" + name + "\n");
  EXPECT_MATCHES(out, R"(\nNamespace:\s+default\n)");
  EXPECT_MATCHES(out, "\nNode:\\s+" + node + "/" + Str(p, "/status/hostIP") + "\n");
  EXPECT_MATCHES(out, R"(\nLabels:\s+app=web-app\n)");
  EXPECT_MATCHES(out, R"(\nStatus:\s+Running\n)");
  EXPECT_MATCHES(out, "\nIP:\\s+" + ip + "\n");
  EXPECT_MATCHES(out, "\nControlled By:\\s+ReplicaSet/" + rs + "\n");
  EXPECT_MATCHES(out, R"(\n\s+Image:\s+nginx:1\.26\n)");
  EXPECT_MATCHES(out, R"(\n\s+Port:\s+80/TCP\n)");
  EXPECT_MATCHES(out, R"(\n\s+State:\s+Running\n)");
  EXPECT_MATCHES(out, R"(\n\s+Restart Count:\s+0\n)");
  EXPECT_MATCHES(out, R"(\nConditions:\n)");
  EXPECT_MATCHES(out, "Events:[\\s\\S]*Normal\\s+Scheduled\\s.*default-scheduler\\s+Successfully assigned default/" + name +
                          " to " + node);
  EXPECT_MATCHES(out, R"(Events:[\s\S]*Normal\s+Started\s.*kubelet\s+Started container web-app)");

  ASSERT_EQ(K("describe deployment web-app", &out, &err), 0) << out << err;
  EXPECT_MATCHES(out, R"(^Name:\s+web-app\n)");
  EXPECT_MATCHES(out, R"(\nSelector:\s+app=web-app\n)");
  EXPECT_MATCHES(out, R"(\nReplicas:\s+4 desired \| 4 updated \| 4 total \| 4 available \| 0 unavailable\n)");
  EXPECT_MATCHES(out, R"(\nStrategyType:\s+RollingUpdate\n)");
  EXPECT_MATCHES(out, R"(\nRollingUpdateStrategy:\s+25% max unavailable, 25% max surge\n)");
  EXPECT_MATCHES(out, R"(\n\s+Available\s+True\s+MinimumReplicasAvailable\n)");
  EXPECT_MATCHES(out, R"(\n\s+Progressing\s+True\s+NewReplicaSetAvailable\n)");
  EXPECT_MATCHES(out, "\nNewReplicaSet:\\s+" + rs + " \\(4/4 replicas created\\)\n");
  EXPECT_MATCHES(out, "Events:[\\s\\S]*Normal\\s+ScalingReplicaSet\\s.*deployment-controller\\s+Scaled up replica set " + rs);

  ASSERT_EQ(K("get rs", &out, &err), 0) << out << err;
  ASSERT_EQ(Lines(out).size(), 2u) << out;
  EXPECT_EQ(Fields(Lines(out)[0]), (std::vector<std::string>{"NAME", "DESIRED", "CURRENT", "READY", "AGE"}));
  auto rsrow = Fields(RowOf(out, rs));
  ASSERT_EQ(rsrow.size(), 5u) << out;
  EXPECT_EQ(std::vector<std::string>(rsrow.begin() + 1, rsrow.end() - 1), (std::vector<std::string>{"4", "4", "4"}));

  // get pods -w prints the existing pods, then each change as it happens: the deleted pod
  // Terminating and its replacement, a new name.
  auto watch = k_.KubectlInBackground("get pods -w", "watch.out");
  std::set<std::string> before = Names(pods);
  ASSERT_TRUE(Eventually([&] {
    std::string w = watch->Output();
    for (auto& n : before)
      if (w.find(n) == std::string::npos) return false;
    return true;
  }, std::chrono::seconds(20))) << watch->Output();
  ASSERT_TRUE(watch->Running()) << watch->Output();
  ASSERT_EQ(K("delete pod " + name, &out, &err), 0) << out << err;
  EXPECT_EQ(out, "pod \"" + name + "\" deleted\n");
  EXPECT_TRUE(k_.Get("pods", "default", name).is_null()) << "kubectl delete returns once the pod is gone";
  ASSERT_TRUE(Eventually([&] { return SettledAt(4); }, std::chrono::seconds(30)));
  std::string replacement;
  for (auto& n : Names(Pods()))
    if (!before.count(n)) replacement = n;
  ASSERT_FALSE(replacement.empty());
  EXPECT_EQ(Names(Pods()).size(), 4u);
  EXPECT_TRUE(Eventually([&] {
    std::string w = watch->Output();
    return std::regex_search(w, std::regex(replacement + R"(\s+1/1\s+Running\s)")) &&
           std::regex_search(w, std::regex(name + R"(\s+\S+\s+Terminating\s)"));
  }, std::chrono::seconds(20))) << watch->Output();
  EXPECT_TRUE(watch->Running()) << "the watch stays open";
  watch->Stop();
  EXPECT_EQ(CountOf(watch->Output(), "NAME"), 1) << watch->Output();

  ASSERT_EQ(K("wait --for=condition=Ready pod -l app=web-app --timeout=60s", &out, &err), 0) << out << err;
  std::set<std::string> met;
  for (auto& line : Lines(out)) {
    std::smatch m;
    if (std::regex_match(line, m, std::regex(R"(pod/(\S+) condition met)"))) met.insert(m[1]);
  }
  EXPECT_EQ(met, Names(Pods())) << out;

  // Events, oldest first, including the deletion's.
  ASSERT_EQ(K("get events --sort-by=.lastTimestamp", &out, &err), 0) << out << err;
  EXPECT_MATCHES(out, R"(^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE\n)");
  EXPECT_MATCHES(out, "Normal\\s+Scheduled\\s+pod/" + replacement + "\\s+Successfully assigned default/" + replacement);
  EXPECT_MATCHES(out, "Normal\\s+SuccessfulCreate\\s+replicaset/" + rs + "\\s+Created pod: " + replacement);
  EXPECT_MATCHES(out, "Normal\\s+ScalingReplicaSet\\s+deployment/web-app\\s+Scaled up replica set " + rs);
  EXPECT_MATCHES(out, "Normal\\s+Killing\\s+pod/" + name + "\\s");
  ASSERT_EQ(K(R"(get events --sort-by=.lastTimestamp -o jsonpath='{range .items[*]}{.lastTimestamp}{"\n"}{end}')", &out, &err), 0)
      << out << err;
  auto stamps = Lines(out);
  EXPECT_GE(stamps.size(), 10u) << out;
  EXPECT_TRUE(std::is_sorted(stamps.begin(), stamps.end())) << out;

  // delete -f: the ReplicaSet and the pods go too.
  ASSERT_EQ(K("delete -f web-app.yaml", &out, &err), 0) << out << err;
  EXPECT_EQ(out, "deployment.apps \"web-app\" deleted\n");
  EXPECT_TRUE(k_.Get("deployments", "default", "web-app").is_null());
  EXPECT_TRUE(Eventually([&] { return ReplicaSets().empty() && AllPods().empty(); }, std::chrono::seconds(30)))
      << ReplicaSets().size() << " ReplicaSets, " << AllPods().size() << " pods left";
  ASSERT_EQ(K("get deploy,rs,pods", &out, &err), 0) << out << err;
  EXPECT_EQ(out, "");
  EXPECT_HAS(err, "No resources found in default namespace.");
}

TEST_F(KubectlTest, ScaleSetImageHistoryUndoRestart) {
  ASSERT_NO_FATAL_FAILURE(ApplyAndRollOut(3));
  std::string out, err;
  ASSERT_EQ(K("scale deployment web-app --replicas=5", &out, &err), 0) << out << err;
  EXPECT_EQ(out, "deployment.apps/web-app scaled\n");
  EXPECT_EQ(Int(k_.Get("deployments", "default", "web-app"), "/spec/replicas"), 5);
  ASSERT_EQ(K("rollout status deployment/web-app --timeout=60s", &out), 0) << out;
  ASSERT_TRUE(Eventually([&] { return SettledAt(5, "nginx:1.26"); }, std::chrono::seconds(30)));
  auto rss = ReplicaSets();
  ASSERT_EQ(rss.size(), 1u);
  std::string v1 = Str(rss[0], "/metadata/name");

  // set image: a new ReplicaSet (revision 2); the old one kept at 0.
  ASSERT_EQ(K("set image deployment/web-app web-app=nginx:1.27", &out, &err), 0) << out << err;
  EXPECT_EQ(out, "deployment.apps/web-app image updated\n");
  ASSERT_EQ(K("rollout status deployment/web-app --timeout=60s", &out), 0) << out;
  EXPECT_HAS(out, "deployment \"web-app\" successfully rolled out");
  ASSERT_TRUE(Eventually([&] { return SettledAt(5, "nginx:1.27"); }, std::chrono::seconds(30)));
  rss = ReplicaSets();
  ASSERT_EQ(rss.size(), 2u);
  std::string v2;
  for (auto& rs : rss) {
    std::string n = Str(rs, "/metadata/name");
    if (n == v1) {
      EXPECT_EQ(Int(rs, "/spec/replicas"), 0);
      EXPECT_EQ(Annotation(rs, "deployment.kubernetes.io/revision"), "1");
    } else {
      v2 = n;
      EXPECT_EQ(Int(rs, "/spec/replicas"), 5);
      EXPECT_EQ(Str(rs, "/spec/template/spec/containers/0/image"), "nginx:1.27");
      EXPECT_EQ(Annotation(rs, "deployment.kubernetes.io/revision"), "2");
    }
  }
  ASSERT_EQ(K("get rs", &out), 0) << out;
  ASSERT_EQ(Lines(out).size(), 3u) << out;
  auto row = Fields(RowOf(out, v1));
  ASSERT_EQ(row.size(), 5u) << out;
  EXPECT_EQ(std::vector<std::string>(row.begin() + 1, row.end() - 1), (std::vector<std::string>{"0", "0", "0"})) << out;
  row = Fields(RowOf(out, v2));
  ASSERT_EQ(row.size(), 5u) << out;
  EXPECT_EQ(std::vector<std::string>(row.begin() + 1, row.end() - 1), (std::vector<std::string>{"5", "5", "5"})) << out;

  auto revisions = [&](std::string* text) {
    std::vector<std::string> revs;
    if (K("rollout history deployment/web-app", text) != 0) return revs;
    for (auto& line : Lines(*text)) {
      auto f = Fields(line);
      if (f.size() == 2 && std::all_of(f[0].begin(), f[0].end(), ::isdigit)) {
        EXPECT_EQ(f[1], "<none>") << *text;
        revs.push_back(f[0]);
      }
    }
    return revs;
  };
  EXPECT_EQ(revisions(&out), (std::vector<std::string>{"1", "2"})) << out;
  EXPECT_MATCHES(out, R"(^deployment\.apps/web-app\s*\nREVISION\s+CHANGE-CAUSE\n)");
  ASSERT_EQ(K("rollout history deployment/web-app --revision=1", &out), 0) << out;
  EXPECT_MATCHES(out, R"(Image:\s+nginx:1\.26\n)");

  // undo: revision 1's ReplicaSet comes back as revision 3; no new ReplicaSet.
  ASSERT_EQ(K("rollout undo deployment/web-app", &out, &err), 0) << out << err;
  EXPECT_EQ(out, "deployment.apps/web-app rolled back\n");
  ASSERT_EQ(K("rollout status deployment/web-app --timeout=60s", &out), 0) << out;
  ASSERT_TRUE(Eventually([&] { return SettledAt(5, "nginx:1.26"); }, std::chrono::seconds(30)));
  rss = ReplicaSets();
  EXPECT_EQ(Names(rss), (std::set<std::string>{v1, v2})) << "undo reuses the old ReplicaSet";
  for (auto& rs : rss) {
    bool is_v1 = Str(rs, "/metadata/name") == v1;
    EXPECT_EQ(Int(rs, "/spec/replicas"), is_v1 ? 5 : 0);
    EXPECT_EQ(Annotation(rs, "deployment.kubernetes.io/revision"), is_v1 ? "3" : "2");
  }
  EXPECT_EQ(revisions(&out), (std::vector<std::string>{"2", "3"})) << out;

  // restart: a new template annotation, so a new ReplicaSet (revision 4) and new pods.
  std::set<std::string> before = Names(Pods());
  ASSERT_EQ(K("rollout restart deployment/web-app", &out, &err), 0) << out << err;
  EXPECT_EQ(out, "deployment.apps/web-app restarted\n");
  Json d = k_.Get("deployments", "default", "web-app");
  EXPECT_FALSE(Str(d, "/spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt").empty()) << d.dump();
  ASSERT_EQ(K("rollout status deployment/web-app --timeout=60s", &out), 0) << out;
  ASSERT_TRUE(Eventually([&] {
    if (!SettledAt(5, "nginx:1.26")) return false;
    for (auto& n : Names(Pods()))
      if (before.count(n)) return false;
    return true;
  }, std::chrono::seconds(30))) << "every pod replaced";
  for (auto& pod : Pods())
    EXPECT_FALSE(Str(pod, "/metadata/annotations/kubectl.kubernetes.io~1restartedAt").empty());
  rss = ReplicaSets();
  ASSERT_EQ(rss.size(), 3u);
  for (auto& rs : rss) {
    std::string n = Str(rs, "/metadata/name");
    if (n == v1 || n == v2) {
      EXPECT_EQ(Int(rs, "/spec/replicas"), 0) << n;
    } else {
      EXPECT_EQ(Int(rs, "/spec/replicas"), 5);
      EXPECT_EQ(Annotation(rs, "deployment.kubernetes.io/revision"), "4");
    }
  }
  EXPECT_EQ(revisions(&out), (std::vector<std::string>{"2", "3", "4"})) << out;
}

TEST_F(KubectlTest, LogsCurrentPreviousAndFollow) {
  std::string out, err;
  // The container exits with code 3 after 60 s (3 s at this time scale) and is restarted.
  k_.Write("crasher.yaml", R"(apiVersion: v1
kind: Pod
metadata:
  name: crasher
  annotations:
    cattle.dev/exit-after: "60s"
    cattle.dev/exit-code: "3"
spec:
  containers:
  - name: main
    image: busybox:1.36
)");
  ASSERT_EQ(K("apply -f crasher.yaml", &out), 0) << out;
  EXPECT_EQ(out, "pod/crasher created\n");
  ASSERT_EQ(K("wait --for=condition=Ready pod/crasher --timeout=60s", &out, &err), 0) << out << err;
  EXPECT_EQ(out, "pod/crasher condition met\n");

  // logs -f streams the running container and ends when it exits.
  auto follow = k_.KubectlInBackground("logs -f crasher", "follow.out");
  EXPECT_TRUE(Eventually([&] { return follow->Output().find("container main started") != std::string::npos; },
                         std::chrono::seconds(10)))
      << follow->Output();
  EXPECT_EQ(follow->Wait(std::chrono::seconds(30)), 0) << follow->Output();
  EXPECT_HAS(follow->Output(), "container main exiting with code 3");

  ASSERT_TRUE(Eventually([&] { return Int(k_.Get("pods", "default", "crasher"), "/status/containerStatuses/0/restartCount", 0) >= 1; },
                         std::chrono::seconds(30)));
  Json pod = k_.Get("pods", "default", "crasher");
  EXPECT_EQ(Int(pod, "/status/containerStatuses/0/lastState/terminated/exitCode"), 3) << pod.dump();

  ASSERT_EQ(K("logs crasher --previous", &out, &err), 0) << out << err;
  EXPECT_HAS(out, "container main started (simulated, image docker.io/library/busybox:1.36)");
  EXPECT_HAS(out, "container main exiting with code 3");
  ASSERT_EQ(K("logs crasher", &out, &err), 0) << out << err;
  EXPECT_HAS(out, "container main started (simulated, image docker.io/library/busybox:1.36)");
  ASSERT_EQ(K("logs crasher --tail=1 -c main --previous", &out, &err), 0) << out << err;
  EXPECT_EQ(out, "container main exiting with code 3\n");

  ASSERT_EQ(K("get pod crasher -o custom-columns=NAME:.metadata.name,RESTARTS:.status.containerStatuses[0].restartCount --no-headers",
              &out, &err),
            0)
      << out << err;
  auto f = Fields(out);
  ASSERT_EQ(f.size(), 2u) << out;
  EXPECT_GE(std::stoi(f[1]), 1) << out;
  ASSERT_EQ(K("describe pod crasher", &out, &err), 0) << out << err;
  EXPECT_MATCHES(out, R"(\n\s+Last State:\s+Terminated\n\s+Reason:\s+Error\n\s+Exit Code:\s+3\n)");

  EXPECT_EQ(K("logs nope", &out, &err), 1);
  EXPECT_HAS(err, "error: error from server (NotFound): pods \"nope\" not found in namespace \"default\"");
}

// `kubectl logs` reaches only the kubelet that registered (InternalIP and
// daemonEndpoints.kubeletEndpoint.Port, signed with the cluster's token): an annotation
// naming another endpoint, or a Node registering an address outside 127.0.0.0/8, makes the
// apiserver connect nowhere else. A ZeroMQ ROUTER on its own loopback port stands by to
// catch any connection.
TEST_F(KubectlTest, LogsGoOnlyWhereTheKubeletRegistered) {
  std::string out, err;
  struct stat st {};
  ASSERT_EQ(stat((k_.cluster_dir() + "/kubelet-auth-token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  zmq::context_t ctx(1);
  zmq::socket_t decoy(ctx, zmq::socket_type::router);
  decoy.set(zmq::sockopt::linger, 0);
  decoy.bind("tcp://127.0.0.1:0");
  const std::string decoy_endpoint = decoy.get(zmq::sockopt::last_endpoint);
  const std::string decoy_port = decoy_endpoint.substr(decoy_endpoint.rfind(':') + 1);
  struct Monitor : zmq::monitor_t {
    void on_event_accepted(const zmq_event_t&, const char*) override { ++accepted; }
    int accepted = 0;
  } monitor;
  monitor.init(decoy, "inproc://decoy-monitor", ZMQ_EVENT_ACCEPTED);

  k_.Write("talker.yaml", R"(apiVersion: v1
kind: Pod
metadata:
  name: talker
spec:
  containers:
  - name: main
    image: busybox:1.36
)");
  ASSERT_EQ(K("apply -f talker.yaml", &out, &err), 0) << out << err;
  ASSERT_EQ(K("wait --for=condition=Ready pod/talker --timeout=60s", &out, &err), 0) << out << err;
  const std::string node = Str(k_.Get("pods", "default", "talker"), "/spec/nodeName");
  ASSERT_FALSE(node.empty());
  ASSERT_EQ(K("annotate node " + node + " cattle.dev/kubelet-endpoint=" + decoy_endpoint, &out, &err), 0) << out << err;
  ASSERT_EQ(K("logs talker", &out, &err), 0) << out << err;
  EXPECT_HAS(out, "container main started (simulated, image docker.io/library/busybox:1.36)");

  // Nodes nobody runs, naming the decoy by annotation (tcp and ipc) or registering a
  // non-loopback address with the decoy's port, each with a pod bound to it.
  std::string manifest;
  auto add_node = [&](const std::string& name, const std::string& annotation, const std::string& ip) {
    manifest += "apiVersion: v1\nkind: Node\nmetadata:\n  name: " + name +
                "\n  annotations:\n    cattle.dev/kubelet-endpoint: \"" + annotation + "\"\n";
    if (!ip.empty())
      manifest += "status:\n  addresses:\n  - type: InternalIP\n    address: " + ip +
                  "\n  daemonEndpoints:\n    kubeletEndpoint:\n      Port: " + decoy_port + "\n";
    manifest += "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: on-" + name + "\nspec:\n  nodeName: " + name +
                "\n  containers:\n  - name: main\n    image: busybox:1.36\n---\n";
  };
  add_node("forged-tcp", decoy_endpoint, "");
  add_node("forged-ipc", "ipc://" + k_.Path("decoy.sock"), "");
  add_node("forged-remote", decoy_endpoint, "192.0.2.1");
  k_.Write("forged.yaml", manifest);
  ASSERT_EQ(K("create -f forged.yaml", &out, &err), 0) << out << err;
  Json remote = k_.Get("nodes", "", "forged-remote");
  ASSERT_EQ(Str(remote, "/status/addresses/0/address"), "192.0.2.1") << remote.dump();

  EXPECT_EQ(K("logs on-forged-tcp", &out, &err), 1) << out;
  EXPECT_HAS(err, "(ServiceUnavailable): node \"forged-tcp\" reports no InternalIP address for its kubelet");
  EXPECT_EQ(K("logs on-forged-ipc", &out, &err), 1) << out;
  EXPECT_HAS(err, "(ServiceUnavailable): node \"forged-ipc\" reports no InternalIP address for its kubelet");
  EXPECT_EQ(K("logs on-forged-remote", &out, &err), 1) << out;
  EXPECT_HAS(err, "node \"forged-remote\" reports the kubelet address \"192.0.2.1\", which is not an IPv4 address "
                  "in 127.0.0.0/8: refusing to connect to it");
  // The same through the HTTP API directly: a Status.
  std::string body;
  ASSERT_EQ(testutil::Run("curl -s " + k_.url() + "/api/v1/namespaces/default/pods/on-forged-tcp/log", &body), 0);
  Json status = Json::parse(body, nullptr, false);
  EXPECT_EQ(status.value("kind", ""), "Status") << body;
  EXPECT_EQ(status.value("reason", ""), "ServiceUnavailable") << body;
  EXPECT_EQ(status.value("code", 0), 503) << body;

  // Anything the apiserver sent the decoy would be there by now.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  int messages = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    while (monitor.check_event(0)) {
    }
    zmq::message_t m;
    while (decoy.recv(m, zmq::recv_flags::dontwait)) ++messages;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(monitor.accepted, 0) << "the apiserver connected to the decoy";
  EXPECT_EQ(messages, 0) << "the decoy received a request";
}

TEST_F(KubectlTest, DrainEvictsPodsOntoTheOtherNodes) {
  ASSERT_NO_FATAL_FAILURE(ApplyAndRollOut(6));
  std::set<std::string> on3;
  for (auto& p : Pods())
    if (Str(p, "/spec/nodeName") == "node-3") on3.insert(Str(p, "/metadata/name"));
  ASSERT_FALSE(on3.empty()) << "the scheduler spreads 6 pods over 3 nodes";

  std::string out, err;
  ASSERT_EQ(K("drain node-3 --ignore-daemonsets --timeout=60s", &out, &err), 0) << out << err;
  std::string all = out + err;
  EXPECT_HAS(all, "node/node-3 cordoned");
  for (auto& n : on3) {
    EXPECT_HAS(all, "evicting pod default/" + n);
    EXPECT_HAS(all, "pod/" + n + " evicted");
  }
  EXPECT_HAS(all, "node/node-3 drained");
  EXPECT_EQ(k_.Get("nodes", "", "node-3")["spec"].value("unschedulable", false), true);
  for (auto& n : on3) EXPECT_TRUE(k_.Get("pods", "default", n).is_null()) << n << " evicted and gone";
  ASSERT_TRUE(Eventually([&] { return SettledAt(6); }, std::chrono::seconds(30)));
  for (auto& p : Pods()) EXPECT_NE(Str(p, "/spec/nodeName"), "node-3");

  ASSERT_EQ(K("get pods -o wide", &out), 0) << out;
  EXPECT_EQ(Lines(out).size(), 7u) << out;
  EXPECT_LACKS(out, "node-3");
  ASSERT_EQ(K("get nodes node-3", &out), 0) << out;
  EXPECT_EQ(Cell(out, "node-3", 1), "Ready,SchedulingDisabled") << out;
  ASSERT_EQ(K("uncordon node-3", &out), 0) << out;
  EXPECT_EQ(out, "node/node-3 uncordoned\n");
  EXPECT_EQ(k_.Get("nodes", "", "node-3")["spec"].value("unschedulable", false), false);
}

TEST_F(KubectlTest, LabelAnnotatePatchConfigMapsServerSideApply) {
  std::string out, err;
  k_.Write("web-app.yaml", WebApp(1));
  ASSERT_EQ(K("apply -f web-app.yaml", &out), 0) << out;

  ASSERT_EQ(K("label deployment web-app tier=frontend", &out, &err), 0) << out << err;
  EXPECT_EQ(out, "deployment.apps/web-app labeled\n");
  Json d = k_.Get("deployments", "default", "web-app");
  EXPECT_EQ(Str(d, "/metadata/labels/tier"), "frontend");
  EXPECT_EQ(Str(d, "/metadata/labels/app"), "web-app");
  ASSERT_EQ(K("label deployment web-app tier-", &out, &err), 0) << out << err;
  EXPECT_EQ(out, "deployment.apps/web-app unlabeled\n");
  EXPECT_EQ(Str(k_.Get("deployments", "default", "web-app"), "/metadata/labels/tier"), "");
  ASSERT_EQ(K("annotate deployment web-app owner=team-a", &out, &err), 0) << out << err;
  EXPECT_EQ(out, "deployment.apps/web-app annotated\n");
  EXPECT_EQ(Annotation(k_.Get("deployments", "default", "web-app"), "owner"), "team-a");
  EXPECT_EQ(K("label deployment web-app app=other", &out, &err), 1);
  EXPECT_HAS(err, "'app' already has a value (web-app), and --overwrite is false");

  // merge patch, then the same again: "(no change)", no new generation. (kubectl says "no change"
  // when the object it gets back equals the one it read, so the deployment's controller must be
  // done with its status writes first.)
  auto quiet = [&](int64_t replicas) {
    Json x = k_.Get("deployments", "default", "web-app");
    return Int(x, "/status/observedGeneration") == Int(x, "/metadata/generation") &&
           Int(x, "/status/availableReplicas", 0) == replicas && Int(x, "/status/updatedReplicas", 0) == replicas &&
           Int(x, "/status/replicas", 0) == replicas && SettledAt(replicas);
  };
  ASSERT_EQ(K(R"(patch deployment web-app --type=merge -p '{"spec":{"revisionHistoryLimit":5}}')", &out, &err), 0) << out << err;
  EXPECT_EQ(out, "deployment.apps/web-app patched\n");
  d = k_.Get("deployments", "default", "web-app");
  EXPECT_EQ(Int(d, "/spec/revisionHistoryLimit"), 5);
  int64_t gen = Int(d, "/metadata/generation");
  ASSERT_TRUE(Eventually([&] { return quiet(1); }, std::chrono::seconds(30)));
  ASSERT_EQ(K(R"(patch deployment web-app --type=merge -p '{"spec":{"revisionHistoryLimit":5}}')", &out, &err), 0) << out << err;
  EXPECT_EQ(out, "deployment.apps/web-app patched (no change)\n");
  EXPECT_EQ(Int(k_.Get("deployments", "default", "web-app"), "/metadata/generation"), gen);

  // JSON patch likewise.
  ASSERT_EQ(K(R"(patch deployment web-app --type=json -p '[{"op":"replace","path":"/spec/replicas","value":2}]')", &out, &err), 0)
      << out << err;
  EXPECT_EQ(out, "deployment.apps/web-app patched\n");
  d = k_.Get("deployments", "default", "web-app");
  EXPECT_EQ(Int(d, "/spec/replicas"), 2);
  EXPECT_EQ(Int(d, "/metadata/generation"), gen + 1);
  ASSERT_TRUE(Eventually([&] { return quiet(2); }, std::chrono::seconds(30)));
  ASSERT_EQ(K(R"(patch deployment web-app --type=json -p '[{"op":"replace","path":"/spec/replicas","value":2}]')", &out, &err), 0)
      << out << err;
  EXPECT_EQ(out, "deployment.apps/web-app patched (no change)\n");
  EXPECT_EQ(Int(k_.Get("deployments", "default", "web-app"), "/metadata/generation"), gen + 1);
  EXPECT_EQ(K(R"(patch deployment web-app --type=json -p '[{"op":"test","path":"/spec/replicas","value":7}]')", &out, &err), 1);
  EXPECT_EQ(Int(k_.Get("deployments", "default", "web-app"), "/spec/replicas"), 2);

  // ConfigMaps: create, get -o yaml.
  ASSERT_EQ(K("create configmap app-config --from-literal=color=blue --from-literal=size=10", &out, &err), 0) << out << err;
  EXPECT_EQ(out, "configmap/app-config created\n");
  Json cm = k_.Get("configmaps", "default", "app-config");
  EXPECT_EQ(Str(cm, "/data/color"), "blue") << cm.dump();
  EXPECT_EQ(Str(cm, "/data/size"), "10") << cm.dump();
  ASSERT_EQ(K("get cm app-config -o yaml", &out, &err), 0) << out << err;
  EXPECT_MATCHES(out, R"(^apiVersion: v1\ndata:\n  color: blue\n  size: "10"\nkind: ConfigMap\nmetadata:\n)");
  EXPECT_HAS(out, "  name: app-config\n");
  EXPECT_HAS(out, "  namespace: default\n");
  EXPECT_HAS(out, "  uid: " + Str(cm, "/metadata/uid") + "\n");
  EXPECT_HAS(out, "  resourceVersion: \"" + Str(cm, "/metadata/resourceVersion") + "\"\n");
  ASSERT_EQ(K("get cm -o yaml", &out, &err), 0) << out << err;
  EXPECT_MATCHES(out, R"(^apiVersion: v1\nitems:\n- apiVersion: v1\n)");
  EXPECT_HAS(out, "    name: app-config\n");
  EXPECT_MATCHES(out, R"(\nkind: List\nmetadata:\n  resourceVersion: ""\n$)");
  // No-op patches of an object no controller touches: nothing is written (same resourceVersion).
  std::string rv = Str(cm, "/metadata/resourceVersion");
  ASSERT_EQ(K(R"(patch cm app-config --type=merge -p '{"data":{"color":"blue"}}')", &out, &err), 0) << out << err;
  EXPECT_EQ(out, "configmap/app-config patched (no change)\n");
  ASSERT_EQ(K(R"(patch cm app-config --type=json -p '[{"op":"replace","path":"/data/size","value":"10"}]')", &out, &err), 0)
      << out << err;
  EXPECT_EQ(out, "configmap/app-config patched (no change)\n");
  ASSERT_EQ(K(R"(patch cm app-config -p '{"data":{"size":"10"}}')", &out, &err), 0) << out << err;
  EXPECT_EQ(out, "configmap/app-config patched (no change)\n");
  EXPECT_EQ(Str(k_.Get("configmaps", "default", "app-config"), "/metadata/resourceVersion"), rv);
  ASSERT_EQ(K(R"(patch cm app-config --type=json -p '[{"op":"remove","path":"/data/size"}]')", &out, &err), 0) << out << err;
  EXPECT_EQ(out, "configmap/app-config patched\n");
  cm = k_.Get("configmaps", "default", "app-config");
  EXPECT_NE(Str(cm, "/metadata/resourceVersion"), rv);
  EXPECT_FALSE(cm["data"].contains("size")) << cm.dump();
  EXPECT_EQ(K("create configmap app-config --from-literal=a=b", &out, &err), 1);
  EXPECT_HAS(err, "error: failed to create configmap: configmaps \"app-config\" already exists");

  // Server-side apply: creates (an upsert), then updates.
  k_.Write("ssa.yaml", R"(apiVersion: v1
kind: ConfigMap
metadata:
  name: ssa-config
  labels: {managed: ssa}
data:
  mode: fast
)");
  ASSERT_EQ(K("apply --server-side -f ssa.yaml", &out, &err), 0) << out << err;
  EXPECT_EQ(out, "configmap/ssa-config serverside-applied\n");
  cm = k_.Get("configmaps", "default", "ssa-config");
  EXPECT_EQ(Str(cm, "/data/mode"), "fast") << cm.dump();
  EXPECT_EQ(Str(cm, "/metadata/labels/managed"), "ssa");
  k_.Write("ssa.yaml", R"(apiVersion: v1
kind: ConfigMap
metadata:
  name: ssa-config
  labels: {managed: ssa}
data:
  mode: slow
  extra: "1"
)");
  ASSERT_EQ(K("apply --server-side -f ssa.yaml", &out, &err), 0) << out << err;
  EXPECT_EQ(out, "configmap/ssa-config serverside-applied\n");
  cm = k_.Get("configmaps", "default", "ssa-config");
  EXPECT_EQ(Str(cm, "/data/mode"), "slow") << cm.dump();
  EXPECT_EQ(Str(cm, "/data/extra"), "1") << cm.dump();
  k_.Write("ssa-deploy.yaml", WebApp(1, "nginx:1.26", "ssa-web"));
  ASSERT_EQ(K("apply --server-side -f ssa-deploy.yaml", &out, &err), 0) << out << err;
  EXPECT_EQ(out, "deployment.apps/ssa-web serverside-applied\n");
  EXPECT_EQ(Int(k_.Get("deployments", "default", "ssa-web"), "/spec/replicas"), 1);
  ASSERT_TRUE(Eventually([&] { return SettledAt(1, "nginx:1.26", "ssa-web"); }, std::chrono::seconds(30)));
}

TEST_F(KubectlTest, BadInputIsRejectedAndChangesNothing) {
  std::string out, err;
  // Invalid: kubectl's usual message from the 422 Status with causes.
  std::string bad = WebApp(3, "nginx:1.26", "x");
  bad.replace(bad.find("replicas: 3"), 11, "replicas: -1");
  k_.Write("invalid.yaml", bad);
  EXPECT_EQ(K("apply -f invalid.yaml", &out, &err), 1) << out;
  EXPECT_HAS(err, "The Deployment \"x\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0");
  EXPECT_TRUE(k_.Get("deployments", "default", "x").is_null());

  // Unknown fields: rejected under the default strict validation.
  std::string unknown = WebApp(1, "nginx:1.26", "strict");
  unknown.replace(unknown.find("  replicas:"), 0, "  foo: bar\n");
  k_.Write("unknown.yaml", unknown);
  EXPECT_EQ(K("apply -f unknown.yaml", &out, &err), 1) << out;
  EXPECT_HAS(err, "strict decoding error: unknown field \"spec.foo\"");
  EXPECT_TRUE(k_.Get("deployments", "default", "strict").is_null());
  // --validate=warn: created, with the server's warning printed; --validate=false: dropped silently.
  std::string warn = unknown;
  for (size_t at; (at = warn.find("strict")) != std::string::npos;) warn.replace(at, 6, "warned");
  k_.Write("warn.yaml", warn);
  EXPECT_EQ(K("apply --validate=warn -f warn.yaml", &out, &err), 0) << out << err;
  EXPECT_EQ(out, "deployment.apps/warned created\n");
  EXPECT_HAS(err, "Warning: unknown field \"spec.foo\"");
  EXPECT_FALSE(k_.Get("deployments", "default", "warned").is_null());
  EXPECT_EQ(K("apply --validate=false -f unknown.yaml", &out, &err), 0) << out << err;
  EXPECT_EQ(out, "deployment.apps/strict created\n");
  EXPECT_FALSE(k_.Get("deployments", "default", "strict").is_null());
  EXPECT_FALSE(k_.Get("deployments", "default", "strict")["spec"].contains("foo"));

  // A stale update: replace with an old copy is a Conflict, and the newer state stays.
  ASSERT_NO_FATAL_FAILURE(ApplyAndRollOut(1));
  ASSERT_EQ(K("get deployment web-app -o yaml", &out, &err), 0) << out << err;
  k_.Write("old.yaml", out);
  ASSERT_EQ(K("scale deployment web-app --replicas=2", &out, &err), 0) << out << err;
  EXPECT_EQ(K("replace -f old.yaml", &out, &err), 1) << out;
  EXPECT_HAS(err, "Error from server (Conflict): error when replacing \"old.yaml\": Operation cannot be fulfilled on "
                  "deployments.apps \"web-app\": the object has been modified; please apply your changes to the latest "
                  "version and try again");
  EXPECT_EQ(Int(k_.Get("deployments", "default", "web-app"), "/spec/replicas"), 2);

  EXPECT_EQ(K("get pod nope", &out, &err), 1);
  EXPECT_HAS(err, "Error from server (NotFound): pods \"nope\" not found");
  EXPECT_EQ(K("get frobs", &out, &err), 1);
  EXPECT_HAS(err, "error: the server doesn't have a resource type \"frobs\"");
  EXPECT_EQ(K("create -f web-app.yaml", &out, &err), 1);
  EXPECT_HAS(err, "Error from server (AlreadyExists): error when creating \"web-app.yaml\": deployments.apps \"web-app\" already exists");
  EXPECT_EQ(K("get pods -l 'app in (' ", &out, &err), 1);
  EXPECT_HAS(err, "Error from server (BadRequest)");

  // The system namespaces cannot be deleted (namespace lifecycle admission); the control
  // plane's leases in kube-system stay.
  for (const char* ns : {"kube-system", "default", "kube-public", "kube-node-lease"}) {
    EXPECT_EQ(K(std::string("delete namespace ") + ns, &out, &err), 1) << ns << out;
    EXPECT_HAS(err, std::string("Error from server (Forbidden): namespaces \"") + ns +
                        "\" is forbidden: this namespace may not be deleted");
    EXPECT_EQ(Str(k_.Get("namespaces", "", ns), "/status/phase"), "Active") << ns;
  }
}

// Raw HTTP bad input (curl): Kubernetes' Status errors, the server keeps serving, nothing stored
// changes. Needs curl only.
class KubectlHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testutil::HaveCommand("curl")) GTEST_SKIP() << "curl is not installed";
    std::string out;
    ASSERT_TRUE(k_.Up(0, kTimeScale, &out)) << out;
  }
  struct Response {
    int code = 0;
    std::string body;
    Json json;
    std::string curl_output;
  };
  Response Curl(const std::string& method, const std::string& path, const std::string& content_type = "",
                const std::string& body_file = "") {
    std::string cmd = "curl -sS -o " + ShellQuote(k_.Path("resp")) + " -w '%{http_code}' -X " + method;
    std::string code_path = k_.Path("code");
    if (!content_type.empty()) cmd += " -H " + ShellQuote("Content-Type: " + content_type);
    if (!body_file.empty()) cmd += " -H 'Expect:' --data-binary @" + ShellQuote(body_file);
    cmd += " " + ShellQuote(k_.url() + path) + " >" + ShellQuote(code_path);
    Response r;
    std::remove(k_.Path("resp").c_str());
    testutil::Run(cmd, &r.curl_output);  // curl's own errors (stderr)
    r.curl_output = method + " " + path + " -> " + testutil::ReadFile(code_path) + " " + r.curl_output + "\n";
    r.code = std::atoi(testutil::ReadFile(code_path).c_str());
    r.body = testutil::ReadFile(k_.Path("resp"));
    r.json = Json::parse(r.body, nullptr, false);
    return r;
  }
  // A Failure Status with this code and reason.
  static void ExpectStatus(const Response& r, int code, const std::string& reason) {
    EXPECT_EQ(r.code, code) << r.curl_output << r.body;
    ASSERT_TRUE(r.json.is_object()) << r.curl_output << r.body;
    EXPECT_EQ(r.json.value("kind", ""), "Status") << r.curl_output << r.body;
    EXPECT_EQ(r.json.value("apiVersion", ""), "v1") << r.curl_output << r.body;
    EXPECT_EQ(r.json.value("status", ""), "Failure") << r.curl_output << r.body;
    EXPECT_EQ(r.json.value("code", 0), code) << r.curl_output << r.body;
    EXPECT_EQ(r.json.value("reason", ""), reason) << r.curl_output << r.body;
    EXPECT_FALSE(r.json.value("message", "").empty()) << r.curl_output << r.body;
  }
  std::set<std::string> ConfigMaps() {
    std::set<std::string> out;
    for (auto& c : k_.List("configmaps", "")) out.insert(Str(c, "/metadata/namespace") + "/" + Str(c, "/metadata/name"));
    return out;
  }

  testutil::KubeCluster k_;
};

TEST_F(KubectlHttpTest, BadRequestsGetStatusErrorsAndChangeNothing) {
  const std::string cms = "/api/v1/namespaces/default/configmaps";
  auto stored = ConfigMaps();
  ASSERT_EQ(Curl("GET", "/healthz").code, 200);

  std::string f = k_.Write("truncated.json", R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"bad-json"},"data":{)");
  ExpectStatus(Curl("POST", cms, "application/json", f), 400, "BadRequest");
  f = k_.Write("broken.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [bad-yaml\n");
  ExpectStatus(Curl("POST", cms, "application/yaml", f), 400, "BadRequest");
  f = k_.Write("notobject.json", "[1,2,3]");
  ExpectStatus(Curl("POST", cms, "application/json", f), 400, "BadRequest");

  f = k_.Write("good.json", R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"wrong-type"},"data":{"a":"b"}})");
  ExpectStatus(Curl("POST", cms, "text/plain", f), 415, "UnsupportedMediaType");
  ExpectStatus(Curl("PUT", cms + "/wrong-type", "application/x-frob", f), 415, "UnsupportedMediaType");
  f = k_.Write("patch.json", R"({"data":{"a":"c"}})");
  ExpectStatus(Curl("PATCH", cms + "/wrong-type", "application/json", f), 415, "UnsupportedMediaType");

  std::string huge = R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"huge"},"data":{"a":")" +
                     std::string(4 << 20, 'x') + "\"}}";
  f = k_.Write("huge.json", huge);
  ExpectStatus(Curl("POST", cms, "application/json", f), 413, "RequestEntityTooLarge");

  ExpectStatus(Curl("GET", "/api/v1/frobs"), 404, "NotFound");
  ExpectStatus(Curl("GET", "/apis/frob.example.com/v1/widgets"), 404, "NotFound");
  ExpectStatus(Curl("GET", "/no/such/path"), 404, "NotFound");
  ExpectStatus(Curl("GET", cms + "/absent"), 404, "NotFound");

  ExpectStatus(Curl("GET", "/api/v1/namespaces/default/pods?labelSelector=app%20in%20("), 400, "BadRequest");
  ExpectStatus(Curl("GET", "/api/v1/namespaces/default/pods?labelSelector=a%3D%3D%3Db"), 400, "BadRequest");
  ExpectStatus(Curl("GET", "/api/v1/namespaces/default/pods?watch=true&labelSelector=%21%21x"), 400, "BadRequest");
  ExpectStatus(Curl("GET", "/api/v1/namespaces/default/pods?fieldSelector=spec.frob%3Dx"), 400, "BadRequest");

  // Still serving; nothing stored.
  auto r = Curl("GET", "/healthz");
  EXPECT_EQ(r.code, 200);
  EXPECT_EQ(r.body, "ok");
  r = Curl("GET", cms);
  EXPECT_EQ(r.code, 200) << r.body;
  EXPECT_EQ(r.json.value("kind", ""), "ConfigMapList") << r.body;
  EXPECT_EQ(ConfigMaps(), stored);
  for (const char* n : {"bad-json", "bad-yaml", "wrong-type", "huge"}) EXPECT_TRUE(k_.Get("configmaps", "default", n).is_null()) << n;

  // And a good request works.
  f = k_.Write("good2.json", R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"fine"},"data":{"a":"b"}})");
  r = Curl("POST", cms, "application/json", f);
  EXPECT_EQ(r.code, 201) << r.body;
  EXPECT_EQ(Str(k_.Get("configmaps", "default", "fine"), "/data/a"), "b");
}

}  // namespace
}  // namespace cattle
