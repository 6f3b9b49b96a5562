#include "kubelet-sim/node_lease.h"

#include <algorithm>

#include "cattle/log.h"
#include "coordination.capnp.h"

namespace cattle::kubelet {

NodeLeaseController::NodeLeaseController(ApiClient* client, Clock* clock, const KubeletOptions* options)
    : client_(client), clock_(clock), options_(options), leases_(client->Kind("leases")) {}

Object NodeLeaseController::Build(const std::string& node_uid) const {
  Object obj(leases_);
  auto lease = obj.as<api::Lease>();
  auto meta = lease.getMetadata();
  meta.setName(options_->node_name);
  meta.setNamespace(kNodeLeaseNamespace);
  if (!node_uid.empty()) {
    auto owner = meta.initOwnerReferences(1)[0];
    owner.setApiVersion("v1");
    owner.setKind("Node");
    owner.setName(options_->node_name);
    owner.setUid(node_uid);
  }
  auto spec = lease.initSpec();
  spec.setHolderIdentity(options_->node_name);
  spec.initLeaseDurationSeconds().setValue(options_->lease_duration_seconds);
  spec.setRenewTime(FormatRfc3339Micro(clock_->WallNanos()));
  return obj;
}

Status NodeLeaseController::Renew(const std::string& node_uid) {
  Status result;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!last_) {
      auto got = client_->Get(leases_, kNodeLeaseNamespace, options_->node_name);
      if (got.ok()) {
        last_ = std::move(*got);
      } else if (got.status().Is(Reason::kNotFound)) {
        auto created = client_->Create(Build(node_uid));
        if (created.ok()) {
          last_ = std::move(*created);
          failures_ = 0;
          renewals_++;
          return Status::Ok();
        }
        result = created.status();
        if (result.Is(Reason::kAlreadyExists)) continue;  // raced: read it next time round
        break;
      } else {
        result = got.status();
        break;
      }
    }
    Object updated = last_->Clone();
    auto spec = updated.as<api::Lease>().getSpec();
    spec.setHolderIdentity(options_->node_name);
    spec.initLeaseDurationSeconds().setValue(options_->lease_duration_seconds);
    spec.setRenewTime(FormatRfc3339Micro(clock_->WallNanos()));
    auto written = client_->Update(updated);
    if (written.ok()) {
      last_ = std::move(*written);
      failures_ = 0;
      renewals_++;
      return Status::Ok();
    }
    result = written.status();
    last_.reset();  // re-read on the next attempt (conflict, deleted, ...)
    if (!result.Is(Reason::kConflict) && !result.Is(Reason::kNotFound)) break;
  }
  failures_++;
  CATTLE_LOG(WARN) << "failed to renew the node lease" << kv("node", options_->node_name)
                   << kv("error", result.ToString());
  return result;
}

Duration NodeLeaseController::NextDelay() const {
  if (failures_ == 0) return options_->time_scale(options_->lease_renew_interval);
  Duration d = std::chrono::milliseconds(200);
  for (int i = 1; i < failures_ && d < std::chrono::seconds(7); ++i) d *= 2;
  return options_->time_scale(std::min<Duration>(d, std::chrono::seconds(7)));
}

}  // namespace cattle::kubelet
