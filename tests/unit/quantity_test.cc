// Tests for cattle::Quantity. Expected values follow Kubernetes' own quantity_test.go
// (k8s.io/apimachinery/pkg/api/resource) where it has a case, and Kubernetes' parse and
// format algorithm otherwise.
#include "cattle/quantity.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace cattle {
namespace {

using F = Quantity::Format;
constexpr F kDSI = F::kDecimalSI;
constexpr F kBSI = F::kBinarySI;
constexpr F kDE = F::kDecimalExponent;
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

Quantity Q(std::string_view s) { return Quantity::MustParse(s); }

struct ParseCase {
  const char* input;
  int64_t mantissa;  // expected value = mantissa * 10^exponent
  int32_t exponent;
  F format;
};

// Kubernetes' TestQuantityParse table.
const ParseCase kParseCases[] = {
    {"0", 0, 0, kDSI},
    {"0n", 0, 0, kDSI},
    {"0u", 0, 0, kDSI},
    {"0m", 0, 0, kDSI},
    {"0Ki", 0, 0, kBSI},
    {"0k", 0, 0, kDSI},
    {"0Mi", 0, 0, kBSI},
    {"0M", 0, 0, kDSI},
    {"0Gi", 0, 0, kBSI},
    {"0G", 0, 0, kDSI},
    {"0Ti", 0, 0, kBSI},
    {"0T", 0, 0, kDSI},
    {"1", 1, 0, kDSI},
    {"1Ki", 1024, 0, kBSI},
    {"8Ki", 8 * 1024, 0, kBSI},
    {"7Mi", 7 * 1024 * 1024, 0, kBSI},
    {"6Gi", 6LL * 1024 * 1024 * 1024, 0, kBSI},
    {"5Ti", 5LL * 1024 * 1024 * 1024 * 1024, 0, kBSI},
    {"4Pi", 4LL * 1024 * 1024 * 1024 * 1024 * 1024, 0, kBSI},
    {"3Ei", 3LL * 1024 * 1024 * 1024 * 1024 * 1024 * 1024, 0, kBSI},
    {"10Ti", 10LL * 1024 * 1024 * 1024 * 1024, 0, kBSI},
    {"100Ti", 100LL * 1024 * 1024 * 1024 * 1024, 0, kBSI},
    {"5n", 5, -9, kDSI},
    {"4u", 4, -6, kDSI},
    {"3m", 3, -3, kDSI},
    {"9", 9, 0, kDSI},
    {"8k", 8, 3, kDSI},
    {"50k", 5, 4, kDSI},
    {"7M", 7, 6, kDSI},
    {"6G", 6, 9, kDSI},
    {"5T", 5, 12, kDSI},
    {"40T", 4, 13, kDSI},
    {"300T", 3, 14, kDSI},
    {"2P", 2, 15, kDSI},
    {"1E", 1, 18, kDSI},
    {"1E-3", 1, -3, kDE},
    {"1e3", 1, 3, kDE},
    {"1E6", 1, 6, kDE},
    {"1e9", 1, 9, kDE},
    {"1E12", 1, 12, kDE},
    {"1e15", 1, 15, kDE},
    {"1E18", 1, 18, kDE},
    {"1e14", 1, 14, kDE},
    {"1e13", 1, 13, kDE},
    {"100.035k", 100035, 0, kDSI},
    {"0.001", 1, -3, kDSI},
    {"0.0005k", 5, -1, kDSI},
    {"0.005", 5, -3, kDSI},
    {"0.05", 5, -2, kDSI},
    {"0.5", 5, -1, kDSI},
    {"0.00050k", 5, -1, kDSI},
    {"0.00500", 5, -3, kDSI},
    {"0.05000", 5, -2, kDSI},
    {"0.50000", 5, -1, kDSI},
    {"0.5e0", 5, -1, kDE},
    {"0.5e-1", 5, -2, kDE},
    {"0.5e-2", 5, -3, kDE},
    {"10.035M", 10035, 3, kDSI},
    {"1.2e3", 12, 2, kDE},
    {"1.3E+6", 13, 5, kDE},
    {"1.40e9", 14, 8, kDE},
    {"1.53E12", 153, 10, kDE},
    {"1.6e15", 16, 14, kDE},
    {"1.7E18", 17, 17, kDE},
    {"9.01", 901, -2, kDSI},
    {"8.1k", 81, 2, kDSI},
    {"7.123456M", 7123456, 0, kDSI},
    {"6.987654321G", 6987654321, 0, kDSI},
    {"5.444T", 5444, 9, kDSI},
    {"40.1T", 401, 11, kDSI},
    {"300.2T", 3002, 11, kDSI},
    {"2.5P", 25, 14, kDSI},
    {"1.01E", 101, 16, kDSI},
    // Things that saturate/round.
    {"3.001n", 4, -9, kDSI},
    {"1.1E-9", 2, -9, kDE},
    {"0.0000000001", 1, -9, kDSI},
    {"0.0000000005", 1, -9, kDSI},
    {"0.00000000050", 1, -9, kDSI},
    {"0.5e-9", 1, -9, kDE},
    {"0.9n", 1, -9, kDSI},
    {"0.00000012345", 124, -9, kDSI},
    {"0.00000012354", 124, -9, kDSI},
    {"9Ei", kMax, 0, kBSI},
    {"9223372036854775807Ki", kMax, 0, kBSI},
    {"12E", 12, 18, kDSI},
    // Fractional binary.
    {"100.035Ki", 10243584, -2, kBSI},
    {"0.5Mi", 512 * 1024, 0, kBSI},
    {"0.05Gi", 536870912, -1, kBSI},
    {"0.025Ti", 274877906944, -1, kBSI},
    // "Things written by trolls".
    {"0.000000000001Ki", 2, -9, kDSI},  // rounds up, changes format
    {".001", 1, -3, kDSI},
    {".0001k", 100, -3, kDSI},
    {"1.", 1, 0, kDSI},
    {"1.G", 1, 9, kDSI},
};

TEST(QuantityTest, ParseTableValuesAndFormats) {
  for (const ParseCase& c : kParseCases) {
    SCOPED_TRACE(c.input);
    Quantity want = Quantity::FromScaled(c.mantissa, c.exponent);
    for (const std::string prefix : {"", "+", "-"}) {
      SCOPED_TRACE(prefix);
      Result<Quantity> got = Quantity::Parse(prefix + c.input);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      Quantity expected = want;
      if (prefix == "-") expected.Neg();
      EXPECT_EQ(Compare(*got, expected), 0)
          << got->CanonicalString() << " vs " << expected.CanonicalString();
      EXPECT_EQ(got->format(), c.format) << QuantityFormatName(got->format());
    }
  }
}

TEST(QuantityTest, InvalidInputsAreBadRequestWithKubernetesMessages) {
  const std::string kFormat =
      "quantities must match the regular expression "
      "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
  const std::string kSuffix = "unable to parse quantity's suffix";
  const std::string kNumeric = "unable to parse numeric part of quantity";
  struct Case {
    const char* input;
    const std::string* message;
  } cases[] = {
      {"", &kFormat},          {"1.1.M", &kFormat},       {"1+1.0M", &kFormat},
      {"0.1mi", &kSuffix},     {"0.1am", &kFormat},       {"aoeu", &kFormat},
      {".5i", &kSuffix},       {"1i", &kSuffix},          {"-3.01i", &kSuffix},
      {"-3.01e-", &kSuffix},   {" 1", &kFormat},          {"1 ", &kFormat},
      {"1.5.5", &kFormat},     {"abc", &kFormat},         {"1Mb", &kFormat},
      {"1KiB", &kFormat},      {"1K", &kSuffix},          {"1e", &kSuffix},
      {"1E+", &kSuffix},       {"1MM", &kSuffix},         {"1k5", &kSuffix},
      {"1e1e", &kFormat},      {"--1", &kSuffix},         {"1,5", &kFormat},
      {"1e99999999999999999999", &kSuffix},
      {".e-10", &kNumeric},    {"e-10", &kNumeric},       {"-e-12", &kNumeric},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.input);
    Result<Quantity> q = Quantity::Parse(c.input);
    ASSERT_FALSE(q.ok());
    EXPECT_EQ(q.status().reason(), Reason::kBadRequest);
    EXPECT_EQ(q.status().message(), *c.message);
  }
}

