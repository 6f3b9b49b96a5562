#include "cattle/strategic_merge.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "apps.capnp.h"
#include "core.capnp.h"

namespace cattle {
namespace {

capnp::StructSchema PodSchema() { return capnp::Schema::from<api::Pod>(); }
capnp::StructSchema DeploymentSchema() { return capnp::Schema::from<api::Deployment>(); }

Json J(const char* text) { return Json::parse(text); }

// Applies `patch` and expects success.
Json Apply(const Json& original, const Json& patch, capnp::StructSchema schema) {
  auto r = StrategicMergePatch(original, patch, schema);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r.value() : Json();
}

// Applies `patch` and expects a BadRequest whose message mentions `needle`.
void ExpectBadRequest(const Json& original, const Json& patch, capnp::StructSchema schema,
                      const std::string& needle) {
  auto r = StrategicMergePatch(original, patch, schema);
  ASSERT_FALSE(r.ok()) << "patch " << patch.dump() << " unexpectedly gave " << r.value().dump();
  EXPECT_EQ(r.status().reason(), Reason::kBadRequest) << r.status().ToString();
  EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().message();
}

bool HasDirectiveKey(const Json& j) {
  if (j.is_object()) {
    for (auto& [k, v] : j.items())
      if ((!k.empty() && k[0] == '$') || HasDirectiveKey(v)) return true;
  } else if (j.is_array()) {
    for (const Json& v : j)
      if (HasDirectiveKey(v)) return true;
  }
  return false;
}

std::vector<std::string> Names(const Json& list, const std::string& key = "name") {
  std::vector<std::string> out;
  for (const Json& item : list) out.push_back(item.at(key).get<std::string>());
  return out;
}

Json BasePod() {
  return J(R"({
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "p", "namespace": "default",
                 "labels": {"app": "web", "tier": "fe"},
                 "finalizers": ["a", "b", "c"]},
    "spec": {
      "containers": [
        {"name": "web", "image": "nginx:1.25",
         "ports": [{"containerPort": 80, "name": "http"},
                   {"containerPort": 9090, "name": "metrics"}],
         "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
         "volumeMounts": [{"name": "data", "mountPath": "/data"}]},
        {"name": "sidecar", "image": "busybox", "args": ["sleep", "3600"]}
      ],
      "volumes": [{"name": "data", "emptyDir": {}},
                  {"name": "cfg", "configMap": {"name": "cfg"}}],
      "tolerations": [{"key": "k1", "operator": "Exists"},
                      {"key": "k2", "operator": "Equal", "value": "v"}],
      "nodeSelector": {"disk": "ssd"}
    },
    "status": {"phase": "Running",
               "conditions": [{"type": "Ready", "status": "False"},
                              {"type": "PodScheduled", "status": "True"}]}
  })");
}

Json BaseDeployment() {
  return J(R"({
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "default", "generation": 1,
                 "labels": {"app": "web"},
                 "annotations": {
                   "deployment.kubernetes.io/revision": "1",
                   "kubectl.kubernetes.io/last-applied-configuration": "{\"old\":true}\n"}},
    "spec": {
      "replicas": 2,
      "selector": {"matchLabels": {"app": "web"}},
      "template": {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.25",
                                 "ports": [{"containerPort": 80, "protocol": "TCP"}],
                                 "imagePullPolicy": "IfNotPresent",
                                 "terminationMessagePath": "/dev/termination-log"}],
                 "restartPolicy": "Always", "dnsPolicy": "ClusterFirst"}},
      "strategy": {"type": "RollingUpdate",
                   "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
      "revisionHistoryLimit": 10
    },
    "status": {"observedGeneration": 1, "replicas": 2,
               "conditions": [{"type": "Available", "status": "True"}]}
  })");
}

// --- merge-keyed lists ---------------------------------------------------------------------

TEST(StrategicMergeTest, ContainersMergeByNameKeepingOtherContainersAndFields) {
  Json pod = BasePod();
  Json got = Apply(pod, J(R"({"spec":{"containers":[{"name":"web","image":"nginx:1.26"}]}})"),
                   PodSchema());
  Json want = pod;
  want["spec"]["containers"][0]["image"] = "nginx:1.26";
  EXPECT_EQ(got, want);
}

