// Debian's python3-kubernetes (the official Python client) against a real cluster started with
// `cattle up --nodes 3`, through the same kubeconfig kubectl uses: list, create, patch (strategic,
// JSON), watch and delete pods and deployments, and the API errors as ApiException. The script
// prints one line per step; the test checks those lines and, over the ZeroMQ face, the state.
#include <gtest/gtest.h>

#include <regex>

#include "testutil/kube.h"

namespace cattle {
namespace {

using testutil::Eventually;
using testutil::ShellQuote;

constexpr char kPython[] = "/usr/bin/python3";

constexpr char kScript[] = R"PY(
import json, sys
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

config.load_kube_config(config_file=sys.argv[1])
core = client.CoreV1Api()
apps = client.AppsV1Api()
ns = "default"

def out(*args):
    print(*args, flush=True)

def ready(pod):
    return any(c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))

def wait_rolled_out(name, replicas):
    w = watch.Watch()
    for ev in w.stream(apps.list_namespaced_deployment, ns, field_selector="metadata.name=" + name, timeout_seconds=60):
        d, s = ev["object"], ev["object"].status
        if ((s.observed_generation or 0) >= d.metadata.generation and (s.replicas or 0) == replicas
                and (s.updated_replicas or 0) == replicas and (s.ready_replicas or 0) == replicas):
            w.stop()
            return "rolled-out"
    return "timeout"

out("VERSION", client.VersionApi().get_code().git_version)
out("NODES", ",".join(sorted(n.metadata.name for n in core.list_node().items)))

# Deployments: create, watch until rolled out, list, patch, scale subresource.
dep = {"apiVersion": "apps/v1", "kind": "Deployment",
       "metadata": {"name": "py-web", "labels": {"app": "py-web"}},
       "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "py-web"}},
                "template": {"metadata": {"labels": {"app": "py-web"}},
                             "spec": {"containers": [{"name": "web", "image": "nginx:1.26",
                                                      "ports": [{"containerPort": 80}]}]}}}}
d = apps.create_namespaced_deployment(ns, dep)
out("CREATED deployment", d.metadata.name, d.metadata.uid, "generation", d.metadata.generation)
out("WAIT", wait_rolled_out("py-web", 2))
out("DEPLOYMENTS", ",".join(x.metadata.name for x in apps.list_namespaced_deployment(ns).items))
pods = core.list_namespaced_pod(ns, label_selector="app=py-web").items
out("PODS", len(pods), ",".join(sorted(set(p.status.phase for p in pods))), all(ready(p) for p in pods))
d = apps.patch_namespaced_deployment("py-web", ns, {"spec": {"replicas": 3}})
out("PATCHED deployment replicas", d.spec.replicas, "generation", d.metadata.generation,
    "port", d.spec.template.spec.containers[0].ports[0].container_port)
out("WAIT", wait_rolled_out("py-web", 3))
s = apps.read_namespaced_deployment_scale("py-web", ns)
out("SCALE", s.kind, s.spec.replicas, s.status.replicas, s.status.selector)

# Errors arrive as ApiException with the Status body.
try:
    apps.create_namespaced_deployment(ns, dep)
    out("DUPLICATE created?!")
except ApiException as e:
    out("DUPLICATE", e.status, json.loads(e.body)["reason"])
bad = json.loads(json.dumps(dep))
bad["metadata"]["name"] = "py-bad"
bad["spec"]["replicas"] = -1
try:
    apps.create_namespaced_deployment(ns, bad)
    out("INVALID created?!")
except ApiException as e:
    body = json.loads(e.body)
    out("INVALID", e.status, body["reason"], body["details"]["causes"][0]["field"])

# Pods: create, watch until Running and Ready, patch (JSON patch, strategic), delete, watch DELETED.
pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "py-pod", "labels": {"app": "py-pod"}},
       "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]}}
p = core.create_namespaced_pod(ns, pod)
out("CREATED pod", p.metadata.name, p.metadata.uid)
w = watch.Watch()
types = []
for ev in w.stream(core.list_namespaced_pod, ns, field_selector="metadata.name=py-pod", timeout_seconds=60):
    types.append(ev["type"])
    p = ev["object"]
    if p.status.phase == "Running" and ready(p):
        w.stop()
