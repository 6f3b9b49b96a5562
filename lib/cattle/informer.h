// Informer: list, then watch from the list's revision; resume on disconnect (the client
// does that transparently); on Expired, relist and deliver the difference as add/update/
// delete events. Keeps a local cache indexed by key ("ns/name") plus custom indexes, and
// calls handlers — which should only map objects to keys and enqueue them.
//
// The transport is injected (ListerWatcher) so controllers can be tested without sockets.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cattle/client.h"
#include "cattle/clock.h"

namespace cattle {

using ObjectPtr = std::shared_ptr<const Object>;

// Where an informer gets its objects.
class ListerWatcher {
 public:
  virtual ~ListerWatcher() = default;
  virtual Result<ObjectList> List() = 0;
  // Events after `resource_version`; on_error(Expired) means relist.
  virtual Result<std::unique_ptr<WatchStream>> Watch(
      const std::string& resource_version, std::function<void(ClientWatchEvent&)> on_event,
      std::function<void(const Status&)> on_error) = 0;
};

// The apiserver through a Client, for one kind (and optionally a namespace and selectors).
class ClientListerWatcher : public ListerWatcher {
 public:
  ClientListerWatcher(ApiClient* client, const KindInfo* kind, std::string ns = "",
                      std::string label_selector = "", std::string field_selector = "");
  Result<ObjectList> List() override;
  Result<std::unique_ptr<WatchStream>> Watch(const std::string& resource_version,
                                             std::function<void(ClientWatchEvent&)> on_event,
                                             std::function<void(const Status&)> on_error) override;

 private:
  ApiClient* client_;
  const KindInfo* kind_;
  std::string ns_, labels_, fields_;
};

struct EventHandlers {
  std::function<void(const ObjectPtr&)> on_add;
  std::function<void(const ObjectPtr& old_obj, const ObjectPtr& new_obj)> on_update;
  std::function<void(const ObjectPtr&)> on_delete;
};

// Maps an object to the index values it is filed under (e.g. its spec.nodeName).
using IndexFunc = std::function<std::vector<std::string>(const Object&)>;

struct InformerOptions {
  // Pause before retrying a failed list. Default: 1 s.
  Duration relist_backoff = std::chrono::seconds(1);
};

class Informer {
 public:
  Informer(std::unique_ptr<ListerWatcher> lw, Clock* clock, InformerOptions options = {});
  ~Informer();

  // Any time. Added to a started informer, the handlers first get on_add for every object
  // in the cache (as client-go's AddEventHandler does), then every later event; none is
  // missed or delivered twice.
  void AddHandlers(EventHandlers handlers);
  // Before Start only.
  void AddIndex(const std::string& name, IndexFunc fn);

  // Starts the informer's thread. Handlers run on it, serially.
  void Start();
  void Stop();
  // True once the first list has been delivered to the handlers.
  bool HasSynced() const;
  // Waits (real time) until synced; false on timeout.
  bool WaitForSync(Duration timeout) const;

  // The cache. Thread-safe; objects are immutable snapshots.
  ObjectPtr Get(const std::string& key) const;
  std::vector<ObjectPtr> List() const;
  std::vector<ObjectPtr> ByIndex(const std::string& index, const std::string& value) const;
  // The revision of the last event applied.
  int64_t last_revision() const;
  // How many times the informer listed (1 plus relists), for tests.
  int64_t list_count() const;

 private:
  void Run();
  bool ListAndReplace();
  void Apply(const std::string& type, ObjectPtr obj);
  void IndexAdd(const std::string& key, const Object& obj);
  void IndexRemove(const std::string& key, const Object& obj);

  std::unique_ptr<ListerWatcher> lw_;
  Clock* clock_;
  InformerOptions options_;
  // Held while the cache changes and the handlers hear of it, so that handlers added
  // meanwhile see each object once.
  std::mutex handlers_mu_;
  std::vector<EventHandlers> handlers_;  // GUARDED_BY(handlers_mu_)
  std::map<std::string, IndexFunc> index_funcs_;

  mutable std::shared_mutex cache_mu_;
  std::unordered_map<std::string, ObjectPtr> items_;  // GUARDED_BY(cache_mu_)
  std::map<std::string, std::map<std::string, std::set<std::string>>> indexes_;  // GUARDED_BY(cache_mu_)
  std::atomic<int64_t> last_rev_{0};
  std::atomic<int64_t> lists_{0};

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::deque<ClientWatchEvent> events_;  // GUARDED_BY(mu_)
  bool need_relist_ = true;              // GUARDED_BY(mu_)
  bool stopping_ = false;                // GUARDED_BY(mu_)
  bool synced_ = false;                  // GUARDED_BY(mu_)
  std::unique_ptr<WatchStream> watch_;   // informer thread only
  std::thread thread_;
};

}  // namespace cattle
