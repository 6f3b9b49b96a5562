// LocalApiClient: the ApiClient over an in-process Registry (and its Store), without
// sockets. Same validation, defaulting and watch semantics as the real apiserver; used by
// unit tests of controllers, the scheduler and the kubelet, with a fake clock.
#pragma once

#include <memory>

#include "apiserver/registry.h"
#include "cattle/client.h"

namespace cattle::apiserver {

class LocalApiClient : public ApiClient {
 public:
  explicit LocalApiClient(Registry* registry) : registry_(registry) {}

  const KindRegistry& kinds() const override { return registry_->kinds(); }
  Result<Object> Get(const KindInfo* kind, const std::string& ns, const std::string& name) override;
  Result<ObjectList> List(const KindInfo* kind, const std::string& ns,
                          const ListOptions& options = {}) override;
  Result<Object> Create(const Object& obj, const WriteOptions& options = {}) override;
  Result<Object> Update(const Object& obj, const WriteOptions& options = {}) override;
  Result<Object> Patch(const KindInfo* kind, const std::string& ns, const std::string& name,
                       const std::string& patch_type, const std::string& patch,
                       const WriteOptions& options = {}) override;
  Result<Object> Delete(const KindInfo* kind, const std::string& ns, const std::string& name,
                        const DeleteOptions& options = {}) override;
  Result<Object> Bind(const std::string& ns, const std::string& pod, const std::string& node,
                      const std::string& pod_uid = "") override;
  Result<std::unique_ptr<WatchStream>> Watch(const KindInfo* kind, const std::string& ns,
                                             const WatchOptions& options,
                                             std::function<void(ClientWatchEvent&)> on_event,
                                             std::function<void(const Status&)> on_error) override;

 private:
  Registry* registry_;
};

// A store in a fresh temporary directory with a registry over it, for tests.
struct LocalApiServer {
  explicit LocalApiServer(Clock* clock = RealClock::Get());
  ~LocalApiServer();
  std::string dir;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<Registry> registry;
  std::unique_ptr<LocalApiClient> client;
};

}  // namespace cattle::apiserver
