#include "cattle/codec.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <limits>
#include <optional>
#include <sstream>
#include <unordered_map>

#include "cattle/quantity.h"
#include "cattle/utf8.h"

namespace cattle {
namespace {

// Annotation ids from api/meta.capnp.
constexpr uint64_t kJsonNameId = 0xfe868bb821661294ull;
constexpr uint64_t kAlwaysId = 0xae4ee49fb7f633e0ull;
constexpr uint64_t kWrapperId = 0xf989da2e452b7d79ull;
constexpr uint64_t kMapId = 0xd8dc9e4c2b0bad7dull;
constexpr uint64_t kIntOrStringId = 0xacd879bb0ccc71e5ull;
constexpr uint64_t kQuantityId = 0xe80137377d102458ull;
constexpr uint64_t kRawJsonId = 0xb8b0b8c3c7c4b2a1ull;

constexpr size_t kMaxJsonDepth = 512;

enum class StructShape { kObject, kWrapper, kMap, kIntOrString };

struct FieldInfo {
  capnp::StructSchema::Field field;
  std::string json_name;
  bool always = false;
  bool quantity = false;
  bool raw_json = false;
  // Looked up once: the schema accessors are slow enough to dominate a validation walk.
  capnp::Type type;
  bool pointer = false;   // Text, Data, List, Struct (not a group), AnyPointer
  bool group = false;
  bool in_union = false;
};

struct StructInfo {
  StructShape shape = StructShape::kObject;
  bool has_union = false;
  std::vector<FieldInfo> fields;
  std::unordered_map<std::string, size_t> by_json_name;
};

template <typename Annotations>
bool HasAnnotation(Annotations annotations, uint64_t id) {
  for (auto a : annotations)
    if (a.getId() == id) return true;
  return false;
}

bool IsPointerType(capnp::Type t) {
  switch (t.which()) {
    case capnp::schema::Type::TEXT:
    case capnp::schema::Type::DATA:
    case capnp::schema::Type::LIST:
    case capnp::schema::Type::STRUCT:
    case capnp::schema::Type::INTERFACE:
    case capnp::schema::Type::ANY_POINTER:
      return true;
    default:
      return false;
  }
}

// Immutable facts derived from compiled schemas, cached per thread (no locking needed).
const StructInfo& InfoFor(capnp::StructSchema schema) {
  thread_local std::unordered_map<uint64_t, StructInfo> cache;
  auto it = cache.find(schema.getProto().getId());
  if (it != cache.end()) return it->second;
  StructInfo info;
  auto annotations = schema.getProto().getAnnotations();
  if (HasAnnotation(annotations, kWrapperId)) info.shape = StructShape::kWrapper;
  if (HasAnnotation(annotations, kMapId)) info.shape = StructShape::kMap;
  if (HasAnnotation(annotations, kIntOrStringId)) info.shape = StructShape::kIntOrString;
  for (auto field : schema.getFields()) {
    FieldInfo fi{field, std::string(field.getProto().getName().cStr())};
    for (auto a : field.getProto().getAnnotations()) {
      switch (a.getId()) {
        case kJsonNameId:
          fi.json_name = a.getValue().getText().cStr();
          break;
        case kAlwaysId:
          fi.always = true;
          break;
        case kQuantityId:
          fi.quantity = true;
          break;
        case kRawJsonId:
          fi.raw_json = true;
          break;
        default:
          break;
      }
    }
    fi.type = field.getType();
    fi.group = field.getProto().isGroup();
    fi.in_union = field.getProto().getDiscriminantValue() != capnp::schema::Field::NO_DISCRIMINANT;
    fi.pointer = !fi.group && IsPointerType(fi.type);
    info.has_union = info.has_union || fi.in_union;
    info.by_json_name[fi.json_name] = info.fields.size();
    info.fields.push_back(std::move(fi));
  }
  return cache.emplace(schema.getProto().getId(), std::move(info)).first->second;
}

const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64Encode(kj::ArrayPtr<const kj::byte> data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (i < data.size()) {
    uint32_t v = data[i] << 16;
    if (i + 1 < data.size()) v |= data[i + 1] << 8;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += i + 1 < data.size() ? kB64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

bool Base64Decode(const std::string& in, std::string* out) {
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const char* p = strchr(kB64, c);
    if (c == '\0' || p == nullptr) return false;
    acc = (acc << 6) | static_cast<uint32_t>(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

Json EncodeStruct(capnp::DynamicStruct::Reader reader);

Json EncodeValue(capnp::DynamicValue::Reader value, capnp::Type type, const FieldInfo* fi) {
  switch (type.which()) {
    case capnp::schema::Type::VOID:
      return nullptr;
    case capnp::schema::Type::BOOL:
      return value.as<bool>();
    case capnp::schema::Type::INT8:
    case capnp::schema::Type::INT16:
    case capnp::schema::Type::INT32:
    case capnp::schema::Type::INT64:
      return value.as<int64_t>();
    case capnp::schema::Type::UINT8:
    case capnp::schema::Type::UINT16:
    case capnp::schema::Type::UINT32:
    case capnp::schema::Type::UINT64:
      return value.as<uint64_t>();
    case capnp::schema::Type::FLOAT32:
    case capnp::schema::Type::FLOAT64:
      return value.as<double>();
    case capnp::schema::Type::TEXT: {
      std::string s = value.as<capnp::Text>().cStr();
      if (fi != nullptr && fi->raw_json) {
        Json parsed = Json::parse(s, nullptr, /*allow_exceptions=*/false);
        if (!parsed.is_discarded()) return parsed;
      }
      return s;
    }
    case capnp::schema::Type::DATA:
      return Base64Encode(value.as<capnp::Data>());
    case capnp::schema::Type::LIST: {
      Json arr = Json::array();
      auto list = value.as<capnp::DynamicList>();
      auto element_type = type.asList().getElementType();
      for (auto element : list) arr.push_back(EncodeValue(element, element_type, nullptr));
      return arr;
    }
    case capnp::schema::Type::ENUM: {
      KJ_IF_MAYBE(e, value.as<capnp::DynamicEnum>().getEnumerant()) {
        return std::string(e->getProto().getName().cStr());
      }
      return value.as<capnp::DynamicEnum>().getRaw();
    }
    case capnp::schema::Type::STRUCT:
      return EncodeStruct(value.as<capnp::DynamicStruct>());
    default:
      return nullptr;
  }
}

bool IsZero(capnp::DynamicValue::Reader value, capnp::Type type) {
  switch (type.which()) {
    case capnp::schema::Type::BOOL:
      return !value.as<bool>();
    case capnp::schema::Type::FLOAT32:
    case capnp::schema::Type::FLOAT64:
      return value.as<double>() == 0;
    case capnp::schema::Type::ENUM:
      return value.as<capnp::DynamicEnum>().getRaw() == 0;
    case capnp::schema::Type::VOID:
      return true;
    default:
      return value.as<int64_t>() == 0;
  }
}

Json EncodeStruct(capnp::DynamicStruct::Reader reader) {
  auto schema = reader.getSchema();
  const StructInfo& info = InfoFor(schema);
  switch (info.shape) {
    case StructShape::kWrapper: {
      const FieldInfo& fi = info.fields.at(0);
      return EncodeValue(reader.get(fi.field), fi.field.getType(), &fi);
    }
    case StructShape::kMap: {
      Json obj = Json::object();
      for (auto entry : reader.get("entries").as<capnp::DynamicList>()) {
        auto e = entry.as<capnp::DynamicStruct>();
        obj[std::string(e.get("key").as<capnp::Text>().cStr())] =
            std::string(e.get("value").as<capnp::Text>().cStr());
      }
      return obj;
    }
    case StructShape::kIntOrString: {
      KJ_IF_MAYBE(f, reader.which()) {
        if (f->getProto().getName() == "int") return reader.get(*f).as<int64_t>();
        return std::string(reader.get(*f).as<capnp::Text>().cStr());
      }
      return 0;
    }
    case StructShape::kObject:
      break;
  }
  Json obj = Json::object();
  kj::Maybe<capnp::StructSchema::Field> active = reader.which();
  for (const FieldInfo& fi : info.fields) {
    auto field = fi.field;
    bool in_union = field.getProto().getDiscriminantValue() != capnp::schema::Field::NO_DISCRIMINANT;
    if (in_union) {
      KJ_IF_MAYBE(a, active) {
        if (*a != field) continue;
      } else {
        continue;
      }
    }
    capnp::Type type = field.getType();
    if (IsPointerType(type)) {
      if (!reader.has(field)) continue;
    } else if (!fi.always && !in_union && IsZero(reader.get(field), type)) {
      continue;
    }
    obj[fi.json_name] = EncodeValue(reader.get(field), type, &fi);
  }
  return obj;
}

const char* JsonTypeName(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "bool";
    case Json::value_t::string:
      return "string";
    case Json::value_t::array:
      return "array";
    case Json::value_t::object:
      return "object";
    case Json::value_t::number_float:
      return "number";
    default:
      return "number";
  }
}

std::string Show(const Json& j) {
  std::string s = DumpJson(j);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

class Decoder {
 public:
  explicit Decoder(const DecodeOptions& options) : options_(options) {}

  Status Struct(const Json& json, capnp::DynamicStruct::Builder builder, const std::string& path);
  const std::vector<std::string>& unknown() const { return unknown_; }

 private:
  Status TypeError(const std::string& path, const Json& j, const char* want) {
    return Status::BadRequest("cannot unmarshal " + std::string(JsonTypeName(j)) + " " + Show(j) +
                              " into field \"" + (path.empty() ? "<root>" : path) +
                              "\" of type " + want);
  }
  Status Field(const Json& json, capnp::DynamicStruct::Builder builder, const FieldInfo& fi,
               const std::string& path);
  Result<capnp::DynamicValue::Reader> Primitive(const Json& json, capnp::Type type,
                                                const std::string& path);
  Status ListInto(const Json& json, capnp::DynamicStruct::Builder builder, const FieldInfo& fi,
                  const std::string& path);
  Status TextValue(const Json& json, const FieldInfo* fi, const std::string& path,
                   std::string* out);

  const DecodeOptions& options_;
  std::vector<std::string> unknown_;
};

Result<capnp::DynamicValue::Reader> Decoder::Primitive(const Json& j, capnp::Type type,
                                                       const std::string& path) {
  using T = capnp::schema::Type;
  auto integral = [&](int64_t lo, uint64_t hi, const char* name)
      -> Result<capnp::DynamicValue::Reader> {
    if (j.is_number_unsigned()) {
      uint64_t v = j.get<uint64_t>();
      if (v > hi) return Status::BadRequest("field \"" + path + "\": " + j.dump() + " overflows " + name);
      if (hi > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return capnp::DynamicValue::Reader(v);
      return capnp::DynamicValue::Reader(static_cast<int64_t>(v));
    }
    if (j.is_number_integer()) {
      int64_t v = j.get<int64_t>();
      if (v < lo || (v > 0 && static_cast<uint64_t>(v) > hi))
        return Status::BadRequest("field \"" + path + "\": " + j.dump() + " overflows " + name);
      return capnp::DynamicValue::Reader(v);
    }
    if (j.is_number_float()) {
      double d = j.get<double>();
      if (std::floor(d) == d && d >= static_cast<double>(lo) && d <= static_cast<double>(hi))
        return capnp::DynamicValue::Reader(static_cast<int64_t>(d));
    }
    return TypeError(path, j, name);
  };
  switch (type.which()) {
    case T::BOOL:
      if (!j.is_boolean()) return TypeError(path, j, "bool");
      return capnp::DynamicValue::Reader(j.get<bool>());
    case T::INT8:
      return integral(INT8_MIN, INT8_MAX, "int8");
    case T::INT16:
      return integral(INT16_MIN, INT16_MAX, "int16");
    case T::INT32:
      return integral(INT32_MIN, INT32_MAX, "int32");
    case T::INT64:
      return integral(INT64_MIN, INT64_MAX, "int64");
    case T::UINT8:
      return integral(0, UINT8_MAX, "uint8");
    case T::UINT16:
      return integral(0, UINT16_MAX, "uint16");
    case T::UINT32:
      return integral(0, UINT32_MAX, "uint32");
    case T::UINT64:
      return integral(0, UINT64_MAX, "uint64");
    case T::FLOAT32:
    case T::FLOAT64:
      if (!j.is_number()) return TypeError(path, j, "float64");
      return capnp::DynamicValue::Reader(j.get<double>());
    default:
      return Status::Internal("not a primitive at " + path);
  }
}

Status Decoder::TextValue(const Json& j, const FieldInfo* fi, const std::string& path,
                          std::string* out) {
  if (fi != nullptr && fi->raw_json) {
    *out = j.dump();
    return Status::Ok();
  }
  if (fi != nullptr && fi->quantity) {
    std::string text;
    if (j.is_string()) {
      text = j.get<std::string>();
    } else if (j.is_number()) {
      text = j.dump();
    } else {
      return TypeError(path, j, "resource.Quantity");
    }
    auto q = Quantity::Parse(text);
    if (!q.ok())
      return Status::BadRequest("field \"" + path + "\": " + q.status().message());
    *out = q->ToString();
    return Status::Ok();
  }
  if (!j.is_string()) return TypeError(path, j, "string");
  *out = j.get<std::string>();
  return Status::Ok();
}

Status Decoder::ListInto(const Json& j, capnp::DynamicStruct::Builder builder,
                         const FieldInfo& fi, const std::string& path) {
  if (!j.is_array()) return TypeError(path, j, "array");
  auto element_type = fi.field.getType().asList().getElementType();
  auto list = builder.init(fi.field, j.size()).as<capnp::DynamicList>();
  for (size_t i = 0; i < j.size(); ++i) {
    std::string epath = path + "[" + std::to_string(i) + "]";
    const Json& e = j[i];
    switch (element_type.which()) {
      case capnp::schema::Type::STRUCT:
        if (e.is_null()) continue;
        CATTLE_RETURN_IF_ERROR(Struct(e, list[i].as<capnp::DynamicStruct>(), epath));
        break;
      case capnp::schema::Type::TEXT: {
        std::string s;
        CATTLE_RETURN_IF_ERROR(TextValue(e, fi.quantity ? &fi : nullptr, epath, &s));
        list.set(i, capnp::Text::Reader(s.c_str()));
        break;
      }
      case capnp::schema::Type::LIST:
      case capnp::schema::Type::DATA:
      case capnp::schema::Type::ENUM:
        return Status::Internal("unsupported list element type at " + epath);
      default: {
        auto v = Primitive(e, element_type, epath);
        if (!v.ok()) return v.status();
        list.set(i, *v);
      }
    }
  }
  return Status::Ok();
}

Status Decoder::Field(const Json& j, capnp::DynamicStruct::Builder builder, const FieldInfo& fi,
                      const std::string& path) {
  capnp::Type type = fi.field.getType();
  switch (type.which()) {
    case capnp::schema::Type::TEXT: {
      std::string s;
      CATTLE_RETURN_IF_ERROR(TextValue(j, &fi, path, &s));
      builder.set(fi.field, capnp::Text::Reader(s.c_str()));
      return Status::Ok();
    }
    case capnp::schema::Type::DATA: {
      if (!j.is_string()) return TypeError(path, j, "[]byte");
      std::string bytes;
      if (!Base64Decode(j.get<std::string>(), &bytes))
        return Status::BadRequest("field \"" + path + "\": illegal base64 data");
      builder.set(fi.field, capnp::Data::Reader(reinterpret_cast<const kj::byte*>(bytes.data()),
                                                bytes.size()));
      return Status::Ok();
    }
    case capnp::schema::Type::LIST:
      return ListInto(j, builder, fi, path);
    case capnp::schema::Type::STRUCT: {
      auto child = builder.init(fi.field).as<capnp::DynamicStruct>();
      const StructInfo& ci = InfoFor(type.asStruct());
      if (ci.shape == StructShape::kMap && fi.quantity) {
        // A map of quantities: canonicalise every value.
        if (!j.is_object()) return TypeError(path, j, "map[string]resource.Quantity");
        auto entries = child.init("entries", j.size()).as<capnp::DynamicList>();
        size_t i = 0;
        for (auto it = j.begin(); it != j.end(); ++it, ++i) {
          std::string v;
          CATTLE_RETURN_IF_ERROR(TextValue(it.value(), &fi, path + "." + it.key(), &v));
          auto e = entries[i].as<capnp::DynamicStruct>();
          e.set("key", capnp::Text::Reader(it.key().c_str()));
          e.set("value", capnp::Text::Reader(v.c_str()));
        }
        return Status::Ok();
      }
      return Struct(j, child, path);
    }
    case capnp::schema::Type::ENUM: {
      if (!j.is_string()) return TypeError(path, j, "string");
      KJ_IF_MAYBE(e, type.asEnum().findEnumerantByName(j.get<std::string>().c_str())) {
        builder.set(fi.field, capnp::DynamicEnum(*e));
        return Status::Ok();
      }
      return Status::BadRequest("field \"" + path + "\": unsupported value " + j.dump());
    }
    default: {
      auto v = Primitive(j, type, path);
      if (!v.ok()) return v.status();
      builder.set(fi.field, *v);
      return Status::Ok();
    }
  }
}

Status Decoder::Struct(const Json& j, capnp::DynamicStruct::Builder builder,
                       const std::string& path) {
  auto schema = builder.getSchema();
  const StructInfo& info = InfoFor(schema);
  switch (info.shape) {
    case StructShape::kWrapper:
      return Field(j, builder, info.fields.at(0), path);
    case StructShape::kMap: {
      if (!j.is_object()) return TypeError(path, j, "map[string]string");
      auto entries = builder.init("entries", j.size()).as<capnp::DynamicList>();
      size_t i = 0;
      for (auto it = j.begin(); it != j.end(); ++it, ++i) {  // std::map: sorted keys
        if (!it.value().is_string())
          return TypeError(path + "." + it.key(), it.value(), "string");
        auto e = entries[i].as<capnp::DynamicStruct>();
        e.set("key", capnp::Text::Reader(it.key().c_str()));
        e.set("value", capnp::Text::Reader(it.value().get_ref<const std::string&>().c_str()));
      }
      return Status::Ok();
    }
    case StructShape::kIntOrString: {
      if (j.is_number_integer() || j.is_number_unsigned()) {
        auto v = Primitive(j, capnp::Type(capnp::schema::Type::INT32), path);
        if (!v.ok()) return v.status();
        builder.set("int", *v);
      } else if (j.is_string()) {
        builder.set("str", capnp::Text::Reader(j.get_ref<const std::string&>().c_str()));
      } else {
        return TypeError(path, j, "intstr.IntOrString");
      }
      return Status::Ok();
    }
    case StructShape::kObject:
      break;
  }
  if (!j.is_object()) return TypeError(path, j, "object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::string fpath = path.empty() ? it.key() : path + "." + it.key();
    auto found = info.by_json_name.find(it.key());
    if (found == info.by_json_name.end()) {
      unknown_.push_back(fpath);
      continue;
    }
    if (it.value().is_null()) continue;  // null means unset
    CATTLE_RETURN_IF_ERROR(Field(it.value(), builder, info.fields[found->second], fpath));
  }
  return Status::Ok();
}

size_t JsonDepth(std::string_view text) {
  size_t depth = 0, max_depth = 0;
  bool in_string = false, escape = false;
  for (char c : text) {
    if (in_string) {
      if (escape) {
        escape = false;
      } else if (c == '\\') {
        escape = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      max_depth = std::max(max_depth, ++depth);
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return max_depth;
}

// --- YAML ---------------------------------------------------------------------------

bool ResolvePlainScalar(const std::string& s, Json* out) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") {
    *out = nullptr;
    return true;
  }
  if (s == "true" || s == "True" || s == "TRUE") {
    *out = true;
    return true;
  }
  if (s == "false" || s == "False" || s == "FALSE") {
    *out = false;
    return true;
  }
  // Integers: [-+]?[0-9]+, 0o[0-7]+, 0x[0-9a-fA-F]+
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i < s.size() && s.find_first_not_of("0123456789", i) == std::string::npos) {
    errno = 0;
    char* end = nullptr;
    long long v = strtoll(s.c_str(), &end, 10);
    if (errno == 0 && *end == '\0') {
      *out = static_cast<int64_t>(v);
      return true;
    }
    unsigned long long u = strtoull(s.c_str(), &end, 10);
    if (errno == 0 && *end == '\0' && s[0] != '-') {
      *out = static_cast<uint64_t>(u);
      return true;
    }
    *out = strtod(s.c_str(), nullptr);
    return true;
  }
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
    const char* digits = s[1] == 'x' ? "0123456789abcdefABCDEF" : "01234567";
    if (s.find_first_not_of(digits, 2) == std::string::npos) {
      *out = static_cast<int64_t>(strtoll(s.c_str() + 2, nullptr, s[1] == 'x' ? 16 : 8));
      return true;
    }
  }
  if (s == ".inf" || s == "+.inf" || s == ".Inf" || s == "-.inf" || s == ".nan" || s == ".NaN")
    return false;  // keep as a string: JSON has no infinities
  // Floats: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
  {
    size_t p = i;
    size_t digits = 0;
    while (p < s.size() && isdigit(static_cast<unsigned char>(s[p]))) ++p, ++digits;
    if (p < s.size() && s[p] == '.') {
      ++p;
      while (p < s.size() && isdigit(static_cast<unsigned char>(s[p]))) ++p, ++digits;
    }
    if (digits > 0 && p < s.size() && (s[p] == 'e' || s[p] == 'E')) {
      ++p;
      if (p < s.size() && (s[p] == '-' || s[p] == '+')) ++p;
      size_t exp_digits = 0;
      while (p < s.size() && isdigit(static_cast<unsigned char>(s[p]))) ++p, ++exp_digits;
      if (exp_digits == 0) return false;
    }
    if (digits > 0 && p == s.size()) {
      *out = strtod(s.c_str(), nullptr);
      return true;
    }
  }
  return false;
}

// Builds JSON from yaml-cpp's parse events, one value per document, copying an anchored
// node for each alias only while YamlLimits allow (YAML::Load would share the node, and the
// blow-up would come when converting it). Errors are thrown as Stop to end the parse.
class YamlJsonBuilder : public YAML::EventHandler {
 public:
  struct Stop {
    Status status;
  };

  explicit YamlJsonBuilder(const YamlLimits& limits) : limits_(limits) {}

  std::vector<Json>& documents() { return docs_; }

  // Where the last document started: yaml-cpp 0.7 reports an empty document without moving
  // on when one starts at a token no node can start with (a ',' outside a flow collection),
  // so a parse that starts a document where the last one started would never end.
  const YAML::Mark& document_start() const { return document_start_; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    document_start_ = mark;
    stack_.clear();
    anchors_.clear();  // anchors are per document
    root_ = Json();
  }
  void OnDocumentEnd() override {
    if (!root_.is_null()) docs_.push_back(std::move(root_));
    root_ = Json();
  }
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    Add(Json(nullptr), kNodeCost, 0, std::nullopt, mark, anchor);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) Fail(mark, "unknown anchor");
    const Anchored& a = it->second;
    alias_expansions_ += 1 + a.aliases;
    if (alias_expansions_ > limits_.max_alias_expansions)
      Fail(mark, "aliases expand more than " + std::to_string(limits_.max_alias_expansions) + " times");
    Charge(mark, a.cost);
    Add(Json(a.value), a.cost, 1 + a.aliases, a.raw, mark, YAML::NullAnchor);
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    if (!ValidUtf8(value)) {
      bool key = !stack_.empty() && stack_.back().map && !stack_.back().have_key;
      Fail(mark, std::string(key ? "a key of " : "") + "field \"" + Path() + "\": string is not valid UTF-8",
           Path());
    }
    Json j;
    // Only plain scalars without a tag resolve ("!" is a quoted one); tagged ones stay text.
    if (tag != "?" || !ResolvePlainScalar(value, &j)) j = value;
    Add(std::move(j), kNodeCost + value.size(), 0, value, mark, anchor);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(mark, anchor, false);
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(mark, anchor, true);
  }
  void OnMapEnd() override { Close(); }

 private:
  static constexpr size_t kNodeCost = 32;

  struct Frame {
    Json value;
    bool map = false;
    bool have_key = false;  // maps: the next value belongs to `key`
    std::string key;
    YAML::anchor_t anchor = YAML::NullAnchor;
    YAML::Mark mark;
    size_t cost = kNodeCost;
    size_t aliases = 0;  // expansions inside
  };
  struct Anchored {
    Json value;
    std::optional<std::string> raw;  // the text of a scalar (a key may be an alias)
    size_t cost = 0;
    size_t aliases = 0;
  };

  [[noreturn]] void Fail(const YAML::Mark& mark, const std::string& what, const std::string& field = "") {
    Status s = Status::BadRequest("yaml: line " + std::to_string(mark.line + 1) + ", column " +
                                  std::to_string(mark.column + 1) + ": " + what);
    if (!field.empty()) s.mutable_causes().push_back({"FieldValueInvalid", what, field});
    throw Stop{std::move(s)};
  }

  void Charge(const YAML::Mark& mark, size_t cost) {
    alias_bytes_ += cost;
    if (alias_bytes_ > limits_.max_alias_bytes)
      Fail(mark, "aliases expand to more than " + std::to_string(limits_.max_alias_bytes) + " bytes");
  }

  // The field path of the value being read ("spec.containers[0].image").
  std::string Path() const {
    std::string p;
    for (const Frame& f : stack_) {
      if (f.map) {
        if (f.have_key) p += (p.empty() ? "" : ".") + f.key;
      } else {
        p += "[" + std::to_string(f.value.size()) + "]";
      }
    }
    return p.empty() ? "<root>" : p;
  }

  void Open(const YAML::Mark& mark, YAML::anchor_t anchor, bool map) {
    if (!stack_.empty() && stack_.back().map && !stack_.back().have_key)
      Fail(mark, "mapping keys must be scalars");
    if (stack_.size() >= kMaxJsonDepth) Fail(mark, "document nested too deeply");
    Frame f;
    f.value = map ? Json::object() : Json::array();
    f.map = map;
    f.anchor = anchor;
    f.mark = mark;
    stack_.push_back(std::move(f));
  }

  void Close() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    Add(std::move(f.value), f.cost, f.aliases, std::nullopt, f.mark, f.anchor);
  }

  // Places a finished node in its parent (or as the document's root).
  void Add(Json value, size_t cost, size_t aliases, const std::optional<std::string>& raw, const YAML::Mark& mark,
           YAML::anchor_t anchor) {
    if (anchor != YAML::NullAnchor) {
      Charge(mark, cost);
      anchors_[anchor] = Anchored{value, raw, cost, aliases};
    }
    if (stack_.empty()) {
      root_ = std::move(value);
      return;
    }
    Frame& top = stack_.back();
    top.cost += cost;
    top.aliases += aliases;
    if (!top.map) {
      top.value.push_back(std::move(value));
      return;
    }
    if (!top.have_key) {
      if (!raw) Fail(mark, "mapping keys must be scalars");
      top.key = *raw;
      top.have_key = true;
      return;
    }
    top.value[top.key] = std::move(value);  // a repeated key: the last one wins
    top.have_key = false;
  }

  const YamlLimits& limits_;
  YAML::Mark document_start_;
  std::vector<Json> docs_;
  std::vector<Frame> stack_;
  std::unordered_map<YAML::anchor_t, Anchored> anchors_;
  Json root_;
  size_t alias_expansions_ = 0;
  size_t alias_bytes_ = 0;
};

// Finds the field path where nlohmann's parser stops: used only to name the field holding
// ill-formed UTF-8 (the parser refuses it; its own message quotes the bad bytes).
class JsonPathSax : public nlohmann::json_sax<Json> {
 public:
  bool null() override { return Scalar(); }
  bool boolean(bool) override { return Scalar(); }
  bool number_integer(number_integer_t) override { return Scalar(); }
  bool number_unsigned(number_unsigned_t) override { return Scalar(); }
  bool number_float(number_float_t, const string_t&) override { return Scalar(); }
  bool string(string_t&) override { return Scalar(); }
  bool binary(binary_t&) override { return Scalar(); }
  bool start_object(std::size_t) override { return Open(true); }
  bool key(string_t& k) override {
    stack_.back().key = k;
    stack_.back().expect_key = false;
    return true;
  }
  bool end_object() override { return Close(); }
  bool start_array(std::size_t) override { return Open(false); }
  bool end_array() override { return Close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    in_key_ = !stack_.empty() && stack_.back().object && stack_.back().expect_key;
    for (size_t i = 0; i < stack_.size(); ++i) {
      const Frame& f = stack_[i];
      if (f.object) {
        if (!f.expect_key) path_ += (path_.empty() ? "" : ".") + f.key;
      } else {
        // The innermost array is failing on its next element; outer ones are inside their last.
        size_t index = i + 1 == stack_.size() ? f.count : f.count - 1;
        path_ += "[" + std::to_string(index) + "]";
      }
    }
    return false;
  }
  // After the parse failed: the field path where, and whether it was in a key.
  std::string path() const { return path_.empty() ? "<root>" : path_; }
  bool in_key() const { return in_key_; }

 private:
  struct Frame {
    bool object;
    bool expect_key = true;  // objects: before a key (else: in the value of `key`)
    std::string key;
    size_t count = 0;        // arrays: elements started
  };
  void Begin() {
    if (!stack_.empty() && !stack_.back().object) ++stack_.back().count;
  }
  void End() {
    if (!stack_.empty() && stack_.back().object) stack_.back().expect_key = true;
  }
  bool Scalar() {
    Begin();
    End();
    return true;
  }
  bool Open(bool object) {
    Begin();
    stack_.push_back({object});
    return true;
  }
  bool Close() {
    stack_.pop_back();
    End();
    return true;
  }
  std::vector<Frame> stack_;
  std::string path_;
  bool in_key_ = false;
};

// Reads every field of a Cap'n Proto message that the schema knows (see ValidateCapnp).
// kj exceptions from malformed data propagate; path_ then still names where they came from.
class CapnpValidator {
 public:
  Status Run(capnp::DynamicStruct::Reader reader) {
    try {
      if (Struct(reader)) return Status::Ok();
    } catch (const kj::Exception& e) {
      error_ = SanitizeUtf8(e.getDescription().cStr());
    }
    std::string field = path_.empty() ? "<root>" : path_;
    Status s = Status::BadRequest("field \"" + field + "\": " + error_);
    s.mutable_causes().push_back({"FieldValueInvalid", error_, field});
    return s;
  }

 private:
  // Appends `part` to the path for the scope of one field.
  class Scope {
   public:
    Scope(std::string& path, const std::string& part, bool dot) : path_(path), mark_(path.size()) {
      if (dot && !path.empty() && !part.empty()) path += '.';
      path += part;
    }
    void Release() { path_.resize(mark_); }

   private:
    std::string& path_;
    size_t mark_;
  };

  bool Text(capnp::Text::Reader t) {
    if (ValidUtf8(std::string_view(t.begin(), t.size()))) return true;
    error_ = "string is not valid UTF-8";
    return false;
  }

  bool Struct(capnp::DynamicStruct::Reader reader) {
    const StructInfo& info = InfoFor(reader.getSchema());
    if (info.shape == StructShape::kMap) return Map(reader);
    bool named = info.shape == StructShape::kObject;  // wrappers and int-or-strings are one value
    kj::Maybe<capnp::StructSchema::Field> active = nullptr;
    if (info.has_union) active = reader.which();
    for (const FieldInfo& fi : info.fields) {
      if (!fi.group && !fi.pointer) continue;  // primitives cannot be malformed
      if (fi.in_union) {
        KJ_IF_MAYBE(a, active) {
          if (*a != fi.field) continue;
        } else {
          continue;
        }
      }
      if (!fi.group && !reader.has(fi.field)) continue;
      Scope scope(path_, named ? fi.json_name : "", true);
      if (!Value(reader.get(fi.field), fi.type)) return false;
      scope.Release();
    }
    return true;
  }

  bool Map(capnp::DynamicStruct::Reader reader) {
    auto entries = reader.get("entries").as<capnp::DynamicList>();
    for (uint32_t i = 0; i < entries.size(); ++i) {
      auto e = entries[i].as<capnp::DynamicStruct>();
      auto key = e.get("key").as<capnp::Text>();
      Scope scope(path_, "[" + std::to_string(i) + "]", false);
      if (!Text(key)) {
        error_ = "a key is not valid UTF-8";
        return false;
      }
      scope.Release();
      Scope named(path_, "[" + std::string(key.cStr()) + "]", false);
      if (!Text(e.get("value").as<capnp::Text>())) return false;
      named.Release();
    }
    return true;
  }

  bool Value(capnp::DynamicValue::Reader value, capnp::Type type) {
    switch (type.which()) {
      case capnp::schema::Type::TEXT:
        return Text(value.as<capnp::Text>());
      case capnp::schema::Type::DATA:
        (void)value.as<capnp::Data>();  // a list of bytes, or it throws
        return true;
      case capnp::schema::Type::STRUCT:
        return Struct(value.as<capnp::DynamicStruct>());
      case capnp::schema::Type::LIST: {
        auto list = value.as<capnp::DynamicList>();
        auto element = type.asList().getElementType();
        if (!IsPointerType(element)) return true;  // primitives: the list read checked the size
        for (uint32_t i = 0; i < list.size(); ++i) {
          Scope scope(path_, "[" + std::to_string(i) + "]", false);
          if (!Value(list[i], element)) return false;
          scope.Release();
        }
        return true;
      }
      default:  // AnyPointer and interfaces: no schema to read them by; nothing reads them
        return true;
    }
  }

  std::string path_;
  std::string error_;
};

bool NeedsQuotes(const std::string& s) {
  if (s.empty()) return true;
  Json resolved;
  if (ResolvePlainScalar(s, &resolved)) return true;
  static const char* kWords[] = {"y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
                                 "on", "On", "ON", "off", "Off", "OFF", "=", "<<"};
  for (const char* w : kWords)
    if (s == w) return true;
  if (s.front() == ' ' || s.back() == ' ' || s.back() == ':') return true;
  // Indicators are special only where a plain scalar would start with them.
  if (std::string("-?:,[]{}#&*!|>'\"%@`").find(s.front()) != std::string::npos) return true;
  if (s.find(": ") != std::string::npos || s.find(" #") != std::string::npos) return true;
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20) return true;
  return false;
}

void EmitYaml(YAML::Emitter& out, const Json& j) {
  switch (j.type()) {
    case Json::value_t::object:
      if (j.empty()) {
        out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        break;
      }
      out << YAML::BeginMap;
      for (auto it = j.begin(); it != j.end(); ++it) {
        out << YAML::Key << it.key() << YAML::Value;
        EmitYaml(out, it.value());
      }
      out << YAML::EndMap;
      break;
    case Json::value_t::array:
      if (j.empty()) {
        out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
        break;
      }
      out << YAML::BeginSeq;
      for (const auto& e : j) EmitYaml(out, e);
      out << YAML::EndSeq;
      break;
    case Json::value_t::string: {
      const std::string& s = j.get_ref<const std::string&>();
      if (s.find('\n') != std::string::npos && s.find_first_of("\t\r") == std::string::npos &&
          s.front() != ' ') {
        out << YAML::Literal << s;
      } else if (NeedsQuotes(s)) {
        out << YAML::DoubleQuoted << s;
      } else {
        out << s;
      }
      break;
    }
    case Json::value_t::null:
      out << YAML::Null;
      break;
    case Json::value_t::boolean:
      out << (j.get<bool>() ? "true" : "false");
      break;
    default:
      out << j.dump();
  }
}

}  // namespace

Json EncodeJson(capnp::DynamicStruct::Reader reader) { return EncodeStruct(reader); }

std::string DumpJson(const Json& json, int indent) {
  return json.dump(indent, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

namespace {
// The first string or key of `j` that is not well-formed UTF-8: false, with `path` naming it.
bool JsonUtf8(const Json& j, std::string& path, bool& in_key) {
  switch (j.type()) {
    case Json::value_t::string:
      return ValidUtf8(j.get_ref<const std::string&>());
    case Json::value_t::object:
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (!ValidUtf8(it.key())) {
          in_key = true;
          return false;
        }
        size_t mark = path.size();
        path += (path.empty() ? "" : ".") + it.key();
        if (!JsonUtf8(it.value(), path, in_key)) return false;
        path.resize(mark);
      }
      return true;
    case Json::value_t::array:
      for (size_t i = 0; i < j.size(); ++i) {
        size_t mark = path.size();
        path += "[" + std::to_string(i) + "]";
        if (!JsonUtf8(j[i], path, in_key)) return false;
        path.resize(mark);
      }
      return true;
    default:
      return true;
  }
}
}  // namespace

Status CheckJsonUtf8(const Json& json) {
  std::string path;
  bool in_key = false;
  if (JsonUtf8(json, path, in_key)) return Status::Ok();
  if (path.empty()) path = "<root>";
  std::string what = std::string(in_key ? "a key of " : "") + "field \"" + path + "\": string is not valid UTF-8";
  Status s = Status::BadRequest(what);
  s.mutable_causes().push_back({"FieldValueInvalid", "string is not valid UTF-8", path});
  return s;
}

Status ValidateCapnp(capnp::DynamicStruct::Reader reader) { return CapnpValidator().Run(reader); }

Status DecodeJson(const Json& json, capnp::DynamicStruct::Builder builder,
                  const DecodeOptions& options, const std::string& path) {
  Decoder decoder(options);
  CATTLE_RETURN_IF_ERROR(decoder.Struct(json, builder, path));
  if (!decoder.unknown().empty()) {
    if (options.unknown_fields == FieldValidation::kStrict) {
      std::string msg = "strict decoding error: ";
      for (size_t i = 0; i < decoder.unknown().size(); ++i) {
        if (i > 0) msg += ", ";
        msg += "unknown field \"" + decoder.unknown()[i] + "\"";
      }
      return Status::BadRequest(msg);
    }
    if (options.unknown_fields == FieldValidation::kWarn && options.warnings != nullptr) {
      for (const auto& f : decoder.unknown())
        options.warnings->push_back("unknown field \"" + f + "\"");
    }
  }
  return Status::Ok();
}

Result<Json> ParseJsonText(std::string_view text) {
  if (JsonDepth(text) > kMaxJsonDepth)
    return Status::BadRequest("json: document nested more than " +
                              std::to_string(kMaxJsonDepth) + " levels deep");
  if (size_t bad = FirstInvalidUtf8(text); bad != std::string_view::npos) {
    JsonPathSax sax;
    (void)Json::sax_parse(text.begin(), text.end(), &sax);
    std::string what = std::string(sax.in_key() ? "a key of " : "") + "field \"" + sax.path() +
                       "\": string is not valid UTF-8";
    Status s = Status::BadRequest("json: " + what + " (at byte " + std::to_string(bad) + ")");
    s.mutable_causes().push_back({"FieldValueInvalid", what, sax.path()});
    return s;
  }
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    return Status::BadRequest(std::string("json: invalid JSON at byte ") +
                              std::to_string(e.byte) + ": " + SanitizeUtf8(e.what()));
  } catch (const Json::exception& e) {  // out_of_range: a number beyond a double (5e5555)
    return Status::BadRequest(std::string("json: ") + SanitizeUtf8(e.what()));
  }
}

Result<std::vector<Json>> ParseYamlDocuments(std::string_view text, const YamlLimits& limits) {
  YamlJsonBuilder builder(limits);
  try {
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    int previous_start = -1;
    while (parser.HandleNextDocument(builder)) {
      const YAML::Mark& start = builder.document_start();
      if (start.pos == previous_start)
        return Status::BadRequest("yaml: line " + std::to_string(start.line + 1) + ", column " +
                                  std::to_string(start.column + 1) + ": did not find expected node content");
      previous_start = start.pos;
    }
  } catch (const YamlJsonBuilder::Stop& stop) {
    return stop.status;
  } catch (const YAML::Exception& e) {
    return Status::BadRequest("yaml: line " + std::to_string(e.mark.line + 1) + ", column " +
                              std::to_string(e.mark.column + 1) + ": " + SanitizeUtf8(e.msg));
  }
  return std::move(builder.documents());
}

Result<std::vector<Json>> ParseManifests(std::string_view text) {
  size_t first = text.find_first_not_of(" \t\r\n");
  std::vector<Json> docs;
  if (first != std::string_view::npos && (text[first] == '{' || text[first] == '[')) {
    auto j = ParseJsonText(text);
    if (!j.ok()) return j.status();
    if (j->is_array()) {
      for (auto& e : *j) docs.push_back(std::move(e));
    } else {
      docs.push_back(std::move(*j));
    }
  } else {
    auto parsed = ParseYamlDocuments(text);
    if (!parsed.ok()) return parsed.status();
    docs = std::move(*parsed);
  }
  std::vector<Json> out;
  for (auto& d : docs) {
    if (d.is_object() && d.value("kind", "") == "List" && d.contains("items") &&
        d["items"].is_array()) {
      for (auto& item : d["items"]) out.push_back(std::move(item));
    } else {
      out.push_back(std::move(d));
    }
  }
  return out;
}

std::string ToYaml(const Json& json) {
  YAML::Emitter out;
  out.SetIndent(2);
  out.SetSeqFormat(YAML::Block);
  out.SetMapFormat(YAML::Block);
  EmitYaml(out, json);
  std::string s = out.c_str();
  if (s.empty() || s.back() != '\n') s += '\n';
  return s;
}

}  // namespace cattle
