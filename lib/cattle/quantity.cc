#include "cattle/quantity.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace cattle {

namespace {

// GCC/Clang 128-bit integers (__extension__ keeps -Wpedantic quiet).
__extension__ typedef unsigned __int128 uint128;
__extension__ typedef __int128 int128;

constexpr char kErrFormatWrong[] =
    "quantities must match the regular expression "
    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
constexpr char kErrNumeric[] = "unable to parse numeric part of quantity";
constexpr char kErrSuffix[] = "unable to parse quantity's suffix";

// 2^63-1: the cap Kubernetes applies to parsed BinarySI values.
constexpr char kMaxInt64Digits[] = "9223372036854775807";

// Exponents beyond which BinarySI formatting would have to materialise an enormous
// integer; such values print as DecimalSI instead.
constexpr int64_t kMaxBinaryFormatExponent = 4096;

// Add/Sub are exact unless one operand lies more than this many orders of magnitude below
// the other one's last digit (see Add in the header).
constexpr int64_t kMaxAddGap = 100000;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// --- unsigned decimal digit-string arithmetic (no leading zeros; "" is zero) ---------

void StripLeadingZeros(std::string* s) {
  size_t i = 0;
  while (i < s->size() && (*s)[i] == '0') ++i;
  s->erase(0, i);
}

// Compares two integers given as digit strings without leading zeros.
int CompareDigits(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  int c = a.compare(b);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

std::string AddDigits(const std::string& a, const std::string& b) {
  std::string out;
  out.resize(std::max(a.size(), b.size()) + 1);
  int carry = 0;
  size_t ia = a.size(), ib = b.size(), io = out.size();
  while (ia > 0 || ib > 0 || carry) {
    int d = carry;
    if (ia > 0) d += a[--ia] - '0';
    if (ib > 0) d += b[--ib] - '0';
    out[--io] = static_cast<char>('0' + d % 10);
    carry = d / 10;
  }
  out.erase(0, io);
  StripLeadingZeros(&out);
  return out;
}

// a - b, requires a >= b.
std::string SubDigits(const std::string& a, const std::string& b) {
  std::string out = a;
  int borrow = 0;
  size_t ib = b.size();
  for (size_t i = out.size(); i > 0; --i) {
    int d = (out[i - 1] - '0') - borrow - (ib > 0 ? b[--ib] - '0' : 0);
    borrow = d < 0;
    if (d < 0) d += 10;
    out[i - 1] = static_cast<char>('0' + d);
    if (ib == 0 && !borrow) break;
  }
  StripLeadingZeros(&out);
  return out;
}

void MulSmall(std::string* s, uint32_t m) {
  uint64_t carry = 0;
  for (size_t i = s->size(); i > 0; --i) {
    uint64_t d = static_cast<uint64_t>((*s)[i - 1] - '0') * m + carry;
    (*s)[i - 1] = static_cast<char>('0' + d % 10);
    carry = d / 10;
  }
  std::string prefix;
  while (carry) {
    prefix.push_back(static_cast<char>('0' + carry % 10));
    carry /= 10;
  }
  std::reverse(prefix.begin(), prefix.end());
  s->insert(0, prefix);
  StripLeadingZeros(s);
}

// Returns s / d and stores s % d in *rem.
std::string DivSmall(const std::string& s, uint32_t d, uint32_t* rem) {
  std::string out;
  out.reserve(s.size());
  uint64_t r = 0;
  for (char c : s) {
    r = r * 10 + static_cast<uint64_t>(c - '0');
    out.push_back(static_cast<char>('0' + r / d));
    r %= d;
  }
  *rem = static_cast<uint32_t>(r);
  StripLeadingZeros(&out);
  return out;
}

void IncrementDigits(std::string* s) {
  for (size_t i = s->size(); i > 0; --i) {
    if ((*s)[i - 1] != '9') {
      ++(*s)[i - 1];
      return;
    }
    (*s)[i - 1] = '0';
  }
  s->insert(s->begin(), '1');
}

// Parses a digit string (<= 20 digits) into *out if it fits in uint64.
bool DigitsToUint64(std::string_view s, uint64_t* out) {
  if (s.size() > 20) return false;
  uint128 v = 0;
  for (char c : s) v = v * 10 + static_cast<unsigned>(c - '0');
  if (v > std::numeric_limits<uint64_t>::max()) return false;
  *out = static_cast<uint64_t>(v);
  return true;
}

std::string Uint64ToDigits(uint64_t v) {
  std::string s;
  while (v) {
    s.push_back(static_cast<char>('0' + v % 10));
    v /= 10;
  }
  std::reverse(s.begin(), s.end());
  return s;
}

// Go's strconv.ParseInt(s, 10, 64): optional sign, then one or more digits, in range.
bool ParseGoInt64(std::string_view s, int64_t* out) {
  bool neg = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return false;
  uint128 v = 0;
  for (char c : s) {
    if (!IsDigit(c)) return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
    if (v > static_cast<uint128>(std::numeric_limits<int64_t>::max()) + 1) {
      return false;
    }
  }
  if (!neg && v > static_cast<uint128>(std::numeric_limits<int64_t>::max())) {
    return false;
  }
  *out = neg ? static_cast<int64_t>(-static_cast<int128>(v)) : static_cast<int64_t>(v);
  return true;
}

struct SuffixInfo {
  int base;  // 10 or 2
  int32_t exponent;
  Quantity::Format format;
};

bool InterpretSuffix(std::string_view s, SuffixInfo* out) {
  struct Row {
    std::string_view name;
    int base;
    int32_t exponent;
  };
  static constexpr Row kDecimal[] = {{"", 10, 0},  {"n", 10, -9}, {"u", 10, -6},
                                     {"m", 10, -3}, {"k", 10, 3},  {"M", 10, 6},
                                     {"G", 10, 9},  {"T", 10, 12}, {"P", 10, 15},
                                     {"E", 10, 18}};
  static constexpr Row kBinary[] = {{"Ki", 2, 10}, {"Mi", 2, 20}, {"Gi", 2, 30},
                                    {"Ti", 2, 40}, {"Pi", 2, 50}, {"Ei", 2, 60}};
  for (const Row& r : kDecimal) {
    if (r.name == s) {
      *out = {r.base, r.exponent, Quantity::Format::kDecimalSI};
      return true;
    }
  }
  for (const Row& r : kBinary) {
    if (r.name == s) {
      *out = {r.base, r.exponent, Quantity::Format::kBinarySI};
      return true;
    }
  }
  if (s.size() > 1 && (s[0] == 'e' || s[0] == 'E')) {
    int64_t parsed;
    if (!ParseGoInt64(s.substr(1), &parsed)) return false;
    // Kubernetes truncates the parsed exponent to int32.
    *out = {10, static_cast<int32_t>(parsed), Quantity::Format::kDecimalExponent};
    return true;
  }
  return false;
}

int64_t FloorDiv3(int64_t v) { return v >= 0 ? v / 3 : -((-v + 2) / 3); }

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

const char* QuantityFormatName(Quantity::Format format) {
  switch (format) {
    case Quantity::Format::kDecimalSI:
      return "DecimalSI";
    case Quantity::Format::kBinarySI:
      return "BinarySI";
    case Quantity::Format::kDecimalExponent:
      return "DecimalExponent";
  }
  return "DecimalSI";
}

void Quantity::Normalize() {
  StripLeadingZeros(&digits_);
  if (digits_.empty()) {
    negative_ = false;
    exponent_ = 0;
    return;
  }
  size_t keep = digits_.size();
  while (keep > 0 && digits_[keep - 1] == '0') --keep;
  exponent_ += static_cast<int64_t>(digits_.size() - keep);
  digits_.resize(keep);
}

Result<Quantity> Quantity::Parse(std::string_view str) {
  if (str.empty()) return Status::BadRequest(kErrFormatWrong);
  if (str == "0") {
    Quantity q;
    q.cached_ = "0";
    return q;
  }

  // --- scan, mirroring Kubernetes' parseQuantityString ---------------------------------
  bool positive = true;
  size_t pos = 0;
  const size_t end = str.size();
  if (str[0] == '-') {
    positive = false;
    ++pos;
  } else if (str[0] == '+') {
    ++pos;
  }
  std::string_view num, denom, suffix;
  bool value_has_digits = false;  // whether the numeric part has any digit at all
  size_t zeros_end = pos;
  while (zeros_end < end && str[zeros_end] == '0') ++zeros_end;
  if (zeros_end >= end) {
    num = "0";  // only a sign and zeros: the value is zero, no suffix
    value_has_digits = true;
  } else {
    value_has_digits = zeros_end > pos;
    pos = zeros_end;
    size_t i = pos;
    while (i < end && IsDigit(str[i])) ++i;
    num = str.substr(pos, i - pos);
    if (!num.empty()) value_has_digits = true;
    pos = i;
    if (num.empty()) num = "0";
    if (pos < end && str[pos] == '.') {
      ++pos;
      i = pos;
      while (i < end && IsDigit(str[i])) ++i;
      denom = str.substr(pos, i - pos);
      if (!denom.empty()) value_has_digits = true;
      pos = i;
    }
    const size_t suffix_start = pos;
    while (pos < end && std::string_view("eEinumkKMGTP").find(str[pos]) !=
                            std::string_view::npos) {
      ++pos;
    }
    if (pos < end && (str[pos] == '-' || str[pos] == '+')) ++pos;
    while (pos < end && IsDigit(str[pos])) ++pos;
    if (pos != end) return Status::BadRequest(kErrFormatWrong);
    suffix = str.substr(suffix_start);
  }

  SuffixInfo sfx;
  if (!InterpretSuffix(suffix, &sfx)) return Status::BadRequest(kErrSuffix);

  Quantity q;
  q.format_ = sfx.format;
  q.negative_ = !positive;
  std::string shifted = std::string(num) + std::string(denom);
  const int64_t len_num = static_cast<int64_t>(num.size());
  const int64_t len_denom = static_cast<int64_t>(denom.size());

  if (sfx.base == 10) {
    const int64_t precision = 18 - (len_num + len_denom);
    const int64_t scale = static_cast<int64_t>(sfx.exponent) - len_denom;
    if (precision >= 0 && scale >= -9) {
      // Kubernetes' int64 fast path: exact, and the input is kept as String() when it
      // looks canonical.
      if (scale % 3 == 0 && !EndsWith(shifted, "000") && shifted[0] != '0') {
        q.cached_ = std::string(str);
      }
      q.digits_ = std::move(shifted);
      q.exponent_ = scale;
      q.Normalize();
      return q;
    }
    if (!value_has_digits) return Status::BadRequest(kErrNumeric);
    q.digits_ = std::move(shifted);
    q.exponent_ = scale;
  } else {
    const int64_t precision = 15 - len_num - sfx.exponent * 3 / 10 - 1;
    if (len_denom == 0 && precision >= 0) {
      uint64_t value = 0;
      DigitsToUint64(num, &value);  // at most 14 digits here
      const int shift = sfx.exponent;
      if (value <= (static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) >> shift)) {
        if ((value & 0x07) != 0) q.cached_ = std::string(str);
        q.digits_ = Uint64ToDigits(value << shift);
        q.exponent_ = 0;
        q.Normalize();
        return q;
      }
    }
    if (!value_has_digits) return Status::BadRequest(kErrNumeric);
    q.digits_ = std::move(shifted);
    StripLeadingZeros(&q.digits_);
    for (int32_t e = 0; e < sfx.exponent; e += 10) MulSmall(&q.digits_, 1024);
    q.exponent_ = -len_denom;
  }

  // --- slow path: round a non-zero value up (away from zero) to the nano ---------------
  StripLeadingZeros(&q.digits_);
  if (!q.digits_.empty() && q.exponent_ < -9) {
    const int64_t chop = -9 - q.exponent_;
    bool inexact = false;
    if (chop >= static_cast<int64_t>(q.digits_.size())) {
      inexact = true;  // non-zero and entirely below a nano
      q.digits_.clear();
    } else {
      const size_t keep = q.digits_.size() - static_cast<size_t>(chop);
      inexact = q.digits_.find_first_not_of('0', keep) != std::string::npos;
      q.digits_.resize(keep);
    }
    if (inexact) {
      if (q.digits_.empty()) q.digits_ = "0";
      IncrementDigits(&q.digits_);
      StripLeadingZeros(&q.digits_);
    }
    q.exponent_ = -9;
  }
  q.Normalize();

  if (q.format_ == Format::kBinarySI && !q.digits_.empty()) {
    Quantity cap;
    cap.digits_ = kMaxInt64Digits;
    Quantity magnitude = q;
    magnitude.negative_ = false;
    if (Compare(magnitude, cap) > 0) {
      q.digits_ = kMaxInt64Digits;
      q.exponent_ = 0;
    }
    // A non-zero BinarySI value below 1 in magnitude switches to DecimalSI.
    if (q.exponent_ < 0 &&
        static_cast<int64_t>(q.digits_.size()) + q.exponent_ <= 0) {
      q.format_ = Format::kDecimalSI;
    }
  }
  return q;
}

Quantity Quantity::MustParse(std::string_view s) {
  Result<Quantity> q = Parse(s);
  if (!q.ok()) {
    std::fprintf(stderr, "cattle::Quantity::MustParse(\"%.*s\"): %s\n",
                 static_cast<int>(s.size()), s.data(), q.status().message().c_str());
    std::abort();
  }
  return std::move(q).value();
}

Quantity Quantity::FromScaled(int64_t value, int32_t scale, Format format) {
  Quantity q;
  q.format_ = format;
  q.negative_ = value < 0;
  uint64_t magnitude = value < 0 ? static_cast<uint64_t>(0) - static_cast<uint64_t>(value)
                                 : static_cast<uint64_t>(value);
  q.digits_ = Uint64ToDigits(magnitude);
  q.exponent_ = scale;
  q.Normalize();
  return q;
}

Quantity Quantity::FromInt(int64_t value, Format format) {
  return FromScaled(value, 0, format);
}

Quantity Quantity::FromMilli(int64_t milli, Format format) {
  return FromScaled(milli, -3, format);
}

void Quantity::set_format(Format format) {
  format_ = format;
  cached_.clear();
}

std::string Quantity::ToString() const {
  if (!cached_.empty()) return cached_;
  return CanonicalString();
}

std::string Quantity::CanonicalString() const {
  if (IsZero()) return "0";
  Format format = format_;
  if (format == Format::kBinarySI) {
    // A fractional value, |v| < 1024, or an absurdly large value: print as DecimalSI.
    if (exponent_ < 0 || exponent_ > kMaxBinaryFormatExponent) {
      format = Format::kDecimalSI;
    } else {
      const int64_t int_digits = static_cast<int64_t>(digits_.size()) + exponent_;
      bool small = int_digits < 4;
      if (int_digits == 4) {
        std::string n = digits_ + std::string(static_cast<size_t>(exponent_), '0');
        small = CompareDigits(n, "1024") < 0;
      }
      if (small) format = Format::kDecimalSI;
    }
  }
  std::string out = negative_ ? "-" : "";
  if (format == Format::kBinarySI) {
    std::string n = digits_ + std::string(static_cast<size_t>(exponent_), '0');
    static constexpr const char* kBinarySuffixes[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    int k = 0;
    while (k < 6) {
      uint32_t rem;
      std::string next = DivSmall(n, 1024, &rem);
      if (rem != 0) break;
      n = std::move(next);
      ++k;
    }
    return out + n + kBinarySuffixes[k];
  }
  const int64_t e3 = FloorDiv3(exponent_) * 3;
  out += digits_;
  out.append(static_cast<size_t>(exponent_ - e3), '0');
  if (format == Format::kDecimalSI) {
    static constexpr const char* kDecimalSuffixes[] = {"n", "u", "m", "",  "k",
                                                       "M", "G", "T", "P", "E"};
    if (e3 >= -9 && e3 <= 18) return out + kDecimalSuffixes[(e3 + 9) / 3];
    // No SI suffix this large (or small): fall back to exponent notation.
  } else if (e3 == 0) {
    return out;
  }
  return out + "e" + std::to_string(e3);
}

int64_t Quantity::ScaledValue(int32_t scale) const {
  if (IsZero()) return 0;
  const int64_t shift = exponent_ - static_cast<int64_t>(scale);
  uint128 magnitude = 0;
  bool overflow = false;
  if (shift >= 0) {
    if (static_cast<int64_t>(digits_.size()) + shift > 19) {
      overflow = true;
    } else {
      for (char c : digits_) magnitude = magnitude * 10 + static_cast<unsigned>(c - '0');
      for (int64_t i = 0; i < shift; ++i) magnitude *= 10;
    }
  } else {
    const int64_t chop = -shift;
    // digits_ has no trailing zero, so any chopped digit makes the value inexact.
    if (chop < static_cast<int64_t>(digits_.size())) {
      const size_t keep = digits_.size() - static_cast<size_t>(chop);
      if (keep > 19) {
        overflow = true;
      } else {
        for (size_t i = 0; i < keep; ++i) {
          magnitude = magnitude * 10 + static_cast<unsigned>(digits_[i] - '0');
        }
      }
    }
    magnitude += 1;
  }
  const uint128 limit =
      static_cast<uint128>(std::numeric_limits<int64_t>::max()) +
      (negative_ ? 1 : 0);
  if (overflow || magnitude > limit) {
    return negative_ ? std::numeric_limits<int64_t>::min()
                     : std::numeric_limits<int64_t>::max();
  }
  return negative_ ? static_cast<int64_t>(-static_cast<int128>(magnitude))
                   : static_cast<int64_t>(magnitude);
}

std::optional<int64_t> Quantity::AsInt64() const {
  if (IsZero()) return 0;
  if (exponent_ < 0 || static_cast<int64_t>(digits_.size()) + exponent_ > 19) {
    return std::nullopt;
  }
  uint128 magnitude = 0;
  for (char c : digits_) magnitude = magnitude * 10 + static_cast<unsigned>(c - '0');
  for (int64_t i = 0; i < exponent_; ++i) magnitude *= 10;
  const uint128 limit =
      static_cast<uint128>(std::numeric_limits<int64_t>::max()) +
      (negative_ ? 1 : 0);
  if (magnitude > limit) return std::nullopt;
  return negative_ ? static_cast<int64_t>(-static_cast<int128>(magnitude))
                   : static_cast<int64_t>(magnitude);
}

void Quantity::Add(const Quantity& y) {
  cached_.clear();
  if (IsZero()) format_ = y.format_;
  if (y.IsZero()) return;
  if (IsZero()) {
    negative_ = y.negative_;
    digits_ = y.digits_;
    exponent_ = y.exponent_;
    return;
  }
  const int64_t e = std::min(exponent_, y.exponent_);
  const int64_t order_x = static_cast<int64_t>(digits_.size()) + exponent_;
  const int64_t order_y = static_cast<int64_t>(y.digits_.size()) + y.exponent_;
  const int64_t span = std::max(order_x, order_y) - e;  // digits of the aligned operands
  if (span > static_cast<int64_t>(digits_.size() + y.digits_.size()) + kMaxAddGap) {
    // Then the operand of smaller magnitude lies more than kMaxAddGap orders of magnitude
    // below the other's last digit (span - its digits > the other's digits + kMaxAddGap):
    // keep the larger one rather than build a digit string as long as the gap.
    if (order_y > order_x) {
      negative_ = y.negative_;
      digits_ = y.digits_;
      exponent_ = y.exponent_;
    }
    return;
  }
  std::string a = digits_ + std::string(static_cast<size_t>(exponent_ - e), '0');
  std::string b = y.digits_ + std::string(static_cast<size_t>(y.exponent_ - e), '0');
  if (negative_ == y.negative_) {
    digits_ = AddDigits(a, b);
  } else {
    int c = CompareDigits(a, b);
    if (c == 0) {
      digits_.clear();
    } else if (c > 0) {
      digits_ = SubDigits(a, b);
    } else {
      digits_ = SubDigits(b, a);
      negative_ = y.negative_;
    }
  }
  exponent_ = e;
  Normalize();
}

void Quantity::Sub(const Quantity& y) {
  Quantity negated = y;
  negated.Neg();
  Add(negated);
}

void Quantity::Neg() {
  cached_.clear();
  if (!IsZero()) negative_ = !negative_;
}

int Compare(const Quantity& a, const Quantity& b) {
  const int sa = a.Sign(), sb = b.Sign();
  if (sa != sb) return sa < sb ? -1 : 1;
  if (sa == 0) return 0;
  // Same sign, both non-zero: compare magnitudes by order of magnitude first.
  const int64_t order_a = static_cast<int64_t>(a.digits_.size()) + a.exponent_;
  const int64_t order_b = static_cast<int64_t>(b.digits_.size()) + b.exponent_;
  int c;
  if (order_a != order_b) {
    c = order_a < order_b ? -1 : 1;
  } else {
    const size_t n = std::min(a.digits_.size(), b.digits_.size());
    int prefix = a.digits_.compare(0, n, b.digits_, 0, n);
    if (prefix != 0) {
      c = prefix < 0 ? -1 : 1;
    } else if (a.digits_.size() == b.digits_.size()) {
      c = 0;
    } else {
      // The longer one has further (non-zero, since normalised) digits.
      c = a.digits_.size() < b.digits_.size() ? -1 : 1;
    }
  }
  return sa > 0 ? c : -c;
}

}  // namespace cattle
