#include "apiserver/protobuf_body.h"

#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cattle/utf8.h"

namespace cattle::apiserver {
namespace {

// --- message descriptors ----------------------------------------------------------------

constexpr int kMaxDepth = 64;

enum class Type : uint8_t {
  kString,       // length-delimited UTF-8
  kBytes,        // length-delimited; base64 in JSON
  kInt32,        // varint
  kInt64,        // varint
  kBool,         // varint
  kMessage,      // nested message -> JSON object
  kInline,       // a Go struct embedded with json:",inline": its fields join the parent's object
  kTime,         // metav1.Time {seconds=1, nanos=2} -> RFC 3339, whole seconds
  kMicroTime,    // metav1.MicroTime -> RFC 3339 with six fractional digits
  kIntOrString,  // intstr.IntOrString {type=1, intVal=2, strVal=3} -> number or string
  kQuantity,     // resource.Quantity {string=1} -> string
  kFieldsV1,     // metav1.FieldsV1 {Raw=1}: the raw bytes are JSON, embedded as such
  kStringMap,    // map<string, string>
  kBytesMap,     // map<string, bytes>, values base64
  kQuantityMap,  // map<string, Quantity>
};

// How a field on the wire shows up in JSON. Kubernetes' generated marshallers write every
// non-pointer field, zero or not, so only pointer fields carry presence.
enum class Emit : uint8_t {
  kPresent,  // pointer fields and fields without omitempty: whenever on the wire
  kNonZero,  // value fields tagged omitempty: only when not "", 0 or false
};

struct Message;

struct Field {
  uint32_t number;
  const char* json;
  Type type;
  bool repeated;
  Emit emit;
  const Message* message;  // kMessage, kInline
};

struct Message {
  const char* name;
  std::vector<Field> fields;

