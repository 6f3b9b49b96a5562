#include "cattle/printers.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cattle/clock.h"
#include "cattle/object.h"

namespace cattle {
namespace {

constexpr int64_t kSec = 1'000'000'000;
// 2024-01-02T03:04:05Z.
constexpr int64_t kNow = 1'704'164'645LL * kSec;

// An RFC 3339 timestamp `seconds_ago` before kNow.
std::string Ago(int64_t seconds_ago) { return FormatRfc3339(kNow - seconds_ago * kSec); }

Object Make(const Json& json) {
  Result<Object> obj = Object::FromJson(KindRegistry::Default(), json);
  EXPECT_TRUE(obj.ok()) << obj.status().message() << "\n" << json.dump();
  if (!obj.ok()) std::abort();
  return std::move(obj).value();
}

std::vector<Json> Cells(const Json& json) { return TableRowFor(Make(json), kNow).cells; }

Json PodJson(const Json& spec, const Json& status, const Json& extra_meta = Json::object()) {
  Json meta = {{"name", "web-1"}, {"namespace", "default"}, {"creationTimestamp", Ago(300)}};
  meta.update(extra_meta);
  return {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", meta}, {"spec", spec},
          {"status", status}};
}

const Json kOneContainer = {{"containers", {{{"name", "app"}, {"image", "nginx"}}}}};

// ---------------------------------------------------------------------------------------
// HumanDuration

TEST(HumanDurationTest, MatchesApimachinery) {
  struct Case {
    int64_t seconds;
    const char* want;
  };
  const int64_t m = 60, h = 3600, d = 24 * h, y = 365 * d;
  const Case cases[] = {
      {-5, "<invalid>"},
      {-2, "<invalid>"},
      {-1, "0s"},
      {0, "0s"},
      {59, "59s"},
      {65, "65s"},
      {119, "119s"},
      {2 * m, "2m"},
      {5 * m + 3, "5m3s"},
      {9 * m + 59, "9m59s"},
      {10 * m, "10m"},
      {10 * m + 30, "10m"},
      {95 * m, "95m"},
      {179 * m + 59, "179m"},
      {3 * h, "3h"},
      {5 * h + 3 * m, "5h3m"},
      {7 * h + 59 * m + 59, "7h59m"},
      {8 * h, "8h"},
      {40 * h, "40h"},
      {47 * h + 59 * m, "47h"},
      {48 * h, "2d"},
      {3 * d + 5 * h, "3d5h"},
      {7 * d + 23 * h, "7d23h"},
      {8 * d, "8d"},
      {200 * d, "200d"},
      {729 * d, "729d"},
      {2 * y, "2y"},
      {3 * y + 50 * d, "3y50d"},
      {7 * y + 364 * d, "7y364d"},
      {8 * y, "8y"},
      {8 * y + 100 * d, "8y"},
      {20 * y, "20y"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(HumanDuration(c.seconds), c.want) << c.seconds << "s";
  }
}

TEST(HumanDurationTest, TimestampAge) {
  EXPECT_EQ(TimestampAge(Ago(95 * 60), kNow), "95m");
  EXPECT_EQ(TimestampAge("", kNow), "<unknown>");
  EXPECT_EQ(TimestampAge("yesterday", kNow), "<unknown>");
  // A clock up to 1s behind still says 0s.
  EXPECT_EQ(TimestampAge(FormatRfc3339(kNow + kSec), kNow), "0s");
}

// ---------------------------------------------------------------------------------------
// Pods

TEST(PodPrinterTest, ColumnsMatchKubernetes) {
  auto cols = TableColumns(*KindRegistry::Default().Resolve("pods"));
  std::vector<std::string> names;
  for (const auto& c : cols) names.push_back(c.name);
  EXPECT_EQ(names, (std::vector<std::string>{"Name", "Ready", "Status", "Restarts", "Age", "IP",
                                             "Node", "Nominated Node", "Readiness Gates"}));
  EXPECT_EQ(cols[0].format, "name");
  EXPECT_EQ(cols[0].type, "string");
  EXPECT_EQ(cols[3].type, "string");
  EXPECT_EQ(cols[4].priority, 0);
  EXPECT_EQ(cols[5].priority, 1);
  EXPECT_EQ(cols[8].priority, 1);
  for (const auto& c : cols) EXPECT_FALSE(c.description.empty()) << c.name;
  Json def = ColumnDefinitionJson(cols[0]);
  EXPECT_EQ(def, Json::parse(R"({"name":"Name","type":"string","format":"name",
                                 "description":")" + cols[0].description + R"(","priority":0})"));
}

TEST(PodPrinterTest, RunningReady) {
  auto cells = Cells(PodJson(
      {{"containers", {{{"name", "app"}, {"image", "nginx"}}}}, {"nodeName", "node-1"}},
      {{"phase", "Running"},
       {"podIP", "10.244.1.5"},
       {"podIPs", {{{"ip", "10.244.1.5"}}}},
       {"conditions", {{{"type", "Ready"}, {"status", "True"}}}},
       {"containerStatuses",
        {{{"name", "app"}, {"ready", true}, {"restartCount", 0},
          {"state", {{"running", {{"startedAt", Ago(200)}}}}}}}}}));
  ASSERT_EQ(cells.size(), 9u);
  EXPECT_EQ(cells[0], "web-1");
  EXPECT_EQ(cells[1], "1/1");
  EXPECT_EQ(cells[2], "Running");
  EXPECT_EQ(cells[3], "0");  // a string, as Kubernetes sends it
  EXPECT_EQ(cells[4], "5m");
  EXPECT_EQ(cells[5], "10.244.1.5");
  EXPECT_EQ(cells[6], "node-1");
  EXPECT_EQ(cells[7], "<none>");
  EXPECT_EQ(cells[8], "<none>");
}

TEST(PodPrinterTest, PendingUnscheduled) {
  auto cells = Cells(PodJson(kOneContainer, {{"phase", "Pending"}}));
  EXPECT_EQ(cells[1], "0/1");
  EXPECT_EQ(cells[2], "Pending");
  EXPECT_EQ(cells[3], "0");
  EXPECT_EQ(cells[5], "<none>");
  EXPECT_EQ(cells[6], "<none>");
}

TEST(PodPrinterTest, CrashLoopBackOffWithRestartAge) {
  auto cells = Cells(PodJson(
      kOneContainer,
      {{"phase", "Running"},
       {"containerStatuses",
        {{{"name", "app"},
          {"ready", false},
          {"restartCount", 3},
          {"state", {{"waiting", {{"reason", "CrashLoopBackOff"}}}}},
          {"lastState",
           {{"terminated",
             {{"exitCode", 1}, {"reason", "Error"}, {"finishedAt", Ago(65)}}}}}}}}}));
  EXPECT_EQ(cells[1], "0/1");
  EXPECT_EQ(cells[2], "CrashLoopBackOff");
  EXPECT_EQ(cells[3], "3 (65s ago)");
}

TEST(PodPrinterTest, RestartAgeUsesNewestTermination) {
  auto status = Json{
      {"phase", "Running"},
      {"containerStatuses",
       {{{"name", "a"}, {"ready", true}, {"restartCount", 1},
         {"state", {{"running", Json::object()}}},
         {"lastState", {{"terminated", {{"exitCode", 1}, {"finishedAt", Ago(3600)}}}}}},
        {{"name", "b"}, {"ready", true}, {"restartCount", 2},
         {"state", {{"running", Json::object()}}},
         {"lastState", {{"terminated", {{"exitCode", 1}, {"finishedAt", Ago(130)}}}}}}}}};
  auto spec = Json{{"containers", {{{"name", "a"}, {"image", "x"}}, {{"name", "b"}, {"image", "x"}}}}};
  auto cells = Cells(PodJson(spec, status));
  EXPECT_EQ(cells[1], "2/2");
  EXPECT_EQ(cells[2], "Running");
  EXPECT_EQ(cells[3], "3 (2m10s ago)");
}

TEST(PodPrinterTest, ImagePullBackOffAndErrImagePull) {
  for (const char* reason : {"ImagePullBackOff", "ErrImagePull", "ContainerCreating"}) {
    auto cells = Cells(PodJson(
        kOneContainer,
        {{"phase", "Pending"},
         {"containerStatuses",
          {{{"name", "app"}, {"ready", false}, {"restartCount", 0},
            {"state", {{"waiting", {{"reason", reason}, {"message", "x"}}}}}}}}}));
    EXPECT_EQ(cells[2], reason);
    EXPECT_EQ(cells[1], "0/1");
    EXPECT_EQ(cells[3], "0");
  }
}

TEST(PodPrinterTest, CompletedAndTerminatedReasons) {
  auto terminated = [](const Json& t) {
    return PodJson(kOneContainer,
                   {{"phase", "Succeeded"},
                    {"containerStatuses",
                     {{{"name", "app"}, {"ready", false}, {"restartCount", 0},
                       {"state", {{"terminated", t}}}}}}});
  };
  EXPECT_EQ(Cells(terminated({{"exitCode", 0}, {"reason", "Completed"}}))[2], "Completed");
  EXPECT_EQ(Cells(terminated({{"exitCode", 0}, {"reason", "Completed"}}))[1], "0/1");
  EXPECT_EQ(Cells(terminated({{"exitCode", 137}, {"signal", 9}}))[2], "Signal:9");
  EXPECT_EQ(Cells(terminated({{"exitCode", 2}}))[2], "ExitCode:2");
  EXPECT_EQ(Cells(terminated({{"exitCode", 1}, {"reason", "Error"}}))[2], "Error");
  EXPECT_EQ(Cells(terminated({{"exitCode", 137}, {"reason", "OOMKilled"}}))[2], "OOMKilled");
}

TEST(PodPrinterTest, CompletedSidecarWithRunningContainer) {
  auto spec = Json{{"containers", {{{"name", "a"}, {"image", "x"}}, {{"name", "b"}, {"image", "x"}}}}};
  auto status = [](const char* ready) {
    return Json{{"phase", "Running"},
                {"conditions", {{{"type", "Ready"}, {"status", ready}}}},
                {"containerStatuses",
                 {{{"name", "a"}, {"ready", true}, {"restartCount", 0},
                   {"state", {{"running", Json::object()}}}},
                  {{"name", "b"}, {"ready", false}, {"restartCount", 0},
                   {"state", {{"terminated", {{"exitCode", 0}, {"reason", "Completed"}}}}}}}}};
  };
  auto not_ready = Cells(PodJson(spec, status("False")));
  EXPECT_EQ(not_ready[2], "NotReady");
  EXPECT_EQ(not_ready[1], "1/2");
  EXPECT_EQ(Cells(PodJson(spec, status("True")))[2], "Running");
}

TEST(PodPrinterTest, InitContainers) {
  auto spec = Json{{"initContainers",
                    {{{"name", "init-a"}, {"image", "busybox"}},
                     {{"name", "init-b"}, {"image", "busybox"}}}},
                   {"containers", {{{"name", "app"}, {"image", "nginx"}}}}};
  auto done = Json{{"name", "init-a"}, {"ready", false}, {"restartCount", 0},
                   {"state", {{"terminated", {{"exitCode", 0}, {"reason", "Completed"}}}}}};
  auto pod = [&](const Json& second) {
    return PodJson(spec, {{"phase", "Pending"}, {"initContainerStatuses", {done, second}}});
  };
  // Running second init container: Init:1/2.
  EXPECT_EQ(Cells(pod({{"name", "init-b"}, {"ready", false}, {"restartCount", 0},
                       {"state", {{"running", Json::object()}}}}))[2],
            "Init:1/2");
  // Waiting with PodInitializing counts as progress, not a reason.
  EXPECT_EQ(Cells(pod({{"name", "init-b"}, {"ready", false}, {"restartCount", 0},
                       {"state", {{"waiting", {{"reason", "PodInitializing"}}}}}}))[2],
            "Init:1/2");
  auto crash = Cells(pod({{"name", "init-b"}, {"ready", false}, {"restartCount", 4},
                          {"state", {{"waiting", {{"reason", "CrashLoopBackOff"}}}}},
                          {"lastState",
                           {{"terminated", {{"exitCode", 1}, {"finishedAt", Ago(30)}}}}}}));
  EXPECT_EQ(crash[2], "Init:CrashLoopBackOff");
  EXPECT_EQ(crash[3], "4 (30s ago)");
  EXPECT_EQ(crash[1], "0/1");
  EXPECT_EQ(Cells(pod({{"name", "init-b"}, {"ready", false}, {"restartCount", 0},
                       {"state", {{"terminated", {{"exitCode", 1}, {"reason", "Error"}}}}}}))[2],
            "Init:Error");
  EXPECT_EQ(Cells(pod({{"name", "init-b"}, {"ready", false}, {"restartCount", 0},
                       {"state", {{"terminated", {{"exitCode", 3}}}}}}))[2],
            "Init:ExitCode:3");
  // No statuses yet for the first one: Init:0/2.
  auto first = Json{{"name", "init-a"}, {"ready", false}, {"restartCount", 0},
                    {"state", {{"waiting", {{"reason", "PodInitializing"}}}}}};
  EXPECT_EQ(Cells(PodJson(spec, {{"phase", "Pending"}, {"initContainerStatuses", {first}}}))[2],
            "Init:0/2");
}

TEST(PodPrinterTest, SidecarCountsAsContainer) {
  auto spec = Json{{"initContainers",
                    {{{"name", "proxy"}, {"image", "envoy"}, {"restartPolicy", "Always"}}}},
                   {"containers", {{{"name", "app"}, {"image", "nginx"}}}}};
  auto status = Json{
      {"phase", "Running"},
      {"conditions", {{{"type", "Initialized"}, {"status", "True"}}}},
      {"initContainerStatuses",
       {{{"name", "proxy"}, {"ready", true}, {"restartCount", 1}, {"started", true},
         {"state", {{"running", Json::object()}}}}}},
      {"containerStatuses",
       {{{"name", "app"}, {"ready", true}, {"restartCount", 0},
         {"state", {{"running", Json::object()}}}}}}};
  auto cells = Cells(PodJson(spec, status));
  EXPECT_EQ(cells[1], "2/2");
  EXPECT_EQ(cells[2], "Running");
  EXPECT_EQ(cells[3], "1");  // restarts without a last termination time: no "(ago)"
}

TEST(PodPrinterTest, TerminatingAndUnknown) {
  auto running = Json{{"phase", "Running"},
                      {"containerStatuses",
                       {{{"name", "app"}, {"ready", true}, {"restartCount", 0},
                         {"state", {{"running", Json::object()}}}}}}};
  Json deleting = {{"deletionTimestamp", Ago(2)}, {"deletionGracePeriodSeconds", 30}};
  EXPECT_EQ(Cells(PodJson(kOneContainer, running, deleting))[2], "Terminating");

  Json lost = running;
  lost["reason"] = "NodeLost";
  EXPECT_EQ(Cells(PodJson(kOneContainer, lost, deleting))[2], "Unknown");
  // Without a deletion the status reason shows (running containers do not override it).
  EXPECT_EQ(Cells(PodJson(kOneContainer, lost))[2], "NodeLost");

  // A finished pod being deleted keeps its terminal status.
  auto done = PodJson(kOneContainer,
                      {{"phase", "Succeeded"},
                       {"containerStatuses",
                        {{{"name", "app"}, {"ready", false}, {"restartCount", 0},
                          {"state", {{"terminated", {{"exitCode", 0}, {"reason", "Completed"}}}}}}}}},
                      deleting);
  EXPECT_EQ(Cells(done)[2], "Completed");
}

TEST(PodPrinterTest, StatusReasonAndSchedulingGated) {
  EXPECT_EQ(Cells(PodJson(kOneContainer, {{"phase", "Failed"}, {"reason", "Evicted"}}))[2],
            "Evicted");
  auto gated = PodJson(
      kOneContainer,
      {{"phase", "Pending"},
       {"conditions",
        {{{"type", "PodScheduled"}, {"status", "False"}, {"reason", "SchedulingGated"}}}}});
  EXPECT_EQ(Cells(gated)[2], "SchedulingGated");
}

TEST(PodPrinterTest, WideNominatedNodeAndReadinessGates) {
  auto spec = kOneContainer;
  spec["readinessGates"] = {{{"conditionType", "example.com/lb"}},
                            {{"conditionType", "example.com/dns"}}};
  auto cells = Cells(PodJson(
      spec, {{"phase", "Pending"},
             {"nominatedNodeName", "node-2"},
             {"conditions",
              {{{"type", "example.com/lb"}, {"status", "True"}},
               {{"type", "example.com/dns"}, {"status", "False"}}}}}));
  EXPECT_EQ(cells[7], "node-2");
  EXPECT_EQ(cells[8], "1/2");
}

// ---------------------------------------------------------------------------------------
// Nodes

Json NodeJson(const Json& labels, bool unschedulable, const Json& conditions) {
  Json spec = Json::object();
  if (unschedulable) spec["unschedulable"] = true;
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata", {{"name", "node-1"}, {"labels", labels}, {"creationTimestamp", Ago(3 * 86400 + 5 * 3600)}}},
          {"spec", spec},
          {"status",
           {{"conditions", conditions},
            {"addresses",
             {{{"type", "Hostname"}, {"address", "node-1"}},
              {{"type", "InternalIP"}, {"address", "172.18.0.2"}}}},
            {"nodeInfo",
             {{"kubeletVersion", "v1.32.0"},
              {"osImage", "Debian GNU/Linux 12"},
              {"kernelVersion", "6.1.0"},
              {"containerRuntimeVersion", "cattle://0.1"}}}}}};
}

TEST(NodePrinterTest, StatusRolesVersion) {
  Json ready = {{{"type", "MemoryPressure"}, {"status", "False"}},
                {{"type", "Ready"}, {"status", "True"}}};
  auto cells = Cells(NodeJson({{"node-role.kubernetes.io/worker", ""},
                               {"node-role.kubernetes.io/control-plane", ""},
                               {"kubernetes.io/hostname", "node-1"}},
                              true, ready));
  ASSERT_EQ(cells.size(), 10u);
  EXPECT_EQ(cells[0], "node-1");
  EXPECT_EQ(cells[1], "Ready,SchedulingDisabled");
  EXPECT_EQ(cells[2], "control-plane,worker");
  EXPECT_EQ(cells[3], "3d5h");
  EXPECT_EQ(cells[4], "v1.32.0");
  EXPECT_EQ(cells[5], "172.18.0.2");
  EXPECT_EQ(cells[6], "<none>");
  EXPECT_EQ(cells[7], "Debian GNU/Linux 12");
  EXPECT_EQ(cells[8], "6.1.0");
  EXPECT_EQ(cells[9], "cattle://0.1");

  auto not_ready = Cells(NodeJson(Json::object(), false,
                                  {{{"type", "Ready"}, {"status", "Unknown"}}}));
  EXPECT_EQ(not_ready[1], "NotReady");
  EXPECT_EQ(not_ready[2], "<none>");
  EXPECT_EQ(Cells(NodeJson({{"kubernetes.io/role", "edge"}}, false, Json::array()))[1], "Unknown");
  EXPECT_EQ(Cells(NodeJson({{"kubernetes.io/role", "edge"}}, false, Json::array()))[2], "edge");
  EXPECT_EQ(Cells(NodeJson(Json::object(), true, Json::array()))[1], "Unknown,SchedulingDisabled");
}

// ---------------------------------------------------------------------------------------
// Workloads

Json TemplateJson() {
  return {{"metadata", {{"labels", {{"app", "web"}}}}},
          {"spec",
           {{"containers",
             {{{"name", "web"}, {"image", "nginx:1.27"}},
              {{"name", "log"}, {"image", "busybox"}}}}}}};
}

TEST(WorkloadPrinterTest, Deployment) {
  auto cells = Cells({{"apiVersion", "apps/v1"},
                      {"kind", "Deployment"},
                      {"metadata", {{"name", "web"}, {"creationTimestamp", Ago(40 * 3600)}}},
                      {"spec",
                       {{"replicas", 3},
                        {"selector", {{"matchLabels", {{"app", "web"}}}}},
                        {"template", TemplateJson()}}},
                      {"status",
                       {{"replicas", 3},
                        {"readyReplicas", 2},
                        {"updatedReplicas", 3},
                        {"availableReplicas", 2}}}});
  ASSERT_EQ(cells.size(), 8u);
  EXPECT_EQ(cells[0], "web");
  EXPECT_EQ(cells[1], "2/3");
  EXPECT_EQ(cells[2], 3);
  EXPECT_TRUE(cells[2].is_number_integer());
  EXPECT_EQ(cells[3], 2);
  EXPECT_EQ(cells[4], "40h");
  EXPECT_EQ(cells[5], "web,log");
  EXPECT_EQ(cells[6], "nginx:1.27,busybox");
  EXPECT_EQ(cells[7], "app=web");
}

TEST(WorkloadPrinterTest, ReplicaSetSelectorExpressions) {
  auto cells = Cells(
      {{"apiVersion", "apps/v1"},
       {"kind", "ReplicaSet"},
       {"metadata", {{"name", "web-abc"}, {"creationTimestamp", Ago(10)}}},
       {"spec",
        {{"replicas", 2},
         {"selector",
          {{"matchLabels", {{"app", "web"}}},
           {"matchExpressions",
            {{{"key", "tier"}, {"operator", "In"}, {"values", {"b", "a"}}},
             {{"key", "canary"}, {"operator", "DoesNotExist"}}}}}},
         {"template", TemplateJson()}}},
       {"status", {{"replicas", 2}, {"readyReplicas", 1}}}});
  ASSERT_EQ(cells.size(), 8u);
  EXPECT_EQ(cells[1], 2);
  EXPECT_EQ(cells[2], 2);
  EXPECT_EQ(cells[3], 1);
  EXPECT_EQ(cells[4], "10s");
  EXPECT_EQ(cells[7], "app=web,!canary,tier in (a,b)");
}

TEST(WorkloadPrinterTest, StatefulSetAndDaemonSet) {
  auto sts = Cells({{"apiVersion", "apps/v1"},
                    {"kind", "StatefulSet"},
                    {"metadata", {{"name", "db"}, {"creationTimestamp", Ago(60)}}},
                    {"spec", {{"replicas", 3}, {"serviceName", "db"}, {"template", TemplateJson()}}},
                    {"status", {{"replicas", 3}, {"readyReplicas", 1}}}});
  ASSERT_EQ(sts.size(), 5u);
  EXPECT_EQ(sts[1], "1/3");
  EXPECT_EQ(sts[3], "web,log");

  Json tmpl = TemplateJson();
  tmpl["spec"]["nodeSelector"] = {{"kubernetes.io/os", "linux"}};
  auto ds = Cells({{"apiVersion", "apps/v1"},
                   {"kind", "DaemonSet"},
                   {"metadata", {{"name", "agent"}, {"creationTimestamp", Ago(60)}}},
                   {"spec", {{"selector", {{"matchLabels", {{"app", "agent"}}}}}, {"template", tmpl}}},
                   {"status",
                    {{"desiredNumberScheduled", 3},
                     {"currentNumberScheduled", 3},
                     {"numberReady", 2},
                     {"updatedNumberScheduled", 3},
                     {"numberAvailable", 2},
                     {"numberMisscheduled", 0}}}});
  ASSERT_EQ(ds.size(), 11u);
  EXPECT_EQ(ds[1], 3);
  EXPECT_EQ(ds[3], 2);
  EXPECT_EQ(ds[5], 2);
  EXPECT_EQ(ds[6], "kubernetes.io/os=linux");
  EXPECT_EQ(ds[7], "60s");
  EXPECT_EQ(ds[10], "app=agent");
}

TEST(WorkloadPrinterTest, ControllerRevisionAndPdb) {
  auto cr = Cells({{"apiVersion", "apps/v1"},
                   {"kind", "ControllerRevision"},
                   {"metadata",
                    {{"name", "db-7f9c"},
                     {"creationTimestamp", Ago(60)},
                     {"ownerReferences",
                      {{{"apiVersion", "apps/v1"}, {"kind", "StatefulSet"}, {"name", "db"},
                        {"uid", "u1"}, {"controller", true}}}}}},
                   {"revision", 2}});
  EXPECT_EQ(cr[1], "statefulset.apps/db");
  EXPECT_EQ(cr[2], 2);
  auto orphan = Cells({{"apiVersion", "apps/v1"},
                       {"kind", "ControllerRevision"},
                       {"metadata", {{"name", "x"}}},
                       {"revision", 1}});
  EXPECT_EQ(orphan[1], "<none>");
  EXPECT_EQ(orphan[3], "<unknown>");

  auto pdb = Cells({{"apiVersion", "policy/v1"},
                    {"kind", "PodDisruptionBudget"},
                    {"metadata", {{"name", "web"}, {"creationTimestamp", Ago(60)}}},
                    {"spec", {{"minAvailable", "50%"}}},
                    {"status", {{"disruptionsAllowed", 1}}}});
  EXPECT_EQ(pdb[1], "50%");
  EXPECT_EQ(pdb[2], "N/A");
  EXPECT_EQ(pdb[3], 1);
}

// ---------------------------------------------------------------------------------------
// Services, endpoints, networking

Json ServiceJson(const Json& spec) {
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", {{"name", "web"}, {"creationTimestamp", Ago(60)}}},
          {"spec", spec}};
}

TEST(ServicePrinterTest, PortsAndIPs) {
  auto cells = Cells(ServiceJson(
      {{"type", "NodePort"},
       {"clusterIP", "10.96.0.10"},
       {"clusterIPs", {"10.96.0.10"}},
       {"selector", {{"app", "web"}, {"tier", "fe"}}},
       {"ports",
        {{{"port", 80}, {"protocol", "TCP"}, {"targetPort", 8080}, {"nodePort", 30080}},
         {{"port", 53}, {"protocol", "UDP"}}}}}));
  ASSERT_EQ(cells.size(), 7u);
  EXPECT_EQ(cells[1], "NodePort");
  EXPECT_EQ(cells[2], "10.96.0.10");
  EXPECT_EQ(cells[3], "<none>");
  EXPECT_EQ(cells[4], "80:30080/TCP,53/UDP");
  EXPECT_EQ(cells[5], "60s");
  EXPECT_EQ(cells[6], "app=web,tier=fe");

  auto plain = Cells(ServiceJson({{"type", "ClusterIP"}, {"clusterIP", "10.96.0.11"},
                                  {"ports", {{{"port", 80}, {"protocol", "TCP"}}}}}));
  EXPECT_EQ(plain[4], "80/TCP");
  EXPECT_EQ(plain[6], "<none>");

  auto lb = Cells(ServiceJson({{"type", "LoadBalancer"}, {"clusterIPs", {"10.96.0.12"}}}));
  EXPECT_EQ(lb[3], "<pending>");
  EXPECT_EQ(lb[4], "<none>");
  auto ext = Cells(ServiceJson({{"type", "ExternalName"}, {"externalName", "example.com"}}));
  EXPECT_EQ(ext[2], "<none>");
  EXPECT_EQ(ext[3], "example.com");
}

TEST(ServicePrinterTest, Endpoints) {
  auto ep = [](const Json& subsets) {
    Json j = {{"apiVersion", "v1"}, {"kind", "Endpoints"}, {"metadata", {{"name", "web"}}}};
    if (!subsets.is_null()) j["subsets"] = subsets;
    return Cells(j);
  };
  EXPECT_EQ(ep(nullptr)[1], "<none>");
  EXPECT_EQ(ep({{{"addresses", {{{"ip", "10.244.1.5"}}, {{"ip", "10.244.2.3"}}}},
                 {"ports", {{{"port", 80}, {"protocol", "TCP"}}}}}})[1],
            "10.244.1.5:80,10.244.2.3:80");
  EXPECT_EQ(ep({{{"addresses",
                  {{{"ip", "10.0.0.1"}}, {{"ip", "10.0.0.2"}}, {{"ip", "10.0.0.3"}},
                   {{"ip", "10.0.0.4"}}}},
                 {"ports", {{{"port", 80}}}}}})[1],
            "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more...");
  EXPECT_EQ(ep({{{"addresses", {{{"ip", "10.0.0.1"}}}}}})[1], "10.0.0.1");
}

TEST(ServicePrinterTest, EndpointSliceAndNetworkPolicy) {
  auto es = Cells({{"apiVersion", "discovery.k8s.io/v1"},
                   {"kind", "EndpointSlice"},
                   {"metadata", {{"name", "web-abc"}, {"creationTimestamp", Ago(60)}}},
                   {"addressType", "IPv4"},
                   {"ports", {{{"name", "http"}, {"port", 80}, {"protocol", "TCP"}}}},
                   {"endpoints",
                    {{{"addresses", {"10.244.1.5"}}}, {{"addresses", {"10.244.2.3"}}}}}});
  EXPECT_EQ(es[1], "IPv4");
  EXPECT_EQ(es[2], "80");
  EXPECT_EQ(es[3], "10.244.1.5,10.244.2.3");
  auto empty = Cells({{"apiVersion", "discovery.k8s.io/v1"},
                      {"kind", "EndpointSlice"},
                      {"metadata", {{"name", "x"}}},
                      {"addressType", "IPv4"}});
  EXPECT_EQ(empty[2], "<unset>");
  EXPECT_EQ(empty[3], "<unset>");

  auto np = Cells({{"apiVersion", "networking.k8s.io/v1"},
                   {"kind", "NetworkPolicy"},
                   {"metadata", {{"name", "deny"}}},
                   {"spec", {{"podSelector", Json::object()}}}});
  EXPECT_EQ(np[1], "<none>");
}

// ---------------------------------------------------------------------------------------
// Config, events, storage, leases

TEST(MiscPrinterTest, ConfigMapSecretNamespaceLease) {
  auto cm = Cells({{"apiVersion", "v1"},
                   {"kind", "ConfigMap"},
                   {"metadata", {{"name", "cfg"}}},
                   {"data", {{"a", "1"}, {"b", "2"}}}});
  EXPECT_EQ(cm[1], 2);
  auto secret = Cells({{"apiVersion", "v1"},
                       {"kind", "Secret"},
                       {"metadata", {{"name", "s"}}},
                       {"type", "Opaque"},
                       {"data", {{"k", "dg=="}}}});
  EXPECT_EQ(secret[1], "Opaque");
  EXPECT_EQ(secret[2], 1);
  auto ns = Cells({{"apiVersion", "v1"},
                   {"kind", "Namespace"},
                   {"metadata", {{"name", "default"}, {"creationTimestamp", Ago(200 * 86400)}}},
                   {"status", {{"phase", "Active"}}}});
  EXPECT_EQ(ns[1], "Active");
  EXPECT_EQ(ns[2], "200d");
  auto lease = Cells({{"apiVersion", "coordination.k8s.io/v1"},
                      {"kind", "Lease"},
                      {"metadata", {{"name", "node-1"}, {"namespace", "kube-node-lease"}}},
                      {"spec", {{"holderIdentity", "node-1"}}}});
  EXPECT_EQ(lease[1], "node-1");
}

TEST(MiscPrinterTest, Event) {
  auto cols = TableColumns(*KindRegistry::Default().Resolve("events"));
  std::vector<std::string> names;
  std::vector<int> prio;
  for (const auto& c : cols) {
    names.push_back(c.name);
    prio.push_back(c.priority);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"Last Seen", "Type", "Reason", "Object", "Subobject",
                                             "Source", "Message", "First Seen", "Count", "Name"}));
  EXPECT_EQ(prio, (std::vector<int>{0, 0, 0, 0, 1, 1, 0, 1, 1, 1}));
  EXPECT_EQ(cols[9].format, "name");

  auto cells = Cells({{"apiVersion", "v1"},
                      {"kind", "Event"},
                      {"metadata", {{"name", "web-1.17a"}, {"namespace", "default"}}},
                      {"involvedObject",
                       {{"kind", "Pod"}, {"name", "web-1"}, {"fieldPath", "spec.containers{app}"}}},
                      {"reason", "BackOff"},
                      {"message", "Back-off restarting failed container\n"},
                      {"type", "Warning"},
                      {"source", {{"component", "kubelet"}, {"host", "node-1"}}},
                      {"firstTimestamp", Ago(600)},
                      {"lastTimestamp", Ago(5)},
                      {"count", 7}});
  ASSERT_EQ(cells.size(), 10u);
  EXPECT_EQ(cells[0], "5s");
  EXPECT_EQ(cells[1], "Warning");
  EXPECT_EQ(cells[2], "BackOff");
  EXPECT_EQ(cells[3], "pod/web-1");
  EXPECT_EQ(cells[4], "spec.containers{app}");
  EXPECT_EQ(cells[5], "kubelet, node-1");
  EXPECT_EQ(cells[6], "Back-off restarting failed container");
  EXPECT_EQ(cells[7], "10m");
  EXPECT_EQ(cells[8], 7);
  EXPECT_EQ(cells[9], "web-1.17a");

  // New-style event: eventTime only, reporting controller, no count.
  auto fresh = Cells({{"apiVersion", "v1"},
                      {"kind", "Event"},
                      {"metadata", {{"name", "e"}}},
                      {"involvedObject", {{"kind", "Node"}, {"name", "node-1"}}},
                      {"eventTime", FormatRfc3339Micro(kNow - 30 * kSec)},
                      {"reportingComponent", "scheduler"},
                      {"reportingInstance", ""}});
  EXPECT_EQ(fresh[0], "30s");
  EXPECT_EQ(fresh[3], "node/node-1");
  EXPECT_EQ(fresh[5], "scheduler");
  EXPECT_EQ(fresh[7], "30s");
  EXPECT_EQ(fresh[8], 1);
}

