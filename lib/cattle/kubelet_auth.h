// Kubelet authentication: how the apiserver proves to a kubelet's log server
// (kubelet-sim/log_server.h) that a request comes from it.
//
// A cluster has one secret token, a random file made by `cattle up` (DIR/kubelet-auth-token,
// mode 0600) and given to the apiserver and every kubelet with --kubelet-auth-token-file.
// The token itself never goes on the wire: every message the apiserver sends a kubelet
// carries HMAC-SHA256(token, the message's exact bytes) in a frame before it, so a listener
// the apiserver was tricked into dialing learns nothing it could use against a real kubelet
// (beyond replaying that one request, which asks for logs the caller could ask for anyway).
#pragma once

#include <string>
#include <string_view>

#include "cattle/status.h"

namespace cattle::kubelet_auth {

// Bytes in a MAC (HMAC-SHA256).
inline constexpr size_t kMacBytes = 32;

// Writes a new random token (64 hex characters and a newline) to `path`, created with mode
// 0600; AlreadyExists when the file exists (it is never overwritten), Internal on I/O errors.
Status WriteNewTokenFile(const std::string& path);

// The token in `path` (surrounding whitespace dropped). BadRequest when the file cannot be
// read, is readable or writable by group or others (chmod 600), is empty, or is longer than
// 4 KiB.
Result<std::string> ReadTokenFile(const std::string& path);

// Whether `address` is a dotted-quad IPv4 address in 127.0.0.0/8 (the only network a cluster
// uses): what a kubelet may listen on and the apiserver may dial. Strict: four decimal
// octets 0..255 without leading zeros, nothing else ("localhost", IPv6 and "127.1" are not).
bool IsLoopbackAddress(std::string_view address);

// HMAC-SHA256(token, message): kMacBytes raw bytes.
std::string Mac(std::string_view token, std::string_view message);

// Whether `mac` is Mac(token, message); compares in constant time. False for a wrong size.
bool Verify(std::string_view token, std::string_view message, std::string_view mac);

}  // namespace cattle::kubelet_auth