  const Field* Find(uint64_t number) const {
    for (const Field& f : fields)
      if (f.number == number) return &f;
    return nullptr;
  }
};

// Field constructors. The suffix says how the Go field is declared:
//   (none) value field with omitempty, emitted when non-zero;
//   P      pointer field (or a value field without omitempty), emitted when present;
//   s      repeated.
Field Str(uint32_t n, const char* j) { return {n, j, Type::kString, false, Emit::kNonZero, nullptr}; }
Field StrP(uint32_t n, const char* j) { return {n, j, Type::kString, false, Emit::kPresent, nullptr}; }
Field Strs(uint32_t n, const char* j) { return {n, j, Type::kString, true, Emit::kPresent, nullptr}; }
Field I32(uint32_t n, const char* j) { return {n, j, Type::kInt32, false, Emit::kNonZero, nullptr}; }
Field I32P(uint32_t n, const char* j) { return {n, j, Type::kInt32, false, Emit::kPresent, nullptr}; }
Field I32s(uint32_t n, const char* j) { return {n, j, Type::kInt32, true, Emit::kPresent, nullptr}; }
Field I64(uint32_t n, const char* j) { return {n, j, Type::kInt64, false, Emit::kNonZero, nullptr}; }
Field I64P(uint32_t n, const char* j) { return {n, j, Type::kInt64, false, Emit::kPresent, nullptr}; }
Field I64s(uint32_t n, const char* j) { return {n, j, Type::kInt64, true, Emit::kPresent, nullptr}; }
Field Bool(uint32_t n, const char* j) { return {n, j, Type::kBool, false, Emit::kNonZero, nullptr}; }
Field BoolP(uint32_t n, const char* j) { return {n, j, Type::kBool, false, Emit::kPresent, nullptr}; }
Field Msg(uint32_t n, const char* j, const Message& m) { return {n, j, Type::kMessage, false, Emit::kPresent, &m}; }
Field Msgs(uint32_t n, const char* j, const Message& m) { return {n, j, Type::kMessage, true, Emit::kPresent, &m}; }
Field Inline(uint32_t n, const Message& m) { return {n, "", Type::kInline, false, Emit::kPresent, &m}; }
Field Time(uint32_t n, const char* j) { return {n, j, Type::kTime, false, Emit::kPresent, nullptr}; }
Field MicroTime(uint32_t n, const char* j) { return {n, j, Type::kMicroTime, false, Emit::kPresent, nullptr}; }
Field IntStr(uint32_t n, const char* j) { return {n, j, Type::kIntOrString, false, Emit::kPresent, nullptr}; }
Field Qty(uint32_t n, const char* j) { return {n, j, Type::kQuantity, false, Emit::kPresent, nullptr}; }
Field FieldsV1(uint32_t n, const char* j) { return {n, j, Type::kFieldsV1, false, Emit::kPresent, nullptr}; }
Field StrMap(uint32_t n, const char* j) { return {n, j, Type::kStringMap, false, Emit::kPresent, nullptr}; }
Field BytesMap(uint32_t n, const char* j) { return {n, j, Type::kBytesMap, false, Emit::kPresent, nullptr}; }
Field QtyMap(uint32_t n, const char* j) { return {n, j, Type::kQuantityMap, false, Emit::kPresent, nullptr}; }

// Field numbers below are those of Kubernetes' generated.proto files (k8s.io/api core/v1,
// apps/v1, policy/v1, coordination/v1, autoscaling/v1; k8s.io/apimachinery meta/v1, intstr,
// resource). Status stanzas are left out (writes of the main resource ignore them); so are the
// legacy in-tree cloud volume sources.

// Wire helpers: messages whose JSON form is not an object.
const Message kTimestamp{"Timestamp", {I64P(1, "seconds"), I32P(2, "nanos")}};
const Message kIntOrStringMsg{"IntOrString", {I64P(1, "type"), I32P(2, "intVal"), StrP(3, "strVal")}};
const Message kQuantityMsg{"Quantity", {StrP(1, "string")}};

// meta/v1
const Message kOwnerReference{"OwnerReference",
                              {StrP(5, "apiVersion"), StrP(1, "kind"), StrP(3, "name"), StrP(4, "uid"),
                               BoolP(6, "controller"), BoolP(7, "blockOwnerDeletion")}};
const Message kManagedFieldsEntry{"ManagedFieldsEntry",
                                  {Str(1, "manager"), Str(2, "operation"), Str(3, "apiVersion"), Time(4, "time"),
                                   Str(6, "fieldsType"), FieldsV1(7, "fieldsV1"), Str(8, "subresource")}};
const Message kObjectMeta{"ObjectMeta",
                          {Str(1, "name"), Str(2, "generateName"), Str(3, "namespace"), Str(4, "selfLink"),
                           Str(5, "uid"), Str(6, "resourceVersion"), I64(7, "generation"),
                           Time(8, "creationTimestamp"), Time(9, "deletionTimestamp"),
                           I64P(10, "deletionGracePeriodSeconds"), StrMap(11, "labels"),
                           StrMap(12, "annotations"), Msgs(13, "ownerReferences", kOwnerReference),
                           Strs(14, "finalizers"), Msgs(17, "managedFields", kManagedFieldsEntry)}};
const Message kLabelSelectorRequirement{"LabelSelectorRequirement",
                                        {StrP(1, "key"), StrP(2, "operator"), Strs(3, "values")}};
const Message kLabelSelector{"LabelSelector",
                             {StrMap(1, "matchLabels"), Msgs(2, "matchExpressions", kLabelSelectorRequirement)}};
const Message kPreconditions{"Preconditions", {StrP(1, "uid"), StrP(2, "resourceVersion")}};
const Message kDeleteOptions{"DeleteOptions",
                             {I64P(1, "gracePeriodSeconds"), Msg(2, "preconditions", kPreconditions),
                              BoolP(3, "orphanDependents"), StrP(4, "propagationPolicy"), Strs(5, "dryRun"),
                              BoolP(6, "ignoreStoreReadErrorWithClusterBreakingPotential")}};

// core/v1: ConfigMap, Secret, Namespace
const Message kConfigMap{"ConfigMap",
                         {Msg(1, "metadata", kObjectMeta), BoolP(4, "immutable"), StrMap(2, "data"),
                          BytesMap(3, "binaryData")}};
const Message kSecret{"Secret",
                      {Msg(1, "metadata", kObjectMeta), BoolP(5, "immutable"), BytesMap(2, "data"),
                       StrMap(4, "stringData"), Str(3, "type")}};
const Message kNamespaceSpec{"NamespaceSpec", {Strs(1, "finalizers")}};
const Message kNamespace{"Namespace", {Msg(1, "metadata", kObjectMeta), Msg(2, "spec", kNamespaceSpec)}};

// core/v1: Service
const Message kServicePort{"ServicePort",
                           {Str(1, "name"), Str(2, "protocol"), StrP(6, "appProtocol"), I32P(3, "port"),
                            IntStr(4, "targetPort"), I32(5, "nodePort")}};
const Message kClientIPConfig{"ClientIPConfig", {I32P(1, "timeoutSeconds")}};
const Message kSessionAffinityConfig{"SessionAffinityConfig", {Msg(1, "clientIP", kClientIPConfig)}};
const Message kServiceSpec{"ServiceSpec",
                           {Msgs(1, "ports", kServicePort), StrMap(2, "selector"), Str(3, "clusterIP"),
                            Strs(18, "clusterIPs"), Str(4, "type"), Strs(5, "externalIPs"),
                            Str(7, "sessionAffinity"), Str(8, "loadBalancerIP"),
                            Strs(9, "loadBalancerSourceRanges"), Str(10, "externalName"),
                            Str(11, "externalTrafficPolicy"), I32(12, "healthCheckNodePort"),
                            Bool(13, "publishNotReadyAddresses"),
                            Msg(14, "sessionAffinityConfig", kSessionAffinityConfig), Strs(19, "ipFamilies"),
                            StrP(17, "ipFamilyPolicy"), BoolP(20, "allocateLoadBalancerNodePorts"),
                            StrP(21, "loadBalancerClass"), StrP(22, "internalTrafficPolicy"),
                            StrP(23, "trafficDistribution")}};
const Message kService{"Service", {Msg(1, "metadata", kObjectMeta), Msg(2, "spec", kServiceSpec)}};

// core/v1: volumes
const Message kLocalObjectReference{"LocalObjectReference", {Str(1, "name")}};
const Message kKeyToPath{"KeyToPath", {StrP(1, "key"), StrP(2, "path"), I32P(3, "mode"), I64P(4, "user")}};
const Message kHostPathVolumeSource{"HostPathVolumeSource", {StrP(1, "path"), StrP(2, "type")}};
const Message kEmptyDirVolumeSource{"EmptyDirVolumeSource",
                                    {Str(1, "medium"), Qty(2, "sizeLimit"), I32P(3, "mode")}};
const Message kSecretVolumeSource{"SecretVolumeSource",
                                  {Str(1, "secretName"), Msgs(2, "items", kKeyToPath), I32P(3, "defaultMode"),
                                   BoolP(4, "optional"), I64P(5, "defaultUser")}};
const Message kNFSVolumeSource{"NFSVolumeSource", {StrP(1, "server"), StrP(2, "path"), Bool(3, "readOnly")}};
const Message kPersistentVolumeClaimVolumeSource{"PersistentVolumeClaimVolumeSource",
                                                 {StrP(1, "claimName"), Bool(2, "readOnly")}};
const Message kObjectFieldSelector{"ObjectFieldSelector", {Str(1, "apiVersion"), StrP(2, "fieldPath")}};
const Message kResourceFieldSelector{"ResourceFieldSelector",
                                     {Str(1, "containerName"), StrP(2, "resource"), Qty(3, "divisor")}};
const Message kDownwardAPIVolumeFile{"DownwardAPIVolumeFile",
                                     {StrP(1, "path"), Msg(2, "fieldRef", kObjectFieldSelector),
                                      Msg(3, "resourceFieldRef", kResourceFieldSelector), I32P(4, "mode"),
                                      I64P(5, "user")}};
const Message kDownwardAPIVolumeSource{"DownwardAPIVolumeSource",
                                       {Msgs(1, "items", kDownwardAPIVolumeFile), I32P(2, "defaultMode"),
                                        I64P(3, "defaultUser")}};
const Message kConfigMapVolumeSource{"ConfigMapVolumeSource",
                                     {Inline(1, kLocalObjectReference), Msgs(2, "items", kKeyToPath),
                                      I32P(3, "defaultMode"), BoolP(4, "optional"), I64P(5, "defaultUser")}};
const Message kSecretProjection{"SecretProjection",
                                {Inline(1, kLocalObjectReference), Msgs(2, "items", kKeyToPath),
                                 BoolP(4, "optional")}};
const Message kConfigMapProjection{"ConfigMapProjection",
                                   {Inline(1, kLocalObjectReference), Msgs(2, "items", kKeyToPath),
                                    BoolP(4, "optional")}};
const Message kDownwardAPIProjection{"DownwardAPIProjection", {Msgs(1, "items", kDownwardAPIVolumeFile)}};
const Message kServiceAccountTokenProjection{"ServiceAccountTokenProjection",
                                             {Str(1, "audience"), I64P(2, "expirationSeconds"), StrP(3, "path"),
                                              I64P(4, "user")}};
const Message kClusterTrustBundleProjection{"ClusterTrustBundleProjection",
                                            {StrP(1, "name"), StrP(2, "signerName"),
                                             Msg(3, "labelSelector", kLabelSelector), BoolP(5, "optional"),
                                             StrP(4, "path"), I64P(6, "user")}};
const Message kVolumeProjection{"VolumeProjection",
                                {Msg(1, "secret", kSecretProjection), Msg(2, "downwardAPI", kDownwardAPIProjection),
                                 Msg(3, "configMap", kConfigMapProjection),
                                 Msg(4, "serviceAccountToken", kServiceAccountTokenProjection),
                                 Msg(5, "clusterTrustBundle", kClusterTrustBundleProjection)}};
const Message kProjectedVolumeSource{"ProjectedVolumeSource",
                                     {Msgs(1, "sources", kVolumeProjection), I32P(2, "defaultMode"),
                                      I64P(3, "defaultUser")}};
const Message kCSIVolumeSource{"CSIVolumeSource",
                               {StrP(1, "driver"), BoolP(2, "readOnly"), StrP(3, "fsType"),
                                StrMap(4, "volumeAttributes"), Msg(5, "nodePublishSecretRef", kLocalObjectReference)}};
const Message kTypedLocalObjectReference{"TypedLocalObjectReference",
                                         {StrP(1, "apiGroup"), StrP(2, "kind"), StrP(3, "name")}};
const Message kTypedObjectReference{"TypedObjectReference",
                                    {StrP(1, "apiGroup"), StrP(2, "kind"), StrP(3, "name"), StrP(4, "namespace")}};
const Message kVolumeResourceRequirements{"VolumeResourceRequirements",
                                          {QtyMap(1, "limits"), QtyMap(2, "requests")}};
const Message kPersistentVolumeClaimSpec{"PersistentVolumeClaimSpec",
                                         {Strs(1, "accessModes"), Msg(4, "selector", kLabelSelector),
                                          Msg(2, "resources", kVolumeResourceRequirements), Str(3, "volumeName"),
                                          StrP(5, "storageClassName"), StrP(6, "volumeMode"),
                                          Msg(7, "dataSource", kTypedLocalObjectReference),
                                          Msg(8, "dataSourceRef", kTypedObjectReference),
                                          StrP(9, "volumeAttributesClassName")}};
const Message kPersistentVolumeClaimTemplate{"PersistentVolumeClaimTemplate",
                                             {Msg(1, "metadata", kObjectMeta),
                                              Msg(2, "spec", kPersistentVolumeClaimSpec)}};
const Message kEphemeralVolumeSource{"EphemeralVolumeSource",
                                     {Msg(1, "volumeClaimTemplate", kPersistentVolumeClaimTemplate)}};
const Message kImageVolumeSource{"ImageVolumeSource", {Str(1, "reference"), Str(2, "pullPolicy")}};
const Message kVolumeSource{"VolumeSource",
                            {Msg(1, "hostPath", kHostPathVolumeSource), Msg(2, "emptyDir", kEmptyDirVolumeSource),
                             Msg(6, "secret", kSecretVolumeSource), Msg(7, "nfs", kNFSVolumeSource),
                             Msg(10, "persistentVolumeClaim", kPersistentVolumeClaimVolumeSource),
                             Msg(16, "downwardAPI", kDownwardAPIVolumeSource),
                             Msg(19, "configMap", kConfigMapVolumeSource),
                             Msg(26, "projected", kProjectedVolumeSource), Msg(28, "csi", kCSIVolumeSource),
                             Msg(29, "ephemeral", kEphemeralVolumeSource), Msg(30, "image", kImageVolumeSource)}};
const Message kVolume{"Volume", {StrP(1, "name"), Inline(2, kVolumeSource)}};

// core/v1: containers
const Message kContainerPort{"ContainerPort",
                             {Str(1, "name"), I32(2, "hostPort"), I32P(3, "containerPort"), Str(4, "protocol"),
                              Str(5, "hostIP")}};
const Message kConfigMapKeySelector{"ConfigMapKeySelector",
                                    {Inline(1, kLocalObjectReference), StrP(2, "key"), BoolP(3, "optional")}};
const Message kSecretKeySelector{"SecretKeySelector",
                                 {Inline(1, kLocalObjectReference), StrP(2, "key"), BoolP(3, "optional")}};
const Message kFileKeySelector{"FileKeySelector",
                               {StrP(1, "volumeName"), StrP(2, "path"), StrP(3, "key"), BoolP(4, "optional")}};
const Message kEnvVarSource{"EnvVarSource",
                            {Msg(1, "fieldRef", kObjectFieldSelector),
                             Msg(2, "resourceFieldRef", kResourceFieldSelector),
                             Msg(3, "configMapKeyRef", kConfigMapKeySelector),
                             Msg(4, "secretKeyRef", kSecretKeySelector), Msg(5, "fileKeyRef", kFileKeySelector)}};
const Message kEnvVar{"EnvVar", {StrP(1, "name"), Str(2, "value"), Msg(3, "valueFrom", kEnvVarSource)}};
const Message kConfigMapEnvSource{"ConfigMapEnvSource", {Inline(1, kLocalObjectReference), BoolP(2, "optional")}};
const Message kSecretEnvSource{"SecretEnvSource", {Inline(1, kLocalObjectReference), BoolP(2, "optional")}};
const Message kEnvFromSource{"EnvFromSource",
                             {Str(1, "prefix"), Msg(2, "configMapRef", kConfigMapEnvSource),
                              Msg(3, "secretRef", kSecretEnvSource)}};
const Message kResourceClaim{"ResourceClaim", {StrP(1, "name"), Str(2, "request")}};
const Message kResourceRequirements{"ResourceRequirements",
                                    {QtyMap(1, "limits"), QtyMap(2, "requests"), Msgs(3, "claims", kResourceClaim)}};
const Message kContainerResizePolicy{"ContainerResizePolicy", {StrP(1, "resourceName"), StrP(2, "restartPolicy")}};
const Message kContainerRestartRuleOnExitCodes{"ContainerRestartRuleOnExitCodes",
                                               {Str(1, "operator"), I32s(2, "values")}};
const Message kContainerRestartRule{"ContainerRestartRule",
                                    {Str(1, "action"), Msg(2, "exitCodes", kContainerRestartRuleOnExitCodes)}};
const Message kVolumeMount{"VolumeMount",
                           {StrP(1, "name"), Bool(2, "readOnly"), StrP(7, "recursiveReadOnly"),
                            StrP(3, "mountPath"), Str(4, "subPath"), StrP(5, "mountPropagation"),
                            Str(6, "subPathExpr")}};
const Message kVolumeDevice{"VolumeDevice", {StrP(1, "name"), StrP(2, "devicePath")}};
const Message kExecAction{"ExecAction", {Strs(1, "command")}};
const Message kHTTPHeader{"HTTPHeader", {StrP(1, "name"), StrP(2, "value")}};
const Message kHTTPGetAction{"HTTPGetAction",
                             {Str(1, "path"), IntStr(2, "port"), Str(3, "host"), Str(4, "scheme"),
                              Msgs(5, "httpHeaders", kHTTPHeader)}};
const Message kTCPSocketAction{"TCPSocketAction", {IntStr(1, "port"), Str(2, "host")}};
const Message kGRPCAction{"GRPCAction", {I32P(1, "port"), StrP(2, "service")}};
const Message kProbeHandler{"ProbeHandler",
                            {Msg(1, "exec", kExecAction), Msg(2, "httpGet", kHTTPGetAction),
                             Msg(3, "tcpSocket", kTCPSocketAction), Msg(4, "grpc", kGRPCAction)}};
const Message kProbe{"Probe",
                     {Inline(1, kProbeHandler), I32(2, "initialDelaySeconds"), I32(3, "timeoutSeconds"),
                      I32(4, "periodSeconds"), I32(5, "successThreshold"), I32(6, "failureThreshold"),
                      I64P(7, "terminationGracePeriodSeconds")}};
const Message kSleepAction{"SleepAction", {I64P(1, "seconds")}};
const Message kLifecycleHandler{"LifecycleHandler",
                                {Msg(1, "exec", kExecAction), Msg(2, "httpGet", kHTTPGetAction),
                                 Msg(3, "tcpSocket", kTCPSocketAction), Msg(4, "sleep", kSleepAction)}};
const Message kLifecycle{"Lifecycle",
                         {Msg(1, "postStart", kLifecycleHandler), Msg(2, "preStop", kLifecycleHandler),
                          StrP(3, "stopSignal")}};
const Message kCapabilities{"Capabilities", {Strs(1, "add"), Strs(2, "drop")}};
const Message kSELinuxOptions{"SELinuxOptions", {Str(1, "user"), Str(2, "role"), Str(3, "type"), Str(4, "level")}};
const Message kWindowsSecurityContextOptions{"WindowsSecurityContextOptions",
                                             {StrP(1, "gmsaCredentialSpecName"), StrP(2, "gmsaCredentialSpec"),
                                              StrP(3, "runAsUserName"), BoolP(4, "hostProcess")}};
const Message kSeccompProfile{"SeccompProfile", {StrP(1, "type"), StrP(2, "localhostProfile")}};
const Message kAppArmorProfile{"AppArmorProfile", {StrP(1, "type"), StrP(2, "localhostProfile")}};
const Message kSecurityContext{"SecurityContext",
                               {Msg(1, "capabilities", kCapabilities), BoolP(2, "privileged"),
                                Msg(3, "seLinuxOptions", kSELinuxOptions),
                                Msg(10, "windowsOptions", kWindowsSecurityContextOptions), I64P(4, "runAsUser"),
                                I64P(8, "runAsGroup"), BoolP(5, "runAsNonRoot"), BoolP(6, "readOnlyRootFilesystem"),
                                BoolP(7, "allowPrivilegeEscalation"), StrP(9, "procMount"),
                                Msg(11, "seccompProfile", kSeccompProfile),
                                Msg(12, "appArmorProfile", kAppArmorProfile)}};
const Message kContainer{"Container",
                         {StrP(1, "name"), Str(2, "image"), Strs(3, "command"), Strs(4, "args"),
                          Str(5, "workingDir"), Msgs(6, "ports", kContainerPort),
                          Msgs(19, "envFrom", kEnvFromSource), Msgs(7, "env", kEnvVar),
                          Msg(8, "resources", kResourceRequirements),
                          Msgs(23, "resizePolicy", kContainerResizePolicy), StrP(24, "restartPolicy"),
                          Msgs(25, "restartPolicyRules", kContainerRestartRule),
                          Msgs(9, "volumeMounts", kVolumeMount), Msgs(21, "volumeDevices", kVolumeDevice),
                          Msg(10, "livenessProbe", kProbe), Msg(11, "readinessProbe", kProbe),
                          Msg(22, "startupProbe", kProbe), Msg(12, "lifecycle", kLifecycle),
                          Str(13, "terminationMessagePath"), Str(20, "terminationMessagePolicy"),
                          Str(14, "imagePullPolicy"), Msg(15, "securityContext", kSecurityContext),
                          Bool(16, "stdin"), Bool(17, "stdinOnce"), Bool(18, "tty")}};
// EphemeralContainerCommon has Container's field numbers and is inlined.
const Message kEphemeralContainer{"EphemeralContainer", {Inline(1, kContainer), Str(2, "targetContainerName")}};

// core/v1: pod spec
const Message kSysctl{"Sysctl", {StrP(1, "name"), StrP(2, "value")}};
const Message kPodSecurityContext{"PodSecurityContext",
                                  {Msg(1, "seLinuxOptions", kSELinuxOptions),
                                   Msg(8, "windowsOptions", kWindowsSecurityContextOptions), I64P(2, "runAsUser"),
                                   I64P(6, "runAsGroup"), BoolP(3, "runAsNonRoot"), I64s(4, "supplementalGroups"),
                                   StrP(12, "supplementalGroupsPolicy"), I64P(5, "fsGroup"),
                                   Msgs(7, "sysctls", kSysctl), StrP(9, "fsGroupChangePolicy"),
                                   Msg(10, "seccompProfile", kSeccompProfile),
                                   Msg(11, "appArmorProfile", kAppArmorProfile), StrP(13, "seLinuxChangePolicy")}};
const Message kNodeSelectorRequirement{"NodeSelectorRequirement",
                                       {StrP(1, "key"), StrP(2, "operator"), Strs(3, "values")}};
const Message kNodeSelectorTerm{"NodeSelectorTerm",
                                {Msgs(1, "matchExpressions", kNodeSelectorRequirement),
                                 Msgs(2, "matchFields", kNodeSelectorRequirement)}};
const Message kNodeSelector{"NodeSelector", {Msgs(1, "nodeSelectorTerms", kNodeSelectorTerm)}};
const Message kPreferredSchedulingTerm{"PreferredSchedulingTerm",
                                       {I32P(1, "weight"), Msg(2, "preference", kNodeSelectorTerm)}};
const Message kNodeAffinity{"NodeAffinity",
                            {Msg(1, "requiredDuringSchedulingIgnoredDuringExecution", kNodeSelector),
                             Msgs(2, "preferredDuringSchedulingIgnoredDuringExecution", kPreferredSchedulingTerm)}};
const Message kPodAffinityTerm{"PodAffinityTerm",
                               {Msg(1, "labelSelector", kLabelSelector), Strs(2, "namespaces"),
                                StrP(3, "topologyKey"), Msg(4, "namespaceSelector", kLabelSelector),
                                Strs(5, "matchLabelKeys"), Strs(6, "mismatchLabelKeys")}};
const Message kWeightedPodAffinityTerm{"WeightedPodAffinityTerm",
                                       {I32P(1, "weight"), Msg(2, "podAffinityTerm", kPodAffinityTerm)}};
const Message kPodAffinity{"PodAffinity",
                           {Msgs(1, "requiredDuringSchedulingIgnoredDuringExecution", kPodAffinityTerm),
                            Msgs(2, "preferredDuringSchedulingIgnoredDuringExecution", kWeightedPodAffinityTerm)}};
const Message kPodAntiAffinity{"PodAntiAffinity",
                               {Msgs(1, "requiredDuringSchedulingIgnoredDuringExecution", kPodAffinityTerm),
                                Msgs(2, "preferredDuringSchedulingIgnoredDuringExecution",
                                     kWeightedPodAffinityTerm)}};
const Message kAffinity{"Affinity",
                        {Msg(1, "nodeAffinity", kNodeAffinity), Msg(2, "podAffinity", kPodAffinity),
                         Msg(3, "podAntiAffinity", kPodAntiAffinity)}};
const Message kToleration{"Toleration",
                          {Str(1, "key"), Str(2, "operator"), Str(3, "value"), Str(4, "effect"),
                           I64P(5, "tolerationSeconds")}};
const Message kHostAlias{"HostAlias", {StrP(1, "ip"), Strs(2, "hostnames")}};
const Message kPodDNSConfigOption{"PodDNSConfigOption", {Str(1, "name"), StrP(2, "value")}};
const Message kPodDNSConfig{"PodDNSConfig",
                            {Strs(1, "nameservers"), Strs(2, "searches"), Msgs(3, "options", kPodDNSConfigOption)}};
const Message kPodReadinessGate{"PodReadinessGate", {StrP(1, "conditionType")}};
const Message kTopologySpreadConstraint{"TopologySpreadConstraint",
                                        {I32P(1, "maxSkew"), StrP(2, "topologyKey"), StrP(3, "whenUnsatisfiable"),
                                         Msg(4, "labelSelector", kLabelSelector), I32P(5, "minDomains"),
                                         StrP(6, "nodeAffinityPolicy"), StrP(7, "nodeTaintsPolicy"),
                                         Strs(8, "matchLabelKeys")}};
const Message kPodOS{"PodOS", {StrP(1, "name")}};
const Message kPodSchedulingGate{"PodSchedulingGate", {StrP(1, "name")}};
const Message kPodResourceClaim{"PodResourceClaim",
                                {StrP(1, "name"), StrP(3, "resourceClaimName"), StrP(4, "resourceClaimTemplateName")}};
const Message kPodSpec{"PodSpec",
                       {Msgs(1, "volumes", kVolume), Msgs(20, "initContainers", kContainer),
                        Msgs(2, "containers", kContainer), Msgs(34, "ephemeralContainers", kEphemeralContainer),
                        Str(3, "restartPolicy"), I64P(4, "terminationGracePeriodSeconds"),
                        I64P(5, "activeDeadlineSeconds"), Str(6, "dnsPolicy"), StrMap(7, "nodeSelector"),
                        Str(8, "serviceAccountName"), Str(9, "serviceAccount"),
                        BoolP(21, "automountServiceAccountToken"), Str(10, "nodeName"), Bool(11, "hostNetwork"),
                        Bool(12, "hostPID"), Bool(13, "hostIPC"), BoolP(27, "shareProcessNamespace"),
                        Msg(14, "securityContext", kPodSecurityContext),
                        Msgs(15, "imagePullSecrets", kLocalObjectReference), Str(16, "hostname"),
                        Str(17, "subdomain"), Msg(18, "affinity", kAffinity), Str(19, "schedulerName"),
                        Msgs(22, "tolerations", kToleration), Msgs(23, "hostAliases", kHostAlias),
                        Str(24, "priorityClassName"), I32P(25, "priority"), Msg(26, "dnsConfig", kPodDNSConfig),
                        Msgs(28, "readinessGates", kPodReadinessGate), StrP(29, "runtimeClassName"),
                        BoolP(30, "enableServiceLinks"), StrP(31, "preemptionPolicy"), QtyMap(32, "overhead"),
                        Msgs(33, "topologySpreadConstraints", kTopologySpreadConstraint),
                        BoolP(35, "setHostnameAsFQDN"), Msg(36, "os", kPodOS), BoolP(37, "hostUsers"),
                        Msgs(38, "schedulingGates", kPodSchedulingGate),
                        Msgs(39, "resourceClaims", kPodResourceClaim),
                        Msg(40, "resources", kResourceRequirements), StrP(41, "hostnameOverride")}};
const Message kPodTemplateSpec{"PodTemplateSpec", {Msg(1, "metadata", kObjectMeta), Msg(2, "spec", kPodSpec)}};
const Message kPod{"Pod", {Msg(1, "metadata", kObjectMeta), Msg(2, "spec", kPodSpec)}};

// apps/v1
const Message kRollingUpdateDeployment{"RollingUpdateDeployment",
                                       {IntStr(1, "maxUnavailable"), IntStr(2, "maxSurge")}};
const Message kDeploymentStrategy{"DeploymentStrategy",
                                  {Str(1, "type"), Msg(2, "rollingUpdate", kRollingUpdateDeployment)}};
const Message kDeploymentSpec{"DeploymentSpec",
                              {I32P(1, "replicas"), Msg(2, "selector", kLabelSelector),
                               Msg(3, "template", kPodTemplateSpec), Msg(4, "strategy", kDeploymentStrategy),
                               I32(5, "minReadySeconds"), I32P(6, "revisionHistoryLimit"), Bool(7, "paused"),
                               I32P(9, "progressDeadlineSeconds")}};
const Message kDeployment{"Deployment", {Msg(1, "metadata", kObjectMeta), Msg(2, "spec", kDeploymentSpec)}};

// policy/v1
const Message kPodDisruptionBudgetSpec{"PodDisruptionBudgetSpec",
                                       {IntStr(1, "minAvailable"), Msg(2, "selector", kLabelSelector),
                                        IntStr(3, "maxUnavailable"), StrP(4, "unhealthyPodEvictionPolicy")}};
const Message kPodDisruptionBudget{"PodDisruptionBudget",
                                   {Msg(1, "metadata", kObjectMeta), Msg(2, "spec", kPodDisruptionBudgetSpec)}};
const Message kEviction{"Eviction", {Msg(1, "metadata", kObjectMeta), Msg(2, "deleteOptions", kDeleteOptions)}};

// coordination.k8s.io/v1
const Message kLeaseSpec{"LeaseSpec",
                         {StrP(1, "holderIdentity"), I32P(2, "leaseDurationSeconds"), MicroTime(3, "acquireTime"),
                          MicroTime(4, "renewTime"), I32P(5, "leaseTransitions"), StrP(6, "strategy"),
                          StrP(7, "preferredHolder")}};
const Message kLease{"Lease", {Msg(1, "metadata", kObjectMeta), Msg(2, "spec", kLeaseSpec)}};

// autoscaling/v1 (the scale subresource)
const Message kScaleSpec{"ScaleSpec", {I32(1, "replicas")}};
const Message kScaleStatus{"ScaleStatus", {I32P(1, "replicas"), Str(2, "selector")}};
const Message kScale{"Scale",
                     {Msg(1, "metadata", kObjectMeta), Msg(2, "spec", kScaleSpec), Msg(3, "status", kScaleStatus)}};

struct KindEntry {
  const char* api_version;  // nullptr: any (DeleteOptions is registered in every group version)
  const char* kind;
  const Message* message;
};

const KindEntry kKinds[] = {
    {"v1", "ConfigMap", &kConfigMap},
    {"v1", "Secret", &kSecret},
    {"v1", "Namespace", &kNamespace},
    {"v1", "Service", &kService},
    {"v1", "Pod", &kPod},
    {"apps/v1", "Deployment", &kDeployment},
    {"policy/v1", "PodDisruptionBudget", &kPodDisruptionBudget},
    {"policy/v1", "Eviction", &kEviction},
    {"coordination.k8s.io/v1", "Lease", &kLease},
    {"autoscaling/v1", "Scale", &kScale},
    {nullptr, "DeleteOptions", &kDeleteOptions},
};

// --- wire reading -----------------------------------------------------------------------

struct Cursor {
  const uint8_t* p;
  const uint8_t* end;

