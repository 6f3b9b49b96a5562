// Quantity: Kubernetes' resource.Quantity (k8s.io/apimachinery/pkg/api/resource),
// reimplemented exactly: the same grammar, the same parse errors, the same rounding,
// and the same String() output (canonical form, plus Kubernetes' habit of echoing
// some inputs verbatim; see ToString()).
//
// Grammar (as Kubernetes documents it):
//   <quantity>        ::= <signedNumber><suffix>
//   <signedNumber>    ::= <number> | <sign><number>
//   <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
//   <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
//   <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
//   <decimalSI>       ::= n | u | m | "" | k | M | G | T | P | E
//   <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>
// Like Kubernetes' scanner, a bare sign or suffix ("+", "-", "Mi", "k", ".") parses as
// zero, and "e3"-style exponents with an empty mantissa are accepted.
//
// Value semantics: the value is held exactly as sign * digits * 10^exponent with an
// arbitrary-precision digit string, so nothing overflows. Parsing rounds a value finer
// than 1n up (away from zero) to the next nano, and caps a BinarySI value at 2^63-1 in
// magnitude, both as Kubernetes does. Add/Sub/Compare are exact.
//
// Thread-safety: a Quantity is a plain value; const methods may be called concurrently.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cattle/status.h"

namespace cattle {

class Quantity {
 public:
  // The suffix family a Quantity is printed in. Parse() remembers the input's family.
  enum class Format { kDecimalSI, kBinarySI, kDecimalExponent };

  // Zero, DecimalSI; prints "0".
  Quantity() = default;

  // Parses `s` with Kubernetes' grammar. Errors are BadRequest with Kubernetes' exact
  // messages:
  //   "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
  //   "unable to parse quantity's suffix"
  //   "unable to parse numeric part of quantity"
  // No whitespace is trimmed (" 1" is an error), as in ParseQuantity.
  static Result<Quantity> Parse(std::string_view s);
  // Parse() for constants and tests; aborts the process on invalid input.
  static Quantity MustParse(std::string_view s);

  // value, value/1000 and value*10^scale, in `format` (NewQuantity, NewMilliQuantity,
  // NewScaledQuantity).
  static Quantity FromInt(int64_t value, Format format = Format::kDecimalSI);
  static Quantity FromMilli(int64_t milli, Format format = Format::kDecimalSI);
  static Quantity FromScaled(int64_t value, int32_t scale,
                             Format format = Format::kDecimalSI);

  // Kubernetes' String(): the string Parse() was given when Kubernetes would keep it
  // (its parser caches some inputs as already canonical, e.g. "+1", "01", "1E3",
  // "1.001", "1Ki"), otherwise CanonicalString(). Any arithmetic drops the cache.
  std::string ToString() const;
  // The canonical form: no fractional digits, the largest suffix that keeps the value
  // exact, in this Quantity's format ("1.5" -> "1500m", "1000" -> "1k", "1e3" -> "1e3",
  // "1.5Gi" -> "1536Mi", "0.5Gi" -> "512Mi"). BinarySI values strictly between -1024
  // and 1024, or not integral, print as DecimalSI. DecimalSI values beyond "E" print in
  // exponent form ("1e21"). Zero is "0".
  std::string CanonicalString() const;

  // ceil(value / 10^scale), rounding away from zero (-9.01 -> -10). Saturates at
  // INT64_MIN/INT64_MAX when the result does not fit (Kubernetes leaves that undefined).
  int64_t ScaledValue(int32_t scale) const;
  int64_t Value() const { return ScaledValue(0); }         // rounded away from zero
  int64_t MilliValue() const { return ScaledValue(-3); }   // rounded away from zero
  // The value when it is an integer that fits in int64, else nullopt.
  std::optional<int64_t> AsInt64() const;

  int Sign() const { return digits_.empty() ? 0 : (negative_ ? -1 : 1); }
  bool IsZero() const { return digits_.empty(); }
  Format format() const { return format_; }
  // Changes how the value prints; drops the cached input string.
  void set_format(Format format);

  // In-place arithmetic. As in Kubernetes, if *this is zero it takes y's format. Exact,
  // except that an operand lying more than 100,000 orders of magnitude below the other's
  // last digit is dropped (1e2000000000 + 1 is 1e2000000000): an exact sum would need a
  // digit string as long as the gap, which a few bytes of input must not buy. Cost grows
  // with the operands' digits plus the distance between their exponents, so at most
  // 100,000 beyond the digits (1e300 + 1n builds a 310-digit number).
  void Add(const Quantity& y);
  void Sub(const Quantity& y);
  void Neg();

  // Exact numeric comparison: -1, 0 or 1. Format is ignored ("1Ki" == "1024").
  friend int Compare(const Quantity& a, const Quantity& b);
  friend bool operator==(const Quantity& a, const Quantity& b) {
    return Compare(a, b) == 0;
  }
  friend std::weak_ordering operator<=>(const Quantity& a, const Quantity& b) {
    int c = Compare(a, b);
    return c < 0 ? std::weak_ordering::less
                 : (c > 0 ? std::weak_ordering::greater : std::weak_ordering::equivalent);
  }
  friend Quantity operator+(Quantity a, const Quantity& b) {
    a.Add(b);
    return a;
  }
  friend Quantity operator-(Quantity a, const Quantity& b) {
    a.Sub(b);
    return a;
  }

 private:
  // Strips leading/trailing zeros (moving trailing ones into exponent_); zero becomes
  // the canonical empty digit string.
  void Normalize();

  bool negative_ = false;
  std::string digits_;     // magnitude mantissa; no leading/trailing zeros; "" is zero
  int64_t exponent_ = 0;   // value = digits_ * 10^exponent_
  Format format_ = Format::kDecimalSI;
  std::string cached_;     // Kubernetes' cached String() ("" when none)
};

int Compare(const Quantity& a, const Quantity& b);

// "DecimalSI", "BinarySI" or "DecimalExponent".
const char* QuantityFormatName(Quantity::Format format);

}  // namespace cattle
