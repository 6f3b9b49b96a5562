@0xc83a83b2b14c560b;
# core/v1 ("" group): Pod, Node, Service, Endpoints, ConfigMap, Secret, Event, Namespace,
# PersistentVolume, PersistentVolumeClaim, plus the Binding subresource body and DeleteOptions.
# Field names, omitempty and patch merge keys follow k8s.io/api/core/v1/types.go; see
# meta.capnp for what each annotation means to the codec.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("cattle::api");

using Meta = import "meta.capnp";
using ObjectMeta = Meta.ObjectMeta;
using ObjectReference = Meta.ObjectReference;
using LocalObjectReference = Meta.LocalObjectReference;
using LabelSelector = Meta.LabelSelector;
using Condition = Meta.Condition;
using StringMap = Meta.StringMap;
using IntOrString = Meta.IntOrString;
using OptInt32 = Meta.OptInt32;
using OptInt64 = Meta.OptInt64;
using OptBool = Meta.OptBool;
using jsonName = Meta.jsonName;
using always = Meta.always;
using quantity = Meta.quantity;
using mergeKey = Meta.mergeKey;
using patchStrategy = Meta.patchStrategy;
using resource = Meta.resource;

# ---------------------------------------------------------------------------------------------
# Pod

struct Pod $resource((group = "", version = "v1", plural = "pods", singular = "pod",
                      shortNames = ["po"], namespaced = true, categories = ["all"],
                      subresources = ["status", "binding", "eviction", "log", "resize"])) {
  apiVersion @0 :Text;
  kind @1 :Text;
  metadata @2 :ObjectMeta;
  spec @3 :PodSpec;
  status @4 :PodStatus;
}

struct PodTemplateSpec {
  metadata @0 :ObjectMeta;
  spec @1 :PodSpec;
}

struct PodSpec {
  volumes @0 :List(Volume) $mergeKey("name") $patchStrategy("merge,retainKeys");
  initContainers @1 :List(Container) $mergeKey("name");
  containers @2 :List(Container) $mergeKey("name");
  ephemeralContainers @3 :List(EphemeralContainer) $mergeKey("name");
  restartPolicy @4 :Text;
  terminationGracePeriodSeconds @5 :OptInt64;
  activeDeadlineSeconds @6 :OptInt64;
  dnsPolicy @7 :Text;
  nodeSelector @8 :StringMap;
  serviceAccountName @9 :Text;
  serviceAccount @10 :Text;            # deprecated alias of serviceAccountName
  automountServiceAccountToken @11 :OptBool;
  nodeName @12 :Text;
  hostNetwork @13 :Bool;
  hostPID @14 :Bool;
  hostIPC @15 :Bool;
  shareProcessNamespace @16 :OptBool;
  securityContext @17 :PodSecurityContext;
  imagePullSecrets @18 :List(LocalObjectReference) $mergeKey("name");
  hostname @19 :Text;
  subdomain @20 :Text;
  affinity @21 :Affinity;
  schedulerName @22 :Text;
  tolerations @23 :List(Toleration);  # atomic list: no merge key in Kubernetes
  hostAliases @24 :List(HostAlias) $mergeKey("ip");
  priorityClassName @25 :Text;
  priority @26 :OptInt32;
  dnsConfig @27 :PodDNSConfig;
  readinessGates @28 :List(PodReadinessGate);
  runtimeClassName @29 :Text;
  enableServiceLinks @30 :OptBool;
  preemptionPolicy @31 :Text;
  overhead @32 :StringMap $quantity;
  topologySpreadConstraints @33 :List(TopologySpreadConstraint) $mergeKey("topologyKey");
  setHostnameAsFQDN @34 :OptBool;
  os @35 :PodOS;
  hostUsers @36 :OptBool;
  schedulingGates @37 :List(PodSchedulingGate) $mergeKey("name");
  resourceClaims @38 :List(PodResourceClaim) $mergeKey("name")
      $patchStrategy("merge,retainKeys");
  resources @39 :ResourceRequirements;  # pod-level resources
}