  explicit Cursor(std::string_view s)
      : p(reinterpret_cast<const uint8_t*>(s.data())), end(reinterpret_cast<const uint8_t*>(s.data()) + s.size()) {}
  bool empty() const { return p == end; }
  size_t left() const { return static_cast<size_t>(end - p); }
};

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLen = 2, kStartGroup = 3, kEndGroup = 4, kFixed32 = 5 };

std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (size_t rest = in.size() - i; rest > 0) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (rest == 2) v |= uint8_t(in[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Seconds since the epoch as RFC 3339 UTC; `micros` >= 0 adds six fractional digits.
// Empty when the year falls outside 0000-9999 (Go's time.MarshalJSON refuses those).
std::string FormatTime(int64_t seconds, int64_t micros) {
  constexpr int64_t kMin = -62167219200;  // 0000-01-01T00:00:00Z
  constexpr int64_t kMax = 253402300799;  // 9999-12-31T23:59:59Z
  if (seconds < kMin || seconds > kMax) return "";
  int64_t days = seconds / 86400;
  int64_t rem = seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  // Civil date from days since 1970-01-01 (proleptic Gregorian).
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t year = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t day = doy - (153 * mp + 2) / 5 + 1;
  int64_t month = mp < 10 ? mp + 3 : mp - 9;
  if (month <= 2) ++year;
  char buf[48];
  if (micros >= 0)
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", int(year), int(month), int(day),
                  int(rem / 3600), int(rem / 60 % 60), int(rem % 60), int(micros));
  else
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", int(year), int(month), int(day),
                  int(rem / 3600), int(rem / 60 % 60), int(rem % 60));
  return buf;
}

class Decoder {
 public:
  // Decodes the message in `data` into the JSON object `out` (created when not an object).
  Status DecodeMessage(std::string_view data, const Message& m, Json& out, int depth) {
    if (depth > kMaxDepth) return Error("messages nested deeper than " + std::to_string(kMaxDepth));
    if (!out.is_object()) out = Json::object();
    Cursor c(data);
    while (!c.empty()) {
      uint64_t number;
      uint32_t wire;
      CATTLE_RETURN_IF_ERROR(ReadTag(c, number, wire));
      if (wire == kEndGroup) return Error("end-group tag without a start-group");
      const Field* f = m.Find(number);
      if (f == nullptr) {
        CATTLE_RETURN_IF_ERROR(Skip(c, number, wire, depth));
        continue;
      }
      size_t mark = path_.size();
      if (f->type != Type::kInline) path_ += (path_.empty() ? "" : ".") + std::string(f->json);
      Status s = DecodeField(c, wire, *f, out, depth);
      path_.resize(mark);
      CATTLE_RETURN_IF_ERROR(s);
    }
    return Status::Ok();
  }