TEST(QuantityTest, KubernetesScannerLeniencyParsesAsZero) {
  // Kubernetes' scanner accepts a lone sign, a lone suffix or a lone '.', as zero.
  for (const char* s : {"+", "-", ".", "-.", "Mi", "k", "m", "e3", "00", "-0", "+000"}) {
    SCOPED_TRACE(s);
    Result<Quantity> q = Quantity::Parse(s);
    ASSERT_TRUE(q.ok()) << q.status().ToString();
    EXPECT_TRUE(q->IsZero());
    EXPECT_EQ(q->ToString(), "0");
  }
  EXPECT_EQ(Q("Mi").format(), kBSI);
  EXPECT_EQ(Q("e3").format(), kDE);
}

struct StringCase {
  int64_t mantissa;
  int32_t exponent;
  F format;
  const char* expect;
  const char* alternate;  // another spelling that must print as `expect`, or ""
};

// Kubernetes' TestQuantityString table.
const StringCase kStringCases[] = {
    {1024 * 1024 * 1024, 0, kBSI, "1Gi", "1024Mi"},
    {300 * 1024 * 1024, 0, kBSI, "300Mi", "307200Ki"},
    {6 * 1024, 0, kBSI, "6Ki", ""},
    {1001LL * 1024 * 1024 * 1024, 0, kBSI, "1001Gi", "1025024Mi"},
    {1024LL * 1024 * 1024 * 1024, 0, kBSI, "1Ti", "1024Gi"},
    {5, 0, kBSI, "5", "5000m"},
    {500, -3, kBSI, "500m", "0.5"},
    {1, 9, kDSI, "1G", "1000M"},
    {1000, 6, kDSI, "1G", "0.001T"},
    {1000000, 3, kDSI, "1G", ""},
    {1000000000, 0, kDSI, "1G", ""},
    {1, -3, kDSI, "1m", "1000u"},
    {80, -3, kDSI, "80m", ""},
    {1080, -3, kDSI, "1080m", "1.08"},
    {108, -2, kDSI, "1080m", "1080000000n"},
    {10800, -4, kDSI, "1080m", ""},
    {300, 6, kDSI, "300M", ""},
    {1, 12, kDSI, "1T", ""},
    {1, 18, kDSI, "1E", ""},
    {1, 21, kDSI, "1e21", "1000E"},
    {5, 21, kDSI, "5e21", "5000E"},
    {1, 24, kDSI, "1e24", "1000000E"},
    {1234567, 6, kDSI, "1234567M", ""},
    {1234567, -3, kBSI, "1234567m", ""},
    {3, 3, kDSI, "3k", ""},
    {1025, 0, kBSI, "1025", ""},
    {0, 0, kDSI, "0", ""},
    {0, 0, kBSI, "0", ""},
    {1, 9, kDE, "1e9", ".001e12"},
    {1, -3, kDE, "1e-3", "0.001e0"},
    {1, -9, kDE, "1e-9", "1000e-12"},
    {80, -3, kDE, "80e-3", ""},
    {300, 6, kDE, "300e6", ""},
    {1, 12, kDE, "1e12", ""},
    {1, 3, kDE, "1e3", ""},
    {3, 3, kDE, "3e3", ""},
    {3, 3, kDSI, "3k", ""},
    {0, 0, kDE, "0", "00"},
    {1, -9, kDSI, "1n", ""},
    {80, -9, kDSI, "80n", ""},
    {1080, -9, kDSI, "1080n", ""},
    {108, -8, kDSI, "1080n", ""},
    {10800, -10, kDSI, "1080n", ""},
    {1, -6, kDSI, "1u", ""},
    {80, -6, kDSI, "80u", ""},
    {1080, -6, kDSI, "1080u", ""},
};

