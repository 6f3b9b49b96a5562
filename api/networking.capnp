@0xdd06e225e36cd598;
# networking.k8s.io/v1: NetworkPolicy.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("cattle::api");

using Meta = import "meta.capnp";
using ObjectMeta = Meta.ObjectMeta;
using LabelSelector = Meta.LabelSelector;
using IntOrString = Meta.IntOrString;
using OptInt32 = Meta.OptInt32;
using resource = Meta.resource;

struct NetworkPolicy $resource((group = "networking.k8s.io", version = "v1",
                                plural = "networkpolicies", singular = "networkpolicy",
                                shortNames = ["netpol"], namespaced = true)) {
  apiVersion @0 :Text;
  kind @1 :Text;
  metadata @2 :ObjectMeta;
  spec @3 :NetworkPolicySpec;
}

struct NetworkPolicySpec {
  podSelector @0 :LabelSelector;
  ingress @1 :List(NetworkPolicyIngressRule);
  egress @2 :List(NetworkPolicyEgressRule);
  policyTypes @3 :List(Text);  # Ingress, Egress
}

struct NetworkPolicyIngressRule {
  ports @0 :List(NetworkPolicyPort);
  from @1 :List(NetworkPolicyPeer);
}

struct NetworkPolicyEgressRule {
  ports @0 :List(NetworkPolicyPort);
  to @1 :List(NetworkPolicyPeer);
}

struct NetworkPolicyPort {
  protocol @0 :Text;
  port @1 :IntOrString;
  endPort @2 :OptInt32;
}

struct NetworkPolicyPeer {
  podSelector @0 :LabelSelector;
  namespaceSelector @1 :LabelSelector;
  ipBlock @2 :IPBlock;
}

struct IPBlock {
  cidr @0 :Text;
  except @1 :List(Text);
}