TEST(MiscPrinterTest, PersistentVolumes) {
  auto pv = Cells({{"apiVersion", "v1"},
                   {"kind", "PersistentVolume"},
                   {"metadata", {{"name", "pv-1"}}},
                   {"spec",
                    {{"capacity", {{"storage", "10Gi"}}},
                     {"accessModes", {"ReadWriteMany", "ReadWriteOnce"}},
                     {"persistentVolumeReclaimPolicy", "Retain"},
                     {"storageClassName", "standard"},
                     {"hostPath", {{"path", "/data"}}},
                     {"claimRef", {{"namespace", "default"}, {"name", "data"}}}}},
                   {"status", {{"phase", "Bound"}}}});
  ASSERT_EQ(pv.size(), 11u);
  EXPECT_EQ(pv[1], "10Gi");
  EXPECT_EQ(pv[2], "RWO,RWX");
  EXPECT_EQ(pv[3], "Retain");
  EXPECT_EQ(pv[4], "Bound");
  EXPECT_EQ(pv[5], "default/data");
  EXPECT_EQ(pv[6], "standard");
  EXPECT_EQ(pv[7], "<unset>");
  EXPECT_EQ(pv[10], "<unset>");

  auto pvc = Cells({{"apiVersion", "v1"},
                    {"kind", "PersistentVolumeClaim"},
                    {"metadata", {{"name", "data"}}},
                    {"spec",
                     {{"accessModes", {"ReadWriteOnce"}},
                      {"volumeName", "pv-1"},
                      {"volumeMode", "Filesystem"},
                      {"resources", {{"requests", {{"storage", "1Gi"}}}}}}},
                    {"status",
                     {{"phase", "Bound"},
                      {"accessModes", {"ReadWriteOnce"}},
                      {"capacity", {{"storage", "10Gi"}}}}}});
  ASSERT_EQ(pvc.size(), 9u);
  EXPECT_EQ(pvc[1], "Bound");
  EXPECT_EQ(pvc[2], "pv-1");
  EXPECT_EQ(pvc[3], "10Gi");
  EXPECT_EQ(pvc[4], "RWO");
  EXPECT_EQ(pvc[5], "");
  EXPECT_EQ(pvc[8], "Filesystem");
}