  Status ReadTag(Cursor& c, uint64_t& number, uint32_t& wire) {
    uint64_t tag;
    CATTLE_RETURN_IF_ERROR(ReadVarint(c, tag));
    number = tag >> 3;
    wire = static_cast<uint32_t>(tag & 7);
    if (number == 0 || number > 0x1FFFFFFF) return Error("invalid field number " + std::to_string(number));
    if (wire > kFixed32) return Error("invalid wire type " + std::to_string(wire));
    return Status::Ok();
  }

  Status ReadVarint(Cursor& c, uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (c.empty()) return Error("truncated varint");
      uint8_t b = *c.p++;
      v |= uint64_t(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return Status::Ok();
    }
    return Error("varint longer than 10 bytes");
  }

  Status ReadBytes(Cursor& c, std::string_view& out) {
    uint64_t len;
    CATTLE_RETURN_IF_ERROR(ReadVarint(c, len));
    if (len > c.left())
      return Error("length " + std::to_string(len) + " runs past the end of the data (" + std::to_string(c.left()) +
                   " bytes left)");
    out = std::string_view(reinterpret_cast<const char*>(c.p), static_cast<size_t>(len));
    c.p += len;
    return Status::Ok();
  }

  // Skips a field this decoder does not know (groups too, though Kubernetes has none).
  Status Skip(Cursor& c, uint64_t number, uint32_t wire, int depth) {
    switch (wire) {
      case kVarint: {
        uint64_t v;
        return ReadVarint(c, v);
      }
      case kFixed64:
      case kFixed32: {
        size_t n = wire == kFixed64 ? 8 : 4;
        if (c.left() < n) return Error("truncated fixed-width field");
        c.p += n;
        return Status::Ok();
      }
      case kLen: {
        std::string_view ignored;
        return ReadBytes(c, ignored);
      }
      case kStartGroup: {
        if (depth + 1 > kMaxDepth) return Error("groups nested deeper than " + std::to_string(kMaxDepth));
        while (true) {
          if (c.empty()) return Error("group without an end-group tag");
          uint64_t inner;
          uint32_t inner_wire;
          CATTLE_RETURN_IF_ERROR(ReadTag(c, inner, inner_wire));
          if (inner_wire == kEndGroup) {
            if (inner != number) return Error("end-group tag does not match its start-group");
            return Status::Ok();
          }
          CATTLE_RETURN_IF_ERROR(Skip(c, inner, inner_wire, depth + 1));
        }
      }
      default:
        return Error("unexpected end-group tag");
    }
  }

