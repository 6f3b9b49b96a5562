// Store on RocksDB. Design notes (see store.h for the contract):
//
// Layout: three column families in one DB, so a single WriteBatch (one WAL record, one sync)
// covers all of a write:
//   "default"  meta:    "m/revision" → BE64 current revision, "m/compacted" → BE64 compacted
//                       revision, "m/format" → "1".
//   "objects"  key → BE64 create_revision, BE64 mod_revision, value.
//   "history"  BE64 revision → type(1) wall_nanos(8) prev_create(8) prev_mod(8) key_len(4)
//                              prev_value_len(4) key prev_value value.
//              prev_create == 0 means "the key did not exist before".
//   "times"    BE64 first revision of a commit batch → BE64 wall_nanos, BE64 last revision:
//              a small index so that Open rebuilds the age-compaction state without reading
//              history values.
//
// Threads:
//   committer   drains the write queue, validates each write against the current state (a
//               per-batch overlay on top of the in-memory current records), assigns
//               consecutive revisions, writes one WriteBatch with one sync, updates the
//               current records, publishes the events to the in-memory ring, then hands the
//               write callbacks to the completer. A failed validation takes no revision.
//   completer   runs the write callbacks in commit order.
//
// Memory: every key's current record is also held in memory (as etcd keeps its key index
// and Kubernetes' apiserver its watch cache): Get and the committer's checks never read
// RocksDB. List reads a RocksDB snapshot (it needs a consistent revision).
//   dispatcher  delivers events to every watcher. A watcher is only a cursor (next revision
//               wanted) and a prefix: the dispatcher serves it from the ring when the cursor
//               is inside it and from RocksDB history otherwise (catch-up, or a watcher that
//               fell out of the ring). There is no separate "live" path, so catch-up and live
//               delivery cannot leave a gap or a duplicate.
//   compactor   every compaction_interval (on options.clock) deletes old history with one
//               DeleteRange and records the compacted revision in the same batch. When
//               kReclaimEvents events were compacted or keys deleted since the last reclaim
//               (or kReclaimInterval passed with anything compacted), it then reclaims:
//               flushes every memtable (the WAL files they pinned are deleted; the memory
//               of compacted history goes), compacts the compacted history range and the
//               small column families (range tombstones and what they cover are dropped),
//               compacts the objects when deletes are a good part of them (tombstones
//               dropped), and returns freed heap to the OS (malloc_trim). The committer
//               shrinks the key index's bucket array after mass deletes.
#include "apiserver/store.h"

#include <malloc.h>
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string_view>
#include <thread>
#include <unordered_map>

