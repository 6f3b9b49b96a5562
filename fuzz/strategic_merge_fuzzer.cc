// Strategic merge patch (lib/cattle/strategic_merge.*): StrategicMergePatch of a patch
// onto an original object of a kind's schema, and the two-way diff
// CreateStrategicMergePatch between the original and the result.
//
// Input: "<kind name>\n<original JSON>\n---\n<patch JSON>" (an unknown kind name picks a
// kind by hash; a missing original is null).
// Every error must come back as a Status: this target catches no exception.
// Invariant: the diff of the original and a patch's result is accepted by
// StrategicMergePatch (applied to the original).
#include "cattle/strategic_merge.h"

#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cattle;
  std::string_view rest = fuzz::AsView(data, size);
  const KindInfo* kind = fuzz::PickKind(fuzz::TakeLine(&rest));
  auto [original_text, patch_text] = fuzz::SplitDocuments(rest);
  Json original;  // null
  if (!original_text.empty()) {
    auto parsed = fuzz::ParseJson(original_text);
    if (!parsed) return 0;
    original = std::move(*parsed);
  }
  auto patch = fuzz::ParseJson(patch_text);
  if (!patch) return 0;
  auto result = StrategicMergePatch(original, *patch, kind->schema);
  if (!result.ok()) {
    (void)CreateStrategicMergePatch(original, *patch, kind->schema);
    return 0;
  }
  (void)result->dump();
  if (!original.is_object()) return 0;
  auto diff = CreateStrategicMergePatch(original, *result, kind->schema);
  if (!diff.ok()) return 0;
  auto reapplied = StrategicMergePatch(original, *diff, kind->schema);
  fuzz::Check(reapplied.ok(), "CreateStrategicMergePatch() output applies");
  return 0;
}
