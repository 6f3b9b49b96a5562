#include "cattle/json_patch.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cattle {

using nlohmann::json;

namespace {

// Go's name for a JSON value's kind in encoding/json errors.
const char* GoJsonKind(const json& v) {
  switch (v.type()) {
    case json::value_t::object: return "object";
    case json::value_t::array: return "array";
    case json::value_t::string: return "string";
    case json::value_t::boolean: return "bool";
    case json::value_t::null: return "null";
    default: return "number";
  }
}

// An operation failure: the message, reported as Invalid.
struct OpError {
  std::string message;
};

// RFC 6901: "" is the root; otherwise '/'-separated tokens with ~1 -> '/', ~0 -> '~'.
std::optional<std::vector<std::string>> ParsePointer(const std::string& pointer,
                                                     std::string* error) {
  std::vector<std::string> tokens;
  if (pointer.empty()) return tokens;
  if (pointer[0] != '/') {
    *error = "invalid JSON pointer \"" + pointer + "\": must be empty or begin with '/'";
    return std::nullopt;
  }
  std::string token;
  for (size_t i = 1; i <= pointer.size(); ++i) {
    if (i == pointer.size() || pointer[i] == '/') {
      tokens.push_back(std::move(token));
      token.clear();
      continue;
    }
    if (pointer[i] == '~') {
      if (i + 1 < pointer.size() && (pointer[i + 1] == '0' || pointer[i + 1] == '1')) {
        token.push_back(pointer[i + 1] == '0' ? '~' : '/');
        ++i;
        continue;
      }
      *error = "invalid JSON pointer \"" + pointer + "\": '~' must be followed by '0' or '1'";
      return std::nullopt;
    }
    token.push_back(pointer[i]);
  }
  return tokens;
}

// RFC 6901 array index: "0" or [1-9][0-9]*, parsed into *index (saturating).
bool ParseArrayIndex(const std::string& token, size_t* index) {
  if (token.empty() || token.size() > 18) return false;
  if (token.size() > 1 && token[0] == '0') return false;
  size_t v = 0;
  for (char c : token) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<size_t>(c - '0');
  }
  *index = v;
  return true;
}

// The child `token` of `node`, or nullptr if absent (or `node` is a scalar).
json* Child(json* node, const std::string& token) {
  if (node->is_object()) {
    auto it = node->find(token);
    return it == node->end() ? nullptr : &*it;
  }
  if (node->is_array()) {
    size_t index;
    if (!ParseArrayIndex(token, &index) || index >= node->size()) return nullptr;
    return &(*node)[index];
  }
  return nullptr;
}

// The container holding the pointer's last token, or nullptr if some ancestor is
// missing or a scalar. `tokens` must be non-empty.
json* Parent(json* root, const std::vector<std::string>& tokens) {
  json* node = root;
  for (size_t i = 0; i + 1 < tokens.size(); ++i) {
    node = Child(node, tokens[i]);
    if (node == nullptr) return nullptr;
  }
  return (node->is_object() || node->is_array()) ? node : nullptr;
}

std::string InvalidIndex(const std::string& token) {
  return "Unable to access invalid index: " + token + ": invalid index referenced";
}

// Reads a string member of an operation: nullopt if absent/null, or sets *type_error.
std::optional<std::string> StringMember(const json& op, const char* name, bool* type_error) {
  *type_error = false;
  auto it = op.find(name);
  if (it == op.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) {
    *type_error = true;
    return std::nullopt;
  }
  return it->get<std::string>();
}

class Patcher {
 public:
  explicit Patcher(json doc) : doc_(std::move(doc)) {}

  std::optional<OpError> Apply(const json& op) {
    std::string kind = "unknown";
    if (op.is_object()) {
      auto it = op.find("op");
      if (it != op.end() && it->is_string()) kind = it->get<std::string>();
    }
    if (kind == "add") return Add(op);
    if (kind == "remove") return Remove(op);
    if (kind == "replace") return Replace(op);
    if (kind == "move") return Move(op);
    if (kind == "copy") return Copy(op);
    if (kind == "test") return Test(op);
    return OpError{"Unexpected kind: " + kind};
  }

  json& doc() { return doc_; }