TEST(StrategicMergeTest, NewItemGoesBeforeUnmentionedItemsLikeKubernetes) {
  // Without $setElementOrder Kubernetes' ordering places an item the patch adds ahead of
  // the server-only items (mergeSortedSlice cannot place it by the original order).
  Json got = Apply(BasePod(), J(R"({"spec":{"containers":[{"name":"log","image":"fluentd"}]}})"),
                   PodSchema());
  EXPECT_EQ(Names(got["spec"]["containers"]),
            (std::vector<std::string>{"log", "web", "sidecar"}));
  EXPECT_EQ(got["spec"]["containers"][0], J(R"({"name":"log","image":"fluentd"})"));
  EXPECT_EQ(got["spec"]["containers"][1]["image"], "nginx:1.25");
}

TEST(StrategicMergeTest, NewItemAfterAMentionedExistingItem) {
  Json got = Apply(BasePod(), J(R"({"spec":{"containers":[
                       {"name":"sidecar","image":"busybox:2"},{"name":"log","image":"fluentd"}]}})"),
                   PodSchema());
  EXPECT_EQ(Names(got["spec"]["containers"]),
            (std::vector<std::string>{"web", "sidecar", "log"}));
  EXPECT_EQ(got["spec"]["containers"][1]["image"], "busybox:2");
  EXPECT_EQ(got["spec"]["containers"][1]["args"], J(R"(["sleep","3600"])"));
}

TEST(StrategicMergeTest, EnvMergesByName) {
  Json pod = BasePod();
  Json got = Apply(pod, J(R"({"spec":{"containers":[{"name":"web","env":[
                                 {"name":"B","value":"22"},{"name":"C","value":"3"}]}]}})"),
                   PodSchema());
  Json want = pod;
  want["spec"]["containers"][0]["env"] =
      J(R"([{"name":"A","value":"1"},{"name":"B","value":"22"},{"name":"C","value":"3"}])");
  EXPECT_EQ(got, want);
}

TEST(StrategicMergeTest, PortsMergeByContainerPort) {
  Json pod = BasePod();
  Json got = Apply(pod, J(R"({"spec":{"containers":[{"name":"web","ports":[
                                 {"containerPort":80,"name":"web","protocol":"TCP"}]}]}})"),
                   PodSchema());
  Json want = pod;
  want["spec"]["containers"][0]["ports"] =
      J(R"([{"containerPort":80,"name":"web","protocol":"TCP"},
            {"containerPort":9090,"name":"metrics"}])");
  EXPECT_EQ(got, want);
}

TEST(StrategicMergeTest, VolumesMergeByName) {
  Json pod = BasePod();
  Json got = Apply(pod, J(R"({"spec":{"volumes":[{"name":"cfg","configMap":{"defaultMode":420}}]}})"),
                   PodSchema());
  Json want = pod;
  want["spec"]["volumes"][1]["configMap"]["defaultMode"] = 420;
  EXPECT_EQ(got, want);
}

TEST(StrategicMergeTest, TolerationsHaveNoMergeKeyAndAreReplaced) {
  Json pod = BasePod();
  Json got = Apply(pod, J(R"({"spec":{"tolerations":[{"key":"k3","operator":"Exists"}]}})"),
                   PodSchema());
  Json want = pod;
  want["spec"]["tolerations"] = J(R"([{"key":"k3","operator":"Exists"}])");
  EXPECT_EQ(got, want);
}

TEST(StrategicMergeTest, ConditionsMergeByType) {
  Json pod = BasePod();
  Json got = Apply(pod, J(R"({"status":{"conditions":[
                        {"type":"Ready","status":"True","lastTransitionTime":"2024-01-01T00:00:00Z"},
                        {"type":"ContainersReady","status":"True"}]}})"),
                   PodSchema());
  ASSERT_EQ(got["status"]["conditions"].size(), 3u);
  EXPECT_EQ(Names(got["status"]["conditions"], "type"),
            (std::vector<std::string>{"Ready", "ContainersReady", "PodScheduled"}));
  EXPECT_EQ(got["status"]["conditions"][0],
            J(R"({"type":"Ready","status":"True","lastTransitionTime":"2024-01-01T00:00:00Z"})"));
  EXPECT_EQ(got["status"]["conditions"][2], J(R"({"type":"PodScheduled","status":"True"})"));
  EXPECT_EQ(got["status"]["phase"], "Running");
}

