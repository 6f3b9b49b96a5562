// Request bodies a hostile user sends: YAML alias bombs and a Kubernetes-protobuf ConfigMap
// with chosen (possibly ill-formed) strings.
#pragma once

#include <string>

namespace cattle::testutil {

// A ConfigMap manifest whose unknown field `x` holds `levels` levels of nine aliases of the
// level above ("lol" x 9 at the bottom): 9^levels strings once expanded, from about 60 bytes
// a level. Expanded and with fieldValidation=Warn it would be accepted with a warning.
inline std::string AliasBomb(int levels, const std::string& name = "bomb") {
  std::string y = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name +
                  "\nx:\n  a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n";
  for (int i = 1; i < levels; ++i) {
    char level = static_cast<char>('a' + i), below = static_cast<char>('a' + i - 1);
    y += std::string("  ") + level + ": &" + level + " [";
    for (int k = 0; k < 9; ++k) y += std::string(k ? "," : "") + "*" + below;
    y += "]\n";
  }
  return y;
}

namespace internal {
inline std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
  return out;
}
// A length-delimited field.
inline std::string Len(int field, const std::string& bytes) {
  return Varint(static_cast<uint64_t>(field) << 3 | 2) + Varint(bytes.size()) + bytes;
}
}  // namespace internal

// application/vnd.kubernetes.protobuf: a v1 ConfigMap `name` in `ns` with data {key: value}.
inline std::string ProtobufConfigMap(const std::string& name, const std::string& ns, const std::string& key,
                                     const std::string& value) {
  using internal::Len;
  std::string meta = Len(1, name) + Len(3, ns);
  std::string cm = Len(1, meta) + Len(2, Len(1, key) + Len(2, value));
  return std::string("k8s\0", 4) + Len(1, Len(1, "v1") + Len(2, "ConfigMap")) + Len(2, cm);
}

}  // namespace cattle::testutil
