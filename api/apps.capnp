@0xe15aa3404ce9ebde;
# apps/v1: Deployment, ReplicaSet, StatefulSet, DaemonSet, ControllerRevision.
# Field names, omitempty and patch merge keys follow k8s.io/api/apps/v1/types.go.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("cattle::api");

using Meta = import "meta.capnp";
using ObjectMeta = Meta.ObjectMeta;
using LabelSelector = Meta.LabelSelector;
using Condition = Meta.Condition;
using IntOrString = Meta.IntOrString;
using OptInt32 = Meta.OptInt32;
using always = Meta.always;
using mergeKey = Meta.mergeKey;
using patchStrategy = Meta.patchStrategy;
using rawJson = Meta.rawJson;
using resource = Meta.resource;

using Core = import "core.capnp";
using PodTemplateSpec = Core.PodTemplateSpec;
using PersistentVolumeClaim = Core.PersistentVolumeClaim;

# ---------------------------------------------------------------------------------------------
# Deployment

struct Deployment $resource((group = "apps", version = "v1", plural = "deployments",
                             singular = "deployment", shortNames = ["deploy"],
                             namespaced = true, categories = ["all"],
                             subresources = ["status", "scale"])) {
  apiVersion @0 :Text;
  kind @1 :Text;
  metadata @2 :ObjectMeta;
  spec @3 :DeploymentSpec;
  status @4 :DeploymentStatus;
}

struct DeploymentSpec {
  replicas @0 :OptInt32;
  selector @1 :LabelSelector;
  template @2 :PodTemplateSpec;
  strategy @3 :DeploymentStrategy $patchStrategy("retainKeys");
  minReadySeconds @4 :Int32;
  revisionHistoryLimit @5 :OptInt32;
  paused @6 :Bool;
  progressDeadlineSeconds @7 :OptInt32;
}

struct DeploymentStrategy {
  type @0 :Text;       # Recreate, RollingUpdate
  rollingUpdate @1 :RollingUpdateDeployment;
}

struct RollingUpdateDeployment {
  maxUnavailable @0 :IntOrString;
  maxSurge @1 :IntOrString;
}

struct DeploymentStatus {
  observedGeneration @0 :Int64;
  replicas @1 :Int32;
  updatedReplicas @2 :Int32;
  readyReplicas @3 :Int32;
  availableReplicas @4 :Int32;
  unavailableReplicas @5 :Int32;
  terminatingReplicas @6 :OptInt32;
  conditions @7 :List(Condition) $mergeKey("type");
  collisionCount @8 :OptInt32;
}

# ---------------------------------------------------------------------------------------------
# ReplicaSet

struct ReplicaSet $resource((group = "apps", version = "v1", plural = "replicasets",
                             singular = "replicaset", shortNames = ["rs"],
                             namespaced = true, categories = ["all"],
                             subresources = ["status", "scale"])) {
  apiVersion @0 :Text;
  kind @1 :Text;
  metadata @2 :ObjectMeta;
  spec @3 :ReplicaSetSpec;
  status @4 :ReplicaSetStatus;
}

struct ReplicaSetSpec {
  replicas @0 :OptInt32;
  minReadySeconds @1 :Int32;
  selector @2 :LabelSelector;
  template @3 :PodTemplateSpec;
}

struct ReplicaSetStatus {
  replicas @0 :Int32 $always;
  fullyLabeledReplicas @1 :Int32;
  readyReplicas @2 :Int32;
  availableReplicas @3 :Int32;
  terminatingReplicas @4 :OptInt32;
  observedGeneration @5 :Int64;
  conditions @6 :List(Condition) $mergeKey("type");
}

# ---------------------------------------------------------------------------------------------
# StatefulSet

struct StatefulSet $resource((group = "apps", version = "v1", plural = "statefulsets",
                              singular = "statefulset", shortNames = ["sts"],
                              namespaced = true, categories = ["all"],
                              subresources = ["status", "scale"])) {
  apiVersion @0 :Text;
  kind @1 :Text;
  metadata @2 :ObjectMeta;
  spec @3 :StatefulSetSpec;
  status @4 :StatefulSetStatus;
}

