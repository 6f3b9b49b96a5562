@0x847175790614331c;
# Common API machinery: the annotations that drive cattle's schema-derived JSON/YAML codec,
# ObjectMeta, and the small value types every kind shares.
#
# Codec conventions (see lib/cattle/codec.h):
# - A field's JSON name is its Cap'n Proto name, unless it carries $jsonName.
# - Pointer fields (Text, List, struct) are absent from JSON when unset (`has()` false);
#   a set-but-empty Text or List is written. Primitive fields are omitted when zero/false
#   (Go's omitempty) unless annotated $always.
# - Kubernetes' pointer primitives (`replicas`, `tolerationSeconds`, ...) are modelled with
#   the wrapper structs below (OptInt32, OptInt64, OptBool): absent and 0 stay distinct.
# - StringMap is a JSON object; IntOrString is a JSON number or string; a Text or StringMap
#   field marked $quantity holds Kubernetes resource quantities, parsed and canonicalised.
# - Int64/UInt64 are JSON numbers (never strings).
# - Kubernetes enums are Text, as they are strings on the wire.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("cattle::api");

annotation jsonName @0xfe868bb821661294 (field) :Text;
# JSON name when it cannot be the Cap'n Proto name.

annotation always @0xae4ee49fb7f633e0 (field) :Void;
# Write this primitive even when it is zero/false (Go fields without omitempty).

annotation wrapper @0xf989da2e452b7d79 (struct) :Void;
# The struct stands for its single field `value`, present or absent.

annotation map @0xd8dc9e4c2b0bad7d (struct) :Void;
# The struct is {entries: List({key, value})}; JSON is an object.

annotation intOrString @0xacd879bb0ccc71e5 (struct) :Void;
# The struct is a union {int, str}; JSON is a number or a string.

annotation quantity @0xe80137377d102458 (field) :Void;
# A Text field (or StringMap whose values are) holding resource quantities.

annotation mergeKey @0xe3159fe7ac599509 (field) :Text;
# On a List(struct) field: strategic merge patch merges items by this key.

annotation rawJson @0xb8b0b8c3c7c4b2a1 (field) :Void;
# A Text field holding arbitrary JSON, embedded verbatim (free-form content).

annotation patchStrategy @0x8c59663c253fbdd3 (field) :Text;
# Kubernetes' patchStrategy where it says more than the merge a $mergeKey implies:
# "merge,retainKeys" (pod volumes), "retainKeys" (a Deployment's strategy) or "merge" on a
# list of primitives (finalizers: merged as a set). Published in OpenAPI as
# x-kubernetes-patch-strategy, which kubectl's client-side apply computes its patches from.

struct ResourceInfo {
  group @0 :Text;          # "" for core
  version @1 :Text;
  plural @2 :Text;
  singular @3 :Text;
  shortNames @4 :List(Text);
  namespaced @5 :Bool;
  categories @6 :List(Text);
  subresources @7 :List(Text);  # besides the generic ones: "status", "scale", "binding", ...
}
annotation resource @0x9e0d8c6c1f3b7a55 (struct) :ResourceInfo;
# On a top-level kind: how it is served.

struct OptInt32 $wrapper { value @0 :Int32; }
struct OptInt64 $wrapper { value @0 :Int64; }
struct OptBool $wrapper { value @0 :Bool; }

struct StringMap $map {
  entries @0 :List(Entry);
  struct Entry {
    key @0 :Text;
    value @1 :Text;
  }
}

struct IntOrString $intOrString {
  union {
    int @0 :Int32;
    str @1 :Text;
  }
}

struct OwnerReference {
  apiVersion @0 :Text;
  kind @1 :Text;
  name @2 :Text;
  uid @3 :Text;
  controller @4 :OptBool;
  blockOwnerDeletion @5 :OptBool;
}

struct ManagedFieldsEntry {
  manager @0 :Text;
  operation @1 :Text;
  apiVersion @2 :Text;
  time @3 :Text;
  fieldsType @4 :Text;
  fieldsV1 @5 :Text $rawJson;
  subresource @6 :Text;
}

struct ObjectMeta {
  name @0 :Text;
  generateName @1 :Text;
  namespace @2 :Text;
  uid @3 :Text;
  resourceVersion @4 :Text;
  generation @5 :Int64;
  creationTimestamp @6 :Text;
  deletionTimestamp @7 :Text;
  deletionGracePeriodSeconds @8 :OptInt64;
  labels @9 :StringMap;
  annotations @10 :StringMap;
  ownerReferences @11 :List(OwnerReference) $mergeKey("uid");
  finalizers @12 :List(Text) $patchStrategy("merge");
  managedFields @13 :List(ManagedFieldsEntry);
  selfLink @14 :Text;
}

struct ListMeta {
  resourceVersion @0 :Text;
  continue @1 :Text $jsonName("continue");
  remainingItemCount @2 :OptInt64;
}

struct LabelSelectorRequirement {
  key @0 :Text;
  operator @1 :Text;
  values @2 :List(Text);
}

struct LabelSelector {
  matchLabels @0 :StringMap;
  matchExpressions @1 :List(LabelSelectorRequirement);
}

struct ObjectReference {
  kind @0 :Text;
  namespace @1 :Text;
  name @2 :Text;
  uid @3 :Text;
  apiVersion @4 :Text;
  resourceVersion @5 :Text;
  fieldPath @6 :Text;
}

struct LocalObjectReference { name @0 :Text; }

struct Condition {
  # The generic shape shared by most kinds' status conditions.
  type @0 :Text;
  status @1 :Text;
  observedGeneration @2 :Int64;
  lastTransitionTime @3 :Text;
  lastUpdateTime @4 :Text;
  lastHeartbeatTime @5 :Text;
  lastProbeTime @6 :Text;
  reason @7 :Text;
  message @8 :Text;
}