namespace cattle::store {
namespace {

// ---- tuning ---------------------------------------------------------------------------
constexpr size_t kRingMaxEvents = 100000;          // recent events kept in memory
constexpr size_t kRingMaxBytes = 64u << 20;        // ... and at most this many bytes
constexpr size_t kMaxOpsPerBatch = 8192;           // group commit limits
constexpr size_t kMaxBytesPerBatch = 64u << 20;
constexpr size_t kWatchBatchEvents = 1024;         // events handed to one watcher per turn
constexpr size_t kWatchBatchScan = 65536;          // events examined for one watcher per turn
constexpr int64_t kSegmentNanos = 10'000'000;      // wall-time granularity of compaction
constexpr int64_t kReclaimEvents = 10000;          // compacted events / deletes before reclaiming
constexpr int64_t kReclaimIntervalNanos = 300'000'000'000;  // ... or this long with any
// Largest total WAL size: beyond it RocksDB flushes the column families that pin the oldest
// WAL file (the small meta and times families would pin every WAL file until then).
constexpr uint64_t kMaxTotalWalBytes = 64u << 20;

constexpr char kMetaRevision[] = "m/revision";
constexpr char kMetaCompacted[] = "m/compacted";
constexpr char kMetaFormat[] = "m/format";
constexpr char kCfObjects[] = "objects";
constexpr char kCfHistory[] = "history";
constexpr char kCfTimes[] = "times";

// ---- encoding ---------------------------------------------------------------------------
void PutBE64(std::string* dst, uint64_t v) {
  char buf[8];
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>((v >> (56 - 8 * i)) & 0xff);
  dst->append(buf, 8);
}
void PutBE32(std::string* dst, uint32_t v) {
  char buf[4];
  for (int i = 0; i < 4; ++i) buf[i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
  dst->append(buf, 4);
}
uint64_t GetBE64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
uint32_t GetBE32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
std::string RevKey(int64_t rev) {
  std::string k;
  PutBE64(&k, static_cast<uint64_t>(rev));
  return k;
}

struct ObjectRecord {
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  std::string_view value;
};
constexpr size_t kObjectHeader = 16;

std::string EncodeObject(int64_t create_rev, int64_t mod_rev, std::string_view value) {
  std::string out;
  out.reserve(kObjectHeader + value.size());
  PutBE64(&out, static_cast<uint64_t>(create_rev));
  PutBE64(&out, static_cast<uint64_t>(mod_rev));
  out.append(value);
  return out;
}
bool DecodeObject(std::string_view s, ObjectRecord* out) {
  if (s.size() < kObjectHeader) return false;
  out->create_revision = static_cast<int64_t>(GetBE64(s.data()));
  out->mod_revision = static_cast<int64_t>(GetBE64(s.data() + 8));
  out->value = s.substr(kObjectHeader);
  return true;
}

struct HistoryRecord {
  EventType type = EventType::kPut;
  int64_t wall_nanos = 0;
  int64_t prev_create = 0;  // 0: no previous value
  int64_t prev_mod = 0;
  std::string_view key, prev_value, value;
};
constexpr size_t kHistoryHeader = 1 + 8 + 8 + 8 + 4 + 4;

std::string EncodeHistory(const Event& e, int64_t wall_nanos) {
  std::string out;
  out.reserve(kHistoryHeader + e.kv.key.size() + e.prev_kv.value.size() + e.kv.value.size());
  out.push_back(e.type == EventType::kPut ? 0 : 1);
  PutBE64(&out, static_cast<uint64_t>(wall_nanos));
  PutBE64(&out, static_cast<uint64_t>(e.prev_kv.create_revision));
  PutBE64(&out, static_cast<uint64_t>(e.prev_kv.mod_revision));
  PutBE32(&out, static_cast<uint32_t>(e.kv.key.size()));
  PutBE32(&out, static_cast<uint32_t>(e.prev_kv.value.size()));
  out.append(e.kv.key);
  out.append(e.prev_kv.value);
  out.append(e.kv.value);
  return out;
}
bool DecodeHistory(std::string_view s, HistoryRecord* out) {
  if (s.size() < kHistoryHeader) return false;
  const char* p = s.data();
  if (p[0] != 0 && p[0] != 1) return false;
  out->type = p[0] == 0 ? EventType::kPut : EventType::kDelete;
  out->wall_nanos = static_cast<int64_t>(GetBE64(p + 1));
  out->prev_create = static_cast<int64_t>(GetBE64(p + 9));
  out->prev_mod = static_cast<int64_t>(GetBE64(p + 17));
  size_t key_len = GetBE32(p + 25), prev_len = GetBE32(p + 29);
  if (s.size() < kHistoryHeader + key_len + prev_len) return false;
  out->key = s.substr(kHistoryHeader, key_len);
  out->prev_value = s.substr(kHistoryHeader + key_len, prev_len);
  out->value = s.substr(kHistoryHeader + key_len + prev_len);
  return true;
}
std::shared_ptr<const Event> EventFromHistory(int64_t rev, const HistoryRecord& h) {
  auto e = std::make_shared<Event>();
  e->type = h.type;
  e->revision = rev;
  e->kv.key.assign(h.key);
  e->kv.mod_revision = rev;
  if (h.type == EventType::kPut) {
    e->kv.value.assign(h.value);
    e->kv.create_revision = h.prev_create != 0 ? h.prev_create : rev;
  }
  if (h.prev_create != 0) {
    e->prev_kv.key.assign(h.key);
    e->prev_kv.value.assign(h.prev_value);
    e->prev_kv.create_revision = h.prev_create;
    e->prev_kv.mod_revision = h.prev_mod;
  }
  return e;
}

size_t EventBytes(const Event& e) {
  return sizeof(Event) + 2 * e.kv.key.size() + e.kv.value.size() + e.prev_kv.value.size();
}

bool HasPrefix(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}
std::string_view View(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  return Status::Internal(what + ": " + s.ToString());
}

std::string Quote(std::string_view key) {
  std::string out = "\"";
  out.append(key.substr(0, 256));
  if (key.size() > 256) out.append("...");
  out.append("\"");
  return out;
}

// ---- write queue --------------------------------------------------------------------------
struct Op {
  enum class Kind { kCreate, kUpdate, kDelete } kind = Kind::kCreate;
  std::string key;
  std::string value;
  int64_t expected_mod_revision = 0;
  WriteCallback done;
};

// ---- watchers -------------------------------------------------------------------------------
struct Watcher {
  std::string prefix;
  WatchCallback on_event;
  WatchErrorCallback on_error;
  int64_t next_rev = 0;                 // next revision it needs; dispatcher-owned (under mu_)
  std::optional<Status> initial_error;  // delivered instead of anything else
  std::atomic<bool> cancelled{false};
  bool finished = false;                // error delivered; under mu_
};

// A run of consecutive revisions committed within kSegmentNanos of each other, for
// age-based compaction without reading history.
struct Segment {
  int64_t first_rev = 0;
  int64_t last_rev = 0;
  int64_t start_wall = 0;
  int64_t max_wall = 0;
};

class Core : public std::enable_shared_from_this<Core> {
 public:
  explicit Core(StoreOptions options) : opts_(std::move(options)) {}
  ~Core() { CloseDb(); }

  Status Init();
  void Shutdown();

  void Submit(Op op);
  // Whether the caller is the committer or the thread running write callbacks: a
  // synchronous write from there would wait for itself.
  bool OnCommitterThread() const {
    auto self = std::this_thread::get_id();
    return self == committer_id_.load() || self == completer_id_.load();
  }

  Result<KeyValue> Get(const std::string& key);
  Result<ListResult> List(const ListOptions& o);
  std::unique_ptr<Watch> WatchPrefix(const std::string& prefix, int64_t after_revision,
                                     WatchCallback on_event, WatchErrorCallback on_error);
  void Cancel(const std::shared_ptr<Watcher>& w);

  int64_t CurrentRevision() {
    std::lock_guard<std::mutex> lk(mu_);
    return published_rev_;
  }
  int64_t CompactedRevision() {
    std::lock_guard<std::mutex> lk(mu_);
    return compacted_rev_;
  }
  bool WaitForRevision(int64_t revision, Duration timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock<std::mutex> lk(mu_);
    published_cv_.wait_until(lk, deadline, [&] { return published_rev_ >= revision || shut_down_; });
    return published_rev_ >= revision;
  }
  void CompactNow();

 private:
  void CommitterLoop();
  void CommitBatch(std::vector<Op>& ops);
  void CompleterLoop();
  void DispatcherLoop();
  void CompactorLoop();
  void CloseDb();
  void AddSegmentLocked(int64_t first_rev, int64_t last_rev, int64_t wall);
  // After a compaction of `compacted` events: gives space back when it is due (top of file).
  void MaybeReclaim(int64_t compacted);
  int64_t RingFrontRevLocked() const {
    return published_rev_ + 1 - static_cast<int64_t>(ring_.size());
  }
  Status ReadMeta(const rocksdb::ReadOptions& ro, const char* key, int64_t* out);
  // Reads history events in [from, to] whose key has `prefix` from RocksDB, at most
  // kWatchBatchEvents of them; *next is the first revision not examined.
  Status ReadHistory(int64_t from, int64_t to, const std::string& prefix,
                     std::vector<std::shared_ptr<const Event>>* out, int64_t* next);

  const StoreOptions opts_;
  rocksdb::DB* db_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* objects_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* history_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* times_cf_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;

  // Write queue.
  std::mutex q_mu_;
  std::condition_variable q_cv_;
  std::vector<Op> queue_;
  bool q_stopping_ = false;
  std::thread committer_;
  std::atomic<std::thread::id> committer_id_{};
  // Write callbacks, run in commit order on their own thread, so that the committer goes
  // on to the next batch while the replies of the last one are encoded and sent.
  using Completion = std::pair<WriteCallback, Result<int64_t>>;
  std::mutex c_mu_;
  std::condition_variable c_cv_;
  std::vector<Completion> completions_;  // GUARDED_BY(c_mu_)
  bool c_stopping_ = false;              // GUARDED_BY(c_mu_)
  std::thread completer_;
  std::atomic<std::thread::id> completer_id_{};
  // Every key's current record, in memory: reads of one key (Get, and the committer's check
  // of each write against the current state) come from here, not from RocksDB. Loaded by
  // Init; the committer, its only writer, updates it once a batch is durable and before the
  // batch's callbacks run, so an acknowledged write is seen by every later Get.
  struct Current {
    int64_t create_revision = 0;
    int64_t mod_revision = 0;
    std::string value;
  };
  std::shared_mutex cur_mu_;
  std::unordered_map<std::string, std::shared_ptr<const Current>> current_;  // writes: committer, under cur_mu_
  // Committer-only state.
  int64_t committed_rev_ = 0;
  // Deletes committed since the last reclaim of the objects family (committer adds,
  // compactor subtracts what it reclaimed).
  std::atomic<int64_t> deletes_since_reclaim_{0};
  Status broken_;  // set after a failed RocksDB write: every later write fails

  // Shared watch/compaction state, under mu_.
  std::mutex mu_;
  std::condition_variable dispatch_cv_;  // dispatcher wake-up
  std::condition_variable running_cv_;   // a callback finished
  std::condition_variable published_cv_; // published_rev_ advanced, or shut down
  int64_t published_rev_ = 0;            // last revision durable and in the ring
  int64_t compacted_rev_ = 0;
  std::deque<std::shared_ptr<const Event>> ring_;  // revisions RingFrontRev..published_rev_
  size_t ring_bytes_ = 0;
  std::deque<Segment> segments_;  // uncompacted history, by wall time
  std::vector<std::shared_ptr<Watcher>> watchers_;
  bool dispatch_pending_ = false;
  bool dispatch_stopping_ = false;
  const Watcher* running_ = nullptr;  // watcher whose callback the dispatcher is running
  std::thread dispatcher_;
  std::atomic<std::thread::id> dispatcher_id_{};
  bool shut_down_ = false;

  // Compaction.
  std::mutex compact_mu_;  // serializes CompactNow
  int64_t compacted_since_reclaim_ = 0;  // under compact_mu_
  int64_t last_reclaim_wall_ = 0;        // under compact_mu_
  std::mutex compactor_wait_mu_;
  std::condition_variable compactor_cv_;
  bool compactor_stopping_ = false;
  std::thread compactor_;
};

class WatchHandle final : public Watch {
 public:
  WatchHandle(std::shared_ptr<Core> core, std::shared_ptr<Watcher> w)
      : core_(std::move(core)), w_(std::move(w)) {}
  ~WatchHandle() override { Cancel(); }
  void Cancel() override {
    if (core_) core_->Cancel(w_);
  }

 private:
  std::shared_ptr<Core> core_;
  std::shared_ptr<Watcher> w_;
};

// ---- open / close -----------------------------------------------------------------------------
Status Core::ReadMeta(const rocksdb::ReadOptions& ro, const char* key, int64_t* out) {
  std::string v;
  rocksdb::Status s = db_->Get(ro, meta_cf_, key, &v);
  if (s.IsNotFound()) {
    *out = 0;
    return Status::Ok();
  }
  if (!s.ok()) return FromRocks(s, std::string("reading ") + key);
  if (v.size() != 8) return Status::Internal(std::string("corrupt meta record ") + key);
  *out = static_cast<int64_t>(GetBE64(v.data()));
  return Status::Ok();
}

Status Core::Init() {
  std::error_code ec;
  std::filesystem::create_directories(opts_.dir, ec);
  if (ec) return Status::Internal("creating store directory " + opts_.dir + ": " + ec.message());

  rocksdb::DBOptions dbo;
  dbo.create_if_missing = true;
  dbo.create_missing_column_families = true;
  dbo.IncreaseParallelism(2);
  dbo.max_total_wal_size = kMaxTotalWalBytes;
  dbo.keep_log_file_num = 4;

  auto cache = rocksdb::NewLRUCache(64u << 20);
  // Block checksums: XXH3 rather than the default CRC32C, which Debian's portable build of
  // RocksDB computes with tables, not the CPU's CRC instruction. The WAL keeps CRC32C.
  rocksdb::BlockBasedTableOptions objects_table;
  objects_table.block_cache = cache;
  objects_table.checksum = rocksdb::kXXH3;
  objects_table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions objects_opts;
  objects_opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(objects_table));
  objects_opts.OptimizeLevelStyleCompaction(64u << 20);

  rocksdb::BlockBasedTableOptions history_table;
  history_table.block_cache = cache;
  history_table.checksum = rocksdb::kXXH3;
  rocksdb::ColumnFamilyOptions history_opts;
  history_opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(history_table));
  history_opts.write_buffer_size = 64u << 20;
  // History is two thirds of the bytes written and is compacted away within minutes:
  // compressing it on flush costs CPU for disk space it gives back soon anyway.
  history_opts.compression = rocksdb::kNoCompression;

  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {kCfObjects, objects_opts},
      {kCfHistory, history_opts},
      {kCfTimes, rocksdb::ColumnFamilyOptions()},
  };
  // RocksDB reports a LOCK held by another process as an IOError "While lock file: ...".
  auto lock_held = [](const rocksdb::Status& st) {
    return st.IsIOError() && st.ToString().find("lock file") != std::string::npos;
  };
  const auto lock_deadline = std::chrono::steady_clock::now() + opts_.lock_wait;
  rocksdb::Status s = rocksdb::DB::Open(dbo, opts_.dir, cfs, &handles_, &db_);
  while (!s.ok() && lock_held(s) && std::chrono::steady_clock::now() < lock_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    s = rocksdb::DB::Open(dbo, opts_.dir, cfs, &handles_, &db_);
  }
  if (!s.ok() && lock_held(s)) {
    return Status::Conflict("the store at " + opts_.dir +
                            " is in use by another process (is another apiserver running on it?): " + s.ToString());
  }
  if (!s.ok()) return FromRocks(s, "opening store at " + opts_.dir);
  meta_cf_ = handles_[0];
  objects_cf_ = handles_[1];
  history_cf_ = handles_[2];
  times_cf_ = handles_[3];

