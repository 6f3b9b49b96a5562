#include "cattle/status.h"

namespace cattle {

namespace {
struct ReasonRow {
  Reason reason;
  const char* name;
  int code;
};
constexpr ReasonRow kReasons[] = {
    {Reason::kOk, "", 200},
    {Reason::kNotFound, "NotFound", 404},
    {Reason::kAlreadyExists, "AlreadyExists", 409},
    {Reason::kConflict, "Conflict", 409},
    {Reason::kInvalid, "Invalid", 422},
    {Reason::kBadRequest, "BadRequest", 400},
    {Reason::kExpired, "Expired", 410},
    {Reason::kGone, "Gone", 410},
    {Reason::kTooLarge, "RequestEntityTooLarge", 413},
    {Reason::kUnsupportedMediaType, "UnsupportedMediaType", 415},
    {Reason::kMethodNotAllowed, "MethodNotAllowed", 405},
    {Reason::kTooManyRequests, "TooManyRequests", 429},
    {Reason::kTimeout, "Timeout", 504},
    {Reason::kServiceUnavailable, "ServiceUnavailable", 503},
    {Reason::kInternalError, "InternalError", 500},
    {Reason::kUnavailable, "Unavailable", 503},
    {Reason::kForbidden, "Forbidden", 403},
};
}  // namespace

const char* ReasonName(Reason r) {
  for (const auto& row : kReasons)
    if (row.reason == r) return row.name;
  return "Unknown";
}

int ReasonHttpCode(Reason r) {
  for (const auto& row : kReasons)
    if (row.reason == r) return row.code;
  return 500;
}

Reason ReasonFromName(const std::string& name) {
  for (const auto& row : kReasons)
    if (name == row.name) return row.reason;
  return Reason::kInternalError;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(ReasonName(reason_)) + ": " + message_;
}

}  // namespace cattle
