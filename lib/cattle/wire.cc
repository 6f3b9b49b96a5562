#include "cattle/wire.h"

#include <cstring>

namespace cattle::wire_util {

Result<std::unique_ptr<Decoded>> Decoded::Parse(std::string_view bytes) {
  if (bytes.size() > kMaxRequestBytes)
    return Status::TooLarge("message of " + std::to_string(bytes.size()) +
                            " bytes exceeds the limit of " + std::to_string(kMaxRequestBytes));
  if (bytes.empty() || bytes.size() % sizeof(capnp::word) != 0)
    return Status::BadRequest("malformed message: " + std::to_string(bytes.size()) +
                              " bytes is not a whole number of 8-byte words");
  auto d = std::unique_ptr<Decoded>(new Decoded());
  d->words_ = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
  memcpy(d->words_.begin(), bytes.data(), bytes.size());
  try {
    capnp::ReaderOptions options;
    options.traversalLimitInWords = bytes.size() / sizeof(capnp::word) * 4 + 1024;
    options.nestingLimit = 32;
    d->reader_ = std::make_unique<capnp::FlatArrayMessageReader>(d->words_.asPtr(), options);
    d->envelope_ = d->reader_->getRoot<wire::Envelope>();
    // Touch the union so a broken root pointer fails here, not later.
    (void)d->envelope_.which();
    switch (d->envelope_.which()) {
      case wire::Envelope::REQUEST: {
        auto r = d->envelope_.getRequest();
        (void)r.getResource();
        (void)r.getBody();
        break;
      }
      default:
        break;
    }
  } catch (const kj::Exception& e) {
    return Status::BadRequest(std::string("malformed message: ") + e.getDescription().cStr());
  }
  return d;
}

std::string Serialize(capnp::MessageBuilder& message) {
  auto words = capnp::messageToFlatArray(message);
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

void SetStatus(wire::Status::Builder b, const Status& s) {
  b.setReason(ReasonName(s.reason()));
  b.setMessage(s.message());
  auto causes = b.initCauses(s.causes().size());
  for (size_t i = 0; i < s.causes().size(); ++i) {
    causes[i].setType(s.causes()[i].type);
    causes[i].setMessage(s.causes()[i].message);
    causes[i].setField(s.causes()[i].field);
  }
}

Status GetStatus(wire::Status::Reader r) {
  Status s(ReasonFromName(r.getReason().cStr()), r.getMessage().cStr());
  for (auto c : r.getCauses())
    s.mutable_causes().push_back({c.getType().cStr(), c.getMessage().cStr(), c.getField().cStr()});
  return s;
}

}  // namespace cattle::wire_util
