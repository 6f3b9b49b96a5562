// Strategy: what differs between kinds on create and update — Kubernetes' defaults, the
// kind's validation, and which parts of an object a write may change. The generic rules
// (metadata, names, labels, generation, status versus spec) live in Registry.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cattle/clock.h"
#include "cattle/object.h"
#include "cattle/status.h"

namespace cattle::apiserver {

class Strategy {
 public:
  virtual ~Strategy() = default;
  // Kubernetes' defaults for the kind (e.g. Pod restartPolicy Always, the default
  // tolerations, Deployment strategy 25%/25%). Runs on create and on update; must be
  // idempotent and never overwrite a value the user set.
  virtual void Default(Object& obj) const {}
  // On create, after Default: the initial status (a new Pod is phase Pending; most kinds
  // start with an empty status).
  virtual void PrepareForCreate(Object& obj) const;
  // Field errors of the kind's spec ("spec.replicas: Invalid value: -1: must be greater
  // than or equal to 0"). Metadata is validated by the registry.
  virtual std::vector<StatusCause> Validate(const Object& obj) const { return {}; }
  // Extra rules on update: immutable fields (selectors, most of a pod's spec).
  virtual std::vector<StatusCause> ValidateUpdate(const Object& obj, const Object& old) const {
    return Validate(obj);
  }
  // Rules on an update of the status subresource, whose spec is the stored one (the
  // registry copies it from the old object), so only the status is new.
  virtual std::vector<StatusCause> ValidateStatusUpdate(const Object& obj, const Object& old) const {
    return ValidateUpdate(obj, old);
  }
  // Names must be DNS-1123 labels (Namespace, Service) rather than subdomains.
  virtual bool NameIsLabel() const { return false; }
  // Whether spec changes bump metadata.generation (kinds with a spec).
  virtual bool HasGeneration(const Object& obj) const;
  // Field paths accepted in field selectors besides metadata.name/metadata.namespace.
  virtual std::vector<std::string> SelectableFields() const { return {}; }
};

// The strategy of every kind; kinds without their own use the generic Strategy.
class StrategyTable {
 public:
  explicit StrategyTable(Clock* clock);
  const Strategy& For(const KindInfo& kind) const;

 private:
  Strategy generic_;
  std::map<std::string, std::unique_ptr<Strategy>> by_kind_;  // key: kind name
};

// A field error in Kubernetes' words (k8s.io/apimachinery/pkg/util/validation/field).
//
// FieldInvalid takes the value ALREADY RENDERED the way Go's field.Error prints it:
// strings quoted (pass GoQuote(s) from cattle/validation.h, e.g. "\"abc\""), numbers and
// booleans bare ("-1", "true"), structs and maps as Go's %#v
// ("map[string]string{\"app\":\"x\"}"). Message: `Invalid value: <value>: <detail>`.
StatusCause FieldInvalid(const std::string& field, const std::string& value,
                         const std::string& detail);
// `Required value` or `Required value: <detail>`.
StatusCause FieldRequired(const std::string& field, const std::string& detail = "");
// `Unsupported value: "x": supported values: "a", "b"`. `value` is a raw string (quoted
// here); `supported` in the order given (Kubernetes often passes them sorted).
StatusCause FieldNotSupported(const std::string& field, const std::string& value,
                              const std::vector<std::string>& supported);
// `Forbidden: <detail>` (just `Forbidden` when detail is empty).
StatusCause FieldForbidden(const std::string& field, const std::string& detail);
// `Duplicate value: "x"`; `value` is a raw string (quoted here).
StatusCause FieldDuplicate(const std::string& field, const std::string& value);
// `Not found: "x"`; `value` is a raw string (quoted here).
StatusCause FieldNotFound(const std::string& field, const std::string& value);

}  // namespace cattle::apiserver