  Status Error(const std::string& what) const {
    return Status::BadRequest("malformed protobuf body: " + what + (path_.empty() ? "" : " (at " + path_ + ")"));
  }

 private:
  // Stores `v` under f.json following the field's emit rule (or appends it when repeated).
  static void Put(Json& out, const Field& f, Json v, bool zero) {
    if (f.repeated) {
      Json& arr = out[f.json];
      if (!arr.is_array()) arr = Json::array();
      arr.push_back(std::move(v));
    } else if (zero && f.emit == Emit::kNonZero) {
      out.erase(f.json);  // a later zero overrides an earlier value: last one wins
    } else {
      out[f.json] = std::move(v);
    }
  }

  size_t NextIndex(const Json& out, const Field& f) const {
    auto it = out.find(f.json);
    return it != out.end() && it->is_array() ? it->size() : 0;
  }

  Status WantWire(uint32_t wire, uint32_t want) const {
    if (wire == want) return Status::Ok();
    return Error("wire type " + std::to_string(wire) + ", expected " + std::to_string(want));
  }

  Status String(std::string_view bytes, std::string& out) const {
    if (!ValidUtf8(bytes)) return Error("string is not valid UTF-8");
    out.assign(bytes);
    return Status::Ok();
  }

  static Json Scalar(Type t, uint64_t v) {
    switch (t) {
      case Type::kInt32: return Json(static_cast<int64_t>(static_cast<int32_t>(v)));
      case Type::kInt64: return Json(static_cast<int64_t>(v));
      default: return Json(v != 0);
    }
  }

