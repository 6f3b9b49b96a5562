#include "cattle/validation.h"

#include <cstdint>

namespace cattle {

namespace {

constexpr char kDns1123LabelFmt[] = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
constexpr char kDns1123LabelErrMsg[] =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
    "'-', and must start and end with an alphanumeric character";
constexpr char kDns1123SubdomainFmt[] =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
constexpr char kDns1123SubdomainErrMsg[] =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character";
constexpr char kDns1035LabelFmt[] = "[a-z]([-a-z0-9]*[a-z0-9])?";
constexpr char kDns1035LabelErrMsg[] =
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
    "with an alphabetic character, and end with an alphanumeric character";
constexpr char kLabelKeyFmt[] = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
constexpr char kLabelKeyErrMsg[] =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character";
constexpr char kLabelValueFmt[] = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
constexpr char kLabelValueErrMsg[] =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', "
    "'_' or '.', and must start and end with an alphanumeric character";

constexpr size_t kDns1123LabelMaxLength = 63;
constexpr size_t kDns1123SubdomainMaxLength = 253;
constexpr size_t kDns1035LabelMaxLength = 63;
constexpr size_t kLabelKeyMaxLength = 63;
constexpr size_t kLabelValueMaxLength = 63;

// Kubernetes has two spellings: util/validation says "characters" (object names),
// validate/content says "bytes" (label keys, values, and a label key's prefix).
enum class LenUnit { kCharacters, kBytes };

std::string MaxLenError(size_t length, LenUnit unit) {
  return "must be no more than " + std::to_string(length) +
         (unit == LenUnit::kBytes ? " bytes" : " characters");
}

std::string RegexError(std::string msg, std::string_view re,
                       std::initializer_list<std::string_view> examples) {
  if (examples.size() == 0) {
    return msg + " (regex used for validation is '" + std::string(re) + "')";
  }
  msg += " (e.g. ";
  bool first = true;
  for (std::string_view e : examples) {
    if (!first) msg += " or ";
    first = false;
    msg += "'" + std::string(e) + "', ";
  }
  msg += "regex used for validation is '" + std::string(re) + "')";
  return msg;
}

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$
bool MatchesDns1123Label(std::string_view v) {
  if (v.empty() || !IsLowerAlnum(v.front()) || !IsLowerAlnum(v.back())) return false;
  for (char c : v) {
    if (!IsLowerAlnum(c) && c != '-') return false;
  }
  return true;
}

// ^label(\.label)*$
bool MatchesDns1123Subdomain(std::string_view v) {
  if (v.empty()) return false;
  size_t start = 0;
  while (true) {
    size_t dot = v.find('.', start);
    std::string_view part =
        v.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (!MatchesDns1123Label(part)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// ^[a-z]([-a-z0-9]*[a-z0-9])?$
bool MatchesDns1035Label(std::string_view v) {
  return MatchesDns1123Label(v) && v.front() >= 'a' && v.front() <= 'z';
}

// ^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$
bool MatchesLabelKeyName(std::string_view v) {
  if (v.empty() || !IsAlnum(v.front()) || !IsAlnum(v.back())) return false;
  for (char c : v) {
    if (!IsAlnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

std::vector<std::string> SubdomainErrors(std::string_view value, LenUnit unit) {
  std::vector<std::string> errs;
  if (value.size() > kDns1123SubdomainMaxLength) {
    errs.push_back(MaxLenError(kDns1123SubdomainMaxLength, unit));
  }
  if (!MatchesDns1123Subdomain(value)) {
    errs.push_back(RegexError(kDns1123SubdomainErrMsg, kDns1123SubdomainFmt, {"example.com"}));
  }
  return errs;
}

bool Report(std::vector<std::string> errs, std::string* why) {
  if (errs.empty()) return true;
  if (why != nullptr) *why = JoinMessages(errs, "; ");
  return false;
}

// Decodes one UTF-8 rune at s[i]; returns its length, or 0 for an invalid byte.
size_t DecodeRune(std::string_view s, size_t i, uint32_t* rune) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c0 = b(0);
  if (c0 < 0x80) {
    *rune = c0;
    return 1;
  }
  size_t n;
  uint32_t r, min;
  if ((c0 & 0xE0) == 0xC0) {
    n = 2, r = c0 & 0x1F, min = 0x80;
  } else if ((c0 & 0xF0) == 0xE0) {
    n = 3, r = c0 & 0x0F, min = 0x800;
  } else if ((c0 & 0xF8) == 0xF0) {
    n = 4, r = c0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
    r = (r << 6) | (b(k) & 0x3F);
  }
  if (r < min || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) return 0;
  *rune = r;
  return n;
}

// An approximation of Go's unicode.IsPrint for non-ASCII runes: controls, separators
// and format characters are not printable.
bool IsPrintNonAscii(uint32_t r) {
  if (r >= 0x80 && r <= 0xA0) return false;
  if (r == 0xAD || r == 0x1680 || r == 0x3000 || r == 0xFEFF) return false;
  if (r >= 0x2000 && r <= 0x200F) return false;
  if (r >= 0x2028 && r <= 0x202F) return false;
  if (r >= 0x205F && r <= 0x206F) return false;
  if (r >= 0xFFF9 && r <= 0xFFFB) return false;
  return true;
}

void AppendHex(std::string* out, uint32_t v, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i) out->push_back(kHex[(v >> (4 * i)) & 0xF]);
}

}  // namespace

std::vector<std::string> Dns1123SubdomainErrors(std::string_view value) {
  return SubdomainErrors(value, LenUnit::kCharacters);
}

bool IsDns1123Subdomain(std::string_view value, std::string* why) {
  return Report(Dns1123SubdomainErrors(value), why);
}

std::vector<std::string> Dns1123LabelErrors(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > kDns1123LabelMaxLength) {
    errs.push_back(MaxLenError(kDns1123LabelMaxLength, LenUnit::kCharacters));
  }
  if (!MatchesDns1123Label(value)) {
    if (MatchesDns1123Subdomain(value)) {
      errs.push_back("must not contain dots");
    } else {
      errs.push_back(
          RegexError(kDns1123LabelErrMsg, kDns1123LabelFmt, {"my-name", "123-abc"}));
    }
  }
  return errs;
}

bool IsDns1123Label(std::string_view value, std::string* why) {
  return Report(Dns1123LabelErrors(value), why);
}

std::vector<std::string> Dns1035LabelErrors(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > kDns1035LabelMaxLength) {
    errs.push_back(MaxLenError(kDns1035LabelMaxLength, LenUnit::kCharacters));
  }
  if (!MatchesDns1035Label(value)) {
    errs.push_back(RegexError(kDns1035LabelErrMsg, kDns1035LabelFmt, {"my-name", "abc-123"}));
  }
  return errs;
}

bool IsDns1035Label(std::string_view value, std::string* why) {
  return Report(Dns1035LabelErrors(value), why);
}

std::vector<std::string> QualifiedNameErrors(std::string_view value) {
  std::vector<std::string> errs;
  std::string_view name = value;
  const size_t slash = value.find('/');
  if (slash != std::string_view::npos) {
    if (value.find('/', slash + 1) != std::string_view::npos) {
      errs.push_back("a valid label key " +
                     RegexError(kLabelKeyErrMsg, kLabelKeyFmt,
                                {"MyName", "my.name", "123-abc"}) +
                     " with an optional DNS subdomain prefix and '/' (e.g. "
                     "'example.com/MyName')");
      return errs;
    }
    std::string_view prefix = value.substr(0, slash);
    name = value.substr(slash + 1);
    if (prefix.empty()) {
      errs.push_back("prefix part must be non-empty");
    } else {
      for (const std::string& msg : SubdomainErrors(prefix, LenUnit::kBytes)) {
        errs.push_back("prefix part " + msg);
      }
    }
  }
  if (name.empty()) {
    errs.push_back("name part must be non-empty");
  } else if (name.size() > kLabelKeyMaxLength) {
    errs.push_back("name part " + MaxLenError(kLabelKeyMaxLength, LenUnit::kBytes));
  }
  if (!MatchesLabelKeyName(name)) {
    errs.push_back("name part " + RegexError(kLabelKeyErrMsg, kLabelKeyFmt,
                                             {"MyName", "my.name", "123-abc"}));
  }
  return errs;
}

bool IsQualifiedName(std::string_view value, std::string* why) {
  return Report(QualifiedNameErrors(value), why);
}

std::vector<std::string> LabelValueErrors(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > kLabelValueMaxLength) {
    errs.push_back(MaxLenError(kLabelValueMaxLength, LenUnit::kBytes));
  }
  if (!value.empty() && !MatchesLabelKeyName(value)) {
    errs.push_back(
        RegexError(kLabelValueErrMsg, kLabelValueFmt, {"MyValue", "my_value", "12345"}));
  }
  return errs;
}

bool IsValidLabelValue(std::string_view value, std::string* why) {
  return Report(LabelValueErrors(value), why);
}

std::vector<std::string> PathSegmentNameErrors(std::string_view value) {
  if (value == "." || value == "..") {
    return {"may not be '" + std::string(value) + "'"};
  }
  std::vector<std::string> errs;
  if (value.find('/') != std::string_view::npos) errs.push_back("may not contain '/'");
  if (value.find('%') != std::string_view::npos) errs.push_back("may not contain '%'");
  return errs;
}

std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  size_t i = 0;
  while (i < s.size()) {
    uint32_t r;
    size_t n = DecodeRune(s, i, &r);
    if (n == 0) {  // invalid UTF-8: escape the byte
      out += "\\x";
      AppendHex(&out, static_cast<unsigned char>(s[i]), 2);
      ++i;
      continue;
    }
    if (r == '"' || r == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(r));
    } else if (r >= 0x20 && r < 0x7F) {
      out.push_back(static_cast<char>(r));
    } else if (r >= 0x80 && IsPrintNonAscii(r)) {
      out.append(s.substr(i, n));
    } else {
      switch (r) {
        case '\a': out += "\\a"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\v': out += "\\v"; break;
        default:
          if (r < 0x20 || r == 0x7F) {
            out += "\\x";
            AppendHex(&out, r, 2);
          } else if (r < 0x10000) {
            out += "\\u";
            AppendHex(&out, r, 4);
          } else {
            out += "\\U";
            AppendHex(&out, r, 8);
          }
      }
    }
    i += n;
  }
  out.push_back('"');
  return out;
}

std::string JoinMessages(const std::vector<std::string>& messages, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < messages.size(); ++i) {
    if (i > 0) out += sep;
    out += messages[i];
  }
  return out;
}

}  // namespace cattle
