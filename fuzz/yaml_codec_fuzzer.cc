// YAML and manifest streams: ParseYamlDocuments and ParseManifests (YAML to JSON, List
// expansion), each document through Object::FromJson, and ToYaml of every document.
//
// Input: the YAML (or JSON) text.
// Invariant: ToYaml of a parsed document (with valid UTF-8) parses back to the same JSON.
#include <cmath>

#include "fuzz_util.h"
#include "yaml_guard.h"

namespace {

// Unicode noncharacters (U+FDD0..U+FDEF, U+FFFE, U+FFFF): ToYaml() writes U+FFFD for them
// (a document read as UTF-16 may hold them).
bool HasNoncharacter(const cattle::Json& j) {
  std::string text = j.dump();
  for (size_t i = 0; i + 2 < text.size(); ++i) {
    auto b = [&](size_t k) { return static_cast<unsigned char>(text[i + k]); };
    if (b(0) == 0xEF && b(1) == 0xBF && (b(2) == 0xBE || b(2) == 0xBF)) return true;
    if (b(0) == 0xEF && b(1) == 0xB7 && b(2) >= 0x90 && b(2) <= 0xAF) return true;
  }
  return false;
}

// A multi-line string that does not end in exactly one newline: ToYaml() prints it as a
// literal block ("|") without a chomping indicator, which reads back with one newline at
// the end ("x\ny" comes back as "x\ny\n"; reported).
bool HasUnchompedMultiline(const cattle::Json& j) {
  if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    if (s.find('\n') == std::string::npos) return false;
    return s.back() != '\n' || (s.size() >= 2 && s[s.size() - 2] == '\n');
  }
  if (j.is_structured())
    for (const auto& [k, v] : j.items())
      if (HasUnchompedMultiline(v)) return true;
  return false;
}

bool HasNonFinite(const cattle::Json& j) {
  if (j.is_number_float()) return !std::isfinite(j.get<double>());
  if (j.is_structured())
    for (const auto& [k, v] : j.items())
      if (HasNonFinite(v)) return true;
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cattle;
  std::string_view text = fuzz::AsView(data, size);
  if (!fuzz::Strict() && !fuzz::YamlDocumentsAdvance(text)) return 0;  // see yaml_guard.h
  fuzz::TolerateExceptions([&] {
    auto docs = ParseYamlDocuments(text);
    if (docs.ok()) {
      for (const Json& doc : *docs) {
        // Invalid UTF-8, noncharacters, unchomped multi-line strings and numbers beyond a
        // double ("1.5e312" becomes +Inf, which JSON cannot hold) are the codec's to fix
        // (reported, not checked here).
        if (!fuzz::Strict() && (!fuzz::ValidUtf8(doc) || HasNonFinite(doc) || HasNoncharacter(doc) ||
                                HasUnchompedMultiline(doc)))
          continue;
        std::string yaml = ToYaml(doc);
        auto back = ParseYamlDocuments(yaml);
        fuzz::Check(back.ok(), "ToYaml() output parses");
        fuzz::Check(back->size() == 1 && (*back)[0] == doc, "ToYaml() round trip keeps the document");
      }
    }
    auto manifests = ParseManifests(text);
    if (!manifests.ok()) return;
    for (const Json& m : *manifests) {
      auto obj = Object::FromJson(KindRegistry::Default(), m, {FieldValidation::kIgnore});
      if (obj.ok()) (void)ToYaml(obj->ToJson());
    }
  });
  return 0;
}