// Every kind's rows have exactly as many cells as its columns, even for empty objects, and
// each column has the types Kubernetes uses.
TEST(PrinterTest, EveryKindRowMatchesColumns) {
  for (const KindInfo& kind : KindRegistry::Default().kinds()) {
    auto cols = TableColumns(kind);
    ASSERT_FALSE(cols.empty()) << kind.kind;
    Object empty(&kind);
    auto row = TableRowFor(empty, kNow);
    EXPECT_EQ(row.cells.size(), cols.size()) << kind.kind;
    int name_cols = 0;
    for (const auto& c : cols) {
      EXPECT_TRUE(c.type == "string" || c.type == "integer" || c.type == "date") << kind.kind;
      if (c.format == "name") ++name_cols;
    }
    EXPECT_EQ(name_cols, 1) << kind.kind;
  }
}

// ---------------------------------------------------------------------------------------
// Rendering

TEST(RenderTableTest, AlignsLikeKubectl) {
  Table t;
  t.columns = {{"Name", "string", "name", "", 0},
               {"Ready", "string", "", "", 0},
               {"Status", "string", "", "", 0},
               {"Restarts", "string", "", "", 0},
               {"Age", "string", "", "", 0},
               {"IP", "string", "", "", 1}};
  t.rows = {{{"web-1", "1/1", "Running", "0", "5m", "10.244.1.5"}},
            {{"web-long-name-2", "0/1", "CrashLoopBackOff", "3 (65s ago)", "12d", "<none>"}}};
  EXPECT_EQ(RenderTable(t, false, nullptr, nullptr),
            "NAME              READY   STATUS             RESTARTS      AGE\n"
            "web-1             1/1     Running            0             5m\n"
            "web-long-name-2   0/1     CrashLoopBackOff   3 (65s ago)   12d\n");
  EXPECT_EQ(RenderTable(t, true, nullptr, nullptr),
            "NAME              READY   STATUS             RESTARTS      AGE   IP\n"
            "web-1             1/1     Running            0             5m    10.244.1.5\n"
            "web-long-name-2   0/1     CrashLoopBackOff   3 (65s ago)   12d   <none>\n");
}

