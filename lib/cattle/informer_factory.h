// InformerFactory: one shared informer per (kind, namespace, selectors) for all controllers
// of a process, so a kind is listed and watched once.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "cattle/informer.h"

namespace cattle {

class InformerFactory {
 public:
  InformerFactory(ApiClient* client, Clock* clock) : client_(client), clock_(clock) {}
  ~InformerFactory() { Stop(); }

  // The shared informer (created on first request). Call before Start() to add handlers
  // and indexes.
  Informer* For(const KindInfo* kind, const std::string& ns = "", const std::string& labels = "",
                const std::string& fields = "") {
    std::lock_guard<std::mutex> lock(mu_);
    auto key = std::make_tuple(kind, ns, labels, fields);
    auto& slot = informers_[key];
    if (!slot) {
      slot = std::make_unique<Informer>(
          std::make_unique<ClientListerWatcher>(client_, kind, ns, labels, fields), clock_);
    }
    return slot.get();
  }
  // Starts every informer created so far (idempotent for started ones).
  void Start() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [key, inf] : informers_) {
      if (started_.insert(inf.get()).second) inf->Start();
    }
  }
  // Waits until every informer has listed once.
  bool WaitForSync(Duration timeout) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [key, inf] : informers_)
      if (!inf->WaitForSync(timeout)) return false;
    return true;
  }
  void Stop() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [key, inf] : informers_) inf->Stop();
  }
  ApiClient* client() const { return client_; }
  Clock* clock() const { return clock_; }

 private:
  ApiClient* client_;
  Clock* clock_;
  std::mutex mu_;
  std::map<std::tuple<const KindInfo*, std::string, std::string, std::string>, std::unique_ptr<Informer>> informers_;
  std::set<Informer*> started_;
};

}  // namespace cattle
