// YAML and manifest streams: ParseYamlDocuments and ParseManifests (YAML to JSON, List
// expansion), each document through Object::FromJson, and ToYaml of every document.
//
// Input: the YAML (or JSON) text.
// Invariant: ToYaml of a parsed document (with valid UTF-8) parses back to the same JSON.
#include <cmath>

#include "fuzz_util.h"
#include "yaml_guard.h"

namespace {

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
        // Invalid UTF-8 and numbers beyond a double ("1.5e312" becomes +Inf, which JSON
        // cannot hold) are the codec's to reject (reported, not checked here).
        if ((!fuzz::ValidUtf8(doc) || HasNonFinite(doc)) && !fuzz::Strict()) continue;
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
