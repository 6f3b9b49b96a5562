// UTF-8 validation of text from outside (request bodies, envelopes, stored bytes).
// Well-formed means RFC 3629: no overlong encodings, no surrogates (U+D800..U+DFFF), nothing
// above U+10FFFF, no truncated sequences. NUL bytes are well-formed UTF-8.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cattle {

// The offset of the first byte that does not start a well-formed UTF-8 sequence, or
// std::string_view::npos when all of `s` is well-formed.
size_t FirstInvalidUtf8(std::string_view s);

inline bool ValidUtf8(std::string_view s) { return FirstInvalidUtf8(s) == std::string_view::npos; }

// `s` with every ill-formed sequence replaced by U+FFFD (for error messages and logs that
// quote outside input); `s` itself when it is well-formed.
std::string SanitizeUtf8(std::string_view s);

}  // namespace cattle
