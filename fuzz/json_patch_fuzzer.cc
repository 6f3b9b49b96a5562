// JSON patch and JSON merge patch (lib/cattle/json_patch.*): ApplyJsonPatch of a list of
// operations onto a document, MergePatch of the second document onto the first, and the
// diff CreateMergePatch.
//
// Input: "<document JSON>\n---\n<patch JSON>".
// Every error must come back as a Status: this target catches no exception.
// Invariant: MergePatch(a, CreateMergePatch(a, b)) == b for b = MergePatch(a, patch), when
// b has no null member inside objects (RFC 7386 cannot express those).
#include "cattle/json_patch.h"

#include "fuzz_util.h"

namespace {

// A null reachable from the root through objects only (arrays are replaced whole).
bool HasNullMember(const nlohmann::json& j) {
  if (!j.is_object()) return false;
  for (const auto& [k, v] : j.items())
    if (v.is_null() || HasNullMember(v)) return true;
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cattle;
  auto [doc_text, patch_text] = fuzz::SplitDocuments(fuzz::AsView(data, size));
  auto doc = fuzz::ParseJson(doc_text);
  auto patch = fuzz::ParseJson(patch_text);
  if (!doc || !patch) return 0;
  auto applied = ApplyJsonPatch(*doc, *patch);
  if (applied.ok()) (void)applied->dump();
  nlohmann::json merged = MergePatch(*doc, *patch);
  nlohmann::json diff = CreateMergePatch(*doc, merged);
  if (!HasNullMember(merged))
    fuzz::Check(MergePatch(*doc, diff) == merged, "MergePatch(a, CreateMergePatch(a, b)) == b");
  (void)CreateMergePatch(*patch, *doc);
  return 0;
}
