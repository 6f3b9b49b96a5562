// Discovery and OpenAPI documents: the shapes kubectl 1.32 relies on (KUBECTL.md §0, §2.2,
// §2.6, §2.16), derived from the kinds' $resource annotations and Cap'n Proto schemas.
#include "apiserver/discovery.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace cattle::apiserver {
namespace {

const KindRegistry& Kinds() { return KindRegistry::Default(); }

const Json* FindBy(const Json& array, const char* key, const std::string& value) {
  for (const auto& item : array)
    if (item.value(key, "") == value) return &item;
  return nullptr;
}

TEST(DiscoveryVersion, ReportsKubernetes132WithAParsableGitVersion) {
  Json v = VersionInfo();
  EXPECT_EQ(v["major"], "1");
  EXPECT_EQ(v["minor"], "32");
  std::string git = v["gitVersion"];
  ASSERT_EQ(git.rfind("v1.32.", 0), 0u) << git;
  for (const char* f : {"gitCommit", "gitTreeState", "buildDate", "goVersion", "compiler"})
    EXPECT_FALSE(v[f].get<std::string>().empty()) << f;
  EXPECT_EQ(v["platform"], "linux/amd64");
  std::string date = v["buildDate"];
  EXPECT_EQ(date.size(), 20u) << date;  // 2025-01-02T03:04:05Z
  EXPECT_EQ(date.back(), 'Z');
}

TEST(DiscoveryAccept, RecognisesKubectlsAggregatedAcceptHeader) {
  EXPECT_TRUE(AcceptsAggregatedDiscovery(
      "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
      "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"));
  EXPECT_TRUE(AcceptsAggregatedDiscovery(
      "application/json; as=APIGroupDiscoveryList; v=v2; g=apidiscovery.k8s.io"));
  EXPECT_FALSE(AcceptsAggregatedDiscovery("application/json"));
  EXPECT_FALSE(AcceptsAggregatedDiscovery(""));
  EXPECT_FALSE(AcceptsAggregatedDiscovery(
      "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"));
  EXPECT_FALSE(AcceptsAggregatedDiscovery("application/json;as=Table;v=v1;g=meta.k8s.io"));
}

TEST(DiscoveryLegacy, ApiVersionsCarriesTheServerAddress) {
  Json v = ApiVersions("127.0.0.1:6443");
  EXPECT_EQ(v["kind"], "APIVersions");
  EXPECT_EQ(v["versions"], Json::array({"v1"}));
  EXPECT_EQ(v["serverAddressByClientCIDRs"][0]["clientCIDR"], "0.0.0.0/0");
  EXPECT_EQ(v["serverAddressByClientCIDRs"][0]["serverAddress"], "127.0.0.1:6443");
}

TEST(DiscoveryLegacy, GroupListHasEveryNonCoreGroupOnce) {
  Json list = ApiGroupList(Kinds());
  EXPECT_EQ(list["kind"], "APIGroupList");
  std::set<std::string> names;
  for (const auto& g : list["groups"]) {
    EXPECT_TRUE(names.insert(g["name"].get<std::string>()).second);
    EXPECT_EQ(g["preferredVersion"]["groupVersion"], g["name"].get<std::string>() + "/v1");
  }
  EXPECT_EQ(names, (std::set<std::string>{"apps", "coordination.k8s.io", "policy",
                                          "networking.k8s.io", "discovery.k8s.io"}));
  EXPECT_EQ(names.count(""), 0u);

  auto apps = ApiGroup(Kinds(), "apps");
  ASSERT_TRUE(apps.ok());
  EXPECT_EQ((*apps)["kind"], "APIGroup");
  EXPECT_EQ((*apps)["versions"][0]["groupVersion"], "apps/v1");
  EXPECT_TRUE(ApiGroup(Kinds(), "batch").status().Is(Reason::kNotFound));
  EXPECT_TRUE(ApiGroup(Kinds(), "").status().Is(Reason::kNotFound));
}

TEST(DiscoveryLegacy, CoreResourceListHasPodsAndTheirSubresources) {
  auto list = ApiResourceList(Kinds(), "", "v1");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ((*list)["kind"], "APIResourceList");
  EXPECT_EQ((*list)["groupVersion"], "v1");
  const Json& resources = (*list)["resources"];

  const Json* pods = FindBy(resources, "name", "pods");
  ASSERT_NE(pods, nullptr);
  EXPECT_EQ((*pods)["singularName"], "pod");
  EXPECT_EQ((*pods)["namespaced"], true);
  EXPECT_EQ((*pods)["kind"], "Pod");
  EXPECT_EQ((*pods)["verbs"], Json::array({"create", "delete", "deletecollection", "get", "list",
                                           "patch", "update", "watch"}));
  EXPECT_EQ((*pods)["shortNames"], Json::array({"po"}));
  EXPECT_EQ((*pods)["categories"], Json::array({"all"}));
  EXPECT_FALSE((*pods)["storageVersionHash"].get<std::string>().empty());

  // drain looks for exactly this entry (KUBECTL.md §2.16).
  const Json* eviction = FindBy(resources, "name", "pods/eviction");
  ASSERT_NE(eviction, nullptr);
  EXPECT_EQ((*eviction)["group"], "policy");
  EXPECT_EQ((*eviction)["version"], "v1");
  EXPECT_EQ((*eviction)["kind"], "Eviction");
  EXPECT_EQ((*eviction)["verbs"], Json::array({"create"}));

  const Json* log = FindBy(resources, "name", "pods/log");
  ASSERT_NE(log, nullptr);
  EXPECT_EQ((*log)["kind"], "Pod");
  EXPECT_EQ((*log)["verbs"], Json::array({"get"}));
  EXPECT_FALSE(log->contains("group"));  // same group version as the list

  for (const char* name : {"pods/status", "pods/binding", "pods/resize", "nodes/status",
                           "namespaces/status", "namespaces/finalize", "services/status"})
    EXPECT_NE(FindBy(resources, "name", name), nullptr) << name;
  EXPECT_EQ((*FindBy(resources, "name", "pods/binding"))["kind"], "Binding");
  EXPECT_EQ((*FindBy(resources, "name", "namespaces/finalize"))["verbs"], Json::array({"update"}));

  const Json* nodes = FindBy(resources, "name", "nodes");
  ASSERT_NE(nodes, nullptr);
  EXPECT_EQ((*nodes)["namespaced"], false);
  EXPECT_EQ((*nodes)["shortNames"], Json::array({"no"}));
  EXPECT_FALSE(nodes->contains("categories"));
  const Json* namespaces = FindBy(resources, "name", "namespaces");
  ASSERT_NE(namespaces, nullptr);
  EXPECT_EQ(std::count((*namespaces)["verbs"].begin(), (*namespaces)["verbs"].end(),
                       "deletecollection"),
            0);
  EXPECT_EQ((*FindBy(resources, "name", "services"))["categories"], Json::array({"all"}));
  EXPECT_EQ((*FindBy(resources, "name", "configmaps"))["shortNames"], Json::array({"cm"}));
}

TEST(DiscoveryLegacy, AppsResourceListHasScaleAsAutoscalingV1) {
  auto list = ApiResourceList(Kinds(), "apps", "v1");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ((*list)["groupVersion"], "apps/v1");
  const Json& resources = (*list)["resources"];
  for (const char* r : {"deployments", "replicasets", "statefulsets", "daemonsets"})
    EXPECT_EQ((*FindBy(resources, "name", r))["categories"], Json::array({"all"})) << r;
  EXPECT_FALSE(FindBy(resources, "name", "controllerrevisions")->contains("categories"));
  for (const char* r : {"deployments/scale", "replicasets/scale", "statefulsets/scale"}) {
    const Json* scale = FindBy(resources, "name", r);
    ASSERT_NE(scale, nullptr) << r;
    EXPECT_EQ((*scale)["group"], "autoscaling");
    EXPECT_EQ((*scale)["version"], "v1");
    EXPECT_EQ((*scale)["kind"], "Scale");
  }
  EXPECT_EQ((*FindBy(resources, "name", "deployments"))["shortNames"], Json::array({"deploy"}));
}

TEST(DiscoveryLegacy, UnknownGroupVersionIsNotFound) {
  EXPECT_TRUE(ApiResourceList(Kinds(), "batch", "v1").status().Is(Reason::kNotFound));
  EXPECT_TRUE(ApiResourceList(Kinds(), "apps", "v2").status().Is(Reason::kNotFound));
  EXPECT_TRUE(ApiResourceList(Kinds(), "", "v2").status().Is(Reason::kNotFound));
}

TEST(DiscoveryAggregated, CoreHasOneUnnamedItem) {
  Json list = AggregatedDiscovery(Kinds(), /*core=*/true);
  EXPECT_EQ(list["kind"], "APIGroupDiscoveryList");
  EXPECT_EQ(list["apiVersion"], "apidiscovery.k8s.io/v2");
  ASSERT_EQ(list["items"].size(), 1u);
  const Json& item = list["items"][0];
  EXPECT_FALSE(item["metadata"].contains("name"));
  ASSERT_EQ(item["versions"].size(), 1u);
  const Json& v1 = item["versions"][0];
  EXPECT_EQ(v1["version"], "v1");
  EXPECT_EQ(v1["freshness"], "Current");
  const Json* pods = FindBy(v1["resources"], "resource", "pods");
  ASSERT_NE(pods, nullptr);
  EXPECT_EQ((*pods)["responseKind"], (Json{{"group", ""}, {"version", "v1"}, {"kind", "Pod"}}));
  EXPECT_EQ((*pods)["scope"], "Namespaced");
  EXPECT_EQ((*pods)["singularResource"], "pod");
  EXPECT_EQ((*pods)["shortNames"], Json::array({"po"}));
  EXPECT_EQ((*pods)["categories"], Json::array({"all"}));
  const Json* eviction = FindBy((*pods)["subresources"], "subresource", "eviction");
  ASSERT_NE(eviction, nullptr);
  EXPECT_EQ((*eviction)["responseKind"],
            (Json{{"group", "policy"}, {"version", "v1"}, {"kind", "Eviction"}}));
  EXPECT_EQ((*eviction)["verbs"], Json::array({"create"}));
  EXPECT_EQ((*FindBy(v1["resources"], "resource", "nodes"))["scope"], "Cluster");
}

TEST(DiscoveryAggregated, AppsDeploymentsMatchKubernetes) {
  Json list = AggregatedDiscovery(Kinds(), /*core=*/false);
  const Json* apps = nullptr;
  for (const auto& item : list["items"]) {
    ASSERT_TRUE(item["metadata"].contains("name"));
    EXPECT_NE(item["metadata"]["name"], "");
    if (item["metadata"]["name"] == "apps") apps = &item;
  }
  ASSERT_NE(apps, nullptr);
  const Json* deployments = FindBy((*apps)["versions"][0]["resources"], "resource", "deployments");
  ASSERT_NE(deployments, nullptr);
  EXPECT_EQ((*deployments)["responseKind"],
            (Json{{"group", "apps"}, {"version", "v1"}, {"kind", "Deployment"}}));
  EXPECT_EQ((*deployments)["shortNames"], Json::array({"deploy"}));
  EXPECT_EQ((*deployments)["categories"], Json::array({"all"}));
  EXPECT_EQ((*deployments)["verbs"], Json::array({"create", "delete", "deletecollection", "get",
                                                  "list", "patch", "update", "watch"}));
  const Json* scale = FindBy((*deployments)["subresources"], "subresource", "scale");
  ASSERT_NE(scale, nullptr);
  EXPECT_EQ((*scale)["responseKind"],
            (Json{{"group", "autoscaling"}, {"version", "v1"}, {"kind", "Scale"}}));
  EXPECT_EQ((*scale)["verbs"], Json::array({"get", "patch", "update"}));
  const Json* status = FindBy((*deployments)["subresources"], "subresource", "status");
  ASSERT_NE(status, nullptr);
  EXPECT_EQ((*status)["responseKind"]["kind"], "Deployment");
}

TEST(DiscoveryAggregated, ContentTypeConstant) {
  EXPECT_STREQ(kAggregatedDiscoveryContentType,
               "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList");
}

TEST(OpenApi, IndexListsEveryServedGroupVersionWithAStableHash) {
  Json index = OpenApiIndex(Kinds());
  for (const char* gv : {"api/v1", "apis/apps/v1", "apis/coordination.k8s.io/v1", "apis/policy/v1",
                         "apis/networking.k8s.io/v1", "apis/discovery.k8s.io/v1"}) {
    ASSERT_TRUE(index["paths"].contains(gv)) << gv;
    std::string url = index["paths"][gv]["serverRelativeURL"];
    std::string want = std::string("/openapi/v3/") + gv + "?hash=";
    EXPECT_EQ(url.rfind(want, 0), 0u) << url;
    EXPECT_GT(url.size(), want.size());
  }
  EXPECT_EQ(index["paths"].size(), 6u);
  EXPECT_EQ(OpenApiIndex(Kinds()), index);
  // Another registry (same compiled kinds) hashes the same.
  KindRegistry other;
  EXPECT_EQ(OpenApiHash(other, "apis/apps/v1"), OpenApiHash(Kinds(), "apis/apps/v1"));
  EXPECT_NE(OpenApiHash(Kinds(), "apis/apps/v1"), OpenApiHash(Kinds(), "api/v1"));
}

TEST(OpenApi, DeploymentPatchCarriesGvkAndFieldValidation) {
  auto doc = OpenApiDocument(Kinds(), "apis/apps/v1");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ((*doc)["openapi"], "3.0.0");
  const Json& path = (*doc)["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"];
  ASSERT_TRUE(path.contains("patch"));
  for (const char* m : {"get", "put", "delete"}) EXPECT_TRUE(path.contains(m)) << m;
  const Json& patch = path["patch"];
  EXPECT_EQ(patch["x-kubernetes-group-version-kind"],
            (Json{{"group", "apps"}, {"version", "v1"}, {"kind", "Deployment"}}));
  const Json* fv = FindBy(patch["parameters"], "name", "fieldValidation");
  ASSERT_NE(fv, nullptr);
  EXPECT_EQ((*fv)["in"], "query");
  const Json* dry = FindBy(patch["parameters"], "name", "dryRun");
  ASSERT_NE(dry, nullptr);
  EXPECT_TRUE(patch["requestBody"]["content"].contains("application/strategic-merge-patch+json"));

  const Json& scale = (*doc)["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"];
  EXPECT_EQ(scale["patch"]["x-kubernetes-group-version-kind"],
            (Json{{"group", "autoscaling"}, {"version", "v1"}, {"kind", "Scale"}}));
  // A leading slash is accepted.
  auto again = OpenApiDocument(Kinds(), "/apis/apps/v1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *doc);
}

TEST(OpenApi, ComponentSchemasFollowTheCodec) {
  auto doc = OpenApiDocument(Kinds(), "apis/apps/v1");
  ASSERT_TRUE(doc.ok());
  const Json& schemas = (*doc)["components"]["schemas"];
  ASSERT_TRUE(schemas.contains("io.k8s.api.apps.v1.Deployment"));
  const Json& deployment = schemas["io.k8s.api.apps.v1.Deployment"];
  EXPECT_EQ(deployment["x-kubernetes-group-version-kind"],
            Json::array({{{"group", "apps"}, {"version", "v1"}, {"kind", "Deployment"}}}));
  EXPECT_EQ(deployment["properties"]["metadata"]["$ref"],
            "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
  const Json& meta = schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"];
  EXPECT_EQ(meta["properties"]["labels"],
            (Json{{"type", "object"}, {"additionalProperties", {{"type", "string"}}}}));
  EXPECT_EQ(meta["properties"]["generation"], (Json{{"type", "integer"}, {"format", "int64"}}));
  EXPECT_EQ(meta["properties"]["deletionGracePeriodSeconds"],
            (Json{{"type", "integer"}, {"format", "int64"}}));  // OptInt64 wrapper
  const Json& spec = schemas["io.k8s.api.apps.v1.DeploymentSpec"];
  EXPECT_EQ(spec["properties"]["replicas"], (Json{{"type", "integer"}, {"format", "int32"}}));
  ASSERT_TRUE(schemas.contains("io.k8s.api.core.v1.PodSpec"));
  const Json& containers = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
  EXPECT_EQ(containers["type"], "array");
  EXPECT_EQ(containers["items"]["$ref"], "#/components/schemas/io.k8s.api.core.v1.Container");
  EXPECT_EQ(containers["x-kubernetes-patch-merge-key"], "name");
  EXPECT_EQ(containers["x-kubernetes-patch-strategy"], "merge");
  // $patchStrategy: what kubectl's client-side apply needs beyond merge keys.
  const Json& volumes = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["volumes"];
  EXPECT_EQ(volumes["x-kubernetes-patch-merge-key"], "name");
  EXPECT_EQ(volumes["x-kubernetes-patch-strategy"], "merge,retainKeys");
  EXPECT_EQ(meta["properties"]["finalizers"]["x-kubernetes-patch-strategy"], "merge");
  EXPECT_FALSE(meta["properties"]["finalizers"].contains("x-kubernetes-patch-merge-key"));
  const Json& strategy = spec["properties"]["strategy"];
  EXPECT_EQ(strategy["x-kubernetes-patch-strategy"], "retainKeys");
  EXPECT_EQ(strategy["allOf"][0]["$ref"],
            "#/components/schemas/io.k8s.api.apps.v1.DeploymentStrategy");
  const Json& resources = schemas["io.k8s.api.core.v1.ResourceRequirements"]["properties"];
  EXPECT_EQ(resources["limits"]["additionalProperties"]["$ref"],
            "#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity");
  ASSERT_TRUE(schemas.contains("io.k8s.apimachinery.pkg.util.intstr.IntOrString"));
  EXPECT_EQ(schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["x-kubernetes-int-or-string"], true);
  // Every $ref resolves.
  std::function<void(const Json&)> check = [&](const Json& j) {
    if (j.is_object()) {
      if (j.contains("$ref")) {
        std::string ref = j["$ref"];
        const std::string prefix = "#/components/schemas/";
        ASSERT_EQ(ref.rfind(prefix, 0), 0u) << ref;
        EXPECT_TRUE(schemas.contains(ref.substr(prefix.size()))) << ref;
      }
      for (const auto& [k, v] : j.items()) check(v);
    } else if (j.is_array()) {
      for (const auto& v : j) check(v);
    }
  };
  check(*doc);
}

TEST(OpenApi, CoreDocumentHasEveryKindsPatchAndThePodSubresources) {
  auto doc = OpenApiDocument(Kinds(), "api/v1");
  ASSERT_TRUE(doc.ok());
  const Json& paths = (*doc)["paths"];
  for (const auto& k : Kinds().kinds()) {
    if (!k.group.empty()) continue;
    std::string obj = k.namespaced ? "/api/v1/namespaces/{namespace}/" + k.plural + "/{name}"
                                   : "/api/v1/" + k.plural + "/{name}";
    ASSERT_TRUE(paths.contains(obj)) << obj;
    EXPECT_EQ(paths[obj]["patch"]["x-kubernetes-group-version-kind"]["kind"], k.kind);
  }
  EXPECT_TRUE(paths.contains("/api/v1/pods"));
  EXPECT_FALSE(paths.contains("/api/v1/namespaces/{namespace}/nodes"));
  const std::string pod = "/api/v1/namespaces/{namespace}/pods/{name}";
  EXPECT_EQ(paths[pod + "/eviction"]["post"]["x-kubernetes-group-version-kind"]["kind"], "Eviction");
  EXPECT_TRUE(paths[pod + "/resize"].contains("get"));
  EXPECT_TRUE(paths[pod + "/resize"].contains("patch"));
  EXPECT_TRUE(paths[pod + "/log"]["get"]["responses"]["200"]["content"].contains("text/plain"));
  EXPECT_TRUE(paths["/api/v1/namespaces/{name}/finalize"].contains("put"));
  EXPECT_TRUE((*doc)["components"]["schemas"].contains("io.k8s.api.policy.v1.Eviction"));
  EXPECT_TRUE((*doc)["components"]["schemas"].contains("io.k8s.api.core.v1.PodList"));
}

TEST(OpenApi, UnknownGroupVersionIsNotFound) {
  EXPECT_TRUE(OpenApiDocument(Kinds(), "apis/batch/v1").status().Is(Reason::kNotFound));
  EXPECT_TRUE(OpenApiDocument(Kinds(), "api/v2").status().Is(Reason::kNotFound));
  EXPECT_TRUE(OpenApiDocument(Kinds(), "apis/apps").status().Is(Reason::kNotFound));
  EXPECT_TRUE(OpenApiDocument(Kinds(), "nonsense").status().Is(Reason::kNotFound));
  EXPECT_EQ(OpenApiHash(Kinds(), "apis/batch/v1"), "");
}

}  // namespace
}  // namespace cattle::apiserver