  Status DecodeField(Cursor& c, uint32_t wire, const Field& f, Json& out, int depth) {
    if (f.repeated) {
      size_t index = NextIndex(out, f);
      path_ += "[" + std::to_string(index) + "]";
    }
    switch (f.type) {
      case Type::kInt32:
      case Type::kInt64:
      case Type::kBool: {
        if (wire == kLen && f.repeated) {  // packed
          std::string_view packed;
          CATTLE_RETURN_IF_ERROR(ReadBytes(c, packed));
          Cursor pc(packed);
          while (!pc.empty()) {
            uint64_t v;
            CATTLE_RETURN_IF_ERROR(ReadVarint(pc, v));
            Put(out, f, Scalar(f.type, v), false);
          }
          return Status::Ok();
        }
        CATTLE_RETURN_IF_ERROR(WantWire(wire, kVarint));
        uint64_t v;
        CATTLE_RETURN_IF_ERROR(ReadVarint(c, v));
        Json j = Scalar(f.type, v);
        bool zero = f.type == Type::kBool ? !j.get<bool>() : j.get<int64_t>() == 0;
        Put(out, f, std::move(j), zero);
        return Status::Ok();
      }
      default:
        break;
    }
    CATTLE_RETURN_IF_ERROR(WantWire(wire, kLen));
    std::string_view bytes;
    CATTLE_RETURN_IF_ERROR(ReadBytes(c, bytes));
    switch (f.type) {
      case Type::kString: {
        std::string s;
        CATTLE_RETURN_IF_ERROR(String(bytes, s));
        bool zero = s.empty();
        Put(out, f, Json(std::move(s)), zero);
        return Status::Ok();
      }
      case Type::kBytes:
        Put(out, f, Json(Base64(bytes)), bytes.empty());
        return Status::Ok();
      case Type::kMessage: {
        if (f.repeated) {
          Json elem = Json::object();
          CATTLE_RETURN_IF_ERROR(DecodeMessage(bytes, *f.message, elem, depth + 1));
          Put(out, f, std::move(elem), false);
          return Status::Ok();
        }
        // A message field seen twice merges, as protobuf says.
        return DecodeMessage(bytes, *f.message, out[f.json], depth + 1);
      }
      case Type::kInline:
        return DecodeMessage(bytes, *f.message, out, depth + 1);
      case Type::kTime:
      case Type::kMicroTime: {
        Json ts;
        CATTLE_RETURN_IF_ERROR(DecodeMessage(bytes, kTimestamp, ts, depth + 1));
        if (bytes.empty()) {  // Go's zero time: JSON null, i.e. unset
          if (!f.repeated) out.erase(f.json);
          return Status::Ok();
        }
        int64_t seconds = ts.value("seconds", int64_t{0});
        int64_t micros = -1;
        if (f.type == Type::kMicroTime) {
          int64_t nanos = ts.value("nanos", int64_t{0});
          nanos -= nanos % 1000;  // MicroTime keeps microseconds (truncating, as Go does)
          if (seconds < -(int64_t{1} << 40) || seconds > (int64_t{1} << 40)) return Error("timestamp out of range");
          seconds += nanos / 1000000000;
          nanos %= 1000000000;
          if (nanos < 0) {
            nanos += 1000000000;
            --seconds;
          }
          micros = nanos / 1000;
        }
        std::string text = FormatTime(seconds, micros);
        if (text.empty()) return Error("timestamp outside the years 0000-9999");
        Put(out, f, Json(std::move(text)), false);
        return Status::Ok();
      }
      case Type::kIntOrString: {
        Json v;
        CATTLE_RETURN_IF_ERROR(IntOrString(bytes, v, depth));
        Put(out, f, std::move(v), false);
        return Status::Ok();
      }
      case Type::kQuantity: {
        Json q;
        CATTLE_RETURN_IF_ERROR(DecodeMessage(bytes, kQuantityMsg, q, depth + 1));
        Put(out, f, Json(q.value("string", std::string("0"))), false);
        return Status::Ok();
      }
      case Type::kFieldsV1: {
        // FieldsV1 {Raw=1}: the bytes are a JSON document.
        Cursor fc(bytes);
        std::string_view raw;
        bool have = false;
        while (!fc.empty()) {
          uint64_t number;
          uint32_t w;
          CATTLE_RETURN_IF_ERROR(ReadTag(fc, number, w));
          if (number == 1 && w == kLen) {
            CATTLE_RETURN_IF_ERROR(ReadBytes(fc, raw));
            have = true;
          } else {
            CATTLE_RETURN_IF_ERROR(Skip(fc, number, w, depth + 1));
          }
        }
        if (!have || raw.empty()) {
          Put(out, f, Json::object(), false);
          return Status::Ok();
        }
        auto parsed = ParseJsonText(raw);
        if (!parsed.ok()) return Error("fieldsV1 is not JSON");
        Put(out, f, std::move(*parsed), false);
        return Status::Ok();
      }
      case Type::kStringMap:
      case Type::kBytesMap:
      case Type::kQuantityMap: {
        std::string key;
        Json value;
        CATTLE_RETURN_IF_ERROR(MapEntry(bytes, f.type, key, value, depth));
        Json& map = out[f.json];
        if (!map.is_object()) map = Json::object();
        map[key] = std::move(value);
        return Status::Ok();
      }
      default:
        return Error("internal: unhandled field type");
    }
  }

