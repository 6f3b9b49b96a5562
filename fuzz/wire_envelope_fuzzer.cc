// The ZeroMQ framing: wire_util::Decoded::Parse on arbitrary bytes, then every field of the
// envelope read as the apiserver (a request) and the client (a response or a watch event)
// read them, including the objects inside, decoded with Object::FromBytes.
//
// Reading a field of a parsed message may throw kj::Exception (Cap'n Proto validates
// pointers lazily); the server and the client catch it, and so does this target.
#include <kj/exception.h>

#include "cattle/wire.h"
#include "fuzz_util.h"

namespace cattle::fuzz {
namespace {

void Body(const KindInfo* kind, capnp::Data::Reader data) {
  if (kind == nullptr) kind = PickKind("");
  auto obj = Object::FromBytes(kind, wire_util::ToString(data), 7);
  if (obj.ok()) (void)obj->ToBytes();
}

void Item(std::string_view kind_name, wire::Item::Reader item) {
  const KindInfo* kind = nullptr;
  for (const auto& k : KindRegistry::Default().kinds())
    if (k.kind == kind_name) kind = &k;
  if (item.hasObject()) Body(kind, item.getObject());
  (void)item.getRevision();
}

void Read(wire::Envelope::Reader env) {
  const KindRegistry& kinds = KindRegistry::Default();
  switch (env.which()) {
    case wire::Envelope::REQUEST: {
      auto r = env.getRequest();
      (void)r.getId();
      (void)r.getVerb();
      std::string text = std::string(r.getGroup().cStr()) + r.getResource().cStr() +
                         r.getSubresource().cStr() + r.getNamespace().cStr() + r.getName().cStr() +
                         r.getPatch().cStr() + r.getPatchType().cStr() + r.getLabelSelector().cStr() +
                         r.getFieldSelector().cStr() + r.getResourceVersion().cStr() +
                         r.getContinue().cStr() + r.getPreconditionUid().cStr() +
                         r.getPreconditionResourceVersion().cStr() + r.getPropagationPolicy().cStr() +
                         r.getFieldValidation().cStr() + r.getFieldManager().cStr();
      (void)text;
      (void)r.getLimit();
      (void)r.getWatchId();
      (void)r.getGracePeriodSeconds();
      (void)r.getHasGracePeriodSeconds();
      (void)r.getDryRun();
      (void)r.getAllowWatchBookmarks();
      (void)r.getForce();
      const KindInfo* kind = kinds.ByGroupResource(r.getGroup().cStr(), r.getResource().cStr());
      if (r.hasBody()) Body(kind, r.getBody());
      auto bodies = r.getBodies();
      for (size_t i = 0; i < bodies.size() && i < 16; ++i) Body(kind, bodies[i]);
      break;
    }
    case wire::Envelope::RESPONSE: {
      auto r = env.getResponse();
      (void)r.getId();
      if (r.hasStatus()) (void)wire_util::GetStatus(r.getStatus()).ToString();
      std::string kind = r.getKind().cStr();
      if (r.hasItem()) Item(kind, r.getItem());
      auto items = r.getItems();
      for (size_t i = 0; i < items.size() && i < 16; ++i) Item(kind, items[i]);
      (void)r.getResourceVersion().cStr();
      (void)r.getContinue().cStr();
      (void)r.getRemainingItemCount();
      for (auto w : r.getWarnings()) (void)std::string(w.cStr());
      for (auto res : r.getResults()) {
        if (res.hasStatus()) (void)wire_util::GetStatus(res.getStatus());
        (void)res.getRevision();
      }
      break;
    }
    case wire::Envelope::WATCH_EVENT: {
      auto w = env.getWatchEvent();
      (void)w.getWatchId();
      (void)w.getSeq();
      (void)std::string(w.getType().cStr());
      if (w.hasItem()) Item("", w.getItem());
      if (w.hasError()) (void)wire_util::GetStatus(w.getError());
      break;
    }
    default:
      break;
  }
}

}  // namespace
}  // namespace cattle::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cattle;
  auto decoded = wire_util::Decoded::Parse(fuzz::AsView(data, size));
  if (!decoded.ok()) return 0;
  fuzz::TolerateExceptions([&] {
    try {
      fuzz::Read((*decoded)->envelope());
    } catch (const kj::Exception&) {
      // Malformed pointers inside a valid root: what the server answers BadRequest.
    }
  });
  return 0;
}
