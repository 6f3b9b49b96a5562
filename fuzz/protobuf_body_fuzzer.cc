// Kubernetes protobuf request bodies (apiserver/protobuf_body.*): DecodeKubernetesProtobuf,
// then, as the REST layer does, the JSON it returns through Object::FromJson.
//
// Input: the body as sent (magic "k8s\0", then a runtime.Unknown).
// The decoder's JSON is dumped as the REST layer would print it (dump() throws on invalid
// UTF-8: a caught exception, reported under CATTLE_FUZZ_STRICT=1).
#include "apiserver/protobuf_body.h"

#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cattle;
  fuzz::TolerateExceptions([&] {
    auto json = apiserver::DecodeKubernetesProtobuf(fuzz::AsView(data, size));
    if (!json.ok()) return;
    (void)json->dump();
    auto obj = Object::FromJson(KindRegistry::Default(), *json, {FieldValidation::kStrict});
    if (obj.ok()) (void)obj->ToBytes();
  });
  return 0;
}
