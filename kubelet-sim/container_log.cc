#include "kubelet-sim/container_log.h"

#include <algorithm>
#include <cstdio>

#include "cattle/clock.h"

namespace cattle::kubelet {

std::string FormatRfc3339Nano(int64_t wall_nanos) {
  int64_t secs = wall_nanos / 1'000'000'000;
  int64_t frac = wall_nanos % 1'000'000'000;
  if (frac < 0) {
    frac += 1'000'000'000;
    secs -= 1;
  }
  std::string out = FormatRfc3339(secs * 1'000'000'000);  // "...:05Z"
  if (frac == 0) return out;
  char digits[16];
  std::snprintf(digits, sizeof(digits), "%09lld", static_cast<long long>(frac));
  std::string f(digits);
  while (!f.empty() && f.back() == '0') f.pop_back();
  out.pop_back();  // the 'Z'
  return out + "." + f + "Z";
}

void ContainerLog::Append(int64_t wall_nanos, std::string_view text) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return;
  while (true) {
    size_t nl = text.find('\n');
    std::string_view part = text.substr(0, nl);
    if (part.size() > limits_.max_bytes) part = part.substr(0, limits_.max_bytes);
    lines_.push_back(Line{wall_nanos, std::string(part)});
    bytes_ += part.size();
    if (nl == std::string_view::npos || nl + 1 == text.size()) break;
    text = text.substr(nl + 1);
  }
  Evict();
}

void ContainerLog::Evict() {
  while (size() > 0 && (size() > limits_.max_lines || bytes_ > limits_.max_bytes)) {
    bytes_ -= lines_[head_].text.size();
    lines_[head_].text = std::string();  // free it now, not at compaction
    head_++;
    first_++;
  }
  // Compact once the dropped prefix is as large as what is kept: amortised O(1).
  if (head_ > 0 && head_ >= size()) {
    lines_.erase(lines_.begin(), lines_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

void ContainerLog::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
}

bool ContainerLog::closed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

ContainerLog::Cursor ContainerLog::Start(std::optional<int64_t> tail_lines,
                                         std::optional<int64_t> since_nanos) const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t begin = head_;
  if (tail_lines) {
    size_t n = static_cast<size_t>(std::max<int64_t>(*tail_lines, 0));
    if (n < size()) begin = lines_.size() - n;
  }
  if (since_nanos) {
    // Lines are in write order, so those written at or after `since` are a suffix; a
    // clock stepping back only makes a few lines count as earlier.
    size_t i = lines_.size();
    while (i > begin && lines_[i - 1].time >= *since_nanos) --i;
    begin = i;
  }
  return first_ + (begin - head_);
}

size_t ContainerLog::Read(Cursor* cursor, bool timestamps, size_t max_bytes, std::string* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (*cursor < first_) *cursor = first_;  // evicted meanwhile
  size_t added = 0;
  while (*cursor < first_ + size() && added < max_bytes) {
    const Line& line = lines_[head_ + (*cursor - first_)];
    size_t before = out->size();
    if (timestamps) {
      out->append(FormatRfc3339Nano(line.time));
      out->push_back(' ');
    }
    out->append(line.text);
    out->push_back('\n');
    added += out->size() - before;
    ++*cursor;
  }
  return added;
}

ContainerLog::Cursor ContainerLog::End() const {
  std::lock_guard<std::mutex> lock(mu_);
  return first_ + size();
}

std::vector<std::string> ContainerLog::Lines() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  out.reserve(size());
  for (size_t i = head_; i < lines_.size(); ++i) out.push_back(lines_[i].text);
  return out;
}

size_t ContainerLog::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}

}  // namespace cattle::kubelet
