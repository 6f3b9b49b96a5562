@0x89bee18da0ec3d90;
# policy/v1: PodDisruptionBudget, and the Eviction body POSTed to pods/{name}/eviction.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("cattle::api");

using Meta = import "meta.capnp";
using ObjectMeta = Meta.ObjectMeta;
using LabelSelector = Meta.LabelSelector;
using Condition = Meta.Condition;
using StringMap = Meta.StringMap;
using IntOrString = Meta.IntOrString;
using always = Meta.always;
using mergeKey = Meta.mergeKey;
using resource = Meta.resource;

using Core = import "core.capnp";
using DeleteOptions = Core.DeleteOptions;

struct PodDisruptionBudget $resource((group = "policy", version = "v1",
                                      plural = "poddisruptionbudgets",
                                      singular = "poddisruptionbudget", shortNames = ["pdb"],
                                      namespaced = true, subresources = ["status"])) {
  apiVersion @0 :Text;
  kind @1 :Text;
  metadata @2 :ObjectMeta;
  spec @3 :PodDisruptionBudgetSpec;
  status @4 :PodDisruptionBudgetStatus;
}

struct PodDisruptionBudgetSpec {
  minAvailable @0 :IntOrString;
  selector @1 :LabelSelector;
  maxUnavailable @2 :IntOrString;
  unhealthyPodEvictionPolicy @3 :Text;  # IfHealthyBudget, AlwaysAllow
}

struct PodDisruptionBudgetStatus {
  observedGeneration @0 :Int64;
  disruptedPods @1 :StringMap;          # pod name -> eviction time
  disruptionsAllowed @2 :Int32 $always;
  currentHealthy @3 :Int32 $always;
  desiredHealthy @4 :Int32 $always;
  expectedPods @5 :Int32 $always;
  conditions @6 :List(Condition) $mergeKey("type");
}

struct Eviction {
  # Body only (no $resource): metadata names the pod to evict.
  apiVersion @0 :Text;
  kind @1 :Text;
  metadata @2 :ObjectMeta;
  deleteOptions @3 :DeleteOptions;
}
