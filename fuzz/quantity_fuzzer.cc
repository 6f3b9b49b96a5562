// Quantities (lib/cattle/quantity.*): Parse, the printed forms, scaled values, and the
// arithmetic of two parsed quantities.
//
// Input: "<quantity>\n<quantity>" (the second is optional).
// Every error must come back as a Status: this target catches no exception.
// Invariants: CanonicalString() and ToString() parse back to an equal value (unless the
// BinarySI cap applies); Compare is
// antisymmetric; (a + b) - b == a (when Add is exact).
#include "cattle/quantity.h"

#include "fuzz_util.h"

namespace {

// Parse() caps BinarySI values at 2^63-1 in magnitude, as Kubernetes does: a larger
// BinarySI value (a sum, or a value given the BinarySI format) does not print as itself.
bool PrintsExactly(const cattle::Quantity& q) {
  using cattle::Quantity;
  static const Quantity kCap = Quantity::MustParse("9223372036854775807");
  if (q.format() != Quantity::Format::kBinarySI) return true;
  Quantity magnitude = q;
  if (magnitude.Sign() < 0) magnitude.Neg();
  return Compare(magnitude, kCap) <= 0;
}

void Exercise(const cattle::Quantity& q) {
  using cattle::Quantity;
  for (int32_t scale : {-9, -3, 0, 3, 9, INT32_MIN, INT32_MAX}) (void)q.ScaledValue(scale);
  (void)q.AsInt64();
  std::string canonical = q.CanonicalString();
  auto back = Quantity::Parse(canonical);
  cattle::fuzz::Check(back.ok(), "CanonicalString() parses");
  auto shown = Quantity::Parse(q.ToString());
  cattle::fuzz::Check(shown.ok(), "ToString() parses");
  if (!PrintsExactly(q)) return;
  cattle::fuzz::Check(Compare(*back, q) == 0, "CanonicalString() keeps the value");
  cattle::fuzz::Check(Compare(*shown, q) == 0, "ToString() keeps the value");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cattle;
  std::string_view rest = fuzz::AsView(data, size);
  std::string_view first = fuzz::TakeLine(&rest);
  auto a = Quantity::Parse(first);
  if (!a.ok()) return 0;
  Exercise(*a);
  auto b = Quantity::Parse(rest);
  if (!b.ok()) return 0;
  fuzz::Check(Compare(*a, *b) == -Compare(*b, *a), "Compare is antisymmetric");
  Quantity sum = *a + *b;
  Exercise(sum);
  // Exact unless Add() dropped an operand far below the other (then the sum is the other).
  fuzz::Check(sum - *b == *a || sum == *a || sum == *b, "(a + b) - b == a");
  Quantity c = *a;
  c.set_format(b->format());
  Exercise(c);
  return 0;
}
