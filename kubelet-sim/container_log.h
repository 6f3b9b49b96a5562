// ContainerLog: the output of one container instance, as the kubelet keeps it for
// `kubectl logs`. Bounded (the oldest lines go first, like a rotated log file), each line
// stored with the wall time it was written. Once the instance exits the log is closed: a
// follower that has read everything is done.
//
// Reading follows Kubernetes' PodLogOptions: a read starts at Start() (tailLines, since),
// Read() formats lines ("<RFC3339Nano> " prefix with timestamps) from a cursor on, so a
// follower calls Read() again with the same cursor to get what was written meanwhile.
//
// Thread-safe: the runtime appends while log readers read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cattle::kubelet {

struct ContainerLogLimits {
  // Lines kept per instance. Default: 1000.
  size_t max_lines = 1000;
  // Bytes of text kept per instance (a longer line is cut to this). Default: 256 KiB.
  size_t max_bytes = 256 * 1024;
};

// Go's time.RFC3339Nano as the kubelet prints it: "2024-01-02T03:04:05.123456789Z" with
// trailing zeros of the fraction dropped ("...:05.5Z", "...:05Z").
std::string FormatRfc3339Nano(int64_t wall_nanos);

class ContainerLog {
 public:
  // A position: the number of lines ever appended before it (survives eviction).
  using Cursor = uint64_t;

  explicit ContainerLog(ContainerLogLimits limits = {}) : limits_(limits) {}
  ContainerLog(const ContainerLog&) = delete;
  ContainerLog& operator=(const ContainerLog&) = delete;

  // Appends `text` written at `wall_nanos`; each '\n'-separated part is one line (a
  // trailing newline adds none). Ignored once closed.
  void Append(int64_t wall_nanos, std::string_view text);
  // The instance exited: nothing more will be written. Idempotent.
  void Close();
  bool closed() const;

  // Where a read starts: the last `tail_lines` lines (all when unset) that were written at
  // or after `since_nanos` (any time when unset).
  Cursor Start(std::optional<int64_t> tail_lines, std::optional<int64_t> since_nanos) const;
  // Appends to *out whole lines from *cursor on while fewer than `max_bytes` bytes were
  // added (so at least one line when there is one; the last may pass `max_bytes`), each
  // ending in '\n' and, with `timestamps`, prefixed "<RFC3339Nano> ". Lines evicted since
  // *cursor was taken are skipped. Advances *cursor; returns the number of bytes added.
  size_t Read(Cursor* cursor, bool timestamps, size_t max_bytes, std::string* out) const;
  // The position after the last line written so far.
  Cursor End() const;

  // The kept lines' text, oldest first (for tests and the kubelet's own callers).
  std::vector<std::string> Lines() const;
  // Bytes of text kept (for memory accounting and tests).
  size_t bytes() const;

 private:
  struct Line {
    int64_t time;
    std::string text;
  };
  // Drops the oldest lines until within limits. REQUIRES(mu_)
  void Evict();
  size_t size() const { return lines_.size() - head_; }  // REQUIRES(mu_)

  const ContainerLogLimits limits_;
  mutable std::mutex mu_;
  // lines_[head_..] are the kept lines; the dropped prefix is compacted away now and then.
  std::vector<Line> lines_;  // GUARDED_BY(mu_)
  size_t head_ = 0;          // GUARDED_BY(mu_)
  Cursor first_ = 0;         // GUARDED_BY(mu_): the cursor of lines_[head_]
  size_t bytes_ = 0;         // GUARDED_BY(mu_)
  bool closed_ = false;      // GUARDED_BY(mu_)
};

}  // namespace cattle::kubelet
