// Framing of the apiserver's ZeroMQ protocol (api/wire.capnp): one Envelope per message.
// All Cap'n Proto handling of untrusted bytes stays here and in the server/client.
#pragma once

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cattle/status.h"
#include "wire.capnp.h"

namespace cattle::wire_util {

// Largest request the apiserver accepts; bigger ones are answered TooLarge.
// Default: 3 MiB (objects are limited to 1.5 MiB by the store, like etcd).
constexpr size_t kMaxRequestBytes = 3 * 1024 * 1024;

// A decoded message. Owns aligned words; readers point into them.
class Decoded {
 public:
  // BadRequest on bytes that are not a valid Envelope (garbage, truncated, misaligned).
  static Result<std::unique_ptr<Decoded>> Parse(std::string_view bytes);
  wire::Envelope::Reader envelope() const { return envelope_; }

 private:
  kj::Array<capnp::word> words_;
  std::unique_ptr<capnp::FlatArrayMessageReader> reader_;
  wire::Envelope::Reader envelope_;
};

std::string Serialize(capnp::MessageBuilder& message);

void SetStatus(wire::Status::Builder b, const Status& s);
Status GetStatus(wire::Status::Reader r);

inline std::string ToString(capnp::Data::Reader d) {
  return std::string(reinterpret_cast<const char*>(d.begin()), d.size());
}
inline capnp::Data::Reader AsData(const std::string& s) {
  return capnp::Data::Reader(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}

}  // namespace cattle::wire_util