TEST(StrategicMergeTest, NestedMergeKeyedListsInsideMatchedItem) {
  Json pod = BasePod();
  Json got = Apply(pod, J(R"({"spec":{"containers":[{"name":"web",
                   "volumeMounts":[{"mountPath":"/cfg","name":"cfg"}],
                   "env":[{"name":"A","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}},
                           "value":null}]}]}})"),
                   PodSchema());
  Json want = pod;
  want["spec"]["containers"][0]["env"][0] =
      J(R"({"name":"A","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}})");
  want["spec"]["containers"][0]["volumeMounts"] =
      J(R"([{"name":"cfg","mountPath":"/cfg"},{"name":"data","mountPath":"/data"}])");
  EXPECT_EQ(got, want);
}

// --- $setElementOrder ----------------------------------------------------------------------

TEST(StrategicMergeTest, SetElementOrderReordersWithoutTouchingContent) {
  Json pod = BasePod();
  Json got = Apply(pod, J(R"({"spec":{
                       "$setElementOrder/containers":[{"name":"sidecar"},{"name":"web"}]}})"),
                   PodSchema());
  Json want = pod;
  want["spec"]["containers"] = Json::array({pod["spec"]["containers"][1],
                                            pod["spec"]["containers"][0]});
  EXPECT_EQ(got, want);
}

TEST(StrategicMergeTest, SetElementOrderPlacesNewItems) {
  Json got = Apply(BasePod(), J(R"({"spec":{
                       "$setElementOrder/containers":[{"name":"web"},{"name":"sidecar"},{"name":"log"}],
                       "containers":[{"name":"log","image":"fluentd"}]}})"),
                   PodSchema());
  EXPECT_EQ(Names(got["spec"]["containers"]),
            (std::vector<std::string>{"web", "sidecar", "log"}));
}

TEST(StrategicMergeTest, SetElementOrderInterleavesServerOnlyItemsLikeKubernetes) {
  // Kubernetes' "set elements order in a list with server-only items 2 / 3" cases.
  Json original = J(R"({"spec":{"containers":[
      {"name":"c1","image":"a"},{"name":"c2"},{"name":"c7"},{"name":"c9"},{"name":"c8"},
      {"name":"c3"},{"name":"c4"}]}})");
  Json got = Apply(original, J(R"({"spec":{"$setElementOrder/containers":[
                       {"name":"c2"},{"name":"c1"},{"name":"c4"},{"name":"c3"}]}})"),
                   PodSchema());
  EXPECT_EQ(Names(got["spec"]["containers"]),
            (std::vector<std::string>{"c2", "c1", "c7", "c9", "c8", "c4", "c3"}));
  EXPECT_EQ(got["spec"]["containers"][1], J(R"({"name":"c1","image":"a"})"));

  // "... server-only items" (1): the server-only item sorts after all ordered ones.
  original = J(R"({"spec":{"containers":[{"name":"c1"},{"name":"c3"},{"name":"c4"},
                                           {"name":"c2"},{"name":"c9"}]}})");
  got = Apply(original, J(R"({"spec":{"$setElementOrder/containers":[
                  {"name":"c4"},{"name":"c2"},{"name":"c3"},{"name":"c1"}]}})"),
              PodSchema());
  EXPECT_EQ(Names(got["spec"]["containers"]),
            (std::vector<std::string>{"c4", "c2", "c3", "c1", "c9"}));
}

TEST(StrategicMergeTest, PatchOrderIsPreservedWithoutSetElementOrder) {
  // Kubernetes' "preserve the order from the patch in a merging list 2".
  Json original = J(R"({"spec":{"containers":[{"name":"1"},{"name":"2","image":"b"},{"name":"3"}]}})");
  Json got = Apply(original, J(R"({"spec":{"containers":[{"name":"3","image":"c"},
                                                         {"name":"1","image":"a"}]}})"),
                   PodSchema());
  EXPECT_EQ(got["spec"]["containers"],
            J(R"([{"name":"2","image":"b"},{"name":"3","image":"c"},{"name":"1","image":"a"}])"));
}

// --- $patch in lists -----------------------------------------------------------------------

