// The schema-derived JSON/YAML codec: converts between Cap'n Proto objects (binary on the
// wire and on disk) and Kubernetes' JSON, driven entirely by the schemas in api/ and their
// annotations (see api/meta.capnp for the conventions).
//
// Why not capnp::JsonCodec: Kubernetes needs maps as JSON objects, Int64 as numbers,
// absent-versus-zero for pointer primitives, int-or-string, canonical quantities, and
// errors that name the field path ("spec.template.spec.containers[0].image"); all of it is
// expressed as annotations in the schema and honoured here.
#pragma once

#include <capnp/dynamic.h>
#include <capnp/schema.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cattle/status.h"

namespace cattle {

using Json = nlohmann::json;

enum class FieldValidation {
  kStrict,  // unknown fields are an error (BadRequest "strict decoding error: unknown field")
  kWarn,    // unknown fields are dropped and reported in `warnings`
  kIgnore,  // unknown fields are dropped silently
};

struct DecodeOptions {
  FieldValidation unknown_fields = FieldValidation::kStrict;
  // Filled with `unknown field "spec.foo"` lines under kWarn.
  std::vector<std::string>* warnings = nullptr;
};

// Encodes a struct to Kubernetes JSON. Never fails for a well-formed message.
Json EncodeJson(capnp::DynamicStruct::Reader reader);

// Decodes `json` into `builder` (which should be freshly initialised). Errors are BadRequest
// with the field path: `spec.replicas: expected integer, got string "three"`, or
// `strict decoding error: unknown field "spec.foo"`. `path` prefixes field paths.
Status DecodeJson(const Json& json, capnp::DynamicStruct::Builder builder,
                  const DecodeOptions& options = {}, const std::string& path = "");

// Dumps `json` compactly; ill-formed UTF-8 (which decoders refuse, so only old stored data
// can hold it) is replaced by U+FFFD instead of throwing. Use it wherever JSON is output.
std::string DumpJson(const Json& json, int indent = -1);

// Checks that every string and key in `json` is well-formed UTF-8. BadRequest naming the
// first offending field path otherwise: `field "data.greeting": string is not valid UTF-8`.
Status CheckJsonUtf8(const Json& json);

// Checks a Cap'n Proto message from outside eagerly, before anything trusts it: reads every
// field the schema knows (the active member of unions), so malformed pointers, lists of the
// wrong element size and Text without its NUL terminator are found now instead of throwing
// later wherever a field is first read, and checks that every Text is well-formed UTF-8.
// BadRequest naming the field path (JSON names: `metadata.name`, `data[key]`). Never throws;
// the message's reader options bound the traversal and the nesting (so the recursion).
Status ValidateCapnp(capnp::DynamicStruct::Reader reader);

// Parses one JSON document. BadRequest with the position on malformed text, and with the
// field path on ill-formed UTF-8.
Result<Json> ParseJsonText(std::string_view text);

// Bounds on what YAML aliases (`*name`) may add to a stream: each alias expands to a copy of
// its anchored node, so nine levels of nine aliases of the level above make 9^9 nodes from
// 600 bytes. Expansions inside an aliased node count too; so does the copy kept of each
// anchored node.
struct YamlLimits {
  // Alias expansions in one stream. Default: 10000.
  size_t max_alias_expansions = 10000;
  // Approximate bytes the expansions and anchor copies add (each node counts 32 bytes plus
  // its key and text). Default: 1 MiB (an object the store accepts is at most 1.5 MiB).
  size_t max_alias_bytes = size_t{1} << 20;
};

// Parses a YAML stream into one JSON value per document (empty documents are skipped).
// YAML 1.2 core schema for plain scalars; quoted scalars stay strings. BadRequest on
// malformed YAML naming the line and column, on ill-formed UTF-8 naming the field path, and
// when aliases would expand beyond `limits` (refused as soon as that is known: the
// expansion is never built). Every string of the result is well-formed UTF-8.
Result<std::vector<Json>> ParseYamlDocuments(std::string_view text, const YamlLimits& limits = {});

// Accepts JSON or YAML (a JSON document is valid YAML, but JSON is parsed directly for exact
// numbers), with the errors and limits of ParseJsonText and ParseYamlDocuments. A JSON
// `{"kind":"List","items":[...]}` expands to its items.
Result<std::vector<Json>> ParseManifests(std::string_view text);

// Renders JSON as YAML in Kubernetes' style (block style, keys in the object's order).
std::string ToYaml(const Json& json);

}  // namespace cattle
