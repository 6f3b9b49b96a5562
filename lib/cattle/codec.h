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

// Parses one JSON document (BadRequest with position on malformed text).
Result<Json> ParseJsonText(std::string_view text);

// Parses a YAML stream into one JSON value per document (empty documents are skipped).
// YAML 1.2 core schema for plain scalars; quoted scalars stay strings. BadRequest on
// malformed YAML naming the line and column.
Result<std::vector<Json>> ParseYamlDocuments(std::string_view text);

// Accepts JSON or YAML (a JSON document is valid YAML, but JSON is parsed directly for exact
// numbers). A JSON `{"kind":"List","items":[...]}` expands to its items.
Result<std::vector<Json>> ParseManifests(std::string_view text);

// Renders JSON as YAML in Kubernetes' style (block style, keys in the object's order).
std::string ToYaml(const Json& json);

}  // namespace cattle