TEST(StrategicMergeTest, PatchDeleteRemovesContainer) {
  Json pod = BasePod();
  Json got = Apply(pod, J(R"({"spec":{"containers":[{"name":"sidecar","$patch":"delete"}]}})"),
                   PodSchema());
  Json want = pod;
  want["spec"]["containers"].erase(1);
  EXPECT_EQ(got, want);

  // Deleting an item that does not exist is a no-op.
  EXPECT_EQ(Apply(pod, J(R"({"spec":{"containers":[{"name":"nope","$patch":"delete"}]}})"),
                  PodSchema()),
            pod);
}

TEST(StrategicMergeTest, PatchDeleteThenAddReplacesAnItemWhole) {
  Json got = Apply(BasePod(), J(R"({"spec":{"containers":[
                       {"name":"web","$patch":"delete"},{"name":"web","image":"httpd"}]}})"),
                   PodSchema());
  EXPECT_EQ(got["spec"]["containers"],
            J(R"([{"name":"web","image":"httpd"},
                  {"name":"sidecar","image":"busybox","args":["sleep","3600"]}])"));
}

TEST(StrategicMergeTest, PatchReplaceInListReplacesTheList) {
  Json pod = BasePod();
  Json got = Apply(pod, J(R"({"spec":{"containers":[{"$patch":"replace"},
                                                    {"name":"only","image":"x"}]}})"),
                   PodSchema());
  Json want = pod;
  want["spec"]["containers"] = J(R"([{"name":"only","image":"x"}])");
  EXPECT_EQ(got, want);

  // Kubernetes' "delete all items from merging list".
  got = Apply(pod, J(R"({"spec":{"volumes":[{"$patch":"replace"}]}})"), PodSchema());
  EXPECT_EQ(got["spec"]["volumes"], Json::array());
}

// --- objects -------------------------------------------------------------------------------

TEST(StrategicMergeTest, PatchReplaceOnObject) {
  Json pod = BasePod();
  Json got = Apply(pod, J(R"({"metadata":{"labels":{"$patch":"replace","new":"1"}}})"),
                   PodSchema());
  EXPECT_EQ(got["metadata"]["labels"], J(R"({"new":"1"})"));

  Json deploy = BaseDeployment();
  got = Apply(deploy, J(R"({"spec":{"strategy":{"$patch":"replace","type":"Recreate"}}})"),
              DeploymentSchema());
  Json want = deploy;
  want["spec"]["strategy"] = J(R"({"type":"Recreate"})");
  EXPECT_EQ(got, want);
}

TEST(StrategicMergeTest, PatchDeleteOnObjectRemovesTheField) {
  Json deploy = BaseDeployment();
  Json got = Apply(deploy, J(R"({"spec":{"strategy":{"$patch":"delete"}}})"),
                   DeploymentSchema());
  Json want = deploy;
  want["spec"].erase("strategy");
  EXPECT_EQ(got, want);
}

TEST(StrategicMergeTest, RetainKeysClearsUnlistedFields) {
  Json deploy = BaseDeployment();
  Json got = Apply(deploy, J(R"({"spec":{"strategy":{"$retainKeys":["type"],
                                                     "type":"Recreate"}}})"),
                   DeploymentSchema());
  Json want = deploy;
  want["spec"]["strategy"] = J(R"({"type":"Recreate"})");
  EXPECT_EQ(got, want);

  // What kubectl sends when a volume changes its source.
  Json pod = BasePod();
  got = Apply(pod, J(R"({"spec":{"volumes":[{"name":"data",
                       "$retainKeys":["hostPath","name"],"hostPath":{"path":"/srv"}}]}})"),
              PodSchema());
  EXPECT_EQ(got["spec"]["volumes"][0], J(R"({"name":"data","hostPath":{"path":"/srv"}})"));
  EXPECT_EQ(got["spec"]["volumes"][1], pod["spec"]["volumes"][1]);
}

TEST(StrategicMergeTest, NullDeletesFields) {
  Json pod = BasePod();
  Json got = Apply(pod, J(R"({"metadata":{"labels":{"tier":null,"missing":null}},
                              "spec":{"nodeSelector":null,"containers":[{"name":"sidecar","args":null}]}})"),
                   PodSchema());
  Json want = pod;
  want["metadata"]["labels"].erase("tier");
  want["spec"].erase("nodeSelector");
  want["spec"]["containers"][1].erase("args");
  EXPECT_EQ(got, want);
}

