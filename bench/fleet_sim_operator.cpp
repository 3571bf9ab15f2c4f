#include "bench/fleet_sim_operator.hpp"

#include "tests/support/https_client.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <random>
#include <thread>

namespace fleetcomm::bench {

using nlohmann::json;
using Clock = SimSteadyClock;

namespace {

// The types queued, for devices and agents alike; `restart` needs authorisation and is the
// one the simulator's clients turn off.
constexpr std::array<const char*, 3> kTypes{"get_status", "print_test_page", "restart"};

std::string CodeOf(const testing::HttpResult& result) {
  try {
    return json::parse(result.body).at("error").at("code").get<std::string>();
  } catch (const std::exception&) {
    return "";
  }
}

}  // namespace

SimOperator::SimOperator(const SimShared& shared, const std::vector<std::unique_ptr<SimClient>>& clients)
    : shared_(shared), clients_(clients) {}

void SimOperator::Run(Clock::time_point stop_queuing, Clock::duration interval) {
  if (clients_.empty() || interval <= Clock::duration::zero()) return;
  testing::TlsClientOptions tls;
  tls.ca_file = shared_.options.server_ca;
  testing::HttpClient client(shared_.options.operator_port, tls);
  std::mt19937_64 random(shared_.options.seed * 7919 + 1);
  std::uniform_int_distribution<std::size_t> pick(0, clients_.size() - 1);
  for (auto next = Clock::now() + interval; next < stop_queuing; next += interval) {
    std::this_thread::sleep_until(next);
    // A few tries to find a client the server knows; none yet: this turn is skipped.
    for (int attempt = 0; attempt < 8; ++attempt) {
      auto& target = *clients_[pick(random)];
      if (!target.has_uploaded() || target.id().empty()) continue;
      const std::string type = kTypes[std::uniform_int_distribution<std::size_t>(0, kTypes.size() - 1)(random)];
      const std::string base = target.kind() == SimClient::Kind::kAgent ? "/api/v1/agents/" : "/api/v1/devices/";
      const testing::Headers headers{{"Authorization", "Bearer " + shared_.options.admin_token},
                                     {"Content-Type", "application/json"}};
      const json body = {{"type", type}, {"params", json::object()}};
      const auto queued = client.Request("POST", base + target.id() + "/actions", headers, body.dump());
      const std::string code = CodeOf(queued);
      if (queued.status == 201) {
        const std::string id = json::parse(queued.body).at("id").get<std::string>();
        ++shared_.counters.actions_queued;
        queued_.push_back({id, type, target.name()});
        if (json::parse(queued.body).value("state", "") == "awaiting_authorization") {
          const json authorisation = {{"authorized_by", "fleetcomm-sim"}, {"reference", "SIM-" + id}};
          const auto authorized =
              client.Request("POST", "/api/v1/actions/" + id + "/authorize", headers, authorisation.dump());
          if (authorized.status != 200) shared_.counters.CountError("operator " + std::to_string(authorized.status));
        }
      } else if (queued.status == 409 && code == "lockdown") {
        ++shared_.counters.refused_lockdown;
      } else if (queued.status == 409 && code == "action_disabled") {
        ++shared_.counters.refused_disabled;
      } else {
        shared_.counters.CountError("operator " + (queued.answered ? std::to_string(queued.status) + " " + code
                                                                   : std::string("network")));
      }
      break;
    }
  }
}

}  // namespace fleetcomm::bench