  Status IntOrString(std::string_view bytes, Json& v, int depth) {
    Json ios;
    CATTLE_RETURN_IF_ERROR(DecodeMessage(bytes, kIntOrStringMsg, ios, depth + 1));
    int64_t type = ios.value("type", int64_t{0});
    if (type == 0) {
      v = ios.value("intVal", int64_t{0});
    } else if (type == 1) {
      v = ios.value("strVal", std::string());
    } else {
      return Error("IntOrString type " + std::to_string(type) + " is neither 0 (int) nor 1 (string)");
    }
    return Status::Ok();
  }

  // A map entry: key=1 (string), value=2 (string, bytes or Quantity).
  Status MapEntry(std::string_view bytes, Type type, std::string& key, Json& value, int depth) {
    if (depth + 1 > kMaxDepth) return Error("messages nested deeper than " + std::to_string(kMaxDepth));
    Cursor c(bytes);
    value = type == Type::kQuantityMap ? Json("0") : Json("");
    while (!c.empty()) {
      uint64_t number;
      uint32_t wire;
      CATTLE_RETURN_IF_ERROR(ReadTag(c, number, wire));
      if (wire == kEndGroup) return Error("end-group tag without a start-group");
      if (number != 1 && number != 2) {
        CATTLE_RETURN_IF_ERROR(Skip(c, number, wire, depth + 1));
        continue;
      }
      CATTLE_RETURN_IF_ERROR(WantWire(wire, kLen));
      std::string_view field;
      CATTLE_RETURN_IF_ERROR(ReadBytes(c, field));
      if (number == 1) {
        CATTLE_RETURN_IF_ERROR(String(field, key));
      } else if (type == Type::kStringMap) {
        std::string s;
        CATTLE_RETURN_IF_ERROR(String(field, s));
        value = std::move(s);
      } else if (type == Type::kBytesMap) {
        value = Base64(field);
      } else {
        Json q;
        CATTLE_RETURN_IF_ERROR(DecodeMessage(field, kQuantityMsg, q, depth + 2));
        value = q.value("string", std::string("0"));
      }
    }
    return Status::Ok();
  }