  std::string format;
  s = db_->Get(rocksdb::ReadOptions(), meta_cf_, kMetaFormat, &format);
  if (s.IsNotFound()) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = db_->Put(wo, meta_cf_, kMetaFormat, "1");
    if (!s.ok()) return FromRocks(s, "writing store format");
  } else if (!s.ok()) {
    return FromRocks(s, "reading store format");
  } else if (format != "1") {
    return Status::Internal("store at " + opts_.dir + " has unknown format " + format);
  }

  rocksdb::ReadOptions ro;
  int64_t rev = 0, compacted = 0;
  CATTLE_RETURN_IF_ERROR(ReadMeta(ro, kMetaRevision, &rev));
  CATTLE_RETURN_IF_ERROR(ReadMeta(ro, kMetaCompacted, &compacted));
  committed_rev_ = rev;
  published_rev_ = rev;
  compacted_rev_ = compacted;
  last_reclaim_wall_ = opts_.clock->WallNanos();

  // Rebuild the wall-time segments of the uncompacted history from the times index.
  // Compaction by event count can cut a batch: its surviving tail has no entry of its own and
  // takes the wall time of the next entry (or of now), which only compacts it later.
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, times_cf_));
  int64_t covered = compacted;  // revisions up to here have a segment (or are compacted)
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key().size() != 8 || it->value().size() != 16)
      return Status::Internal("corrupt time index record");
    int64_t first = static_cast<int64_t>(GetBE64(it->key().data()));
    int64_t wall = static_cast<int64_t>(GetBE64(it->value().data()));
    int64_t last = static_cast<int64_t>(GetBE64(it->value().data() + 8));
    if (last <= covered) continue;
    if (last > rev) return Status::Internal("time index beyond the stored revision");
    if (first > covered + 1) AddSegmentLocked(covered + 1, first - 1, wall);  // a cut batch
    AddSegmentLocked(std::max(first, covered + 1), last, wall);
    covered = last;
  }
  if (!it->status().ok()) return FromRocks(it->status(), "scanning the time index");
  it.reset();
  if (covered < rev) AddSegmentLocked(covered + 1, rev, opts_.clock->WallNanos());

  // Every current key into memory.
  std::unique_ptr<rocksdb::Iterator> objects(db_->NewIterator(ro, objects_cf_));
  for (objects->SeekToFirst(); objects->Valid(); objects->Next()) {
    ObjectRecord rec;
    if (!DecodeObject(std::string_view(objects->value().data(), objects->value().size()), &rec))
      return Status::Internal("corrupt object record for key " + Quote(objects->key().ToString()));
    auto c = std::make_shared<Current>();
    c->create_revision = rec.create_revision;
    c->mod_revision = rec.mod_revision;
    c->value.assign(rec.value);
    current_.emplace(objects->key().ToString(), std::move(c));
  }
  if (!objects->status().ok()) return FromRocks(objects->status(), "reading the objects");
  objects.reset();

  completer_ = std::thread([this] { CompleterLoop(); });
  completer_id_ = completer_.get_id();
  committer_ = std::thread([this] { CommitterLoop(); });
  committer_id_ = committer_.get_id();
  dispatcher_ = std::thread([this] { DispatcherLoop(); });
  dispatcher_id_ = dispatcher_.get_id();
  // A non-positive or absurdly long interval disables the background compactor.
  if (opts_.compaction_interval > Duration::zero() &&
      opts_.compaction_interval < std::chrono::hours(24 * 365 * 100)) {
    compactor_ = std::thread([this] { CompactorLoop(); });
  }
  return Status::Ok();
}

