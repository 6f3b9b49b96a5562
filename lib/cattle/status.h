// Status and Result<T>: how every cattle layer reports failure. Reasons are Kubernetes'
// StatusReason values, so an error keeps its meaning from the store up to kubectl.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace cattle {

enum class Reason {
  kOk = 0,
  kNotFound,          // 404
  kAlreadyExists,     // 409
  kConflict,          // 409
  kInvalid,           // 422, with causes naming fields
  kBadRequest,        // 400
  kExpired,           // 410: the requested revision was compacted; relist
  kGone,              // 410
  kTooLarge,          // 413
  kUnsupportedMediaType,  // 415
  kMethodNotAllowed,  // 405
  kTooManyRequests,   // 429
  kTimeout,           // 504 (client-side: no answer in time)
  kServiceUnavailable,  // 503
  kInternalError,     // 500
  kUnavailable,       // transport: the server could not be reached
  kForbidden,         // 403: admission (or, later, authorization) refuses the request
};

// Kubernetes' reason string ("NotFound", "Invalid", ...) and HTTP code.
const char* ReasonName(Reason r);
int ReasonHttpCode(Reason r);
Reason ReasonFromName(const std::string& name);

struct StatusCause {
  std::string type;     // e.g. "FieldValueInvalid", "FieldValueRequired"
  std::string message;
  std::string field;    // e.g. "spec.replicas"
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status NotFound(std::string m) { return Status(Reason::kNotFound, std::move(m)); }
  static Status AlreadyExists(std::string m) { return Status(Reason::kAlreadyExists, std::move(m)); }
  static Status Conflict(std::string m) { return Status(Reason::kConflict, std::move(m)); }
  static Status Invalid(std::string m, std::vector<StatusCause> causes = {}) {
    Status s(Reason::kInvalid, std::move(m));
    s.causes_ = std::move(causes);
    return s;
  }
  static Status BadRequest(std::string m) { return Status(Reason::kBadRequest, std::move(m)); }
  static Status Forbidden(std::string m) { return Status(Reason::kForbidden, std::move(m)); }
  static Status Expired(std::string m) { return Status(Reason::kExpired, std::move(m)); }
  static Status TooLarge(std::string m) { return Status(Reason::kTooLarge, std::move(m)); }
  static Status Internal(std::string m) { return Status(Reason::kInternalError, std::move(m)); }
  static Status Timeout(std::string m) { return Status(Reason::kTimeout, std::move(m)); }
  static Status Unavailable(std::string m) { return Status(Reason::kUnavailable, std::move(m)); }

  Status(Reason r, std::string m) : reason_(r), message_(std::move(m)) {}

  bool ok() const { return reason_ == Reason::kOk; }
  Reason reason() const { return reason_; }
  const std::string& message() const { return message_; }
  const std::vector<StatusCause>& causes() const { return causes_; }
  std::vector<StatusCause>& mutable_causes() { return causes_; }
  // Kubernetes' details.retryAfterSeconds (and Retry-After header): 0 = none.
  int retry_after_seconds() const { return retry_after_seconds_; }
  void set_retry_after_seconds(int s) { retry_after_seconds_ = s; }
  bool Is(Reason r) const { return reason_ == r; }
  // "NotFound: pods \"x\" not found"
  std::string ToString() const;

 private:
  Reason reason_ = Reason::kOk;
  std::string message_;
  std::vector<StatusCause> causes_;
  int retry_after_seconds_ = 0;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status s) : v_(std::move(s)) {}     // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<1>(v_);
  }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace cattle

#define CATTLE_RETURN_IF_ERROR(expr)    \
  do {                                  \
    ::cattle::Status _st = (expr);      \
    if (!_st.ok()) return _st;          \
  } while (0)