struct Container {
  name @0 :Text;
  image @1 :Text;
  command @2 :List(Text);
  args @3 :List(Text);
  workingDir @4 :Text;
  ports @5 :List(ContainerPort) $mergeKey("containerPort");
  envFrom @6 :List(EnvFromSource);
  env @7 :List(EnvVar) $mergeKey("name");
  resources @8 :ResourceRequirements;
  resizePolicy @9 :List(ContainerResizePolicy);  # atomic list: no merge key in Kubernetes
  restartPolicy @10 :Text;                        # "Always" marks an init container a sidecar
  restartPolicyRules @11 :List(ContainerRestartRule);
  volumeMounts @12 :List(VolumeMount) $mergeKey("mountPath");
  volumeDevices @13 :List(VolumeDevice) $mergeKey("devicePath");
  livenessProbe @14 :Probe;
  readinessProbe @15 :Probe;
  startupProbe @16 :Probe;
  lifecycle @17 :Lifecycle;
  terminationMessagePath @18 :Text;
  terminationMessagePolicy @19 :Text;
  imagePullPolicy @20 :Text;
  securityContext @21 :SecurityContext;
  stdin @22 :Bool;
  stdinOnce @23 :Bool;
  tty @24 :Bool;
}

struct EphemeralContainer {
  # Same fields (and ordinals) as Container, plus targetContainerName.
  name @0 :Text;
  image @1 :Text;
  command @2 :List(Text);
  args @3 :List(Text);
  workingDir @4 :Text;
  ports @5 :List(ContainerPort) $mergeKey("containerPort");
  envFrom @6 :List(EnvFromSource);
  env @7 :List(EnvVar) $mergeKey("name");
  resources @8 :ResourceRequirements;
  resizePolicy @9 :List(ContainerResizePolicy);
  restartPolicy @10 :Text;
  restartPolicyRules @11 :List(ContainerRestartRule);
  volumeMounts @12 :List(VolumeMount) $mergeKey("mountPath");
  volumeDevices @13 :List(VolumeDevice) $mergeKey("devicePath");
  livenessProbe @14 :Probe;
  readinessProbe @15 :Probe;
  startupProbe @16 :Probe;
  lifecycle @17 :Lifecycle;
  terminationMessagePath @18 :Text;
  terminationMessagePolicy @19 :Text;
  imagePullPolicy @20 :Text;
  securityContext @21 :SecurityContext;
  stdin @22 :Bool;
  stdinOnce @23 :Bool;
  tty @24 :Bool;
  targetContainerName @25 :Text;
}

struct ContainerPort {
  name @0 :Text;
  hostPort @1 :Int32;
  containerPort @2 :Int32 $always;
  protocol @3 :Text;
  hostIP @4 :Text;
}

struct EnvVar {
  name @0 :Text;
  value @1 :Text;
  valueFrom @2 :EnvVarSource;
}

struct EnvVarSource {
  fieldRef @0 :ObjectFieldSelector;
  resourceFieldRef @1 :ResourceFieldSelector;
  configMapKeyRef @2 :ConfigMapKeySelector;
  secretKeyRef @3 :SecretKeySelector;
}

struct ObjectFieldSelector {
  apiVersion @0 :Text;
  fieldPath @1 :Text;
}

struct ResourceFieldSelector {
  containerName @0 :Text;
  resource @1 :Text;
  divisor @2 :Text $quantity;
}

struct ConfigMapKeySelector {
  name @0 :Text;
  key @1 :Text;
  optional @2 :OptBool;
}

struct SecretKeySelector {
  name @0 :Text;
  key @1 :Text;
  optional @2 :OptBool;
}

struct EnvFromSource {
  prefix @0 :Text;
  configMapRef @1 :ConfigMapEnvSource;
  secretRef @2 :SecretEnvSource;
}

struct ConfigMapEnvSource {
  name @0 :Text;
  optional @1 :OptBool;
}

struct SecretEnvSource {
  name @0 :Text;
  optional @1 :OptBool;
}

struct ResourceRequirements {
  limits @0 :StringMap $quantity;
  requests @1 :StringMap $quantity;
  claims @2 :List(ContainerResourceClaim);
}

struct ContainerResourceClaim {
  # core/v1 ResourceClaim (a reference from a container to a pod's resourceClaims entry).
  name @0 :Text;
  request @1 :Text;
}

struct ContainerResizePolicy {
  resourceName @0 :Text;
  restartPolicy @1 :Text;
}

struct ContainerRestartRule {
  action @0 :Text;
  exitCodes @1 :ContainerRestartRuleOnExitCodes;
}

struct ContainerRestartRuleOnExitCodes {
  operator @0 :Text;
  values @1 :List(Int32);
}

struct VolumeMount {
  name @0 :Text;
  readOnly @1 :Bool;
  recursiveReadOnly @2 :Text;
  mountPath @3 :Text;
  subPath @4 :Text;
  mountPropagation @5 :Text;
  subPathExpr @6 :Text;
}

struct VolumeDevice {
  name @0 :Text;
  devicePath @1 :Text;
}

