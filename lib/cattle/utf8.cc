#include "cattle/utf8.h"

#include <cstdint>

namespace cattle {
namespace {

// The length of the well-formed sequence starting at `p` (before `end`), or 0.
size_t SequenceLength(const uint8_t* p, const uint8_t* end) {
  uint8_t c = p[0];
  if (c < 0x80) return 1;
  size_t n;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {  // 0xC0, 0xC1 could only start overlong encodings
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (static_cast<size_t>(end - p) < n) return 0;
  for (size_t i = 1; i < n; ++i) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

}  // namespace

size_t FirstInvalidUtf8(std::string_view s) {
  const auto* begin = reinterpret_cast<const uint8_t*>(s.data());
  const auto* end = begin + s.size();
  const auto* p = begin;
  while (p < end) {
    if (*p < 0x80) {  // the common case: a run of ASCII
      ++p;
      continue;
    }
    size_t n = SequenceLength(p, end);
    if (n == 0) return static_cast<size_t>(p - begin);
    p += n;
  }
  return std::string_view::npos;
}

std::string SanitizeUtf8(std::string_view s) {
  size_t bad = FirstInvalidUtf8(s);
  if (bad == std::string_view::npos) return std::string(s);
  std::string out(s.substr(0, bad));
  const auto* p = reinterpret_cast<const uint8_t*>(s.data()) + bad;
  const auto* end = reinterpret_cast<const uint8_t*>(s.data()) + s.size();
  while (p < end) {
    size_t n = SequenceLength(p, end);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD, one per ill-formed byte
      ++p;
    } else {
      out.append(reinterpret_cast<const char*>(p), n);
      p += n;
    }
  }
  return out;
}

}  // namespace cattle
