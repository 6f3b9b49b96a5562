// Object bodies in binary Cap'n Proto, as the apiserver receives them in a request's body
// and reads them back from its store: Object::FromBytes, then everything done with a
// decoded object (ToJson and its text, ToBytes, Clone, metadata), then the JSON back
// through Object::FromJson.
//
// Input: one byte choosing the kind (an index into the compiled kinds, then the body
// kinds), then the message's bytes.
// Invariant: an object decoded from bytes re-encodes to bytes that decode again, to the
// same bytes.
#include <capnp/serialize.h>

#include <cstring>

#include "fuzz_util.h"

namespace {

// Whether the message reads within a traversal limit proportional to its size (4 words
// read per word sent, wire_util::Decoded::Parse's rule for envelopes). Object::FromBytes
// allows 8 Mi words whatever the size, and since Cap'n Proto counts each element of a list
// of zero-sized structs as one word, 1.4 KB can hold a Pod with 385,000 empty containers,
// which ToJson() then takes seconds to print (saved under fuzz/corpus/crashes/capnp_body/).
// Until FromBytes bounds that, this target skips such inputs unless CATTLE_FUZZ_STRICT=1.
bool Proportional(const cattle::KindInfo* kind, std::string_view bytes) {
  if (cattle::fuzz::Strict()) return true;
  kj::Array<capnp::word> words = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
  memcpy(words.begin(), bytes.data(), words.size() * sizeof(capnp::word));
  capnp::ReaderOptions options;
  options.traversalLimitInWords = words.size() * 4 + 1024;
  try {
    capnp::FlatArrayMessageReader reader(words, options);
    capnp::MallocMessageBuilder copy;
    copy.setRoot(reader.getRoot<capnp::DynamicStruct>(kind->schema));
    return true;
  } catch (const kj::Exception&) {
    return false;
  }
}

}  // namespace

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
  if (!obj.ok() || !Proportional(kind, body)) return 0;
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