struct Probe {
  exec @0 :ExecAction;
  httpGet @1 :HTTPGetAction;
  tcpSocket @2 :TCPSocketAction;
  grpc @3 :GRPCAction;
  initialDelaySeconds @4 :Int32;
  timeoutSeconds @5 :Int32;
  periodSeconds @6 :Int32;
  successThreshold @7 :Int32;
  failureThreshold @8 :Int32;
  terminationGracePeriodSeconds @9 :OptInt64;
}

struct ExecAction {
  command @0 :List(Text);
}

struct HTTPGetAction {
  path @0 :Text;
  port @1 :IntOrString;
  host @2 :Text;
  scheme @3 :Text;
  httpHeaders @4 :List(HTTPHeader);
}

struct HTTPHeader {
  name @0 :Text;
  value @1 :Text;
}

struct TCPSocketAction {
  port @0 :IntOrString;
  host @1 :Text;
}

struct GRPCAction {
  port @0 :Int32 $always;
  service @1 :Text;
}

struct Lifecycle {
  postStart @0 :LifecycleHandler;
  preStop @1 :LifecycleHandler;
  stopSignal @2 :Text;
}

struct LifecycleHandler {
  exec @0 :ExecAction;
  httpGet @1 :HTTPGetAction;
  tcpSocket @2 :TCPSocketAction;
  sleep @3 :SleepAction;
}

struct SleepAction {
  seconds @0 :Int64 $always;
}

struct SecurityContext {
  capabilities @0 :Capabilities;
  privileged @1 :OptBool;
  seLinuxOptions @2 :SELinuxOptions;
  runAsUser @3 :OptInt64;
  runAsGroup @4 :OptInt64;
  runAsNonRoot @5 :OptBool;
  readOnlyRootFilesystem @6 :OptBool;
  allowPrivilegeEscalation @7 :OptBool;
  procMount @8 :Text;
  seccompProfile @9 :SeccompProfile;
  appArmorProfile @10 :AppArmorProfile;
}

struct Capabilities {
  add @0 :List(Text);
  drop @1 :List(Text);
}

struct SELinuxOptions {
  user @0 :Text;
  role @1 :Text;
  type @2 :Text;
  level @3 :Text;
}

struct SeccompProfile {
  type @0 :Text;
  localhostProfile @1 :Text;
}

struct AppArmorProfile {
  type @0 :Text;
  localhostProfile @1 :Text;
}

struct PodSecurityContext {
  seLinuxOptions @0 :SELinuxOptions;
  runAsUser @1 :OptInt64;
  runAsGroup @2 :OptInt64;
  runAsNonRoot @3 :OptBool;
  supplementalGroups @4 :List(Int64);
  supplementalGroupsPolicy @5 :Text;
  fsGroup @6 :OptInt64;
  sysctls @7 :List(Sysctl);
  fsGroupChangePolicy @8 :Text;
  seccompProfile @9 :SeccompProfile;
  appArmorProfile @10 :AppArmorProfile;
  seLinuxChangePolicy @11 :Text;
}

struct Sysctl {
  name @0 :Text;
  value @1 :Text;
}

# Scheduling constraints.

struct Affinity {
  nodeAffinity @0 :NodeAffinity;
  podAffinity @1 :PodAffinity;
  podAntiAffinity @2 :PodAntiAffinity;
}

struct NodeAffinity {
  requiredDuringSchedulingIgnoredDuringExecution @0 :NodeSelector;
  preferredDuringSchedulingIgnoredDuringExecution @1 :List(PreferredSchedulingTerm);
}

struct NodeSelector {
  nodeSelectorTerms @0 :List(NodeSelectorTerm);
}

struct NodeSelectorTerm {
  matchExpressions @0 :List(NodeSelectorRequirement);
  matchFields @1 :List(NodeSelectorRequirement);
}

struct NodeSelectorRequirement {
  key @0 :Text;
  operator @1 :Text;   # In, NotIn, Exists, DoesNotExist, Gt, Lt
  values @2 :List(Text);
}

struct PreferredSchedulingTerm {
  weight @0 :Int32 $always;
  preference @1 :NodeSelectorTerm;
}

struct PodAffinity {
  requiredDuringSchedulingIgnoredDuringExecution @0 :List(PodAffinityTerm);
  preferredDuringSchedulingIgnoredDuringExecution @1 :List(WeightedPodAffinityTerm);
}

