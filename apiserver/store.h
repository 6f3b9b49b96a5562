// Store: an etcd-like, durable, watchable key-value store on RocksDB.
//
// Keys are opaque byte strings ("/registry/pods/default/web-1"); values are opaque bytes
// (binary Cap'n Proto objects, without resourceVersion: the caller stamps the revision in
// when it decodes). One cluster-wide revision counter; every successful Create, Update and
// Delete takes the next revision, which becomes the key's mod revision.
//
// Durability: a write's callback/return happens only after its WriteBatch (object + history
// entry + revision counter) is synced to the WAL. Concurrent writes are group-committed:
// one sync covers many writes. After kill -9, Open() resumes with exactly the acknowledged
// writes and revision.
//
// Space: compaction gives the space of compacted history and deleted keys back, without a
// restart. Once enough history was compacted or enough keys deleted (or a few minutes
// passed since the last time), CompactNow also flushes the memtables (so that the old WAL
// files are deleted), compacts the RocksDB ranges that hold only deleted data (tombstones
// are dropped), shrinks the in-memory key index and returns freed heap to the OS.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cattle/clock.h"
#include "cattle/status.h"

namespace cattle::store {

struct StoreOptions {
  std::string dir;  // RocksDB directory; created if missing. Required.
  // History older than this is compacted (watch/list from before it → Expired).
  // Default: 5 minutes, like kube-apiserver's etcd compaction interval.
  Duration compaction_age = std::chrono::minutes(5);
  // Also keep at most this many history events (0 = no count limit). Default: 0.
  int64_t compaction_max_events = 0;
  // How often the background compactor runs. Default: 10 s.
  Duration compaction_interval = std::chrono::seconds(10);
  // Largest accepted value. Default: 1.5 MiB, like etcd's request limit.
  size_t max_value_bytes = 1536 * 1024;
  // Sync the WAL before acknowledging. Default: true. (false only for benchmarks' comparison.)
  bool sync = true;
  // While another process holds the directory's RocksDB LOCK (e.g. an apiserver just
  // killed whose last threads are still exiting), Open retries for this long (real time)
  // before failing with Conflict. Default: 0 (fail at once).
  Duration lock_wait = Duration::zero();
  Clock* clock = RealClock::Get();
};

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
};

enum class EventType { kPut, kDelete };

struct Event {
  EventType type = EventType::kPut;
  int64_t revision = 0;     // the revision of this change (== kv.mod_revision for puts)
  KeyValue kv;              // the new value; for deletes: key, empty value
  KeyValue prev_kv;         // the value before (empty key when the key was created)
  bool is_create() const { return type == EventType::kPut && prev_kv.key.empty(); }
};

struct ListOptions {
  std::string prefix;          // every key starting with this
  std::string start_after;     // continue from after this key ("" = from the start)
  int64_t limit = 0;           // 0 = no limit
  int64_t revision = 0;        // 0 = current; else list the state as of this revision
                               // (Expired when it is compacted, BadRequest when in the future)
};

struct ListResult {
  std::vector<KeyValue> items;
  int64_t revision = 0;        // the revision the list reflects
  bool more = false;           // more items after the last one returned
  int64_t remaining = 0;       // items after the last one returned (when more)
};

// A registered watch. Destroying it (or Cancel) stops delivery; after Cancel returns the
// callback is not running and will not be called again.
class Watch {
 public:
  virtual ~Watch() = default;
  virtual void Cancel() = 0;
};

// Called for every event of a watch, in revision order, exactly once each, on a store
// thread; must not block for long and must not call back into the store's write path
// synchronously. Called with Status not ok (e.g. Expired) once if the watch can no longer
// continue, then never again.
using WatchCallback = std::function<void(const Event&)>;
using WatchErrorCallback = std::function<void(const Status&)>;

using WriteCallback = std::function<void(Result<int64_t> revision)>;

class Store {
 public:
  virtual ~Store() = default;

  static Result<std::unique_ptr<Store>> Open(const StoreOptions& options);

  // Creates `key`; AlreadyExists if present. Returns the new revision.
  virtual Result<int64_t> Create(const std::string& key, const std::string& value) = 0;
  // Replaces `key`; NotFound if absent; Conflict if expected_mod_revision != 0 and differs
  // from the key's mod revision.
  virtual Result<int64_t> Update(const std::string& key, const std::string& value,
                                 int64_t expected_mod_revision) = 0;
  // Deletes `key`; NotFound / Conflict as Update. Returns the delete's revision.
  virtual Result<int64_t> Delete(const std::string& key, int64_t expected_mod_revision) = 0;

  // Asynchronous forms: `done` runs on a store thread once the write is durable (or failed).
  virtual void CreateAsync(std::string key, std::string value, WriteCallback done) = 0;
  virtual void UpdateAsync(std::string key, std::string value, int64_t expected_mod_revision,
                           WriteCallback done) = 0;
  virtual void DeleteAsync(std::string key, int64_t expected_mod_revision,
                           WriteCallback done) = 0;

  // NotFound if absent.
  virtual Result<KeyValue> Get(const std::string& key) = 0;
  virtual Result<ListResult> List(const ListOptions& options) = 0;

  // Delivers every event on keys starting with `prefix` with revision > `after_revision`.
  // after_revision 0 = from now on. If after_revision is older than the compacted revision,
  // on_error(Expired) is called (from within Watch or soon after) and nothing else.
  virtual std::unique_ptr<Watch> WatchPrefix(const std::string& prefix, int64_t after_revision,
                                             WatchCallback on_event,
                                             WatchErrorCallback on_error) = 0;

  virtual int64_t CurrentRevision() = 0;
  // Blocks until CurrentRevision() >= revision (true) or `timeout` of real time passed, or
  // the store shut down (false). For reads that must not be older than a revision.
  virtual bool WaitForRevision(int64_t revision, Duration timeout) = 0;
  // History at or below this revision is gone.
  virtual int64_t CompactedRevision() = 0;
  // Compacts now (tests); the background compactor calls it too. When space is due to be
  // reclaimed (see the top of this file) it returns after that is done.
  virtual void CompactNow() = 0;
};

}  // namespace cattle::store
