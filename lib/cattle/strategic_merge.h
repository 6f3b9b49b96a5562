// Kubernetes' strategic merge patch, with merge keys taken from the schema ($mergeKey
// annotations in api/): lists of structs with a merge key merge item by item; other lists
// are replaced. Directives: $patch: replace|delete|merge, $setElementOrder/<list>,
// $retainKeys, $deleteFromPrimitiveList/<list>; null deletes a field.
//
// The schema is walked alongside the JSON: a key names the field whose JSON name matches
// (its Cap'n Proto name or $jsonName); the field's type decides the merge:
// - struct: merged key by key, recursively;
// - $map struct (StringMap, ...): a JSON object with free keys, merged key by key;
// - $wrapper / $intOrString struct, Text, numbers, enums, Bool: scalars, replaced;
// - List(struct) with $mergeKey("k"): items matched by "k" and merged (see below);
// - any other list (primitives, structs without merge key such as tolerations): replaced
//   by the patch's list, unless a $setElementOrder/<list> or $deleteFromPrimitiveList/<list>
//   directive is present for a list of primitives: then the lists merge as a set (union in
//   order, minus the deleted values, ordered by $setElementOrder);
// - $rawJson Text fields and keys absent from the schema: plain JSON merge patch
//   (RFC 7386; objects merge, anything else replaces, null deletes).
//
// Merge-keyed lists follow k8s.io/apimachinery/pkg/util/strategicpatch: patch items with an
// existing key merge into it, new ones are added, items the patch does not mention stay;
// `{"$patch": "delete", "k": v}` removes the item(s) with key v; a `{"$patch": "replace"}`
// element makes the list exactly the other patch items; `$setElementOrder/<list>` (a list
// of `{"k": v}`) orders the result: listed items in that order, the others interleaved by
// their original position, exactly as Kubernetes does. The patch's items must appear in
// $setElementOrder in the same relative order. Without $setElementOrder the patch's own
// order is the reference, so (as in Kubernetes) a new item lands after the existing items
// the patch lists before it, but ahead of the unmentioned items that follow them: patching
// [a, b] with [{c}] gives [c, a, b]; with [{b}, {c}] it gives [a, b, c]. kubectl always
// sends $setElementOrder, which fixes the final order exactly.
//
// Objects: `"$patch": "replace"` replaces the object by the patch's other keys;
// `"$patch": "delete"` removes the field; `"$patch": "merge"` is the default (accepted and
// ignored; Kubernetes rejects it). `$retainKeys: [...]` clears the original's keys not
// listed before merging (every non-null key of the patch must be listed).
//
// Directives never appear in the result (including inside values the patch adds or
// replaces). Differences from Kubernetes are listed in strategic_merge.cc.
#pragma once

#include <capnp/schema.h>

#include "cattle/codec.h"
#include "cattle/status.h"

namespace cattle {

// Applies `patch` to `original` (both Kubernetes JSON of an object of `schema`; a null
// original is an empty object). BadRequest on malformed directives, on a patch that is not
// a JSON object, and on merge-keyed list items without their merge key.
Result<Json> StrategicMergePatch(const Json& original, const Json& patch,
                                 capnp::StructSchema schema);

// Two-way diff: a strategic merge patch that turns `original` into `modified` when given
// to StrategicMergePatch (what kubectl computes client-side). Changed and added fields are
// set, removed fields are null; merge-keyed lists carry only changed/added items (by merge
// key), `{"$patch":"delete", key}` for removed items and `$setElementOrder/<list>` whenever
// the list's content or order changed; other lists are sent whole when they differ. The
// result is `{}` when there is no difference. BadRequest when either is not an object or a
// merge-keyed list item lacks its merge key.
Result<Json> CreateStrategicMergePatch(const Json& original, const Json& modified,
                                       capnp::StructSchema schema);

}  // namespace cattle
