// API objects: the kinds compiled into api/ (KindRegistry) and Object, an owned,
// mutable Cap'n Proto message of one kind with its JSON and binary encodings.
#pragma once

#include <capnp/dynamic.h>
#include <capnp/message.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cattle/codec.h"
#include "cattle/status.h"
#include "meta.capnp.h"

namespace cattle {

struct KindInfo {
  std::string kind;        // "Deployment"
  std::string group;       // "apps" ("" for core)
  std::string version;     // "v1"
  std::string plural;      // "deployments"
  std::string singular;    // "deployment"
  std::vector<std::string> short_names;
  std::vector<std::string> categories;
  std::vector<std::string> subresources;
  bool namespaced = true;
  capnp::StructSchema schema;
  // The `metadata` field, looked up once (by name it is a search on every access).
  std::optional<capnp::StructSchema::Field> metadata;

  std::string ApiVersion() const { return group.empty() ? version : group + "/" + version; }
  // "deployments.apps" / "pods": how Kubernetes names the resource in messages.
  std::string GroupResource() const { return group.empty() ? plural : plural + "." + group; }
  bool HasSubresource(std::string_view s) const;
};

// Every kind compiled into api/, with their names. Immutable after construction.
class KindRegistry {
 public:
  KindRegistry();
  // The registry of all compiled kinds (immutable; built once on first use).
  static const KindRegistry& Default();

  const std::vector<KindInfo>& kinds() const { return kinds_; }
  // By apiVersion ("apps/v1", "v1") and kind ("Deployment"); nullptr if unknown.
  const KindInfo* ByApiVersionKind(std::string_view api_version, std::string_view kind) const;
  // By group and plural resource ("apps", "deployments"); nullptr if unknown.
  const KindInfo* ByGroupResource(std::string_view group, std::string_view plural) const;
  // What a person types: plural, singular, short name or kind, any case, optionally with
  // ".group" ("deploy", "Deployment", "deployments.apps"). nullptr if unknown.
  const KindInfo* Resolve(std::string_view name) const;
  // Bodies of subresources that are not themselves resources (Binding, Scale, Eviction).
  const KindInfo* BodyKind(std::string_view kind) const;

 private:
  std::vector<KindInfo> kinds_;
  std::vector<KindInfo> bodies_;
};

// An owned API object. Cheap to move; Clone() to copy.
class Object {
 public:
  // An empty object of `kind`, with apiVersion and kind set.
  explicit Object(const KindInfo* kind);
  Object(Object&&) = default;
  Object& operator=(Object&&) = default;

  // Decodes binary Cap'n Proto from outside, eagerly (ValidateCapnp): BadRequest on
  // malformed bytes or ill-formed UTF-8 in any Text, naming the field path; never throws.
  // Reading is bounded: traversal limit a few times the size, nesting limit 64. An Object
  // it returns can be read anywhere without kj exceptions. `resource_version` > 0 is
  // stamped into metadata.resourceVersion.
  static Result<Object> FromBytes(const KindInfo* kind, std::string_view bytes,
                                  int64_t resource_version = 0);
  // Decodes Kubernetes JSON; the kind comes from apiVersion/kind unless `expected` is given
  // (then they must match or be absent). BadRequest with the field path on errors, among
  // them ill-formed UTF-8 in any string or key (CheckJsonUtf8); never throws.
  static Result<Object> FromJson(const KindRegistry& kinds, const Json& json,
                                 const DecodeOptions& options = {},
                                 const KindInfo* expected = nullptr);

  Object Clone() const;
  // Compact binary encoding (no garbage from earlier edits).
  std::string ToBytes() const;
  Json ToJson() const;

  const KindInfo* kind() const { return kind_; }
  capnp::DynamicStruct::Builder root() { return msg_->getRoot<capnp::DynamicStruct>(kind_->schema); }
  capnp::DynamicStruct::Reader reader() const {
    return msg_->getRoot<capnp::DynamicStruct>(kind_->schema).asReader();
  }
  template <typename T>
  typename T::Builder as() {
    return root().as<T>();
  }
  // Readers point into this object's message: never take one from a temporary Object.
  template <typename T>
  typename T::Reader get() const& {
    return reader().as<T>();
  }
  template <typename T>
  typename T::Reader get() && = delete;
  api::ObjectMeta::Builder meta() {
    auto r = root();
    return (kind_->metadata ? r.get(*kind_->metadata) : r.get("metadata")).as<capnp::DynamicStruct>().as<api::ObjectMeta>();
  }
  api::ObjectMeta::Reader meta() const {
    auto r = reader();
    return (kind_->metadata ? r.get(*kind_->metadata) : r.get("metadata")).as<capnp::DynamicStruct>().as<api::ObjectMeta>();
  }
  std::string name() const { return meta().getName().cStr(); }
  std::string namespace_() const { return meta().getNamespace().cStr(); }
  std::string uid() const { return meta().getUid().cStr(); }
  // metadata.resourceVersion as a number (0 when absent or malformed).
  int64_t resource_version() const;
  void set_resource_version(int64_t rv);
  // "ns/name" or "name" for cluster-scoped objects: the key of caches and work queues.
  std::string Key() const;

 private:
  Object(const KindInfo* kind, std::unique_ptr<capnp::MallocMessageBuilder> msg)
      : kind_(kind), msg_(std::move(msg)) {}
  const KindInfo* kind_;
  std::unique_ptr<capnp::MallocMessageBuilder> msg_;
};

// Reads labels/annotations-style maps.
std::map<std::string, std::string> ToStdMap(api::StringMap::Reader m);
void SetStringMap(api::StringMap::Builder b, const std::map<std::string, std::string>& m);

// The typed reader/builder of a kind by C++ type, e.g. obj.as<api::Pod>().

}  // namespace cattle