 private:
  // Decodes the "path" (or "from") member into tokens, or fails with an OpError.
  std::optional<OpError> Decode(const json& op, const char* member, const std::string& kind,
                                std::string* raw, std::vector<std::string>* tokens) {
    bool type_error;
    std::optional<std::string> s = StringMember(op, member, &type_error);
    const bool is_from = std::string_view(member) == "from";
    if (!s.has_value()) {
      std::string why;
      if (type_error) {
        why = std::string("json: cannot unmarshal ") + GoJsonKind(op.at(member)) +
              " into Go value of type string";
      } else {
        why = is_from ? "operation, missing from field: missing value"
                      : "operation missing path field: missing value";
      }
      return OpError{kind + " operation failed to decode " + (is_from ? "from" : "path") +
                     ": " + why};
    }
    *raw = *s;
    std::string error;
    std::optional<std::vector<std::string>> parsed = ParsePointer(*s, &error);
    if (!parsed.has_value()) return OpError{kind + " operation failed: " + error};
    *tokens = std::move(*parsed);
    return std::nullopt;
  }

  static std::optional<OpError> RequireValue(const json& op, const std::string& kind) {
    if (op.find("value") == op.end()) {
      return OpError{kind + " operation failed to decode value: operation, missing value "
                            "field: missing value"};
    }
    return std::nullopt;
  }

  // Inserts `value` at the pointer (RFC "add" semantics): `missing_message` when the
  // parent does not exist, `error_prefix` + detail for a bad array index.
  std::optional<OpError> Insert(const std::vector<std::string>& tokens, json value,
                                const std::string& missing_message,
                                const std::string& error_prefix) {
    if (tokens.empty()) {
      doc_ = std::move(value);
      return std::nullopt;
    }
    json* parent = Parent(&doc_, tokens);
    if (parent == nullptr) return OpError{missing_message};
    const std::string& key = tokens.back();
    if (parent->is_object()) {
      (*parent)[key] = std::move(value);
      return std::nullopt;
    }
    if (key == "-") {
      parent->push_back(std::move(value));
      return std::nullopt;
    }
    size_t index;
    if (!ParseArrayIndex(key, &index)) {
      return OpError{error_prefix + "value was not a proper array index: '" + key + "'"};
    }
    if (index > parent->size()) return OpError{error_prefix + InvalidIndex(key)};
    parent->insert(parent->begin() + static_cast<std::ptrdiff_t>(index), std::move(value));
    return std::nullopt;
  }

  std::optional<OpError> Add(const json& op) {
    std::string raw;
    std::vector<std::string> tokens;
    if (auto e = Decode(op, "path", "add", &raw, &tokens)) return e;
    if (auto e = RequireValue(op, "add")) return e;
    return Insert(tokens, op.at("value"),
                  "add operation does not apply: doc is missing path: \"" + raw +
                      "\": missing value",
                  "error in add for path: '" + raw + "': ");
  }

  // Removes the pointer's target into *removed (when non-null).
  std::optional<OpError> Erase(const std::vector<std::string>& tokens, const std::string& raw,
                               const std::string& kind, json* removed) {
    if (tokens.empty()) {
      return OpError{kind + " operation does not apply: doc is missing path: \"\": missing "
                            "value"};
    }
    json* parent = Parent(&doc_, tokens);
    if (parent == nullptr) {
      return OpError{kind + " operation does not apply: doc is missing path: \"" + raw +
                     "\": missing value"};
    }
    const std::string& key = tokens.back();
    const std::string prefix = "error in " + kind + " for path: '" + raw + "': ";
    if (parent->is_object()) {
      auto it = parent->find(key);
      if (it == parent->end()) {
        return OpError{prefix + "Unable to remove nonexistent key: " + key + ": missing value"};
      }
      if (removed != nullptr) *removed = std::move(*it);
      parent->erase(it);
      return std::nullopt;
    }
    size_t index;
    if (!ParseArrayIndex(key, &index)) {
      return OpError{prefix + "value was not a proper array index: '" + key + "'"};
    }
    if (index >= parent->size()) return OpError{prefix + InvalidIndex(key)};
    if (removed != nullptr) *removed = std::move((*parent)[index]);
    parent->erase(index);
    return std::nullopt;
  }

  std::optional<OpError> Remove(const json& op) {
    std::string raw;
    std::vector<std::string> tokens;
    if (auto e = Decode(op, "path", "remove", &raw, &tokens)) return e;
    return Erase(tokens, raw, "remove", nullptr);
  }

  std::optional<OpError> Replace(const json& op) {
    std::string raw;
    std::vector<std::string> tokens;
    if (auto e = Decode(op, "path", "replace", &raw, &tokens)) return e;
    if (auto e = RequireValue(op, "replace")) return e;
    if (tokens.empty()) {
      doc_ = op.at("value");
      return std::nullopt;
    }
    json* parent = Parent(&doc_, tokens);
    if (parent == nullptr) {
      return OpError{"replace operation does not apply: doc is missing path: " + raw +
                     ": missing value"};
    }
    json* target = Child(parent, tokens.back());
    if (target == nullptr) {
      return OpError{"replace operation does not apply: doc is missing key: " + raw +
                     ": missing value"};
    }
    *target = op.at("value");
    return std::nullopt;
  }