void Core::Shutdown() {
  {
    std::lock_guard<std::mutex> lk(compactor_wait_mu_);
    compactor_stopping_ = true;
  }
  if (db_) db_->DisableManualCompaction();  // a running reclaim stops early
  compactor_cv_.notify_all();
  if (compactor_.joinable()) compactor_.join();
  {
    std::lock_guard<std::mutex> lk(q_mu_);
    q_stopping_ = true;
  }
  q_cv_.notify_all();
  if (committer_.joinable()) committer_.join();  // drains the queue first
  {
    std::lock_guard<std::mutex> lk(c_mu_);
    c_stopping_ = true;
  }
  c_cv_.notify_all();
  if (completer_.joinable()) completer_.join();  // runs the callbacks still queued
  {
    std::lock_guard<std::mutex> lk(mu_);
    dispatch_stopping_ = true;
    shut_down_ = true;
  }
  dispatch_cv_.notify_all();
  published_cv_.notify_all();
  if (dispatcher_.joinable()) dispatcher_.join();
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto& w : watchers_) w->cancelled = true;
    watchers_.clear();
    ring_.clear();
    running_cv_.notify_all();
  }
  CloseDb();
}

void Core::CloseDb() {
  if (!db_) return;
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  handles_.clear();
  db_->Close().PermitUncheckedError();
  delete db_;
  db_ = nullptr;
}

// ---- writes -----------------------------------------------------------------------------------
void Core::Submit(Op op) {
  {
    std::lock_guard<std::mutex> lk(q_mu_);
    if (!q_stopping_) {
      queue_.push_back(std::move(op));
      if (queue_.size() == 1) q_cv_.notify_one();
      return;
    }
  }
  if (op.done) op.done(Status::Unavailable("store is closed"));
}

void Core::CommitterLoop() {
  std::vector<Op> ops;
  std::unique_lock<std::mutex> lk(q_mu_);
  while (true) {
    q_cv_.wait(lk, [&] { return !queue_.empty() || q_stopping_; });
    if (queue_.empty()) break;  // stopping and drained
    size_t n = 0, bytes = 0;
    while (n < queue_.size() && n < kMaxOpsPerBatch && bytes < kMaxBytesPerBatch) {
      bytes += queue_[n].key.size() + queue_[n].value.size();
      ++n;
    }
    if (n == queue_.size()) {
      ops.swap(queue_);
    } else {
      ops.assign(std::make_move_iterator(queue_.begin()),
                 std::make_move_iterator(queue_.begin() + static_cast<ptrdiff_t>(n)));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(n));
    }
    lk.unlock();
    CommitBatch(ops);
    ops.clear();
    lk.lock();
  }
}

