// The documents a Kubernetes client reads before it touches an object: /version, legacy
// discovery (/api, /apis, /api/v1, /apis/{g}/{v}, /apis/{g}), aggregated discovery
// (apidiscovery.k8s.io/v2 APIGroupDiscoveryList under /api and /apis) and OpenAPI v3
// (/openapi/v3 and one document per group version). All are pure functions of the
// KindRegistry, that is of the Cap'n Proto schemas in api/: names, short names,
// categories and subresources come from each kind's $resource annotation, and the OpenAPI
// component schemas are walked from the struct schemas with the codec's conventions.
// The HTTP server only routes to these and picks the Content-Type (see
// kAggregatedDiscoveryContentType). ../shared/docs/KUBECTL.md §0, §2.2 and §2.6 record what
// kubectl 1.32 needs from each.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cattle/codec.h"
#include "cattle/object.h"
#include "cattle/status.h"

namespace cattle::apiserver {

// The Kubernetes release the API mimics. kubectl here is a dispatcher that runs the kubectl
// matching /version's major/minor (KUBECTL.md §0), so these choose kubectl 1.32.
inline constexpr const char* kKubeMajor = "1";
inline constexpr const char* kKubeMinor = "32";
inline constexpr const char* kKubeGitVersion = "v1.32.4+cattle";  // semver: parses in kubectl

// Content-Type of an aggregated discovery body. kubectl picks the decoder by the response's
// Content-Type: the same body under plain application/json is read as legacy discovery and
// silently yields no resources (KUBECTL.md §2.2).
inline constexpr const char* kAggregatedDiscoveryContentType =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

// Whether an Accept header asks for aggregated discovery v2 (kubectl sends
// "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,...,application/json").
// Parameter order and spaces do not matter. v2beta1 alone is not accepted (not served).
bool AcceptsAggregatedDiscovery(std::string_view accept);

// GET /version: version.Info with major "1", minor "32", gitVersion kKubeGitVersion and the
// remaining fields (gitCommit, gitTreeState, buildDate, goVersion, compiler, platform) set
// to non-empty strings, as clients (python-kubernetes) require them.
Json VersionInfo();

// GET /api (legacy): {"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":
// [{"clientCIDR":"0.0.0.0/0","serverAddress": server_address}]}; server_address is
// "host:port" as clients should reach the server, e.g. "127.0.0.1:6443".
Json ApiVersions(const std::string& server_address);

// GET /apis (legacy): APIGroupList of every non-core group that serves a kind, each with its
// versions and preferredVersion.
Json ApiGroupList(const KindRegistry& kinds);

// GET /apis/{group}: one APIGroup; NotFound for a group that serves no kind (and for "").
Result<Json> ApiGroup(const KindRegistry& kinds, const std::string& group);

// GET /api/v1 (group "") or /apis/{group}/{version}: APIResourceList with one entry per
// resource (name, singularName, namespaced, kind, verbs, shortNames, categories,
// storageVersionHash) followed by its subresources ("pods/eviction" with group "policy",
// version "v1", kind "Eviction"; "deployments/scale" with autoscaling/v1 Scale; ...).
// NotFound for a group version that serves no kind.
Result<Json> ApiResourceList(const KindRegistry& kinds, const std::string& group,
                             const std::string& version);

// GET /api (core = true) or /apis (core = false) with aggregated discovery: an
// apidiscovery.k8s.io/v2 APIGroupDiscoveryList. The core list has one item whose metadata
// has no name; /apis has one item per non-core group. Serve with
// kAggregatedDiscoveryContentType.
Json AggregatedDiscovery(const KindRegistry& kinds, bool core);

// The served group versions as OpenAPI v3 paths: "api/v1", "apis/apps/v1", ...
std::vector<std::string> OpenApiGroupVersionPaths(const KindRegistry& kinds);

// GET /openapi/v3: {"paths":{"api/v1":{"serverRelativeURL":"/openapi/v3/api/v1?hash=H"},...}}
// for every served group version; H is OpenApiHash of that document.
Json OpenApiIndex(const KindRegistry& kinds);

// GET /openapi/v3/{gv_path} with gv_path "api/v1" or "apis/apps/v1" (a leading '/' is
// accepted): an OpenAPI 3.0 document with, for each kind of the group version, its
// collection, object and subresource paths (every PATCH operation carries
// x-kubernetes-group-version-kind and the fieldValidation and dryRun query parameters, which
// is what kubectl apply checks), and components.schemas derived from the Cap'n Proto
// schemas, named like Kubernetes' ("io.k8s.api.apps.v1.Deployment",
// "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta") with the GVK extension on kinds.
// NotFound for an unknown group version. Built once per path and cached.
Result<Json> OpenApiDocument(const KindRegistry& kinds, const std::string& gv_path);

// The hash in the index's serverRelativeURL for gv_path: hex of a digest of the document,
// stable for a given binary. Empty for an unknown group version.
std::string OpenApiHash(const KindRegistry& kinds, const std::string& gv_path);

}  // namespace cattle::apiserver