struct PodAntiAffinity {
  requiredDuringSchedulingIgnoredDuringExecution @0 :List(PodAffinityTerm);
  preferredDuringSchedulingIgnoredDuringExecution @1 :List(WeightedPodAffinityTerm);
}

struct PodAffinityTerm {
  labelSelector @0 :LabelSelector;
  namespaces @1 :List(Text);
  topologyKey @2 :Text;
  namespaceSelector @3 :LabelSelector;
  matchLabelKeys @4 :List(Text);
  mismatchLabelKeys @5 :List(Text);
}

struct WeightedPodAffinityTerm {
  weight @0 :Int32 $always;
  podAffinityTerm @1 :PodAffinityTerm;
}

struct Toleration {
  key @0 :Text;
  operator @1 :Text;   # Exists, Equal
  value @2 :Text;
  effect @3 :Text;
  tolerationSeconds @4 :OptInt64;
}

struct TopologySpreadConstraint {
  maxSkew @0 :Int32 $always;
  topologyKey @1 :Text;
  whenUnsatisfiable @2 :Text;
  labelSelector @3 :LabelSelector;
  minDomains @4 :OptInt32;
  nodeAffinityPolicy @5 :Text;
  nodeTaintsPolicy @6 :Text;
  matchLabelKeys @7 :List(Text);
}

struct HostAlias {
  ip @0 :Text;
  hostnames @1 :List(Text);
}

struct PodDNSConfig {
  nameservers @0 :List(Text);
  searches @1 :List(Text);
  options @2 :List(PodDNSConfigOption);
}

struct PodDNSConfigOption {
  name @0 :Text;
  value @1 :Text;
}

struct PodReadinessGate {
  conditionType @0 :Text;
}

struct PodOS {
  name @0 :Text;
}

struct PodSchedulingGate {
  name @0 :Text;
}

struct PodResourceClaim {
  name @0 :Text;
  resourceClaimName @1 :Text;
  resourceClaimTemplateName @2 :Text;
}

# Volumes.

struct Volume {
  name @0 :Text;
  # VolumeSource, inlined in JSON; exactly one is set.
  hostPath @1 :HostPathVolumeSource;
  emptyDir @2 :EmptyDirVolumeSource;
  secret @3 :SecretVolumeSource;
  nfs @4 :NFSVolumeSource;
  persistentVolumeClaim @5 :PersistentVolumeClaimVolumeSource;
  downwardAPI @6 :DownwardAPIVolumeSource;
  configMap @7 :ConfigMapVolumeSource;
  projected @8 :ProjectedVolumeSource;
  csi @9 :CSIVolumeSource;
  ephemeral @10 :EphemeralVolumeSource;
  image @11 :ImageVolumeSource;
}

struct HostPathVolumeSource {
  path @0 :Text;
  type @1 :Text;
}

struct EmptyDirVolumeSource {
  medium @0 :Text;
  sizeLimit @1 :Text $quantity;
}

struct KeyToPath {
  key @0 :Text;
  path @1 :Text;
  mode @2 :OptInt32;
}

struct SecretVolumeSource {
  secretName @0 :Text;
  items @1 :List(KeyToPath);
  defaultMode @2 :OptInt32;
  optional @3 :OptBool;
}

struct ConfigMapVolumeSource {
  name @0 :Text;
  items @1 :List(KeyToPath);
  defaultMode @2 :OptInt32;
  optional @3 :OptBool;
}

struct NFSVolumeSource {
  server @0 :Text;
  path @1 :Text;
  readOnly @2 :Bool;
}

struct PersistentVolumeClaimVolumeSource {
  claimName @0 :Text;
  readOnly @1 :Bool;
}

struct DownwardAPIVolumeSource {
  items @0 :List(DownwardAPIVolumeFile);
  defaultMode @1 :OptInt32;
}

struct DownwardAPIVolumeFile {
  path @0 :Text;
  fieldRef @1 :ObjectFieldSelector;
  resourceFieldRef @2 :ResourceFieldSelector;
  mode @3 :OptInt32;
}

struct ProjectedVolumeSource {
  sources @0 :List(VolumeProjection);
  defaultMode @1 :OptInt32;
}

struct VolumeProjection {
  secret @0 :SecretProjection;
  downwardAPI @1 :DownwardAPIProjection;
  configMap @2 :ConfigMapProjection;
  serviceAccountToken @3 :ServiceAccountTokenProjection;
}

struct SecretProjection {
  name @0 :Text;
  items @1 :List(KeyToPath);
  optional @2 :OptBool;
}

struct ConfigMapProjection {
  name @0 :Text;
  items @1 :List(KeyToPath);
  optional @2 :OptBool;
}

