#include "cattle/informer.h"

#include "cattle/log.h"

namespace cattle {

ClientListerWatcher::ClientListerWatcher(ApiClient* client, const KindInfo* kind, std::string ns,
                                         std::string label_selector, std::string field_selector)
    : client_(client), kind_(kind), ns_(std::move(ns)), labels_(std::move(label_selector)),
      fields_(std::move(field_selector)) {}

Result<ObjectList> ClientListerWatcher::List() {
  ListOptions o;
  o.label_selector = labels_;
  o.field_selector = fields_;
  o.limit = 500;
  ObjectList all;
  while (true) {
    auto page = client_->List(kind_, ns_, o);
    if (!page.ok()) return page.status();
    for (auto& item : page->items) all.items.push_back(std::move(item));
    if (all.resource_version.empty()) all.resource_version = page->resource_version;
    if (page->continue_token.empty()) break;
    o.continue_token = page->continue_token;
  }
  return all;
}

Result<std::unique_ptr<WatchStream>> ClientListerWatcher::Watch(
    const std::string& resource_version, std::function<void(ClientWatchEvent&)> on_event,
    std::function<void(const Status&)> on_error) {
  WatchOptions o;
  o.label_selector = labels_;
  o.field_selector = fields_;
  o.resource_version = resource_version;
  return client_->Watch(kind_, ns_, o, std::move(on_event), std::move(on_error));
}

Informer::Informer(std::unique_ptr<ListerWatcher> lw, Clock* clock, InformerOptions options)
    : lw_(std::move(lw)), clock_(clock), options_(options) {}

Informer::~Informer() { Stop(); }

void Informer::AddHandlers(EventHandlers handlers) {
  std::lock_guard<std::mutex> lock(handlers_mu_);
  if (handlers.on_add) {
    for (const auto& obj : List()) handlers.on_add(obj);
  }
  handlers_.push_back(std::move(handlers));
}

void Informer::AddIndex(const std::string& name, IndexFunc fn) { index_funcs_[name] = std::move(fn); }

void Informer::Start() { thread_ = std::thread([this] { Run(); }); }

void Informer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  watch_.reset();
}

bool Informer::HasSynced() const {
  std::lock_guard<std::mutex> lock(mu_);
  return synced_;
}

bool Informer::WaitForSync(Duration timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return synced_ || stopping_; }) && synced_;
}

ObjectPtr Informer::Get(const std::string& key) const {
  std::shared_lock<std::shared_mutex> lock(cache_mu_);
  auto it = items_.find(key);
  return it == items_.end() ? nullptr : it->second;
}

std::vector<ObjectPtr> Informer::List() const {
  std::shared_lock<std::shared_mutex> lock(cache_mu_);
  std::vector<ObjectPtr> out;
  out.reserve(items_.size());
  for (const auto& [k, v] : items_) out.push_back(v);
  return out;
}

std::vector<ObjectPtr> Informer::ByIndex(const std::string& index, const std::string& value) const {
  std::shared_lock<std::shared_mutex> lock(cache_mu_);
  std::vector<ObjectPtr> out;
  auto idx = indexes_.find(index);
  if (idx == indexes_.end()) return out;
  auto keys = idx->second.find(value);
  if (keys == idx->second.end()) return out;
  for (const auto& k : keys->second) {
    auto it = items_.find(k);
    if (it != items_.end()) out.push_back(it->second);
  }
  return out;
}

int64_t Informer::last_revision() const { return last_rev_.load(); }
int64_t Informer::list_count() const { return lists_.load(); }

void Informer::IndexAdd(const std::string& key, const Object& obj) {
  for (const auto& [name, fn] : index_funcs_)
    for (const auto& v : fn(obj)) indexes_[name][v].insert(key);
}

void Informer::IndexRemove(const std::string& key, const Object& obj) {
  for (const auto& [name, fn] : index_funcs_) {
    for (const auto& v : fn(obj)) {
      auto& bucket = indexes_[name][v];
      bucket.erase(key);
      if (bucket.empty()) indexes_[name].erase(v);
    }
  }
}

