// RFC 3339 formatting and parsing with civil-calendar arithmetic (no locale, no time zone
// database, no libc time functions): the results do not depend on TZ or the C locale.

#include "cattle/clock.h"

#include <cstdint>
#include <cstdio>
#include <string>

namespace cattle {
namespace {

constexpr int64_t kNanosPerSecond = 1'000'000'000;
constexpr int64_t kSecondsPerDay = 86'400;

// Days since 1970-01-01 of the proleptic Gregorian date y-m-d (Howard Hinnant's
// days_from_civil). Valid for any year that fits the arithmetic.
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;                                    // [0, 399]
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            // [0, 146096]
  return era * 146097 + doe - 719468;
}

// The inverse of DaysFromCivil.
void CivilFromDays(int64_t z, int64_t* y, int* m, int* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;                                  // [0, 146096]
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);          // [0, 365]
  const int64_t mp = (5 * doy + 2) / 153;                                // [0, 11]
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2 ? 1 : 0);
}

bool IsLeapYear(int64_t y) { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }

int DaysInMonth(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeapYear(y) ? 29 : kDays[m - 1];
}

// Floor division and modulo, so that instants before 1970 format correctly.
int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
int64_t FloorMod(int64_t a, int64_t b) { return a - FloorDiv(a, b) * b; }

// "YYYY-MM-DDTHH:MM:SS" (no zone) for the second containing `wall_nanos`; `*sub_nanos`
// receives the nanoseconds past that second, in [0, 1e9).
std::string FormatSeconds(int64_t wall_nanos, int64_t* sub_nanos) {
  const int64_t secs = FloorDiv(wall_nanos, kNanosPerSecond);
  *sub_nanos = FloorMod(wall_nanos, kNanosPerSecond);
  const int64_t days = FloorDiv(secs, kSecondsPerDay);
  const int64_t sod = FloorMod(secs, kSecondsPerDay);
  int64_t y;
  int m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04lld-%02d-%02dT%02d:%02d:%02d", static_cast<long long>(y), m,
                d, static_cast<int>(sod / 3600), static_cast<int>(sod / 60 % 60),
                static_cast<int>(sod % 60));
  return buf;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `n` decimal digits at text[*pos], advancing *pos.
bool ReadDigits(const std::string& text, size_t* pos, int n, int* out) {
  if (text.size() - *pos < static_cast<size_t>(n)) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    const char c = text[*pos + i];
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool Expect(const std::string& text, size_t* pos, char a, char b = '\0') {
  if (*pos >= text.size()) return false;
  const char c = text[*pos];
  if (c != a && (b == '\0' || c != b)) return false;
  ++*pos;
  return true;
}

}  // namespace

std::string FormatRfc3339(int64_t wall_nanos) {
  int64_t sub;
  return FormatSeconds(wall_nanos, &sub) + "Z";
}

std::string FormatRfc3339Micro(int64_t wall_nanos) {
  int64_t sub;
  std::string out = FormatSeconds(wall_nanos, &sub);
  char frac[32];
  std::snprintf(frac, sizeof(frac), ".%06dZ", static_cast<int>(sub / 1000));
  return out + frac;
}

bool ParseRfc3339(const std::string& text, int64_t* wall_nanos) {
  // date-time = full-date "T" full-time; RFC 3339 section 5.6 (T and Z may be lowercase).
  size_t pos = 0;
  int year, month, day, hour, minute, second;
  if (!ReadDigits(text, &pos, 4, &year) || !Expect(text, &pos, '-') ||
      !ReadDigits(text, &pos, 2, &month) || !Expect(text, &pos, '-') ||
      !ReadDigits(text, &pos, 2, &day) || !Expect(text, &pos, 'T', 't') ||
      !ReadDigits(text, &pos, 2, &hour) || !Expect(text, &pos, ':') ||
      !ReadDigits(text, &pos, 2, &minute) || !Expect(text, &pos, ':') ||
      !ReadDigits(text, &pos, 2, &second)) {
    return false;
  }
  // Leap seconds (":60") are rejected, as Go's time.Parse does.
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 23 ||
      minute > 59 || second > 59) {
    return false;
  }
  int64_t frac_nanos = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < text.size() && IsDigit(text[pos])) {
      if (digits < 9) frac_nanos = frac_nanos * 10 + (text[pos] - '0');  // truncate beyond ns
      ++digits;
      ++pos;
    }
    if (digits == 0) return false;
    for (int i = digits; i < 9; ++i) frac_nanos *= 10;
  }
  int64_t offset_seconds = 0;
  if (pos >= text.size()) return false;
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int oh, om;
    if (!ReadDigits(text, &pos, 2, &oh) || !Expect(text, &pos, ':') ||
        !ReadDigits(text, &pos, 2, &om) || oh > 23 || om > 59) {
      return false;
    }
    offset_seconds = sign * (oh * 3600 + om * 60);
  } else {
    return false;
  }
  if (pos != text.size()) return false;

  // Local time minus the offset is UTC. Years 0000-9999 keep `secs` far inside int64; only
  // the conversion to nanoseconds can overflow (int64 nanos span years 1677-2262).
  const int64_t secs = DaysFromCivil(year, month, day) * kSecondsPerDay + hour * 3600 +
                       minute * 60 + second - offset_seconds;
  int64_t nanos;
  if (__builtin_mul_overflow(secs, kNanosPerSecond, &nanos) ||
      __builtin_add_overflow(nanos, frac_nanos, &nanos)) {
    return false;
  }
  *wall_nanos = nanos;
  return true;
}

}  // namespace cattle
