@0xf6dab8760f31e5c9;
# discovery.k8s.io/v1: EndpointSlice.
# Its Endpoint/EndpointConditions/EndpointPort are prefixed "EndpointSlice" here: every schema
# shares the cattle::api C++ namespace, and core already has EndpointPort.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("cattle::api");

using Meta = import "meta.capnp";
using ObjectMeta = Meta.ObjectMeta;
using ObjectReference = Meta.ObjectReference;
using StringMap = Meta.StringMap;
using OptInt32 = Meta.OptInt32;
using OptBool = Meta.OptBool;
using resource = Meta.resource;

struct EndpointSlice $resource((group = "discovery.k8s.io", version = "v1",
                                plural = "endpointslices", singular = "endpointslice",
                                namespaced = true)) {
  apiVersion @0 :Text;
  kind @1 :Text;
  metadata @2 :ObjectMeta;
  addressType @3 :Text;  # IPv4, IPv6, FQDN
  endpoints @4 :List(EndpointSliceEndpoint);
  ports @5 :List(EndpointSlicePort);
}

struct EndpointSliceEndpoint {
  # discovery/v1 Endpoint.
  addresses @0 :List(Text);
  conditions @1 :EndpointSliceConditions;
  hostname @2 :Text;
  targetRef @3 :ObjectReference;
  deprecatedTopology @4 :StringMap;
  nodeName @5 :Text;
  zone @6 :Text;
  hints @7 :EndpointHints;
}

struct EndpointSliceConditions {
  # discovery/v1 EndpointConditions.
  ready @0 :OptBool;
  serving @1 :OptBool;
  terminating @2 :OptBool;
}

struct EndpointHints {
  forZones @0 :List(ForZone);
  forNodes @1 :List(ForNode);
}

struct ForZone {
  name @0 :Text;
}

struct ForNode {
  name @0 :Text;
}

struct EndpointSlicePort {
  # discovery/v1 EndpointPort.
  name @0 :Text;
  protocol @1 :Text;
  port @2 :OptInt32;
  appProtocol @3 :Text;
}
