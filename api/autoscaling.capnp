@0x9a203466a2aaff50;
# autoscaling/v1: Scale, the body of the scale subresource (deployments, replicasets,
# statefulsets). Body only: no $resource.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("cattle::api");

using Meta = import "meta.capnp";
using ObjectMeta = Meta.ObjectMeta;
using always = Meta.always;

struct Scale {
  apiVersion @0 :Text;
  kind @1 :Text;
  metadata @2 :ObjectMeta;
  spec @3 :ScaleSpec;
  status @4 :ScaleStatus;
}

struct ScaleSpec {
  replicas @0 :Int32;
}

struct ScaleStatus {
  replicas @0 :Int32 $always;
  selector @1 :Text;   # label selector in string form, e.g. "app=web"
}