out("POD", p.status.phase, p.spec.node_name, p.status.pod_ip, "first-event", types[0])
p = core.patch_namespaced_pod("py-pod", ns, [{"op": "add", "path": "/metadata/labels/patched", "value": "json"}])
out("PATCHED pod json", p.metadata.labels.get("patched"))
p = core.patch_namespaced_pod("py-pod", ns, {"metadata": {"labels": {"merged": "yes"}}})
out("PATCHED pod strategic", p.metadata.labels.get("merged"), p.metadata.labels.get("patched"))
rv = core.list_namespaced_pod(ns, label_selector="app=py-pod").metadata.resource_version
core.delete_namespaced_pod("py-pod", ns)
seen = []
w = watch.Watch()
for ev in w.stream(core.list_namespaced_pod, ns, label_selector="app=py-pod", resource_version=rv, timeout_seconds=60):
    seen.append(ev["type"])
    if ev["type"] == "DELETED":
        w.stop()
out("POD EVENTS", ",".join(seen))
try:
    core.read_namespaced_pod("py-pod", ns)
    out("POD still there")
except ApiException as e:
    out("POD GONE", e.status, json.loads(e.body)["reason"])

# Delete the deployment (its ReplicaSet and pods follow).
apps.delete_namespaced_deployment("py-web", ns)
out("DEPLOYMENTS AFTER DELETE", ",".join(x.metadata.name for x in apps.list_namespaced_deployment(ns).items) or "<none>")
out("DONE")
)PY";

class PythonClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testutil::Run(std::string(kPython) + " -c 'import kubernetes'") != 0)
      GTEST_SKIP() << kPython << " cannot import kubernetes: install Debian's python3-kubernetes (scripts/install-deps.sh)";
    std::string out;
    ASSERT_TRUE(k_.Up(3, 20, &out)) << out;
  }
  testutil::KubeCluster k_;
};

TEST_F(PythonClientTest, ListCreatePatchWatchDeletePodsAndDeployments) {
  std::string script = k_.Write("client.py", kScript);
  std::string out;
  int rc = testutil::Run(k_.Env() + "timeout -k 5 150 " + kPython + " " + ShellQuote(script) + " " +
                             ShellQuote(k_.kubeconfig()),
                         &out);
  ASSERT_EQ(rc, 0) << out;
  auto has = [&](const std::string& re) { return std::regex_search(out, std::regex(re)); };
  EXPECT_TRUE(has(R"((^|\n)VERSION v1\.32\.\d+\S*\n)")) << out;
  EXPECT_TRUE(has("\nNODES node-1,node-2,node-3\n")) << out;
  EXPECT_TRUE(has(R"(\nCREATED deployment py-web [0-9a-f-]{36} generation 1\n)")) << out;
  EXPECT_EQ(testutil::CountOf(out, "\nWAIT rolled-out\n"), 2) << out;
  EXPECT_TRUE(has("\nDEPLOYMENTS py-web\n")) << out;
  EXPECT_TRUE(has("\nPODS 2 Running True\n")) << out;
  EXPECT_TRUE(has("\nPATCHED deployment replicas 3 generation 2 port 80\n")) << out;
  EXPECT_TRUE(has("\nSCALE Scale 3 3 app=py-web\n")) << out;
  EXPECT_TRUE(has("\nDUPLICATE 409 AlreadyExists\n")) << out;
  EXPECT_TRUE(has("\nINVALID 422 Invalid spec.replicas\n")) << out;
  EXPECT_TRUE(has(R"(\nCREATED pod py-pod [0-9a-f-]{36}\n)")) << out;
  EXPECT_TRUE(has(R"(\nPOD Running node-[123] 10\.244\.[123]\.\d+ first-event ADDED\n)")) << out;
  EXPECT_TRUE(has("\nPATCHED pod json json\n")) << out;
  EXPECT_TRUE(has("\nPATCHED pod strategic yes json\n")) << out;
  EXPECT_TRUE(has(R"(\nPOD EVENTS (MODIFIED,)+DELETED\n)")) << out;
  EXPECT_TRUE(has("\nPOD GONE 404 NotFound\n")) << out;
  EXPECT_TRUE(has("\nDEPLOYMENTS AFTER DELETE <none>\n")) << out;
  EXPECT_TRUE(has("\nDONE\n")) << out;

  // The state the client left: nothing of it, once the garbage collector has run.
  EXPECT_TRUE(k_.Get("deployments", "default", "py-web").is_null());
  EXPECT_TRUE(k_.Get("deployments", "default", "py-bad").is_null());
  EXPECT_TRUE(k_.Get("pods", "default", "py-pod").is_null());
  EXPECT_TRUE(Eventually([&] {
    return k_.List("replicasets", "default", "app=py-web").empty() && k_.List("pods", "default", "app=py-web").empty();
  }, std::chrono::seconds(30)))
      << "the deployment's ReplicaSet and pods are garbage-collected";
}

}  // namespace
}  // namespace cattle