TEST(RenderTableTest, NamespaceLabelsIntegersAndMinWidth) {
  Table t;
  t.columns = {{"Name", "string", "name", "", 0}, {"N", "integer", "", "", 0},
               {"Age", "string", "", "", 0}};
  t.rows = {{{"a", 3, "1s"}}, {{"bb", 12, "2m"}}};
  std::vector<std::string> ns = {"default", "kube-system"};
  std::vector<std::string> labels = {FormatLabels({{"b", "2"}, {"a", "1"}}), FormatLabels({})};
  EXPECT_EQ(labels[0], "a=1,b=2");
  EXPECT_EQ(labels[1], "<none>");
  // Columns are at least 6 wide (tabwriter minwidth), padding 3 otherwise.
  EXPECT_EQ(RenderTable(t, false, &ns, &labels),
            "NAMESPACE     NAME   N     AGE   LABELS\n"
            "default       a      3     1s    a=1,b=2\n"
            "kube-system   bb     12    2m    <none>\n");
}

TEST(RenderTableTest, CutsMultilineCells) {
  Table t;
  t.columns = {{"Name", "string", "name", "", 0}, {"Message", "string", "", "", 0}};
  t.rows = {{{"x", "first line\nsecond line"}}};
  EXPECT_EQ(RenderTable(t, false, nullptr, nullptr),
            "NAME   MESSAGE\n"
            "x      first line...\n");
}

TEST(RenderTableTest, EndToEndPods) {
  auto pod = Make(PodJson(kOneContainer, {{"phase", "Pending"}}));
  const KindInfo& kind = *KindRegistry::Default().Resolve("po");
  Table t = MakeTable(kind, {&pod}, kNow);
  EXPECT_EQ(RenderTable(t, false, nullptr, nullptr),
            "NAME    READY   STATUS    RESTARTS   AGE\n"
            "web-1   0/1     Pending   0          5m\n");
}

}  // namespace
}  // namespace cattle
