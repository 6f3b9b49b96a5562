// Object bodies in binary Cap'n Proto, as the apiserver receives them in a request's body
// and reads them back from its store: Object::FromBytes, then everything done with a
// decoded object (ToJson and its text, ToBytes, Clone, metadata), then the JSON back
// through Object::FromJson.
//
// Input: one byte choosing the kind (an index into the compiled kinds, then the body
// kinds), then the message's bytes.
// Invariant: an object decoded from bytes re-encodes to bytes that decode again, to the
// same bytes.


#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cattle;
  if (size < 1) return 0;
  const KindRegistry& kinds = KindRegistry::Default();
  static const char* const kBodies[] = {"Binding", "Scale", "Eviction", "DeleteOptions"};
  const size_t n = kinds.kinds().size() + std::size(kBodies);
  const size_t pick = data[0] % n;
  const KindInfo* kind = pick < kinds.kinds().size() ? &kinds.kinds()[pick]
                                                     : kinds.BodyKind(kBodies[pick - kinds.kinds().size()]);
  std::string_view body = fuzz::AsView(data + 1, size - 1);
  auto obj = Object::FromBytes(kind, body, 42);
  if (!obj.ok()) return 0;
  fuzz::TolerateExceptions([&] {
    std::string bytes = obj->ToBytes();
    auto again = Object::FromBytes(kind, bytes);
    fuzz::Check(again.ok(), "ToBytes() of a decoded object decodes");
    fuzz::Check(again->ToBytes() == bytes, "ToBytes() is stable");
    Object copy = obj->Clone();
    (void)copy.Key();
    (void)copy.resource_version();
    Json json = obj->ToJson();
    std::string text = json.dump();
    (void)ToYaml(json);
    auto parsed = ParseJsonText(text);
    if (parsed.ok()) (void)Object::FromJson(kinds, *parsed, {}, kind);
  });
  return 0;
}