struct DownwardAPIProjection {
  items @0 :List(DownwardAPIVolumeFile);
}

struct ServiceAccountTokenProjection {
  audience @0 :Text;
  expirationSeconds @1 :OptInt64;
  path @2 :Text;
}

struct CSIVolumeSource {
  driver @0 :Text;
  readOnly @1 :OptBool;
  fsType @2 :Text;
  volumeAttributes @3 :StringMap;
  nodePublishSecretRef @4 :LocalObjectReference;
}

struct EphemeralVolumeSource {
  volumeClaimTemplate @0 :PersistentVolumeClaimTemplate;
}

struct PersistentVolumeClaimTemplate {
  metadata @0 :ObjectMeta;
  spec @1 :PersistentVolumeClaimSpec;
}

struct ImageVolumeSource {
  reference @0 :Text;
  pullPolicy @1 :Text;
}

# Pod status.

struct PodStatus {
  observedGeneration @0 :Int64;
  phase @1 :Text;
  conditions @2 :List(Condition) $mergeKey("type");
  message @3 :Text;
  reason @4 :Text;
  nominatedNodeName @5 :Text;
  hostIP @6 :Text;
  hostIPs @7 :List(HostIP) $mergeKey("ip");
  podIP @8 :Text;
  podIPs @9 :List(PodIP) $mergeKey("ip");
  startTime @10 :Text;
  initContainerStatuses @11 :List(ContainerStatus);
  containerStatuses @12 :List(ContainerStatus);
  qosClass @13 :Text;
  ephemeralContainerStatuses @14 :List(ContainerStatus);
  resize @15 :Text;
  resourceClaimStatuses @16 :List(PodResourceClaimStatus) $mergeKey("name")
      $patchStrategy("merge,retainKeys");
  allocatedResources @17 :StringMap $quantity;
  resources @18 :ResourceRequirements;
}

struct HostIP {
  ip @0 :Text;
}

struct PodIP {
  ip @0 :Text;
}

struct PodResourceClaimStatus {
  name @0 :Text;
  resourceClaimName @1 :Text;
}

struct ContainerStatus {
  name @0 :Text;
  state @1 :ContainerState;
  lastState @2 :ContainerState;
  ready @3 :Bool $always;
  restartCount @4 :Int32 $always;
  image @5 :Text $always;
  imageID @6 :Text $always;
  containerID @7 :Text;
  started @8 :OptBool;
  allocatedResources @9 :StringMap $quantity;
  resources @10 :ResourceRequirements;
  volumeMounts @11 :List(VolumeMountStatus) $mergeKey("mountPath");
  user @12 :ContainerUser;
  allocatedResourcesStatus @13 :List(ResourceStatus) $mergeKey("name");
  stopSignal @14 :Text;
}

struct ContainerState {
  # At most one is set.
  waiting @0 :ContainerStateWaiting;
  running @1 :ContainerStateRunning;
  terminated @2 :ContainerStateTerminated;
}

struct ContainerStateWaiting {
  reason @0 :Text;
  message @1 :Text;
}

struct ContainerStateRunning {
  startedAt @0 :Text;
}

struct ContainerStateTerminated {
  exitCode @0 :Int32 $always;
  signal @1 :Int32;
  reason @2 :Text;
  message @3 :Text;
  startedAt @4 :Text;
  finishedAt @5 :Text;
  containerID @6 :Text;
}

struct VolumeMountStatus {
  name @0 :Text;
  mountPath @1 :Text;
  readOnly @2 :Bool;
  recursiveReadOnly @3 :Text;
}

struct ContainerUser {
  linux @0 :LinuxContainerUser;
}

struct LinuxContainerUser {
  uid @0 :Int64 $always;
  gid @1 :Int64 $always;
  supplementalGroups @2 :List(Int64);
}

struct ResourceStatus {
  name @0 :Text;
  resources @1 :List(ResourceHealth);
}

struct ResourceHealth {
  resourceID @0 :Text;
  health @1 :Text;
  message @2 :Text;
}

# ---------------------------------------------------------------------------------------------
# Node

struct Node $resource((group = "", version = "v1", plural = "nodes", singular = "node",
                       shortNames = ["no"], namespaced = false, subresources = ["status"])) {
  apiVersion @0 :Text;
  kind @1 :Text;
  metadata @2 :ObjectMeta;
  spec @3 :NodeSpec;
  status @4 :NodeStatus;
}