TEST(QuantityTest, StringTable) {
  for (const StringCase& c : kStringCases) {
    SCOPED_TRACE(c.expect);
    Quantity q = Quantity::FromScaled(c.mantissa, c.exponent, c.format);
    EXPECT_EQ(q.ToString(), c.expect);
    EXPECT_EQ(q.CanonicalString(), c.expect);
    // The canonical form parses back to itself.
    EXPECT_EQ(Q(c.expect).ToString(), c.expect);
    EXPECT_EQ(Q(c.expect), q);
    if (*c.alternate != '\0') {
      EXPECT_EQ(Q(c.alternate).ToString(), c.expect) << c.alternate;
    }
    if (!q.IsZero()) {
      Quantity neg = q;
      neg.Neg();
      EXPECT_EQ(neg.ToString(), std::string("-") + c.expect);
    }
  }
}

TEST(QuantityTest, ParseEmitTable) {
  // Kubernetes' TestQuantityParseEmit, plus the forms this project relies on.
  struct Case {
    const char* in;
    const char* out;
  } cases[] = {
      {"1Ki", "1Ki"},
      {"1Mi", "1Mi"},
      {"1Gi", "1Gi"},
      {"1024Mi", "1Gi"},
      {"1000M", "1G"},
      {".001Ki", "1024m"},
      {".000001Ki", "1024u"},
      {".000000001Ki", "1024n"},
      {".000000000001Ki", "2n"},
      {"500m", "500m"},
      {"1.5", "1500m"},
      {"1000m", "1"},
      {"1536Mi", "1536Mi"},
      {"0.5Gi", "512Mi"},
      {"1.5Gi", "1536Mi"},
      {"1000", "1k"},
      {"1e3", "1e3"},
      {"0.1", "100m"},
      {"2Ki", "2Ki"},
      {"100", "100"},
      {"1G", "1G"},
      {"256Mi", "256Mi"},
      {"1.5Ki", "1536"},  // binary, integral, but not a multiple of 1024
      {"0.5Ki", "512"},   // below 1024: printed as DecimalSI
      {"1024Ki", "1Mi"},
      {"1536Ki", "1536Ki"},
      {"1.25Ki", "1280"},
      {"1.1Gi", "1181116006400m"},
      {"5Pi", "5Pi"},
      {"1Ei", "1Ei"},
      {"8Ei", "9223372036854775807"},  // capped at 2^63-1
      {"1500000", "1500k"},
      {"1001", "1001"},
      {"10000", "10k"},
      {"12345678901234567890", "12345678901234567890"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    EXPECT_EQ(Q(c.in).ToString(), c.out);
    Quantity neg = Q(std::string("-") + c.in);
    if (!neg.IsZero()) {
      EXPECT_EQ(neg.ToString(), std::string("-") + c.out);
    }
  }
}

TEST(QuantityTest, LargeValuesFromKubernetesTestParseQuantity) {
  struct Case {
    const char* in;
    const char* out;
  } cases[] = {
      {"-999999999999999999", "-999999999999999999"},
      {"999999999999999999.0", "999999999999999999"},
      {"-999999999999999999.1", "-999999999999999999100m"},
      {"9999999999999999999", "9999999999999999999"},
      {"-1E", "-1E"},
      {"1000000000000000000", "1E"},
      {"-1.0E", "-1E"},
      {"9999999999999999999000m", "9999999999999999999"},
      {"1.0000000000000000001E", "1000000000000000000100m"},
      {"1.000000000000000001E", "1000000000000000001"},
      {"10E", "10E"},
      {"-10000000000000000000", "-10E"},
      {"10.0000000000000000001E", "10000000000000000000100m"},
      {"10000000000000000001", "10000000000000000001"},
      {"-9223372036854775809", "-9223372036854775809"},
      {"9223372036854775807.1", "9223372036854775807100m"},
      {"9223372036854775808000m", "9223372036854775808"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    EXPECT_EQ(Q(c.in).ToString(), c.out);
  }
  EXPECT_EQ(Q("1E").AsInt64(), 1000000000000000000);
  EXPECT_EQ(Q("-1.0E").AsInt64(), -1000000000000000000);
  EXPECT_EQ(Q("9223372036854775807").AsInt64(), kMax);
  EXPECT_EQ(Q("-9223372036854775808").AsInt64(), kMin);
  EXPECT_EQ(Q("9223372036854775808").AsInt64(), std::nullopt);
  EXPECT_EQ(Q("10E").AsInt64(), std::nullopt);
  EXPECT_EQ(Q("1.5").AsInt64(), std::nullopt);
  EXPECT_EQ(Q("0").AsInt64(), 0);
}

TEST(QuantityTest, ToStringEchoesInputsKubernetesCachesAsCanonical) {
  // Kubernetes' parser keeps these inputs verbatim as String(); CanonicalString() does
  // not.
  struct Case {
    const char* in;
    const char* to_string;
    const char* canonical;
  } cases[] = {
      {"+1", "+1", "1"},
      {"01", "01", "1"},
      {"0010m", "0010m", "10m"},
      {"1E3", "1E3", "1e3"},
      {"1e+3", "1e+3", "1e3"},
      {"1e03", "1e03", "1e3"},
      {"1.001", "1.001", "1001m"},
      {"1.500", "1.500", "1500m"},
      {"+1Ki", "+1Ki", "1Ki"},
      {"01Gi", "01Gi", "1Gi"},
      {"1023Ki", "1023Ki", "1023Ki"},
      {"1e4294967296", "1e4294967296", "1"},  // exponent truncated to int32, as k8s
      // Not echoed: these fail Kubernetes' "looks canonical" checks.
      {"+5Pi", "5Pi", "5Pi"},
      {"1.5", "1500m", "1500m"},
      {"1000m", "1", "1"},
      {"1024Ki", "1Mi", "1Mi"},
      {"-0", "0", "0"},
      {"0.5", "500m", "500m"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    Quantity q = Q(c.in);
    EXPECT_EQ(q.ToString(), c.to_string);
    EXPECT_EQ(q.CanonicalString(), c.canonical);
  }
  // Any arithmetic or format change drops the cached string.
  Quantity q = Q("+1");
  q.Add(Quantity());
  EXPECT_EQ(q.ToString(), "1");
  q = Q("1E3");
  q.set_format(kDSI);
  EXPECT_EQ(q.ToString(), "1k");
  q = Q("+1Ki");
  q.Neg();
  EXPECT_EQ(q.ToString(), "-1Ki");
}

TEST(QuantityTest, ValueAndMilliValueRoundAwayFromZero) {
  struct Case {
    const char* in;
    int64_t value;
    int64_t milli;
  } cases[] = {
      {"0", 0, 0},
      {"500m", 1, 500},
      {"1.5", 2, 1500},
      {"1", 1, 1000},
      {"100m", 1, 100},
      {"1n", 1, 1},
      {"1500u", 1, 2},
      {"-1n", -1, -1},
      {"-9.01", -10, -9010},
      {"-500m", -1, -500},
      {"1Gi", 1073741824, 1073741824000},
      {"256Mi", 268435456, 268435456000},
      {"2Ki", 2048, 2048000},
      {"1e3", 1000, 1000000},
      {"0.0000000001", 1, 1},
      {"9223372036854775807", kMax, kMax},       // milli saturates
      {"-9223372036854775808", kMin, kMin},      // milli saturates
      {"9223372036854775808", kMax, kMax},       // saturates
      {"1e30", kMax, kMax},
      {"-1e30", kMin, kMin},
      {"9223372036854775.807", 9223372036854776, kMax},
      {"9223372036854775.806", 9223372036854776, 9223372036854775806},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    Quantity q = Q(c.in);
    EXPECT_EQ(q.Value(), c.value);
    EXPECT_EQ(q.MilliValue(), c.milli);
  }
}

TEST(QuantityTest, ScaledValueTable) {
  // Kubernetes' TestScaledValue.
  struct Case {
    int32_t from, to;
    int64_t expected;
  } cases[] = {
      {-9, -9, 1},      {-9, -6, 1},   {-9, -3, 1},   {-9, 0, 1},
      {-6, -9, 1000},   {-6, -6, 1},   {-6, -3, 1},   {-6, 0, 1},
      {-3, -9, 1000000}, {-3, -6, 1000}, {-3, -3, 1}, {-3, 0, 1},
      {0, -9, 1000000000}, {0, -6, 1000000}, {0, -3, 1000}, {0, 0, 1},
      {2, -2, 100 * 100},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Quantity::FromScaled(1, c.from).ScaledValue(c.to), c.expected)
        << c.from << " -> " << c.to;
  }
}

TEST(QuantityTest, Compare) {
  struct Case {
    const char* a;
    const char* b;
    int want;
  } cases[] = {
      {"0", "0", 0},          {"100m", "50m", 1},      {"50m", "100m", -1},
      {"10000T", "100Gi", 1}, {"1Ki", "1024", 0},      {"1e3", "1k", 0},
      {"-1", "0", -1},        {"-2", "-1", -1},        {"1n", "0", 1},
      {"-1n", "0", -1},       {"1.5", "1500m", 0},     {"1e-5", "10u", 0},
      {"1E", "999999999999999999", 1},                 {"1e100", "9Ei", 1},
      {"-1e100", "-9Ei", -1}, {"0.1", "99m", 1},       {"1.01", "1.001", 1},
      {"123", "1230m", 1},   {"1230", "1.23k", 0},    {"0Ki", "0m", 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.a) + " vs " + c.b);
    Quantity a = Q(c.a), b = Q(c.b);
    EXPECT_EQ(Compare(a, b), c.want);
    EXPECT_EQ(Compare(b, a), -c.want);
    EXPECT_EQ(a == b, c.want == 0);
    EXPECT_EQ(a < b, c.want < 0);
    EXPECT_EQ(a > b, c.want > 0);
    EXPECT_EQ(a <= b, c.want <= 0);
  }
}

TEST(QuantityTest, AddAndSubFollowKubernetesFormatRules) {
  // Kubernetes' TestAdd/TestSub.
  Quantity a = Quantity::FromInt(10);
  a.Add(Quantity::FromScaled(1, 1));
  EXPECT_EQ(a, Quantity::FromInt(20));

  a = Quantity::FromInt(10);
  a.Add(Quantity::FromInt(1, kBSI));
  EXPECT_EQ(a.ToString(), "11");
  EXPECT_EQ(a.format(), kDSI);

  a = Quantity::FromInt(10, kBSI);
  a.Add(Quantity::FromInt(1));
  EXPECT_EQ(a.format(), kBSI);
  EXPECT_EQ(a.Value(), 11);

  a = Quantity::FromInt(10);
  a.Sub(Quantity::FromScaled(1, 1));
  EXPECT_TRUE(a.IsZero());

  a = Quantity();
  a.Sub(Quantity::FromInt(50));
  EXPECT_EQ(a.ToString(), "-50");

  // A zero takes the other operand's format, in either order.
  for (const char* s : {"100m", "1Gi", "1e3"}) {
    SCOPED_TRACE(s);
    Quantity v = Q(s);
    Quantity zero_first = Q("0");
    zero_first.Add(v);
    EXPECT_EQ(zero_first.ToString(), s);
    Quantity value_first = v;
    value_first.Add(Q("0"));
    EXPECT_EQ(value_first.ToString(), s);
    Quantity sub_from_zero = Q("0");
    sub_from_zero.Sub(v);
    EXPECT_EQ(sub_from_zero.ToString(), std::string("-") + s);
  }

  EXPECT_EQ((Q("1.5") + Q("500m")).ToString(), "2");
  EXPECT_EQ((Q("1Gi") - Q("512Mi")).ToString(), "512Mi");
  EXPECT_EQ((Q("100m") - Q("250m")).ToString(), "-150m");
  EXPECT_EQ((Q("-100m") + Q("250m")).ToString(), "150m");
  EXPECT_EQ((Q("1n") + Q("1E")).ToString(), "1000000000000000000000000001n");
  Quantity big = Quantity::FromInt(kMax) + Quantity::FromInt(1);
  EXPECT_EQ(big.ToString(), "9223372036854775808");
  EXPECT_EQ(big.Value(), kMax);
  EXPECT_EQ(big.AsInt64(), std::nullopt);
  EXPECT_EQ((Quantity::FromInt(kMin) - Quantity::FromInt(1)).ToString(),
            "-9223372036854775809");
}

TEST(QuantityTest, AddSubRoundTripAcrossScales) {
  std::mt19937_64 rng(42);
  Quantity q;
  std::vector<Quantity> added;
  for (int i = 0; i < 200; ++i) {
    int64_t v = static_cast<int64_t>(rng() >> 1);
    if (i % 3 == 0) v = -v;
    Quantity term = Quantity::FromScaled(v, static_cast<int32_t>(v % 20) - 10);
    added.push_back(term);
    q.Add(term);
  }
  EXPECT_FALSE(q.IsZero());
  for (const Quantity& term : added) q.Sub(term);
  EXPECT_TRUE(q.IsZero()) << q.ToString();
  EXPECT_EQ(q.ToString(), "0");
}

TEST(QuantityTest, NegAndSign) {
  Quantity q = Quantity::FromScaled(901, -2);
  q.Neg();
  EXPECT_EQ(q.ToString(), "-9010m");
  EXPECT_EQ(q.Sign(), -1);
  q.Neg();
  EXPECT_EQ(q.Sign(), 1);
  Quantity zero;
  zero.Neg();
  EXPECT_EQ(zero.Sign(), 0);
  EXPECT_EQ(zero.ToString(), "0");
}

TEST(QuantityTest, Constructors) {
  // Kubernetes' TestMilliNewSet / TestNewSet / TestNewScaledSet.
  EXPECT_EQ(Quantity::FromMilli(1).ToString(), "1m");
  EXPECT_EQ(Quantity::FromMilli(1000).ToString(), "1");
  EXPECT_EQ(Quantity::FromMilli(1234000).ToString(), "1234");
  EXPECT_EQ(Quantity::FromMilli(1024, kBSI).ToString(), "1024m");
  EXPECT_EQ(Quantity::FromMilli(1000000, kDE).ToString(), "1e3");
  EXPECT_EQ(Quantity::FromMilli(1024 * 1024, kBSI).ToString(), "1048576m");
  EXPECT_EQ(Quantity::FromMilli(250).MilliValue(), 250);
  EXPECT_EQ(Quantity::FromInt(1).ToString(), "1");
  EXPECT_EQ(Quantity::FromInt(1000).ToString(), "1k");
  EXPECT_EQ(Quantity::FromInt(1234000).ToString(), "1234k");
  EXPECT_EQ(Quantity::FromInt(1024, kBSI).ToString(), "1Ki");
  EXPECT_EQ(Quantity::FromInt(1000000, kDE).ToString(), "1e6");
  EXPECT_EQ(Quantity::FromInt(1024 * 1024, kBSI).ToString(), "1Mi");
  EXPECT_EQ(Quantity::FromInt(kMin).ToString(), "-9223372036854775808");
  EXPECT_EQ(Quantity::FromInt(kMin).Value(), kMin);
  EXPECT_EQ(Quantity::FromScaled(1, -9).ToString(), "1n");
  EXPECT_EQ(Quantity::FromScaled(1000, -9).ToString(), "1u");
  EXPECT_EQ(Quantity::FromScaled(1, -6).ToString(), "1u");
  EXPECT_EQ(Quantity::FromScaled(1000, -6).ToString(), "1m");
  EXPECT_EQ(Quantity::FromScaled(1000, -3).ToString(), "1");
  EXPECT_EQ(Quantity::FromScaled(1, -12).ToString(), "1e-12");  // below nano: no suffix
  EXPECT_EQ(Quantity().ToString(), "0");
  EXPECT_EQ(Quantity().format(), kDSI);
}

TEST(QuantityTest, HugeExponentsStayCheap) {
  Quantity huge = Q("1e2000000000");
  EXPECT_EQ(huge.format(), kDE);
  EXPECT_EQ(huge.ToString(), "100e1999999998");
  EXPECT_GT(huge, Q("9Ei"));
  EXPECT_EQ(huge.Value(), kMax);
  Quantity tiny = Q("1e-2000000000");  // rounds up to one nano
  EXPECT_EQ(tiny.ToString(), "1e-9");
  EXPECT_EQ(tiny, Q("1n"));
  // A BinarySI value too large to divide into Ki..Ei prints as DecimalSI.
  Quantity wide = Q("1e5000");
  wide.set_format(kBSI);
  EXPECT_EQ(wide.ToString(), "100e4998");
  wide.Add(Quantity::FromInt(1));
  EXPECT_EQ(wide.ToString().size(), 5001u);
}

// Found by fuzz/quantity_fuzzer ("0.000000001" plus "0001e0002136802311"): an exact sum
// of operands 2e9 orders of magnitude apart built a 2-billion-digit string. Beyond 100,000
// orders of magnitude the smaller operand is dropped; closer than that the sum stays exact.
TEST(QuantityTest, AddOfFarApartValuesDropsTheNegligibleOne) {
  // (Messages print a result's length: an exact one has 100 million digits.)
  Quantity far = Q("1e100000005");
  Quantity sum = far + Q("1n");
  EXPECT_TRUE(sum == far) << sum.CanonicalString().size() << " characters";
  sum = Q("-1n") + far;
  EXPECT_TRUE(sum == far) << sum.CanonicalString().size() << " characters";
  sum = far - Q("1");
  EXPECT_TRUE(sum == far) << sum.CanonicalString().size() << " characters";
  sum = Q("1e-9") + Q("1e100000000");
  EXPECT_TRUE(sum == Q("1e100000000")) << sum.CanonicalString().size() << " characters";

  Quantity near = Q("1e99990") + Q("1");  // 99,991 digits: exact
  EXPECT_EQ(near - Q("1e99990"), Q("1"));
  EXPECT_EQ(near.ToString().size(), 99991u);
}

TEST(QuantityTest, FormatNames) {
  EXPECT_STREQ(QuantityFormatName(kDSI), "DecimalSI");
  EXPECT_STREQ(QuantityFormatName(kBSI), "BinarySI");
  EXPECT_STREQ(QuantityFormatName(kDE), "DecimalExponent");
}

TEST(QuantityDeathTest, MustParseAbortsOnInvalidInput) {
  EXPECT_DEATH(Quantity::MustParse("1.5.5"), "quantities must match");
}

}  // namespace
}  // namespace cattle
