#pragma once
// The simulated operator of fleetcomm-sim: during the simulated period it queues actions
// for random clients through the operator API (PROTOCOL.md 4), authorising the escalation
// types at once. A client is picked only once the server has stored one of its reports,
// so that the server knows whether it is in lockdown and which types it turned off; the
// `409 lockdown` and `409 action_disabled` answers these give are counted as expected
// outcomes. Queuing stops early enough for every queued action to be polled and answered.
#include "bench/fleet_sim_client.hpp"

#include <memory>
#include <vector>

namespace fleetcomm::bench {

class SimOperator {
 public:
  SimOperator(const SimShared& shared, const std::vector<std::unique_ptr<SimClient>>& clients);
  // Queues until `stop_queuing` (real time), one action every `interval`.
  void Run(SimSteadyClock::time_point stop_queuing, SimSteadyClock::duration interval);
  std::vector<SimQueuedAction> queued() const { return queued_; }

 private:
  const SimShared& shared_;
  const std::vector<std::unique_ptr<SimClient>>& clients_;
  std::vector<SimQueuedAction> queued_;
};

}  // namespace fleetcomm::bench