struct NodeSpec {
  podCIDR @0 :Text;
  podCIDRs @1 :List(Text) $patchStrategy("merge");
  providerID @2 :Text;
  unschedulable @3 :Bool;
  taints @4 :List(Taint);  # atomic list: no merge key in Kubernetes
}

struct Taint {
  key @0 :Text;
  value @1 :Text;
  effect @2 :Text;     # NoSchedule, PreferNoSchedule, NoExecute
  timeAdded @3 :Text;
}

struct NodeStatus {
  capacity @0 :StringMap $quantity;
  allocatable @1 :StringMap $quantity;
  phase @2 :Text;
  conditions @3 :List(Condition) $mergeKey("type");
  addresses @4 :List(NodeAddress) $mergeKey("type");
  daemonEndpoints @5 :NodeDaemonEndpoints;
  nodeInfo @6 :NodeSystemInfo;
  images @7 :List(ContainerImage);
  volumesInUse @8 :List(Text);
  volumesAttached @9 :List(AttachedVolume);
  runtimeHandlers @10 :List(NodeRuntimeHandler);
  features @11 :NodeFeatures;
}

struct NodeAddress {
  type @0 :Text;       # Hostname, InternalIP, ExternalIP, InternalDNS, ExternalDNS
  address @1 :Text;
}

struct NodeDaemonEndpoints {
  kubeletEndpoint @0 :DaemonEndpoint;
}

struct DaemonEndpoint {
  port @0 :Int32 $jsonName("Port") $always;  # capitalised on the wire, for historical reasons
}

struct NodeSystemInfo {
  machineID @0 :Text $always;
  systemUUID @1 :Text $always;
  bootID @2 :Text $always;
  kernelVersion @3 :Text $always;
  osImage @4 :Text $always;
  containerRuntimeVersion @5 :Text $always;
  kubeletVersion @6 :Text $always;
  kubeProxyVersion @7 :Text $always;
  operatingSystem @8 :Text $always;
  architecture @9 :Text $always;
  swap @10 :NodeSwapStatus;
}

struct NodeSwapStatus {
  capacity @0 :OptInt64;
}

struct ContainerImage {
  names @0 :List(Text);
  sizeBytes @1 :Int64;
}

struct AttachedVolume {
  name @0 :Text;
  devicePath @1 :Text;
}

struct NodeRuntimeHandler {
  name @0 :Text;
  features @1 :NodeRuntimeHandlerFeatures;
}

struct NodeRuntimeHandlerFeatures {
  recursiveReadOnlyMounts @0 :OptBool;
  userNamespaces @1 :OptBool;
}

struct NodeFeatures {
  supplementalGroupsPolicy @0 :OptBool;
}

# ---------------------------------------------------------------------------------------------
# Service and Endpoints

struct Service $resource((group = "", version = "v1", plural = "services", singular = "service",
                          shortNames = ["svc"], namespaced = true, categories = ["all"],
                          subresources = ["status"])) {
  apiVersion @0 :Text;
  kind @1 :Text;
  metadata @2 :ObjectMeta;
  spec @3 :ServiceSpec;
  status @4 :ServiceStatus;
}

struct ServiceSpec {
  ports @0 :List(ServicePort) $mergeKey("port");
  selector @1 :StringMap;
  clusterIP @2 :Text;
  clusterIPs @3 :List(Text);
  type @4 :Text;       # ClusterIP, NodePort, LoadBalancer, ExternalName
  externalIPs @5 :List(Text);
  sessionAffinity @6 :Text;
  loadBalancerIP @7 :Text;
  loadBalancerSourceRanges @8 :List(Text);
  externalName @9 :Text;
  externalTrafficPolicy @10 :Text;
  healthCheckNodePort @11 :Int32;
  publishNotReadyAddresses @12 :Bool;
  sessionAffinityConfig @13 :SessionAffinityConfig;
  ipFamilies @14 :List(Text);
  ipFamilyPolicy @15 :Text;
  allocateLoadBalancerNodePorts @16 :OptBool;
  loadBalancerClass @17 :Text;
  internalTrafficPolicy @18 :Text;
  trafficDistribution @19 :Text;
}

struct ServicePort {
  name @0 :Text;
  protocol @1 :Text;
  appProtocol @2 :Text;
  port @3 :Int32 $always;
  targetPort @4 :IntOrString;
  nodePort @5 :Int32;
}

struct SessionAffinityConfig {
  clientIP @0 :ClientIPConfig;
}

struct ClientIPConfig {
  timeoutSeconds @0 :OptInt32;
}

