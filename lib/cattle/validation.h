// Name and label validation with Kubernetes' exact rules and messages
// (k8s.io/apimachinery/pkg/util/validation and pkg/api/validate/content, as of
// Kubernetes 1.35/1.36).
//
// Each *Errors function returns Kubernetes' list of messages, empty when the value is
// valid; callers turn each message into a field error, as Kubernetes does
// (e.g. `metadata.name: Invalid value: "Foo": a lowercase RFC 1123 subdomain must ...`).
// Each Is* function returns whether the value is valid and, if `why` is non-null and
// the value is invalid, stores the messages joined with "; " there.
//
// Pure functions: no state, safe to call from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cattle {

// RFC 1123 subdomain (most object names): at most 253 characters,
// [a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*
std::vector<std::string> Dns1123SubdomainErrors(std::string_view value);
bool IsDns1123Subdomain(std::string_view value, std::string* why = nullptr);

// RFC 1123 label (namespace names, ...): at most 63 characters, [a-z0-9]([-a-z0-9]*[a-z0-9])?
std::vector<std::string> Dns1123LabelErrors(std::string_view value);
bool IsDns1123Label(std::string_view value, std::string* why = nullptr);

// RFC 1035 label (service names, ...): at most 63 characters, [a-z]([-a-z0-9]*[a-z0-9])?
std::vector<std::string> Dns1035LabelErrors(std::string_view value);
bool IsDns1035Label(std::string_view value, std::string* why = nullptr);

// Qualified name / label key: an optional DNS-subdomain prefix and '/', then a name of
// at most 63 characters matching ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9].
std::vector<std::string> QualifiedNameErrors(std::string_view value);
bool IsQualifiedName(std::string_view value, std::string* why = nullptr);

// Label value: empty, or at most 63 characters matching
// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9].
std::vector<std::string> LabelValueErrors(std::string_view value);
bool IsValidLabelValue(std::string_view value, std::string* why = nullptr);

// Names used as a REST path segment: may not be "." or "..", may not contain '/' or
// '%' (Kubernetes' IsPathSegmentName; every object name must also pass this).
std::vector<std::string> PathSegmentNameErrors(std::string_view value);

// Go's strconv.Quote / fmt's %q, used in Kubernetes error messages:
// GoQuote("a\"b") == "\"a\\\"b\"". Printable UTF-8 passes through; control characters
// and invalid bytes are escaped.
std::string GoQuote(std::string_view s);

// Joins messages with `sep` ("; " is what Kubernetes uses for label keys and values).
std::string JoinMessages(const std::vector<std::string>& messages, std::string_view sep);

}  // namespace cattle