TEST(StrategicMergeTest, LabelsMergeAsAMap) {
  Json pod = BasePod();
  Json got = Apply(pod, J(R"({"metadata":{"labels":{"tier":"be","version":"v2"}}})"),
                   PodSchema());
  EXPECT_EQ(got["metadata"]["labels"], J(R"({"app":"web","tier":"be","version":"v2"})"));
  Json want = pod;
  want["metadata"]["labels"] = got["metadata"]["labels"];
  EXPECT_EQ(got, want);
}

TEST(StrategicMergeTest, ScalarsAndWrappersAreReplaced) {
  Json deploy = BaseDeployment();
  Json got = Apply(deploy, J(R"({"spec":{"replicas":5,
                        "strategy":{"rollingUpdate":{"maxSurge":1}}}})"),
                   DeploymentSchema());
  Json want = deploy;
  want["spec"]["replicas"] = 5;
  want["spec"]["strategy"]["rollingUpdate"]["maxSurge"] = 1;
  EXPECT_EQ(got, want);
}

// --- primitive lists -----------------------------------------------------------------------

TEST(StrategicMergeTest, PrimitiveListsAreReplacedWithoutDirectives) {
  Json pod = BasePod();
  Json got = Apply(pod, J(R"({"metadata":{"finalizers":["z"]},
                              "spec":{"containers":[{"name":"sidecar","args":["true"]}]}})"),
                   PodSchema());
  EXPECT_EQ(got["metadata"]["finalizers"], J(R"(["z"])"));
  EXPECT_EQ(got["spec"]["containers"][1]["args"], J(R"(["true"])"));
}

TEST(StrategicMergeTest, DeleteFromPrimitiveListOnFinalizers) {
  Json pod = BasePod();
  Json got = Apply(pod, J(R"({"metadata":{"$deleteFromPrimitiveList/finalizers":["b","nope"]}})"),
                   PodSchema());
  Json want = pod;
  want["metadata"]["finalizers"] = J(R"(["a","c"])");
  EXPECT_EQ(got, want);

  // On an absent list it is a no-op (it does not create the list).
  Json no_finalizers = pod;
  no_finalizers["metadata"].erase("finalizers");
  EXPECT_EQ(Apply(no_finalizers,
                  J(R"({"metadata":{"$deleteFromPrimitiveList/finalizers":["b"]}})"), PodSchema()),
            no_finalizers);
}

TEST(StrategicMergeTest, PrimitiveListWithDirectivesMergesAsASet) {
  // Kubernetes' "add and delete items in lists of scalars", on finalizers.
  Json pod = BasePod();
  pod["metadata"]["finalizers"] = J(R"(["1","2","3"])");
  Json got = Apply(pod, J(R"({"metadata":{
                       "$setElementOrder/finalizers":["1","2","4"],
                       "$deleteFromPrimitiveList/finalizers":["3"],
                       "finalizers":["4"]}})"),
                   PodSchema());
  EXPECT_EQ(got["metadata"]["finalizers"], J(R"(["1","2","4"])"));

  // "set elements order in a int list with server-only items".
  pod["metadata"]["finalizers"] = J(R"(["1","3","4","2","9"])");
  got = Apply(pod, J(R"({"metadata":{"$setElementOrder/finalizers":["4","2","3","1"]}})"),
              PodSchema());
  EXPECT_EQ(got["metadata"]["finalizers"], J(R"(["4","2","3","1","9"])"));
}

// --- what kubectl sends --------------------------------------------------------------------

TEST(StrategicMergeTest, KubectlSecondApplyPatch) {
  Json deploy = BaseDeployment();
  Json patch = J(R"({"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"annotations\":{},\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"image\":\"nginx:1.26\",\"name\":\"web\"}]}}}}\n"}},"spec":{"replicas":3,"template":{"spec":{"$setElementOrder/containers":[{"name":"web"}],"containers":[{"image":"nginx:1.26","name":"web"}]}}}})");
  Json got = Apply(deploy, patch, DeploymentSchema());
  Json want = deploy;
  want["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] =
      patch["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"];
  want["spec"]["replicas"] = 3;
  want["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26";
  EXPECT_EQ(got, want);
  EXPECT_FALSE(HasDirectiveKey(got));
}

// --- free-form JSON and schema names -------------------------------------------------------

TEST(StrategicMergeTest, UnknownKeysMergeAsJsonMergePatch) {
  Json pod = BasePod();
  pod["spec"]["x-extra"] = J(R"({"a":1,"b":{"c":2,"d":3},"list":[{"name":"x","v":1}]})");
  Json got = Apply(pod, J(R"({"spec":{"x-extra":{"a":null,"b":{"c":20},
                                                 "list":[{"name":"x","v":2}]}}})"),
                   PodSchema());
  EXPECT_EQ(got["spec"]["x-extra"], J(R"({"b":{"c":20,"d":3},"list":[{"name":"x","v":2}]})"));
}