struct StatefulSetSpec {
  replicas @0 :OptInt32;
  selector @1 :LabelSelector;
  template @2 :PodTemplateSpec;
  volumeClaimTemplates @3 :List(PersistentVolumeClaim);
  serviceName @4 :Text;
  podManagementPolicy @5 :Text;  # OrderedReady, Parallel
  updateStrategy @6 :StatefulSetUpdateStrategy;
  revisionHistoryLimit @7 :OptInt32;
  minReadySeconds @8 :Int32;
  persistentVolumeClaimRetentionPolicy @9 :StatefulSetPersistentVolumeClaimRetentionPolicy;
  ordinals @10 :StatefulSetOrdinals;
}

struct StatefulSetUpdateStrategy {
  type @0 :Text;       # RollingUpdate, OnDelete
  rollingUpdate @1 :RollingUpdateStatefulSetStrategy;
}

struct RollingUpdateStatefulSetStrategy {
  partition @0 :OptInt32;
  maxUnavailable @1 :IntOrString;
}

struct StatefulSetPersistentVolumeClaimRetentionPolicy {
  whenDeleted @0 :Text;  # Retain, Delete
  whenScaled @1 :Text;
}

struct StatefulSetOrdinals {
  start @0 :Int32 $always;
}

struct StatefulSetStatus {
  observedGeneration @0 :Int64;
  replicas @1 :Int32 $always;
  readyReplicas @2 :Int32;
  currentReplicas @3 :Int32;
  updatedReplicas @4 :Int32;
  currentRevision @5 :Text;
  updateRevision @6 :Text;
  collisionCount @7 :OptInt32;
  conditions @8 :List(Condition) $mergeKey("type");
  availableReplicas @9 :Int32 $always;
}

# ---------------------------------------------------------------------------------------------
# DaemonSet

struct DaemonSet $resource((group = "apps", version = "v1", plural = "daemonsets",
                            singular = "daemonset", shortNames = ["ds"],
                            namespaced = true, categories = ["all"],
                            subresources = ["status"])) {
  apiVersion @0 :Text;
  kind @1 :Text;
  metadata @2 :ObjectMeta;
  spec @3 :DaemonSetSpec;
  status @4 :DaemonSetStatus;
}

struct DaemonSetSpec {
  selector @0 :LabelSelector;
  template @1 :PodTemplateSpec;
  updateStrategy @2 :DaemonSetUpdateStrategy;
  minReadySeconds @3 :Int32;
  revisionHistoryLimit @4 :OptInt32;
}

struct DaemonSetUpdateStrategy {
  type @0 :Text;       # RollingUpdate, OnDelete
  rollingUpdate @1 :RollingUpdateDaemonSet;
}

struct RollingUpdateDaemonSet {
  maxUnavailable @0 :IntOrString;
  maxSurge @1 :IntOrString;
}

struct DaemonSetStatus {
  currentNumberScheduled @0 :Int32 $always;
  numberMisscheduled @1 :Int32 $always;
  desiredNumberScheduled @2 :Int32 $always;
  numberReady @3 :Int32 $always;
  observedGeneration @4 :Int64;
  updatedNumberScheduled @5 :Int32;
  numberAvailable @6 :Int32;
  numberUnavailable @7 :Int32;
  collisionCount @8 :OptInt32;
  conditions @9 :List(Condition) $mergeKey("type");
}

# ---------------------------------------------------------------------------------------------
# ControllerRevision

struct ControllerRevision $resource((group = "apps", version = "v1",
                                     plural = "controllerrevisions",
                                     singular = "controllerrevision", namespaced = true)) {
  apiVersion @0 :Text;
  kind @1 :Text;
  metadata @2 :ObjectMeta;
  data @3 :Text $rawJson;  # runtime.RawExtension: a patch of the owner's template
  revision @4 :Int64 $always;
}
