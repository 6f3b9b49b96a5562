#include "cattle/kubelet_auth.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cattle::kubelet_auth {
namespace {

constexpr size_t kTokenBytes = 32;  // 256 random bits
constexpr size_t kMaxTokenFileBytes = 4096;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

Status WriteNewTokenFile(const std::string& path) {
  if (sodium_init() < 0) return Status::Internal("libsodium could not be initialised");
  unsigned char raw[kTokenBytes];
  randombytes_buf(raw, sizeof(raw));
  char hex[2 * kTokenBytes + 1];
  sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
  sodium_memzero(raw, sizeof(raw));
  std::string text = std::string(hex, 2 * kTokenBytes) + "\n";
  sodium_memzero(hex, sizeof(hex));
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return Status::AlreadyExists(path + " exists");
    return Status::Internal("cannot create " + path + ": " + strerror(errno));
  }
  // The umask cannot widen 0600, but an inherited odd one could narrow it to unreadable.
  (void)fchmod(fd, 0600);
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      unlink(path.c_str());
      return Status::Internal("cannot write " + path + ": " + strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0) return Status::Internal("cannot write " + path + ": " + strerror(errno));
  return Status::Ok();
}

Result<std::string> ReadTokenFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::BadRequest("cannot read the kubelet auth token file " + path + ": " + strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return Status::BadRequest("the kubelet auth token file " + path + " is not a regular file");
  }
  if (st.st_mode & 077) {
    close(fd);
    return Status::BadRequest("the kubelet auth token file " + path +
                              " is accessible by group or others; it must be private (chmod 600)");
  }
  std::string text;
  char buf[1024];
  while (text.size() <= kMaxTokenFileBytes) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      close(fd);
      return Status::BadRequest("cannot read the kubelet auth token file " + path + ": " + strerror(errno));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  if (text.size() > kMaxTokenFileBytes)
    return Status::BadRequest("the kubelet auth token file " + path + " is longer than 4 KiB");
  size_t begin = 0, end = text.size();
  while (begin < end && IsSpace(text[begin])) ++begin;
  while (end > begin && IsSpace(text[end - 1])) --end;
  if (begin == end) return Status::BadRequest("the kubelet auth token file " + path + " is empty");
  return text.substr(begin, end - begin);
}

bool IsLoopbackAddress(std::string_view address) {
  int octets[4];
  size_t pos = 0;
  for (int i = 0; i < 4; ++i) {
    if (i > 0) {
      if (pos >= address.size() || address[pos] != '.') return false;
      ++pos;
    }
    size_t start = pos;
    int value = 0;
    while (pos < address.size() && address[pos] >= '0' && address[pos] <= '9' && pos - start < 3)
      value = value * 10 + (address[pos++] - '0');
    if (pos == start || value > 255 || (pos - start > 1 && address[start] == '0')) return false;
    octets[i] = value;
  }
  return pos == address.size() && octets[0] == 127;
}

std::string Mac(std::string_view token, std::string_view message) {
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(token.data()), token.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(message.data()), message.size());
  unsigned char out[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_final(&state, out);
  static_assert(crypto_auth_hmacsha256_BYTES == kMacBytes);
  return std::string(reinterpret_cast<const char*>(out), sizeof(out));
}

bool Verify(std::string_view token, std::string_view message, std::string_view mac) {
  if (mac.size() != kMacBytes) return false;
  std::string want = Mac(token, message);
  return crypto_verify_32(reinterpret_cast<const unsigned char*>(want.data()),
                          reinterpret_cast<const unsigned char*>(mac.data())) == 0;
}

}  // namespace cattle::kubelet_auth