void Core::CommitBatch(std::vector<Op>& ops) {
  std::vector<std::optional<Result<int64_t>>> results(ops.size());
  std::vector<std::shared_ptr<Event>> events;
  events.reserve(ops.size());
  // Keys written earlier in this batch → their latest event (the state validation must see).
  std::unordered_map<std::string_view, const Event*> overlay;
  rocksdb::WriteBatch batch;
  const int64_t wall = opts_.clock->WallNanos();
  int64_t rev = committed_rev_;

  for (size_t i = 0; i < ops.size(); ++i) {
    Op& op = ops[i];
    if (!broken_.ok()) {
      results[i] = Status::Internal("store is unusable after a failed write: " + broken_.message());
      continue;
    }
    if (op.key.empty()) {
      results[i] = Status::BadRequest("empty key");
      continue;
    }
    if (op.kind != Op::Kind::kDelete && op.value.size() > opts_.max_value_bytes) {
      results[i] = Status::TooLarge("value for key " + Quote(op.key) + " is " +
                                    std::to_string(op.value.size()) + " bytes; the limit is " +
                                    std::to_string(opts_.max_value_bytes) + " bytes");
      continue;
    }
    // Current state of the key: this batch's overlay, else the in-memory current records.
    bool exists = false;
    KeyValue prev;
    if (auto o = overlay.find(op.key); o != overlay.end()) {
      if (o->second->type == EventType::kPut) {
        exists = true;
        prev = o->second->kv;
      }
    } else if (auto c = current_.find(op.key); c != current_.end()) {  // the committer writes it: no lock
      exists = true;
      prev.key = op.key;
      prev.value = c->second->value;
      prev.create_revision = c->second->create_revision;
      prev.mod_revision = c->second->mod_revision;
    }
    if (op.kind == Op::Kind::kCreate) {
      if (exists) {
        results[i] = Status::AlreadyExists("key " + Quote(op.key) + " already exists");
        continue;
      }
    } else {
      if (!exists) {
        results[i] = Status::NotFound("key " + Quote(op.key) + " not found");
        continue;
      }
      if (op.expected_mod_revision != 0 && op.expected_mod_revision != prev.mod_revision) {
        results[i] = Status::Conflict("key " + Quote(op.key) + " has mod revision " +
                                      std::to_string(prev.mod_revision) + ", not the expected " +
                                      std::to_string(op.expected_mod_revision));
        continue;
      }
    }

    ++rev;
    auto e = std::make_shared<Event>();
    e->revision = rev;
    e->kv.key = std::move(op.key);
    e->kv.mod_revision = rev;
    if (exists) e->prev_kv = std::move(prev);
    if (op.kind == Op::Kind::kDelete) {
      e->type = EventType::kDelete;
      batch.Delete(objects_cf_, e->kv.key);
    } else {
      e->type = EventType::kPut;
      e->kv.value = std::move(op.value);
      e->kv.create_revision = exists ? e->prev_kv.create_revision : rev;
      batch.Put(objects_cf_, e->kv.key,
                EncodeObject(e->kv.create_revision, rev, e->kv.value));
    }
    batch.Put(history_cf_, RevKey(rev), EncodeHistory(*e, wall));
    results[i] = rev;
    overlay[e->kv.key] = e.get();
    events.push_back(std::move(e));
  }

  if (!events.empty()) {
    batch.Put(meta_cf_, kMetaRevision, RevKey(rev));
    std::string times_value;
    PutBE64(&times_value, static_cast<uint64_t>(wall));
    PutBE64(&times_value, static_cast<uint64_t>(rev));
    batch.Put(times_cf_, RevKey(committed_rev_ + 1), times_value);
    rocksdb::WriteOptions wo;
    wo.sync = opts_.sync;
    rocksdb::Status s = db_->Write(wo, &batch);
    if (!s.ok()) {
      broken_ = FromRocks(s, "committing writes");
      for (auto& r : results)
        if (r->ok()) r = broken_;
      events.clear();
    } else {
      committed_rev_ = rev;
      {
        // Only the last write of a key in this batch is its current record.
        std::vector<std::pair<const std::string*, std::shared_ptr<const Current>>> updates;
        updates.reserve(overlay.size());
        for (const auto& [key, e] : overlay) {
          std::shared_ptr<Current> c;
          if (e->type == EventType::kPut) {
            c = std::make_shared<Current>();
            c->create_revision = e->kv.create_revision;
            c->mod_revision = e->kv.mod_revision;
            c->value = e->kv.value;
          }
          updates.emplace_back(&e->kv.key, std::move(c));
        }
        int64_t deletes = 0;
        std::unique_lock<std::shared_mutex> lk(cur_mu_);
        for (auto& [key, c] : updates) {
          if (c) {
            current_[*key] = std::move(c);
          } else {
            current_.erase(*key);
            ++deletes;
          }
        }
        // After mass deletes, give the bucket array back (only the committer, under the
        // exclusive lock, may rehash: it reads the index without a lock).
        if (deletes > 0 && current_.bucket_count() > 1024 &&
            current_.bucket_count() > 8 * current_.size()) {
          current_.rehash(0);
        }
        lk.unlock();
        if (deletes > 0) deletes_since_reclaim_.fetch_add(deletes, std::memory_order_relaxed);
      }
      {
        std::lock_guard<std::mutex> lk(mu_);
        for (auto& e : events) {
          ring_bytes_ += EventBytes(*e);
          ring_.push_back(std::move(e));
        }
        published_rev_ = rev;
        while (!ring_.empty() &&
               (ring_.size() > kRingMaxEvents || ring_bytes_ > kRingMaxBytes)) {
          ring_bytes_ -= EventBytes(*ring_.front());
          ring_.pop_front();
        }
        AddSegmentLocked(rev - static_cast<int64_t>(events.size()) + 1, rev, wall);
        dispatch_pending_ = true;
      }
      dispatch_cv_.notify_one();
      published_cv_.notify_all();
    }
  }
  std::vector<Completion> done;
  done.reserve(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].done) done.emplace_back(std::move(ops[i].done), std::move(*results[i]));
  }
  if (done.empty()) return;
  {
    std::lock_guard<std::mutex> lk(c_mu_);
    if (completions_.empty()) {
      completions_.swap(done);
    } else {
      for (auto& c : done) completions_.push_back(std::move(c));
    }
  }
  c_cv_.notify_one();
}

void Core::CompleterLoop() {
  std::vector<Completion> batch;
  std::unique_lock<std::mutex> lk(c_mu_);
  while (true) {
    c_cv_.wait(lk, [&] { return !completions_.empty() || c_stopping_; });
    if (completions_.empty()) break;  // stopping and drained
    batch.swap(completions_);
    lk.unlock();
    for (auto& [callback, result] : batch) callback(std::move(result));
    batch.clear();
    lk.lock();
  }
}

void Core::AddSegmentLocked(int64_t first_rev, int64_t last_rev, int64_t wall) {
  if (!segments_.empty() && wall - segments_.back().start_wall < kSegmentNanos &&
      wall >= segments_.back().start_wall) {
    Segment& s = segments_.back();
    s.last_rev = last_rev;
    s.max_wall = std::max(s.max_wall, wall);
    return;
  }
  segments_.push_back(Segment{first_rev, last_rev, wall, wall});
}

// ---- reads ------------------------------------------------------------------------------------
Result<KeyValue> Core::Get(const std::string& key) {
  std::shared_ptr<const Current> c;
  {
    std::shared_lock<std::shared_mutex> lk(cur_mu_);
    auto it = current_.find(key);
    if (it != current_.end()) c = it->second;
  }
  if (!c) return Status::NotFound("key " + Quote(key) + " not found");
  KeyValue kv;
  kv.key = key;
  kv.value = c->value;
  kv.create_revision = c->create_revision;
  kv.mod_revision = c->mod_revision;
  return kv;
}

