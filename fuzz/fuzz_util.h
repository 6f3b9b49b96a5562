// Helpers shared by the libFuzzer targets in fuzz/ (one target per *_fuzzer.cc).
//
// What counts as a crash: an abort, a sanitizer report (ASan, UBSan), a timeout or running
// out of memory. An exception thrown by code that owns an exception boundary elsewhere
// (codec, object, protobuf body decoding) and caught by the target is not a crash; set
// CATTLE_FUZZ_STRICT=1 to make such targets rethrow it, which finds inputs that throw.
// Targets for code that reports every error as a Status (patches, selectors, quantities)
// never catch: an exception escaping from them is a bug.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "cattle/object.h"

namespace cattle::fuzz {

inline std::string_view AsView(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

// True when CATTLE_FUZZ_STRICT=1: caught exceptions are rethrown (and so reported).
inline bool Strict() {
  static const bool strict = [] {
    const char* v = std::getenv("CATTLE_FUZZ_STRICT");
    return v != nullptr && std::string_view(v) == "1";
  }();
  return strict;
}

// Runs `body`; a std::exception or kj::Exception it throws is swallowed unless Strict().
template <typename F>
void TolerateExceptions(F&& body) {
  try {
    body();
  } catch (...) {
    if (Strict()) throw;
  }
}

// ParseJsonText, for targets whose subject is not the parser: nullopt on malformed text.
// ParseJsonText lets nlohmann's out_of_range escape for a number it cannot hold
// ("5e5555"; saved in fuzz/corpus/crashes/json_patch/): that is the codec's to fix, so it
// counts as malformed here too unless Strict().
inline std::optional<Json> ParseJson(std::string_view text) {
  try {
    auto json = ParseJsonText(text);
    if (!json.ok()) return std::nullopt;
    return std::move(*json);
  } catch (const Json::exception&) {
    if (Strict()) throw;
    return std::nullopt;
  }
}

// Splits off the first line: returns it and leaves the rest in *rest. Inputs of the
// two-part targets are "<first line>\n<rest>".
inline std::string_view TakeLine(std::string_view* rest) {
  size_t nl = rest->find('\n');
  std::string_view line = rest->substr(0, nl);
  *rest = nl == std::string_view::npos ? std::string_view() : rest->substr(nl + 1);
  return line;
}

// Splits `text` at the first line that is exactly "---" (the separator of two-document
// inputs); `second` is empty when there is none.
inline std::pair<std::string_view, std::string_view> SplitDocuments(std::string_view text) {
  if (text.substr(0, 4) == "---\n") return {std::string_view(), text.substr(4)};
  size_t at = text.find("\n---\n");
  if (at == std::string_view::npos) return {text, std::string_view()};
  return {text.substr(0, at), text.substr(at + 5)};
}

// The kind named `name` (a kind like "Deployment", or a body kind like "Scale"); any other
// name picks a kind by its hash, so every input maps to some kind.
inline const KindInfo* PickKind(std::string_view name) {
  const KindRegistry& kinds = KindRegistry::Default();
  for (const auto& k : kinds.kinds())
    if (k.kind == name) return &k;
  if (const KindInfo* body = kinds.BodyKind(name)) return body;
  size_t h = std::hash<std::string_view>()(name);
  return &kinds.kinds()[h % kinds.kinds().size()];
}

// Whether every string in `json` is valid UTF-8 (what dump() requires).
inline bool ValidUtf8(const Json& json) {
  try {
    (void)json.dump();
    return true;
  } catch (const Json::exception&) {
    return false;
  }
}

// Aborts with `what` when `ok` is false: a broken invariant is a crash like any other.
inline void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
    std::abort();
  }
}

}  // namespace cattle::fuzz
