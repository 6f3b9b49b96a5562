// Request bodies in Kubernetes' protobuf encoding (application/vnd.kubernetes.protobuf).
//
// client-go's typed clients (and so `kubectl create configmap|secret|deployment|service|pdb`,
// `kubectl run`, `kubectl drain`'s evictions) send their bodies as protobuf. cattle stores
// Cap'n Proto and speaks JSON, so the REST layer turns such a body into Kubernetes JSON here
// and then decodes it with the schema codec like any JSON body.
//
// The decoder is table driven: for each supported kind it knows the message layout of
// Kubernetes' generated.proto (field number -> JSON name and type) and nothing else; fields it
// does not know are skipped by wire type. Output follows what Go's encoding/json would write
// for the decoded object: pointer fields appear whenever they are on the wire (so
// `replicas: 0` survives), value fields tagged omitempty are left out when zero (Go's
// marshallers write every value field, so their presence on the wire means nothing).
#pragma once

#include <string_view>

#include "cattle/codec.h"
#include "cattle/status.h"

namespace cattle::apiserver {

// Decodes a request body sent as application/vnd.kubernetes.protobuf: the 4-byte magic
// "k8s\0", then a runtime.Unknown message (typeMeta{apiVersion, kind}, raw, contentEncoding,
// contentType) whose raw bytes are the object's protobuf. Returns the object as Kubernetes
// JSON with apiVersion and kind set.
//
// Errors: UnsupportedMediaType (415) naming the kind when its message layout is not known here
// ("protobuf bodies are not supported for <apiVersion>/<Kind>; send application/json"), or
// when the envelope names a content encoding; BadRequest for malformed bytes (wrong magic,
// truncated varints, lengths past the end, wrong wire types, invalid UTF-8 in strings,
// timestamps outside years 0-9999, nesting deeper than 64, ...). Never crashes on any input.
Result<Json> DecodeKubernetesProtobuf(std::string_view body);

}  // namespace cattle::apiserver