struct ServiceStatus {
  loadBalancer @0 :LoadBalancerStatus;
  conditions @1 :List(Condition) $mergeKey("type");
}

struct LoadBalancerStatus {
  ingress @0 :List(LoadBalancerIngress);
}

struct LoadBalancerIngress {
  ip @0 :Text;
  hostname @1 :Text;
  ipMode @2 :Text;
  ports @3 :List(PortStatus);
}

struct PortStatus {
  port @0 :Int32 $always;
  protocol @1 :Text;
  error @2 :Text;
}

struct Endpoints $resource((group = "", version = "v1", plural = "endpoints",
                            singular = "endpoints", shortNames = ["ep"], namespaced = true)) {
  apiVersion @0 :Text;
  kind @1 :Text;
  metadata @2 :ObjectMeta;
  subsets @3 :List(EndpointSubset);
}

struct EndpointSubset {
  addresses @0 :List(EndpointAddress);
  notReadyAddresses @1 :List(EndpointAddress);
  ports @2 :List(EndpointPort);
}

struct EndpointAddress {
  ip @0 :Text;
  hostname @1 :Text;
  nodeName @2 :Text;
  targetRef @3 :ObjectReference;
}

struct EndpointPort {
  name @0 :Text;
  port @1 :Int32 $always;
  protocol @2 :Text;
  appProtocol @3 :Text;
}

# ---------------------------------------------------------------------------------------------
# ConfigMap, Secret

struct ConfigMap $resource((group = "", version = "v1", plural = "configmaps",
                            singular = "configmap", shortNames = ["cm"], namespaced = true)) {
  apiVersion @0 :Text;
  kind @1 :Text;
  metadata @2 :ObjectMeta;
  data @3 :StringMap;
  binaryData @4 :StringMap;  # values are base64 text, as on the wire
  immutable @5 :OptBool;
}

struct Secret $resource((group = "", version = "v1", plural = "secrets", singular = "secret",
                         namespaced = true)) {
  apiVersion @0 :Text;
  kind @1 :Text;
  metadata @2 :ObjectMeta;
  data @3 :StringMap;        # values are base64 text, as on the wire
  stringData @4 :StringMap;  # write-only convenience; merged into data on write
  type @5 :Text;
  immutable @6 :OptBool;
}

# ---------------------------------------------------------------------------------------------
# Event (core/v1)

struct Event $resource((group = "", version = "v1", plural = "events", singular = "event",
                        shortNames = ["ev"], namespaced = true)) {
  apiVersion @0 :Text;
  kind @1 :Text;
  metadata @2 :ObjectMeta;
  involvedObject @3 :ObjectReference;
  reason @4 :Text;
  message @5 :Text;
  source @6 :EventSource;
  firstTimestamp @7 :Text;
  lastTimestamp @8 :Text;
  count @9 :Int32;
  type @10 :Text;          # Normal, Warning
  eventTime @11 :Text;     # MicroTime
  series @12 :EventSeries;
  action @13 :Text;
  related @14 :ObjectReference;
  reportingComponent @15 :Text $always;
  reportingInstance @16 :Text $always;
}

struct EventSource {
  component @0 :Text;
  host @1 :Text;
}

struct EventSeries {
  count @0 :Int32;
  lastObservedTime @1 :Text;  # MicroTime
}

# ---------------------------------------------------------------------------------------------
# Namespace

struct Namespace $resource((group = "", version = "v1", plural = "namespaces",
                            singular = "namespace", shortNames = ["ns"], namespaced = false,
                            subresources = ["status", "finalize"])) {
  apiVersion @0 :Text;
  kind @1 :Text;
  metadata @2 :ObjectMeta;
  spec @3 :NamespaceSpec;
  status @4 :NamespaceStatus;
}

struct NamespaceSpec {
  finalizers @0 :List(Text);
}

struct NamespaceStatus {
  phase @0 :Text;      # Active, Terminating
  conditions @1 :List(Condition) $mergeKey("type");
}

# ---------------------------------------------------------------------------------------------
# PersistentVolume, PersistentVolumeClaim

struct PersistentVolume $resource((group = "", version = "v1", plural = "persistentvolumes",
                                   singular = "persistentvolume", shortNames = ["pv"],
                                   namespaced = false, subresources = ["status"])) {
  apiVersion @0 :Text;
  kind @1 :Text;
  metadata @2 :ObjectMeta;
  spec @3 :PersistentVolumeSpec;
  status @4 :PersistentVolumeStatus;
}

