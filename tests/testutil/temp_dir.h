// A fresh directory under /tmp for a test, removed with everything in it on destruction.
// Needs nothing else from the harness, so unit tests use it too.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace cattle::testutil {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/cattle-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace cattle::testutil