Result<ListResult> Core::List(const ListOptions& o) {
  if (o.limit < 0) return Status::BadRequest("negative limit");
  if (o.revision < 0) return Status::BadRequest("negative revision");
  struct SnapshotGuard {
    rocksdb::DB* db;
    const rocksdb::Snapshot* snap;
    ~SnapshotGuard() { db->ReleaseSnapshot(snap); }
  } guard{db_, db_->GetSnapshot()};
  rocksdb::ReadOptions ro;
  ro.snapshot = guard.snap;
  int64_t current = 0, compacted = 0;
  CATTLE_RETURN_IF_ERROR(ReadMeta(ro, kMetaRevision, &current));
  CATTLE_RETURN_IF_ERROR(ReadMeta(ro, kMetaCompacted, &compacted));
  const int64_t target = o.revision == 0 ? current : o.revision;
  if (target > current) {
    return Status::BadRequest("revision " + std::to_string(target) +
                              " is in the future; the current revision is " +
                              std::to_string(current));
  }
  if (target < compacted) {
    return Status::Expired("revision " + std::to_string(target) +
                           " has been compacted; the oldest available is " +
                           std::to_string(compacted));
  }
  auto in_range = [&](std::string_view key) {
    return HasPrefix(key, o.prefix) && (o.start_after.empty() || key > o.start_after);
  };

  // State at `target` of every key changed after it: the prev value of its first later event.
  std::map<std::string, std::optional<KeyValue>, std::less<>> undo;
  if (target < current) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, history_cf_));
    int64_t expect = target + 1;
    for (it->Seek(RevKey(target + 1)); it->Valid(); it->Next()) {
      int64_t hrev = static_cast<int64_t>(GetBE64(it->key().data()));
      if (hrev != expect) return Status::Internal("history gap at revision " + std::to_string(expect));
      ++expect;
      HistoryRecord h;
      if (!DecodeHistory(View(it->value()), &h)) return Status::Internal("corrupt history record");
      if (!in_range(h.key) || undo.find(h.key) != undo.end()) continue;
      std::optional<KeyValue> state;
      if (h.prev_create != 0) {
        state.emplace();
        state->key.assign(h.key);
        state->value.assign(h.prev_value);
        state->create_revision = h.prev_create;
        state->mod_revision = h.prev_mod;
      }
      undo.emplace(std::string(h.key), std::move(state));
    }
    if (!it->status().ok()) return FromRocks(it->status(), "scanning history");
    if (expect != current + 1) return Status::Internal("history ends early");
  }

  ListResult result;
  result.revision = target;
  auto emit = [&](KeyValue kv) {
    if (o.limit == 0 || static_cast<int64_t>(result.items.size()) < o.limit) {
      result.items.push_back(std::move(kv));
    } else {
      ++result.remaining;
    }
  };
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, objects_cf_));
  const std::string& seek = (!o.start_after.empty() && o.start_after > o.prefix) ? o.start_after : o.prefix;
  it->Seek(seek);
  auto u = undo.begin();
  while (true) {
    while (it->Valid() && HasPrefix(View(it->key()), o.prefix) && !in_range(View(it->key())))
      it->Next();  // only start_after itself can be skipped here
    bool have_it = it->Valid() && HasPrefix(View(it->key()), o.prefix);
    bool have_u = u != undo.end();
    if (!have_it && !have_u) break;
    int c = !have_it ? 1 : !have_u ? -1 : View(it->key()).compare(u->first);
    bool counting = o.limit != 0 && static_cast<int64_t>(result.items.size()) >= o.limit;
    if (c < 0) {
      if (counting) {
        ++result.remaining;
      } else {
        ObjectRecord rec;
        if (!DecodeObject(View(it->value()), &rec)) return Status::Internal("corrupt object record");
        KeyValue kv;
        kv.key = it->key().ToString();
        kv.value.assign(rec.value);
        kv.create_revision = rec.create_revision;
        kv.mod_revision = rec.mod_revision;
        emit(std::move(kv));
      }
      it->Next();
    } else {
      if (u->second) {
        if (counting) {
          ++result.remaining;
        } else {
          emit(*u->second);
        }
      }
      if (c == 0) it->Next();
      ++u;
    }
  }
  if (!it->status().ok()) return FromRocks(it->status(), "listing");
  result.more = result.remaining > 0;
  return result;
}

// ---- watch ------------------------------------------------------------------------------------
std::unique_ptr<Watch> Core::WatchPrefix(const std::string& prefix, int64_t after_revision,
                                         WatchCallback on_event, WatchErrorCallback on_error) {
  auto w = std::make_shared<Watcher>();
  w->prefix = prefix;
  w->on_event = std::move(on_event);
  w->on_error = std::move(on_error);
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (shut_down_) {
      w->cancelled = true;
      return std::make_unique<WatchHandle>(shared_from_this(), w);
    }
    if (after_revision < 0) {
      w->initial_error = Status::BadRequest("negative watch revision");
    }
    w->next_rev = (after_revision <= 0 ? published_rev_ : after_revision) + 1;
    watchers_.push_back(w);
    dispatch_pending_ = true;
  }
  dispatch_cv_.notify_one();
  return std::make_unique<WatchHandle>(shared_from_this(), w);
}

void Core::Cancel(const std::shared_ptr<Watcher>& w) {
  std::unique_lock<std::mutex> lk(mu_);
  w->cancelled = true;
  auto it = std::find(watchers_.begin(), watchers_.end(), w);
  if (it != watchers_.end()) watchers_.erase(it);
  // From inside a callback on the dispatcher thread the dispatcher checks `cancelled` before
  // every further call (and releases the callbacks afterwards); from any other thread wait for
  // a running callback to return, then release the callbacks here.
  if (std::this_thread::get_id() == dispatcher_id_.load()) return;
  running_cv_.wait(lk, [&] { return running_ != w.get(); });
  WatchCallback on_event = std::move(w->on_event);
  WatchErrorCallback on_error = std::move(w->on_error);
  w->on_event = nullptr;
  w->on_error = nullptr;
  lk.unlock();  // user destructors run outside the lock
}