  // Looks up the value at a pointer, or nullptr.
  json* Get(const std::vector<std::string>& tokens) {
    if (tokens.empty()) return &doc_;
    json* parent = Parent(&doc_, tokens);
    return parent == nullptr ? nullptr : Child(parent, tokens.back());
  }

  std::optional<OpError> Move(const json& op) {
    std::string from_raw, path_raw;
    std::vector<std::string> from, path;
    if (auto e = Decode(op, "from", "move", &from_raw, &from)) return e;
    if (auto e = Decode(op, "path", "move", &path_raw, &path)) return e;
    if (Get(from) == nullptr) {
      return OpError{"move operation does not apply: doc is missing from path: " + from_raw +
                     ": missing value"};
    }
    if (from == path) return std::nullopt;
    if (from.size() < path.size() && std::equal(from.begin(), from.end(), path.begin())) {
      return OpError{"move operation does not apply: from path " + from_raw +
                     " is a prefix of destination path " + path_raw};
    }
    // RFC 6902: a remove at "from" followed by an add at "path" (indices shift).
    json value;
    if (auto e = Erase(from, from_raw, "move", &value)) return e;
    return Insert(path, std::move(value),
                  "move operation does not apply: doc is missing destination path: " +
                      path_raw + ": missing value",
                  "error in move for path: '" + path_raw + "': ");
  }

  std::optional<OpError> Copy(const json& op) {
    std::string from_raw, path_raw;
    std::vector<std::string> from, path;
    if (auto e = Decode(op, "from", "copy", &from_raw, &from)) return e;
    json* source = Get(from);
    if (source == nullptr) {
      return OpError{"copy operation does not apply: doc is missing from path: " + from_raw +
                     ": missing value"};
    }
    json value = *source;  // deep copy before the document changes
    if (auto e = Decode(op, "path", "copy", &path_raw, &path)) return e;
    return Insert(path, std::move(value),
                  "copy operation does not apply: doc is missing destination path: " +
                      path_raw + ": missing value",
                  "error while adding value during copy: ");
  }

  std::optional<OpError> Test(const json& op) {
    std::string raw;
    std::vector<std::string> tokens;
    if (auto e = Decode(op, "path", "test", &raw, &tokens)) return e;
    if (auto e = RequireValue(op, "test")) return e;
    json* target = Get(tokens);
    if (target == nullptr) {
      return OpError{"test operation does not apply: is missing path: " + raw +
                     ": missing value"};
    }
    if (*target != op.at("value")) return OpError{"testing value " + raw + " failed: test failed"};
    return std::nullopt;
  }

  json doc_;
};

void DiffInto(const json& original, const json& modified, json* patch) {
  for (const auto& [key, value] : original.items()) {
    if (!modified.contains(key)) (*patch)[key] = nullptr;
  }
  for (const auto& [key, value] : modified.items()) {
    auto it = original.find(key);
    if (it == original.end()) {
      (*patch)[key] = value;
    } else if (*it != value) {
      if (it->is_object() && value.is_object()) {
        json sub = json::object();
        DiffInto(*it, value, &sub);
        (*patch)[key] = std::move(sub);
      } else {
        (*patch)[key] = value;
      }
    }
  }
}

}  // namespace

json MergePatch(const json& target, const json& patch) {
  if (!patch.is_object()) return patch;
  json result = target.is_object() ? target : json::object();
  for (const auto& [key, value] : patch.items()) {
    if (value.is_null()) {
      result.erase(key);
    } else {
      auto it = result.find(key);
      result[key] = MergePatch(it == result.end() ? json() : *it, value);
    }
  }
  return result;
}

Result<json> ApplyJsonPatch(const json& doc, const json& ops) {
  if (ops.is_null()) return doc;
  if (!ops.is_array()) {
    return Status::BadRequest(std::string("json: cannot unmarshal ") + GoJsonKind(ops) +
                              " into Go value of type jsonpatch.Patch");
  }
  for (const json& op : ops) {
    if (!op.is_object() && !op.is_null()) {
      return Status::BadRequest(std::string("json: cannot unmarshal ") + GoJsonKind(op) +
                                " into Go value of type jsonpatch.Operation");
    }
  }
  Patcher patcher(doc);
  for (const json& op : ops) {
    if (std::optional<OpError> e = patcher.Apply(op)) return Status::Invalid(e->message);
  }
  return std::move(patcher.doc());
}

json CreateMergePatch(const json& original, const json& modified) {
  if (!original.is_object() || !modified.is_object()) return modified;
  json patch = json::object();
  DiffInto(original, modified, &patch);
  return patch;
}

}  // namespace cattle