TEST(StrategicMergeTest, RawJsonFieldsMergeAsPlainJson) {
  capnp::StructSchema schema = capnp::Schema::from<api::ControllerRevision>();
  Json rev = J(R"({"revision":1,"data":{"keep":true,"spec":{"template":{"spec":{
                   "containers":[{"name":"a","image":"x"},{"name":"b","image":"y"}]}}}}})");
  Json got = Apply(rev, J(R"({"data":{"spec":{"template":{"spec":{
                              "containers":[{"name":"a","image":"z"}]}}}}})"),
                   schema);
  // Not merged by name: the raw JSON carries no schema.
  EXPECT_EQ(got, J(R"({"revision":1,"data":{"keep":true,"spec":{"template":{"spec":{
                      "containers":[{"name":"a","image":"z"}]}}}}})"));
}

TEST(StrategicMergeTest, JsonNameIsHowFieldsAreFound) {
  // NodeStatus.daemonEndpoints.kubeletEndpoint.port is "Port" in JSON. Being a known scalar,
  // list directives on it are rejected; under its Cap'n Proto name it is an unknown key.
  capnp::StructSchema node = capnp::Schema::from<api::Node>();
  Json original = J(R"({"status":{"daemonEndpoints":{"kubeletEndpoint":{"Port":10250}}}})");
  ExpectBadRequest(original,
                   J(R"({"status":{"daemonEndpoints":{"kubeletEndpoint":{
                          "$setElementOrder/Port":[1]}}}})"),
                   node, "not a list");
  EXPECT_TRUE(StrategicMergePatch(original,
                                  J(R"({"status":{"daemonEndpoints":{"kubeletEndpoint":{
                                         "$setElementOrder/port":[1]}}}})"),
                                  node)
                  .ok());
}

TEST(StrategicMergeTest, DirectivesNeverAppearInTheResult) {
  Json pod = J(R"({"metadata":{"name":"p"}})");
  Json got = Apply(pod, J(R"({"spec":{
      "$setElementOrder/containers":[{"name":"a"},{"name":"b"}],
      "containers":[{"name":"a","env":[{"name":"X","value":"1"},{"name":"Y","$patch":"delete"}],
                     "resources":{"$patch":"replace","limits":{"cpu":"1"}}},
                    {"name":"b","image":"i","livenessProbe":{"$patch":"delete"}}],
      "tolerations":[{"$patch":"replace"},{"key":"k","operator":"Exists"}],
      "securityContext":{"$retainKeys":["runAsUser"],"runAsUser":1000}}})"),
                   PodSchema());
  EXPECT_FALSE(HasDirectiveKey(got)) << got.dump();
  EXPECT_EQ(got["spec"], J(R"({
      "containers":[{"name":"a","env":[{"name":"X","value":"1"}],
                     "resources":{"limits":{"cpu":"1"}}},
                    {"name":"b","image":"i"}],
      "tolerations":[{"key":"k","operator":"Exists"}],
      "securityContext":{"runAsUser":1000}})"));
}

// --- malformed patches ---------------------------------------------------------------------

