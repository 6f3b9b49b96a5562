// Hand-made corruptions of a Cap'n Proto message, as a hostile peer would send them: the
// Text holding `marker` loses its NUL terminator, or the pointer to it is made a struct
// pointer ("not a list") or a list of words ("not byte-sized"). Each stays inside the
// message's bounds, so a reader that copies without reading the field does not notice.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

namespace cattle::testutil {

enum class TextCorruption { kMissingNul, kNotAList, kNotByteSized };

// `bytes` (a single-segment flat message) with the Text equal to `marker` corrupted; ""
// when no such Text is found.
inline std::string CorruptText(std::string bytes, const std::string& marker, TextCorruption how) {
  size_t words = bytes.size() / 8;
  auto word = [&](size_t i) {
    uint64_t w;
    memcpy(&w, bytes.data() + 8 * i, 8);
    return w;
  };
  auto set_word = [&](size_t i, uint64_t w) { memcpy(bytes.data() + 8 * i, &w, 8); };
  // The segment table: one segment when the first word's low half is 0.
  if (words < 2 || (word(0) & 0xffffffff) != 0) return "";
  const size_t base = 1;  // the segment starts after the one-word table
  for (size_t i = base; i < words; ++i) {
    uint64_t w = word(i);
    if ((w & 3) != 1 || ((w >> 32) & 7) != 2 || (w >> 35) != marker.size() + 1) continue;
    int64_t offset = static_cast<int32_t>(w & 0xffffffff) >> 2;
    int64_t target = static_cast<int64_t>(i) + 1 + offset;
    if (target < static_cast<int64_t>(base) || (target + 1) * 8 > static_cast<int64_t>(bytes.size())) continue;
    if (bytes.compare(8 * static_cast<size_t>(target), marker.size() + 1, std::string(marker.c_str(), marker.size() + 1)) != 0)
      continue;
    uint64_t offset_bits = w & 0xfffffffc;
    switch (how) {
      case TextCorruption::kMissingNul:
        bytes[8 * static_cast<size_t>(target) + marker.size()] = 'x';
        break;
      case TextCorruption::kNotAList:  // a struct of one data word, at the same place
        set_word(i, offset_bits | (uint64_t{1} << 32));
        break;
      case TextCorruption::kNotByteSized:  // a list of one 8-byte element
        set_word(i, offset_bits | 1 | (uint64_t{5} << 32) | (uint64_t{1} << 35));
        break;
    }
    return bytes;
  }
  return "";
}

}  // namespace cattle::testutil
