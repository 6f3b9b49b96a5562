@0xf14ddb352219aa6e;
# coordination.k8s.io/v1: Lease (leader election and node heartbeats).

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("cattle::api");

using Meta = import "meta.capnp";
using ObjectMeta = Meta.ObjectMeta;
using OptInt32 = Meta.OptInt32;
using resource = Meta.resource;

struct Lease $resource((group = "coordination.k8s.io", version = "v1", plural = "leases",
                        singular = "lease", namespaced = true)) {
  # Kubernetes gives leases no short name.
  apiVersion @0 :Text;
  kind @1 :Text;
  metadata @2 :ObjectMeta;
  spec @3 :LeaseSpec;
}

struct LeaseSpec {
  holderIdentity @0 :Text;
  leaseDurationSeconds @1 :OptInt32;
  acquireTime @2 :Text;      # MicroTime
  renewTime @3 :Text;        # MicroTime
  leaseTransitions @4 :OptInt32;
  strategy @5 :Text;         # OldestEmulationVersion
  preferredHolder @6 :Text;
}