  std::string path_;
};

}  // namespace

Result<Json> DecodeKubernetesProtobuf(std::string_view body) {
  static constexpr std::string_view kMagic("k8s\0", 4);
  if (body.size() < kMagic.size() || body.substr(0, kMagic.size()) != kMagic)
    return Status::BadRequest("malformed protobuf body: it does not start with the Kubernetes prefix \"k8s\\x00\"");
  try {
    Decoder d;
    // runtime.Unknown: typeMeta=1 {apiVersion=1, kind=2}, raw=2, contentEncoding=3, contentType=4.
    Cursor c(body.substr(kMagic.size()));
    std::string api_version, kind, content_encoding;
    std::string_view raw;
    while (!c.empty()) {
      uint64_t number;
      uint32_t wire;
      CATTLE_RETURN_IF_ERROR(d.ReadTag(c, number, wire));
      if (wire == kEndGroup) return d.Error("end-group tag without a start-group");
      if (number < 1 || number > 3 || wire != kLen) {
        CATTLE_RETURN_IF_ERROR(d.Skip(c, number, wire, 0));
        continue;
      }
      std::string_view bytes;
      CATTLE_RETURN_IF_ERROR(d.ReadBytes(c, bytes));
      if (number == 1) {
        Cursor tc(bytes);
        while (!tc.empty()) {
          uint64_t tn;
          uint32_t tw;
          CATTLE_RETURN_IF_ERROR(d.ReadTag(tc, tn, tw));
          if (tw == kEndGroup) return d.Error("end-group tag without a start-group");
          if ((tn != 1 && tn != 2) || tw != kLen) {
            CATTLE_RETURN_IF_ERROR(d.Skip(tc, tn, tw, 1));
            continue;
          }
          std::string_view s;
          CATTLE_RETURN_IF_ERROR(d.ReadBytes(tc, s));
          if (!ValidUtf8(s)) return d.Error("typeMeta is not valid UTF-8");
          (tn == 1 ? api_version : kind).assign(s);
        }
      } else if (number == 2) {
        raw = bytes;
      } else {
        if (!ValidUtf8(bytes)) return d.Error("contentEncoding is not valid UTF-8");
        content_encoding.assign(bytes);
      }
    }
    if (kind.empty()) return Status::BadRequest("malformed protobuf body: the envelope names no kind");
    const Message* message = nullptr;
    for (const KindEntry& k : kKinds)
      if (kind == k.kind && (k.api_version == nullptr || api_version == k.api_version)) message = k.message;
    if (message == nullptr)
      return Status(Reason::kUnsupportedMediaType, "protobuf bodies are not supported for " + api_version + "/" +
                                                       kind + "; send application/json");
    if (!content_encoding.empty())
      return Status(Reason::kUnsupportedMediaType,
                    "protobuf bodies with content encoding \"" + content_encoding + "\" are not supported");
    Json out = Json::object();
    CATTLE_RETURN_IF_ERROR(d.DecodeMessage(raw, *message, out, 0));
    if (!api_version.empty()) out["apiVersion"] = api_version;
    out["kind"] = kind;
    return out;
  } catch (const std::exception& e) {
    // Nothing above should throw; a failure here is still the request's, not the server's.
    return Status::BadRequest(std::string("malformed protobuf body: ") + e.what());
  }
}

}  // namespace cattle::apiserver