Status Core::ReadHistory(int64_t from, int64_t to, const std::string& prefix,
                         std::vector<std::shared_ptr<const Event>>* out, int64_t* next) {
  struct SnapshotGuard {
    rocksdb::DB* db;
    const rocksdb::Snapshot* snap;
    ~SnapshotGuard() { db->ReleaseSnapshot(snap); }
  } guard{db_, db_->GetSnapshot()};
  rocksdb::ReadOptions ro;
  ro.snapshot = guard.snap;
  int64_t compacted = 0;
  CATTLE_RETURN_IF_ERROR(ReadMeta(ro, kMetaCompacted, &compacted));
  if (from - 1 < compacted) {
    return Status::Expired("watch needs revision " + std::to_string(from) +
                           " but history up to revision " + std::to_string(compacted) +
                           " has been compacted");
  }
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, history_cf_));
  int64_t expect = from;
  size_t scanned = 0;
  bool limited = false;
  for (it->Seek(RevKey(from)); it->Valid() && expect <= to; it->Next()) {
    int64_t rev = static_cast<int64_t>(GetBE64(it->key().data()));
    if (rev != expect) return Status::Internal("history gap at revision " + std::to_string(expect));
    HistoryRecord h;
    if (!DecodeHistory(View(it->value()), &h)) return Status::Internal("corrupt history record");
    ++expect;
    if (HasPrefix(h.key, prefix)) out->push_back(EventFromHistory(rev, h));
    if (out->size() >= kWatchBatchEvents || ++scanned >= kWatchBatchScan) {
      limited = true;
      break;
    }
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading history");
  if (!limited && expect <= to) {
    return Status::Internal("history ends at revision " + std::to_string(expect - 1) +
                            ", expected up to " + std::to_string(to));
  }
  *next = expect;
  return Status::Ok();
}

void Core::DispatcherLoop() {
  std::unique_lock<std::mutex> lk(mu_);
  std::vector<std::shared_ptr<Watcher>> list;
  std::vector<std::shared_ptr<const Event>> batch;
  while (true) {
    dispatch_cv_.wait(lk, [&] { return dispatch_pending_ || dispatch_stopping_; });
    if (dispatch_stopping_) break;
    dispatch_pending_ = false;
    list = watchers_;
    for (auto& w : list) {
      if (dispatch_stopping_) break;
      if (w->cancelled || w->finished) continue;
      batch.clear();
      std::optional<Status> error = w->initial_error;
      if (!error && w->next_rev - 1 < compacted_rev_) {
        error = Status::Expired("watch needs revision " + std::to_string(w->next_rev) +
                                " but history up to revision " + std::to_string(compacted_rev_) +
                                " has been compacted");
      }
      if (!error) {
        if (w->next_rev > published_rev_) continue;  // up to date
        const int64_t front = RingFrontRevLocked();
        if (w->next_rev >= front) {
          size_t idx = static_cast<size_t>(w->next_rev - front);
          size_t scanned = 0;
          for (; idx < ring_.size() && batch.size() < kWatchBatchEvents &&
                 scanned < kWatchBatchScan;
               ++idx, ++scanned) {
            if (HasPrefix(ring_[idx]->kv.key, w->prefix)) batch.push_back(ring_[idx]);
          }
          w->next_rev = front + static_cast<int64_t>(idx);
        } else {
          // Older than the ring: read RocksDB without holding the lock.
          const int64_t from = w->next_rev, to = front - 1;
          lk.unlock();
          int64_t next = from;
          Status s = ReadHistory(from, to, w->prefix, &batch, &next);
          lk.lock();
          if (w->cancelled) continue;
          if (!s.ok()) {
            error = s;
          } else {
            w->next_rev = next;
          }
        }
        if (w->next_rev <= published_rev_) dispatch_pending_ = true;  // more to do
      }
      if (error) {
        w->finished = true;
        auto it = std::find(watchers_.begin(), watchers_.end(), w);
        if (it != watchers_.end()) watchers_.erase(it);
      }
      if (batch.empty() && !error) continue;
      running_ = w.get();
      lk.unlock();
      for (const auto& e : batch) {
        if (w->cancelled.load(std::memory_order_acquire)) break;
        if (w->on_event) w->on_event(*e);
      }
      if (error && !w->cancelled.load(std::memory_order_acquire) && w->on_error) {
        w->on_error(*error);
      }
      batch.clear();  // drop event references outside the lock
      if (w->cancelled.load(std::memory_order_acquire) || error) {
        // Cancelled from inside its own callback, or finished: release the callbacks here.
        // (Only this thread touches them while running_ == w.)
        WatchCallback dead_event = std::move(w->on_event);
        WatchErrorCallback dead_error = std::move(w->on_error);
        w->on_event = nullptr;
        w->on_error = nullptr;
      }
      lk.lock();
      running_ = nullptr;
      running_cv_.notify_all();
    }
    list.clear();
  }
}

// ---- compaction -------------------------------------------------------------------------------
void Core::CompactorLoop() {
  opts_.clock->Register(&compactor_cv_);
  std::unique_lock<std::mutex> lk(compactor_wait_mu_);
  while (!compactor_stopping_) {
    const TimePoint deadline = opts_.clock->Now() + opts_.compaction_interval;
    while (!compactor_stopping_ && opts_.clock->Now() < deadline) {
      opts_.clock->WaitUntil(compactor_cv_, lk, deadline);
    }
    if (compactor_stopping_) break;
    lk.unlock();
    CompactNow();
    lk.lock();
  }
  lk.unlock();
  opts_.clock->Unregister(&compactor_cv_);
}

void Core::CompactNow() {
  std::lock_guard<std::mutex> serial(compact_mu_);
  int64_t old_compacted, target;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (shut_down_ || !db_) return;
    old_compacted = target = compacted_rev_;
    const int64_t cutoff = opts_.clock->WallNanos() - opts_.compaction_age.count();
    for (const Segment& s : segments_) {
      if (s.max_wall >= cutoff) break;
      target = std::max(target, s.last_rev);
    }
    if (opts_.compaction_max_events > 0) {
      target = std::max(target, published_rev_ - opts_.compaction_max_events);
    }
    target = std::min(target, published_rev_);
  }
  if (target <= old_compacted) return;
  rocksdb::WriteBatch batch;
  batch.DeleteRange(history_cf_, RevKey(old_compacted + 1), RevKey(target + 1));
  batch.DeleteRange(times_cf_, RevKey(0), RevKey(target + 1));
  batch.Put(meta_cf_, kMetaCompacted, RevKey(target));
  rocksdb::WriteOptions wo;
  wo.sync = opts_.sync;
  rocksdb::Status s = db_->Write(wo, &batch);
  if (!s.ok()) return;  // history stays; the next run retries
  {
    std::lock_guard<std::mutex> lk(mu_);
    compacted_rev_ = target;
    while (!ring_.empty() && ring_.front()->revision <= target) {
      ring_bytes_ -= EventBytes(*ring_.front());
      ring_.pop_front();
    }
    if (ring_.empty()) ring_.shrink_to_fit();
    while (!segments_.empty() && segments_.front().last_rev <= target) segments_.pop_front();
    if (!segments_.empty() && segments_.front().first_rev <= target) {
      segments_.front().first_rev = target + 1;
    }
    dispatch_pending_ = true;
  }
  dispatch_cv_.notify_one();
  MaybeReclaim(target - old_compacted);
}