TEST(StrategicMergeTest, MalformedDirectivesAreBadRequests) {
  Json pod = BasePod();
  capnp::StructSchema s = PodSchema();
  ExpectBadRequest(pod, J(R"({"spec":{"$patch":"frobnicate"}})"), s, "frobnicate");
  ExpectBadRequest(pod, J(R"({"spec":{"$patch":3}})"), s, "$patch");
  ExpectBadRequest(pod, J(R"({"spec":{"containers":[{"name":"web","$patch":"explode"}]}})"), s,
                   "explode");
  ExpectBadRequest(pod, J(R"({"spec":{"containers":[{"name":"web","$patch":"merge"}]}})"), s,
                   "merge");
  ExpectBadRequest(pod, J(R"({"spec":{"$setElementOrder/containers":{"name":"web"}}})"), s,
                   "must be a list");
  ExpectBadRequest(pod, J(R"({"spec":{"$setElementOrder/containers":["web"]}})"), s,
                   "merge key");
  ExpectBadRequest(pod, J(R"({"spec":{"$setElementOrder":[]}})"), s, "malformed directive");
  ExpectBadRequest(pod, J(R"({"metadata":{"$deleteFromPrimitiveList/finalizers":"a"}})"), s,
                   "must be a list");
  ExpectBadRequest(pod, J(R"({"spec":{"$deleteFromPrimitiveList/containers":[{"name":"web"}]}})"),
                   s, "lists of primitives");
  ExpectBadRequest(pod, J(R"({"spec":{"$setElementOrder/tolerations":[{"key":"k1"}]}})"), s,
                   "merge key");
  ExpectBadRequest(pod, J(R"({"spec":{"$setElementOrder/nodeSelector":[]}})"), s,
                   "not a list");
  ExpectBadRequest(pod, J(R"({"spec":{"$retainKeys":"containers"}})"), s, "$retainKeys");
  ExpectBadRequest(pod, J(R"({"spec":{"$retainKeys":["volumes"],"containers":[]}})"), s,
                   "not in $retainKeys");
  ExpectBadRequest(pod, J(R"({"spec":{"containers":[{"image":"no-name"}]}})"), s,
                   "merge key \"name\"");
  ExpectBadRequest(pod, J(R"({"spec":{"containers":["web"]}})"), s, "expected an object");
  ExpectBadRequest(pod, J(R"({"spec":{"containers":[{"$patch":"delete"}]}})"), s,
                   "merge key");
  ExpectBadRequest(pod, J(R"({"spec":{"$setElementOrder/containers":[{"name":"web"}],
                                        "containers":[{"name":"sidecar","image":"x"}]}})"),
                   s, "$setElementOrder");
  ExpectBadRequest(pod, J(R"({"spec":{"tolerations":[{"key":"k","$patch":"delete"}]}})"), s,
                   "without merge key");
  ExpectBadRequest(pod, J(R"(["not an object"])"), s, "JSON object");
  // Errors name the place.
  ExpectBadRequest(pod, J(R"({"spec":{"containers":[{"name":"web","env":[{"value":"1"}]}]}})"),
                   s, "spec.containers[0].env[0]");
}

TEST(StrategicMergeTest, TopLevelDirectives) {
  Json pod = BasePod();
  EXPECT_EQ(Apply(pod, J(R"({"$patch":"replace","kind":"Pod"})"), PodSchema()),
            J(R"({"kind":"Pod"})"));
  EXPECT_EQ(Apply(pod, J(R"({"$patch":"delete"})"), PodSchema()), Json::object());
  EXPECT_EQ(Apply(Json(), J(R"({"kind":"Pod"})"), PodSchema()), J(R"({"kind":"Pod"})"));
}

// --- CreateStrategicMergePatch -------------------------------------------------------------

Json Diff(const Json& original, const Json& modified, capnp::StructSchema schema) {
  auto r = CreateStrategicMergePatch(original, modified, schema);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r.value() : Json();
}

TEST(CreateStrategicMergePatchTest, ProducesKubectlsPatch) {
  Json original = BaseDeployment();
  Json modified = original;
  modified["spec"]["replicas"] = 3;
  modified["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26";
  EXPECT_EQ(Diff(original, modified, DeploymentSchema()),
            J(R"({"spec":{"replicas":3,"template":{"spec":{
                    "$setElementOrder/containers":[{"name":"web"}],
                    "containers":[{"image":"nginx:1.26","name":"web"}]}}}})"));
}

TEST(CreateStrategicMergePatchTest, NoChangeIsEmpty) {
  EXPECT_EQ(Diff(BasePod(), BasePod(), PodSchema()), Json::object());
}

TEST(CreateStrategicMergePatchTest, RemovalsAreNullsAndDeleteDirectives) {
  Json original = BasePod();
  Json modified = original;
  modified["metadata"]["labels"].erase("tier");
  modified["spec"]["containers"].erase(1);
  modified["spec"].erase("tolerations");
  EXPECT_EQ(Diff(original, modified, PodSchema()),
            J(R"({"metadata":{"labels":{"tier":null}},
                  "spec":{"$setElementOrder/containers":[{"name":"web"}],
                          "containers":[{"name":"sidecar","$patch":"delete"}],
                          "tolerations":null}})"));
}