// Applies one event to the cache, then tells the handlers.
void Informer::Apply(const std::string& type, ObjectPtr obj) {
  std::string key = obj->Key();
  ObjectPtr old;
  std::lock_guard<std::mutex> handlers_lock(handlers_mu_);
  {
    std::unique_lock<std::shared_mutex> lock(cache_mu_);
    auto it = items_.find(key);
    if (it != items_.end()) {
      old = it->second;
      IndexRemove(key, *old);
    }
    if (type == "DELETED") {
      items_.erase(key);
    } else {
      items_[key] = obj;
      IndexAdd(key, *obj);
    }
  }
  if (obj->resource_version() > last_rev_.load()) last_rev_.store(obj->resource_version());
  for (const auto& h : handlers_) {
    if (type == "DELETED") {
      if (h.on_delete) h.on_delete(old ? old : obj);
    } else if (old) {
      if (h.on_update) h.on_update(old, obj);
    } else {
      if (h.on_add) h.on_add(obj);
    }
  }
}

// Lists, replaces the cache (delivering the difference), and starts watching after the
// list's revision. False when the list or the watch failed (retry later).
bool Informer::ListAndReplace() {
  auto list = lw_->List();
  if (!list.ok()) {
    CATTLE_LOG(WARN) << "list failed" << kv("error", list.status().ToString());
    return false;
  }
  lists_.fetch_add(1);
  std::map<std::string, ObjectPtr> fresh;
  for (auto& item : list->items) {
    auto p = std::make_shared<const Object>(std::move(item));
    fresh[p->Key()] = p;
  }
  // Deletions for what vanished while we were not watching.
  std::vector<ObjectPtr> gone;
  {
    std::shared_lock<std::shared_mutex> lock(cache_mu_);
    for (const auto& [k, v] : items_)
      if (!fresh.count(k)) gone.push_back(v);
  }
  for (auto& g : gone) Apply("DELETED", g);
  for (auto& [k, v] : fresh) {
    ObjectPtr cur = Get(k);
    if (cur && cur->resource_version() == v->resource_version()) continue;
    Apply(cur ? "MODIFIED" : "ADDED", v);
  }
  int64_t rv = atoll(list->resource_version.c_str());
  last_rev_.store(rv);
  {
    std::lock_guard<std::mutex> lock(mu_);
    events_.clear();
  }
  watch_.reset();
  auto watch = lw_->Watch(
      list->resource_version,
      [this](ClientWatchEvent& ev) {
        {
          std::lock_guard<std::mutex> lock(mu_);
          events_.push_back(std::move(ev));
        }
        cv_.notify_all();
      },
      [this](const Status& s) {
        CATTLE_LOG(INFO) << "watch ended; relisting" << kv("reason", s.ToString());
        {
          std::lock_guard<std::mutex> lock(mu_);
          need_relist_ = true;
        }
        cv_.notify_all();
      });
  if (!watch.ok()) {
    CATTLE_LOG(WARN) << "watch failed" << kv("error", watch.status().ToString());
    return false;
  }
  watch_ = std::move(*watch);
  {
    std::lock_guard<std::mutex> lock(mu_);
    synced_ = true;
  }
  cv_.notify_all();
  return true;
}

void Informer::Run() {
  while (true) {
    bool relist = false;
    std::deque<ClientWatchEvent> batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      while (!stopping_ && !need_relist_ && events_.empty()) cv_.wait(lock);
      if (stopping_) return;
      if (need_relist_) {
        relist = true;
        need_relist_ = false;
      } else {
        batch.swap(events_);
      }
    }
    if (relist) {
      if (!ListAndReplace()) {
        std::unique_lock<std::mutex> lock(mu_);
        need_relist_ = true;
        TimePoint deadline = clock_->Now() + options_.relist_backoff;
        while (!stopping_ && clock_->Now() < deadline) clock_->WaitUntil(cv_, lock, deadline);
      }
      continue;
    }
    for (auto& ev : batch) Apply(ev.type, std::make_shared<const Object>(std::move(ev.object)));
  }
}

}  // namespace cattle