void Core::MaybeReclaim(int64_t compacted) {
  compacted_since_reclaim_ += compacted;
  const int64_t deletes = deletes_since_reclaim_.load(std::memory_order_relaxed);
  const int64_t now = opts_.clock->WallNanos();
  const bool interval_passed = now - last_reclaim_wall_ >= kReclaimIntervalNanos;
  int64_t live = 0;
  {
    std::shared_lock<std::shared_mutex> lk(cur_mu_);
    live = static_cast<int64_t>(current_.size());
  }
  // Deleted keys leave tombstones over their old values until a compaction reaches the
  // bottom level: the objects (all of them) are rewritten when the deletes since the last
  // time are a good part of them, and many or a while ago.
  const bool objects_due =
      deletes > 0 && deletes >= live / 4 && (deletes >= kReclaimEvents || interval_passed);
  if (compacted_since_reclaim_ < kReclaimEvents && !objects_due &&
      !(interval_passed && compacted_since_reclaim_ > 0)) {
    return;
  }
  // Flush every memtable: afterwards no WAL file holds unflushed data, so RocksDB deletes
  // them, and the memtables' memory (compacted history included) is freed.
  rocksdb::FlushOptions fo;
  fo.wait = true;
  fo.allow_write_stall = true;
  if (!db_->Flush(fo, handles_).ok()) return;  // retried on the next run
  rocksdb::CompactRangeOptions cro;
  cro.exclusive_manual_compaction = false;  // automatic compactions go on meanwhile
  cro.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
  // History up to the compacted revision is range-deleted: compacting that range drops it
  // and the tombstone. Later history is left alone (only files overlapping the range are
  // rewritten).
  std::string end;
  {
    std::lock_guard<std::mutex> lk(mu_);
    end = RevKey(compacted_rev_ + 1);
  }
  rocksdb::Slice end_slice(end);
  db_->CompactRange(cro, history_cf_, nullptr, &end_slice).PermitUncheckedError();
  db_->CompactRange(cro, times_cf_, nullptr, nullptr).PermitUncheckedError();
  db_->CompactRange(cro, meta_cf_, nullptr, nullptr).PermitUncheckedError();
  if (objects_due) {
    if (db_->CompactRange(cro, objects_cf_, nullptr, nullptr).ok()) {
      deletes_since_reclaim_.fetch_sub(deletes, std::memory_order_relaxed);
    }
  }
  compacted_since_reclaim_ = 0;
  last_reclaim_wall_ = now;
  malloc_trim(0);
}

// ---- the Store ----------------------------------------------------------------------------------
class StoreImpl final : public Store {
 public:
  explicit StoreImpl(std::shared_ptr<Core> core) : core_(std::move(core)) {}
  ~StoreImpl() override { core_->Shutdown(); }

  Result<int64_t> Create(const std::string& key, const std::string& value) override {
    return Wait([&](WriteCallback cb) { CreateAsync(key, value, std::move(cb)); });
  }
  Result<int64_t> Update(const std::string& key, const std::string& value,
                         int64_t expected_mod_revision) override {
    return Wait([&](WriteCallback cb) {
      UpdateAsync(key, value, expected_mod_revision, std::move(cb));
    });
  }
  Result<int64_t> Delete(const std::string& key, int64_t expected_mod_revision) override {
    return Wait([&](WriteCallback cb) { DeleteAsync(key, expected_mod_revision, std::move(cb)); });
  }

  void CreateAsync(std::string key, std::string value, WriteCallback done) override {
    core_->Submit(Op{Op::Kind::kCreate, std::move(key), std::move(value), 0, std::move(done)});
  }
  void UpdateAsync(std::string key, std::string value, int64_t expected_mod_revision,
                   WriteCallback done) override {
    core_->Submit(Op{Op::Kind::kUpdate, std::move(key), std::move(value), expected_mod_revision,
                     std::move(done)});
  }
  void DeleteAsync(std::string key, int64_t expected_mod_revision, WriteCallback done) override {
    core_->Submit(
        Op{Op::Kind::kDelete, std::move(key), std::string(), expected_mod_revision, std::move(done)});
  }

  Result<KeyValue> Get(const std::string& key) override { return core_->Get(key); }
  Result<ListResult> List(const ListOptions& options) override { return core_->List(options); }
  std::unique_ptr<Watch> WatchPrefix(const std::string& prefix, int64_t after_revision,
                                     WatchCallback on_event, WatchErrorCallback on_error) override {
    return core_->WatchPrefix(prefix, after_revision, std::move(on_event), std::move(on_error));
  }
  int64_t CurrentRevision() override { return core_->CurrentRevision(); }
  bool WaitForRevision(int64_t revision, Duration timeout) override {
    return core_->WaitForRevision(revision, timeout);
  }
  int64_t CompactedRevision() override { return core_->CompactedRevision(); }
  void CompactNow() override { core_->CompactNow(); }

 private:
  template <typename F>
  Result<int64_t> Wait(F&& submit) {
    if (core_->OnCommitterThread()) {
      return Status::Internal(
          "synchronous store write from a write callback would deadlock; use the Async form");
    }
    std::promise<Result<int64_t>> p;
    auto f = p.get_future();
    submit([&p](Result<int64_t> r) { p.set_value(std::move(r)); });
    return f.get();
  }

  std::shared_ptr<Core> core_;
};

}  // namespace

Result<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  if (options.dir.empty()) return Status::BadRequest("StoreOptions.dir is required");
  if (options.clock == nullptr) return Status::BadRequest("StoreOptions.clock is null");
  if (options.compaction_max_events < 0)
    return Status::BadRequest("StoreOptions.compaction_max_events is negative");
  auto core = std::make_shared<Core>(options);
  Status s = core->Init();
  if (!s.ok()) {
    core->Shutdown();
    return s;
  }
  return std::unique_ptr<Store>(std::make_unique<StoreImpl>(std::move(core)));
}

}  // namespace cattle::store