TEST(CreateStrategicMergePatchTest, ReorderOnlyGivesSetElementOrder) {
  Json original = BasePod();
  Json modified = original;
  std::swap(modified["spec"]["volumes"][0], modified["spec"]["volumes"][1]);
  EXPECT_EQ(Diff(original, modified, PodSchema()),
            J(R"({"spec":{"$setElementOrder/volumes":[{"name":"cfg"},{"name":"data"}]}})"));
}

TEST(CreateStrategicMergePatchTest, MissingMergeKeyIsBadRequest) {
  Json original = BasePod();
  Json modified = original;
  modified["spec"]["containers"][1].erase("name");
  auto r = CreateStrategicMergePatch(original, modified, PodSchema());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), Reason::kBadRequest);
}

// Each case: the patch from original to modified must give modified back.
TEST(CreateStrategicMergePatchTest, RoundTripsThroughStrategicMergePatch) {
  struct Case {
    const char* name;
    Json original;
    Json modified;
    capnp::StructSchema schema;
  };
  std::vector<Case> cases;
  auto pod_case = [&](const char* name, auto edit) {
    Json m = BasePod();
    edit(m);
    cases.push_back({name, BasePod(), m, PodSchema()});
  };
  pod_case("image change", [](Json& m) { m["spec"]["containers"][0]["image"] = "nginx:2"; });
  pod_case("container added in the middle", [](Json& m) {
    m["spec"]["containers"].insert(m["spec"]["containers"].begin() + 1,
                                   J(R"({"name":"mid","image":"x"})"));
  });
  pod_case("container added first", [](Json& m) {
    m["spec"]["containers"].insert(m["spec"]["containers"].begin(),
                                   J(R"({"name":"first","image":"x"})"));
  });
  pod_case("container removed, another added, order swapped", [](Json& m) {
    Json web = m["spec"]["containers"][0];
    web["env"] = J(R"([{"name":"B","value":"2"},{"name":"C","value":"3"}])");
    web["ports"][1]["name"] = "prom";
    m["spec"]["containers"] = Json::array({J(R"({"name":"new","image":"n"})"), web});
  });
  pod_case("env reordered and changed", [](Json& m) {
    m["spec"]["containers"][0]["env"] =
        J(R"([{"name":"B","value":"20"},{"name":"Z","value":"z"},{"name":"A","value":"1"}])");
  });
  pod_case("labels and finalizers", [](Json& m) {
    m["metadata"]["labels"] = J(R"({"app":"web","new":"yes"})");
    m["metadata"]["finalizers"] = J(R"(["c","x"])");
  });
  pod_case("tolerations and nested removal", [](Json& m) {
    m["spec"]["tolerations"] = J(R"([{"key":"k2","operator":"Exists"}])");
    m["spec"]["volumes"][1].erase("configMap");
    m["spec"]["volumes"][1]["secret"] = J(R"({"secretName":"s"})");
    m["spec"].erase("nodeSelector");
  });
  pod_case("lists emptied and removed", [](Json& m) {
    m["spec"]["volumes"] = Json::array();
    m["spec"]["containers"][0].erase("ports");
    m["status"]["conditions"] = J(R"([{"type":"PodScheduled","status":"True"}])");
  });
  pod_case("type change", [](Json& m) {
    m["spec"]["nodeSelector"] = "oops";
    m["metadata"]["finalizers"] = J(R"({"not":"a list"})");
  });
  {
    Json o = J(R"({"metadata":{"name":"x"}})");
    cases.push_back({"list added to empty", o, BasePod(), PodSchema()});
    cases.push_back({"everything removed", BasePod(), o, PodSchema()});
  }
  {
    Json m = BaseDeployment();
    m["spec"]["replicas"] = 3;
    m["spec"]["strategy"] = J(R"({"type":"Recreate"})");
    m["spec"]["template"]["spec"]["containers"][0]["ports"] =
        J(R"([{"containerPort":8080},{"containerPort":80,"protocol":"UDP"}])");
    cases.push_back({"deployment", BaseDeployment(), m, DeploymentSchema()});
  }
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Json patch = Diff(c.original, c.modified, c.schema);
    EXPECT_EQ(Apply(c.original, patch, c.schema), c.modified) << "patch: " << patch.dump();
  }
}

}  // namespace
}  // namespace cattle
