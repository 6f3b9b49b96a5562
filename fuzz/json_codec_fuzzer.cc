// Kubernetes JSON bodies: ParseJsonText, then Object::FromJson (the kind from apiVersion
// and kind, or the kind the input's first line names, as for a request to a resource's
// URL), under each field-validation mode, then ToJson/ToBytes of the result.
//
// Input: "<kind name>\n<JSON text>" (an unknown name picks a kind by hash; an empty first
// line lets the document name its kind).
// Invariants: the decoded object's bytes decode again; its JSON decodes again (strictly)
// to the same bytes.
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cattle;
  std::string_view rest = fuzz::AsView(data, size);
  std::string_view name = fuzz::TakeLine(&rest);
  const KindInfo* expected = name.empty() ? nullptr : fuzz::PickKind(name);
  fuzz::TolerateExceptions([&] {
    auto json = ParseJsonText(rest);
    if (!json.ok()) return;
    const KindRegistry& kinds = KindRegistry::Default();
    std::vector<std::string> warnings;
    DecodeOptions warn{FieldValidation::kWarn, &warnings};
    (void)Object::FromJson(kinds, *json, {FieldValidation::kStrict}, expected);
    (void)Object::FromJson(kinds, *json, warn, expected);
    auto obj = Object::FromJson(kinds, *json, {FieldValidation::kIgnore}, expected);
    if (!obj.ok()) return;
    std::string bytes = obj->ToBytes();
    auto again = Object::FromBytes(obj->kind(), bytes);
    fuzz::Check(again.ok(), "ToBytes() of a JSON-decoded object decodes");
    Json out = obj->ToJson();
    auto round = Object::FromJson(kinds, out, {FieldValidation::kStrict}, obj->kind());
    fuzz::Check(round.ok(), "ToJson() of a decoded object decodes strictly");
    fuzz::Check(round->ToBytes() == bytes, "JSON round trip keeps the object");
    (void)out.dump();
  });
  return 0;
}
