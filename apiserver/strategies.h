// The per-kind strategies behind StrategyTable, and the pieces they share (pod-spec
// defaulting and validation, label selectors, Go-style rendering of values in messages).
// Internal to apiserver/: other code goes through StrategyTable.
//
// Sources: k8s.io/kubernetes pkg/apis/{core,apps}/v1/defaults.go and zz_generated.defaults.go
// (defaults), pkg/apis/{core,apps,policy}/validation/validation.go (rules, field paths and
// messages), pkg/registry/*/strategy.go (PrepareForCreate, immutable fields) and the
// DefaultTolerationSeconds, Priority and ServiceAccount admission plugins (pods only).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "apiserver/strategy.h"
#include "cattle/clock.h"
#include "core.capnp.h"
#include "meta.capnp.h"

namespace cattle::apiserver {

using Causes = std::vector<StatusCause>;

// --- factories (strategy_pod.cc, strategy_apps.cc, strategy_core.cc) ---------------------
std::unique_ptr<Strategy> NewPodStrategy(Clock* clock);
std::unique_ptr<Strategy> NewDeploymentStrategy(Clock* clock);
std::unique_ptr<Strategy> NewReplicaSetStrategy(Clock* clock);
std::unique_ptr<Strategy> NewStatefulSetStrategy(Clock* clock);
std::unique_ptr<Strategy> NewDaemonSetStrategy(Clock* clock);
std::unique_ptr<Strategy> NewServiceStrategy(Clock* clock);
std::unique_ptr<Strategy> NewNamespaceStrategy(Clock* clock);
std::unique_ptr<Strategy> NewNodeStrategy(Clock* clock);
std::unique_ptr<Strategy> NewEventStrategy(Clock* clock);
std::unique_ptr<Strategy> NewSecretStrategy(Clock* clock);
std::unique_ptr<Strategy> NewConfigMapStrategy(Clock* clock);
std::unique_ptr<Strategy> NewEndpointsStrategy(Clock* clock);
std::unique_ptr<Strategy> NewEndpointSliceStrategy(Clock* clock);
std::unique_ptr<Strategy> NewPersistentVolumeStrategy(Clock* clock);
std::unique_ptr<Strategy> NewPersistentVolumeClaimStrategy(Clock* clock);
std::unique_ptr<Strategy> NewPodDisruptionBudgetStrategy(Clock* clock);
std::unique_ptr<Strategy> NewLeaseStrategy(Clock* clock);

// --- pod specs (strategy_pod.cc) ------------------------------------------------------
// SetDefaults_PodSpec and everything nested in it (containers, probes, ports, volumes, ...):
// what Kubernetes applies to pods and to pod templates alike.
void SetPodSpecDefaults(api::PodSpec::Builder spec);
// SetDefaults_Pod: the pod-only part (requests from limits, enableServiceLinks, host ports
// under hostNetwork). Not for templates.
void SetPodOnlyDefaults(api::PodSpec::Builder spec);
// ValidatePodSpec at `path` ("spec", "spec.template.spec"). `is_pod` adds the checks
// Kubernetes applies to pods only (ResourceIsPod, image whitespace).
void ValidatePodSpec(api::PodSpec::Reader spec, const std::string& path, bool is_pod,
                     Causes* out);
// ValidatePodTemplateSpec: template labels/annotations and the pod spec at path + ".spec".
void ValidatePodTemplateSpec(api::PodTemplateSpec::Reader tmpl, const std::string& path,
                             Causes* out);
// Kubernetes' pod QoS class (Guaranteed, Burstable, BestEffort) from container resources.
std::string PodQosClass(api::PodSpec::Reader spec);
// The pull policy Kubernetes defaults for an image (Always for `:latest` or no tag).
std::string DefaultPullPolicy(const std::string& image);

// --- shared validation and rendering (strategy.cc) ----------------------------------------
// field.Invalid(path, value, "must be greater than or equal to 0") when value < 0.
void ValidateNonnegative(int64_t value, const std::string& path, Causes* out);
// unversionedvalidation.ValidateLabels: keys qualified names, values label values; every
// error at `path` itself (Kubernetes puts no key in the path).
void ValidateLabelMap(api::StringMap::Reader labels, const std::string& path, Causes* out);
// unversionedvalidation.ValidateLabelSelector.
void ValidateLabelSelector(api::LabelSelector::Reader selector, const std::string& path,
                           Causes* out);
// Whether metav1.LabelSelectorAsSelector accepts the selector (operators, values, keys).
bool LabelSelectorConvertible(api::LabelSelector::Reader selector);
// labels.Selector.Matches on a converted selector; an empty selector matches everything.
bool LabelSelectorMatches(api::LabelSelector::Reader selector,
                          const std::map<std::string, std::string>& labels);
bool LabelSelectorEmpty(api::LabelSelector::Reader selector);
// field.Required/Invalid for an IntOrString that must be a non-negative int or a percent
// (appsvalidation.ValidatePositiveIntOrPercent) and at most 100%.
void ValidatePositiveIntOrPercent(api::IntOrString::Reader v, const std::string& path,
                                  Causes* out);
void ValidateNotMoreThan100Percent(api::IntOrString::Reader v, const std::string& path,
                                   Causes* out);
// getIntOrPercentValue: the number of an int or of a valid percent ("25%" -> 25), else
// the string's integer value (0 when it is not one).
int IntOrPercentValue(api::IntOrString::Reader v);
// Port checks with Kubernetes' messages (IsValidPortNum, IsValidPortName).
std::vector<std::string> PortNumErrors(int64_t port);
std::vector<std::string> PortNameErrors(const std::string& name);
// ValidatePortNumOrName for an IntOrString port.
void ValidatePortNumOrName(api::IntOrString::Reader port, const std::string& path,
                           Causes* out);
// IsConfigMapKey.
std::vector<std::string> ConfigMapKeyErrors(const std::string& key);

// Go's %#v of the values Kubernetes passes to field.Invalid.
std::string GoStringMap(api::StringMap::Reader m, bool present);  // map[string]string{...}
std::string GoLabelSelector(api::LabelSelector::Reader s);         // v1.LabelSelector{...}
std::string GoIntOrString(api::IntOrString::Reader v);             // intstr.IntOrString{...}
// A field error with an already-rendered value, for the types FieldDuplicate and
// FieldNotSupported would quote.
StatusCause FieldDuplicateRendered(const std::string& field, const std::string& rendered);
StatusCause FieldNotSupportedRendered(const std::string& field, const std::string& rendered,
                                      const std::vector<std::string>& supported);

// apiequality.Semantic.DeepEqual, approximately: compares the Kubernetes JSON of two
// structs of the same type with empty strings, lists and objects dropped (Go treats
// "" / nil / empty alike for value fields). Fast path: equal canonical bytes.
bool SemanticEqual(capnp::DynamicStruct::Reader a, capnp::DynamicStruct::Reader b);
// Same, for optional struct fields: both absent is equal, one absent is not.
bool SemanticEqualOpt(bool has_a, capnp::DynamicStruct::Reader a, bool has_b,
                      capnp::DynamicStruct::Reader b);

// "<path>[<i>]" and "<path>.<child>".
std::string Idx(const std::string& path, size_t i);
std::string Key(const std::string& path, const std::string& key);  // "<path>[<key>]"

}  // namespace cattle::apiserver
