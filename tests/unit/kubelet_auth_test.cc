// kubelet_auth: the token file `cattle up` makes (random, 0600, never overwritten), what a
// reader accepts, HMAC-SHA256 against RFC 4231's vectors, and which addresses count as the
// cluster's loopback network.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>

#include "cattle/kubelet_auth.h"
#include "testutil/temp_dir.h"

namespace cattle::kubelet_auth {
namespace {

using testutil::TempDir;

std::string Hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

TEST(KubeletAuthTest, NewTokenFilesAreRandomPrivateAndNeverOverwritten) {
  TempDir dir;
  const std::string a = dir.path() + "/a", b = dir.path() + "/b";
  ASSERT_TRUE(WriteNewTokenFile(a).ok());
  ASSERT_TRUE(WriteNewTokenFile(b).ok());
  struct stat st {};
  ASSERT_EQ(stat(a.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto ta = ReadTokenFile(a), tb = ReadTokenFile(b);
  ASSERT_TRUE(ta.ok() && tb.ok());
  EXPECT_EQ(ta->size(), 64u);
  EXPECT_NE(*ta, *tb);
  Status again = WriteNewTokenFile(a);
  EXPECT_TRUE(again.Is(Reason::kAlreadyExists)) << again.ToString();
  EXPECT_EQ(*ReadTokenFile(a), *ta);
}

TEST(KubeletAuthTest, ReadTokenFileRefusesSharedEmptyMissingAndHugeFiles) {
  TempDir dir;
  auto write = [&](const std::string& name, const std::string& text, mode_t mode) {
    std::string path = dir.path() + "/" + name;
    std::ofstream(path) << text;
    chmod(path.c_str(), mode);
    return path;
  };
  auto ok = ReadTokenFile(write("ok", "  secret-token\n", 0600));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(*ok, "secret-token");
  for (auto [name, text, mode] : {std::tuple<std::string, std::string, mode_t>{"shared", "secret", 0644},
                                  {"group", "secret", 0640},
                                  {"empty", " \n", 0600},
                                  {"huge", std::string(5000, 'x'), 0600}}) {
    auto r = ReadTokenFile(write(name, text, mode));
    EXPECT_TRUE(r.status().Is(Reason::kBadRequest)) << name << ": " << r.status().ToString();
  }
  EXPECT_TRUE(ReadTokenFile(dir.path() + "/absent").status().Is(Reason::kBadRequest));
  EXPECT_TRUE(ReadTokenFile(dir.path()).status().Is(Reason::kBadRequest));  // a directory
}

TEST(KubeletAuthTest, MacIsHmacSha256AndVerifyChecksAllOfIt) {
  // RFC 4231, test cases 2 and 6 (a key longer than the block size).
  EXPECT_EQ(Hex(Mac("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(Hex(Mac(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  std::string mac = Mac("token", "message");
  EXPECT_EQ(mac.size(), kMacBytes);
  EXPECT_TRUE(Verify("token", "message", mac));
  EXPECT_FALSE(Verify("token", "messagE", mac));
  EXPECT_FALSE(Verify("tokeN", "message", mac));
  EXPECT_FALSE(Verify("token", "message", mac.substr(0, 31)));
  EXPECT_FALSE(Verify("token", "message", ""));
  std::string flipped = mac;
  flipped[31] ^= 1;
  EXPECT_FALSE(Verify("token", "message", flipped));
}

TEST(KubeletAuthTest, OnlyDottedQuadsIn127Slash8AreLoopback) {
  for (const char* yes : {"127.0.0.1", "127.0.1.1", "127.255.255.254", "127.3.232.1"})
    EXPECT_TRUE(IsLoopbackAddress(yes)) << yes;
  for (const char* no : {"", "192.0.2.1", "0.0.0.0", "128.0.0.1", "localhost", "127.1", "127.0.0.1.", "127.0.0.01",
                         "0127.0.0.1", "127.0.0.256", "127.0.0.1:80", " 127.0.0.1", "::1", "::ffff:127.0.0.1",
                         "127.0.0.-1", "127.0.0.1234"})
    EXPECT_FALSE(IsLoopbackAddress(no)) << no;
}

}  // namespace
}  // namespace cattle::kubelet_auth
