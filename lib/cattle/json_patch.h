// JSON Merge Patch (RFC 7386) and JSON Patch (RFC 6902) on nlohmann::json, as the
// apiserver needs them for PATCH with application/merge-patch+json and
// application/json-patch+json, plus a merge-patch diff for clients.
//
// All functions are pure: inputs are taken by const reference and never modified;
// results are new values. Safe to call concurrently.
#pragma once

#include <nlohmann/json.hpp>

#include "cattle/status.h"

namespace cattle {

// RFC 7386 MergePatch(target, patch): if `patch` is an object, each member is merged
// recursively into `target` (a non-object target is first replaced by {}), and a null
// member deletes that key; any non-object patch (array, scalar, null) replaces the
// target wholesale. Arrays are never merged.
nlohmann::json MergePatch(const nlohmann::json& target, const nlohmann::json& patch);

// Applies an RFC 6902 patch (`ops`, an array of operation objects) to `doc` and returns
// the patched document. Operations: add, remove, replace, move, copy, test; paths are
// RFC 6901 JSON Pointers ("" is the whole document, "~1" is '/', "~0" is '~', "-" as the
// last token of an add/move/copy target appends to an array; array indices are
// "0" or [1-9][0-9]*). Operations apply in order; the first failure aborts the whole
// patch (nothing partial is returned).
//
// Errors:
//   BadRequest - `ops` is not an array (null is an empty patch) or an element is not an
//                object: "json: cannot unmarshal string into Go value of type
//                jsonpatch.Patch" (Kubernetes' decode error text).
//   Invalid    - an operation does not apply; messages follow the json-patch library
//                Kubernetes uses, e.g.
//                  `add operation does not apply: doc is missing path: "/spec/x": missing value`
//                  `replace operation does not apply: doc is missing key: /spec/x: missing value`
//                  `error in remove for path: '/a': Unable to remove nonexistent key: a: missing value`
//                  `testing value /spec/replicas failed: test failed`
//                  `Unexpected kind: frobnicate`
// Deliberate differences from Kubernetes' json-patch v4 library, which is laxer than
// the RFC: replace and test require the target to exist, add/replace/test require a
// "value", negative and zero-padded array indices are rejected, "" (the root) may be
// added/replaced with any value, and move may not move a value into its own child.
Result<nlohmann::json> ApplyJsonPatch(const nlohmann::json& doc, const nlohmann::json& ops);

// A merge patch that turns `original` into `modified` under MergePatch: for two
// objects, changed members recursively, removed members as null; otherwise `modified`
// itself. MergePatch(original, CreateMergePatch(original, modified)) == modified
// whenever `modified` holds no null values inside objects (RFC 7386 cannot express
// those). Equal documents give {} for objects.
nlohmann::json CreateMergePatch(const nlohmann::json& original, const nlohmann::json& modified);

}  // namespace cattle