struct PersistentVolumeSpec {
  capacity @0 :StringMap $quantity;
  # PersistentVolumeSource, inlined in JSON; exactly one is set.
  hostPath @1 :HostPathVolumeSource;
  nfs @2 :NFSVolumeSource;
  local @3 :LocalVolumeSource;
  csi @4 :CSIPersistentVolumeSource;
  accessModes @5 :List(Text);
  claimRef @6 :ObjectReference;
  persistentVolumeReclaimPolicy @7 :Text;  # Retain, Delete, Recycle
  storageClassName @8 :Text;
  mountOptions @9 :List(Text);
  volumeMode @10 :Text;                    # Filesystem, Block
  nodeAffinity @11 :VolumeNodeAffinity;
  volumeAttributesClassName @12 :Text;
}

struct LocalVolumeSource {
  path @0 :Text;
  fsType @1 :Text;
}

struct CSIPersistentVolumeSource {
  driver @0 :Text;
  volumeHandle @1 :Text;
  readOnly @2 :Bool;
  fsType @3 :Text;
  volumeAttributes @4 :StringMap;
  controllerPublishSecretRef @5 :SecretReference;
  nodeStageSecretRef @6 :SecretReference;
  nodePublishSecretRef @7 :SecretReference;
  controllerExpandSecretRef @8 :SecretReference;
  nodeExpandSecretRef @9 :SecretReference;
}

struct SecretReference {
  name @0 :Text;
  namespace @1 :Text;
}

struct VolumeNodeAffinity {
  required @0 :NodeSelector;
}

struct PersistentVolumeStatus {
  phase @0 :Text;      # Pending, Available, Bound, Released, Failed
  message @1 :Text;
  reason @2 :Text;
  lastPhaseTransitionTime @3 :Text;
}

struct PersistentVolumeClaim $resource((group = "", version = "v1",
                                        plural = "persistentvolumeclaims",
                                        singular = "persistentvolumeclaim", shortNames = ["pvc"],
                                        namespaced = true, subresources = ["status"])) {
  apiVersion @0 :Text;
  kind @1 :Text;
  metadata @2 :ObjectMeta;
  spec @3 :PersistentVolumeClaimSpec;
  status @4 :PersistentVolumeClaimStatus;
}

struct PersistentVolumeClaimSpec {
  accessModes @0 :List(Text);
  selector @1 :LabelSelector;
  resources @2 :VolumeResourceRequirements;
  volumeName @3 :Text;
  storageClassName @4 :Text;
  volumeMode @5 :Text;
  dataSource @6 :TypedLocalObjectReference;
  dataSourceRef @7 :TypedObjectReference;
  volumeAttributesClassName @8 :Text;
}

struct VolumeResourceRequirements {
  limits @0 :StringMap $quantity;
  requests @1 :StringMap $quantity;
}

struct TypedLocalObjectReference {
  apiGroup @0 :Text;
  kind @1 :Text;
  name @2 :Text;
}

struct TypedObjectReference {
  apiGroup @0 :Text;
  kind @1 :Text;
  name @2 :Text;
  namespace @3 :Text;
}

struct PersistentVolumeClaimStatus {
  phase @0 :Text;      # Pending, Bound, Lost
  accessModes @1 :List(Text);
  capacity @2 :StringMap $quantity;
  conditions @3 :List(Condition) $mergeKey("type");
  allocatedResources @4 :StringMap $quantity;
  allocatedResourceStatuses @5 :StringMap;
  currentVolumeAttributesClassName @6 :Text;
  modifyVolumeStatus @7 :ModifyVolumeStatus;
}

struct ModifyVolumeStatus {
  targetVolumeAttributesClassName @0 :Text;
  status @1 :Text;
}

# ---------------------------------------------------------------------------------------------
# Request bodies (no $resource: never stored)

struct Binding {
  # Body of POST pods/{name}/binding.
  apiVersion @0 :Text;
  kind @1 :Text;
  metadata @2 :ObjectMeta;
  target @3 :ObjectReference;
}

struct DeleteOptions {
  # meta/v1 DeleteOptions: the optional body of a DELETE (and Eviction.deleteOptions).
  apiVersion @0 :Text;
  kind @1 :Text;
  gracePeriodSeconds @2 :OptInt64;
  preconditions @3 :Preconditions;
  orphanDependents @4 :OptBool;
  propagationPolicy @5 :Text;  # Orphan, Background, Foreground
  dryRun @6 :List(Text);
  ignoreStoreReadErrorWithClusterBreakingPotential @7 :OptBool;
}

struct Preconditions {
  uid @0 :Text;
  resourceVersion @1 :Text;
}
