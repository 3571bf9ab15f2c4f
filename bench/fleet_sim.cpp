#include "bench/fleet_sim.hpp"

#include "bench/fleet_sim_client.hpp"
#include "bench/fleet_sim_operator.hpp"
#include "tests/support/https_client.hpp"
#include "tests/support/test_pki.hpp"
#include "tools/recorded_printer_models.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <functional>
#include <optional>
#include <queue>
#include <stdexcept>
#include <thread>

namespace fleetcomm::bench {

using nlohmann::json;
using Clock = SimSteadyClock;

namespace {

testing::TlsClientOptions Tls(const SimOptions& options) {
  testing::TlsClientOptions tls;
  tls.ca_file = options.server_ca;
  return tls;
}

// The operator API, for what the fleet needs before it starts.
class Provisioner {
 public:
  explicit Provisioner(const SimOptions& options)
      : options_(options), client_(options.operator_port, Tls(options)) {}

  json Call(const std::string& method, const std::string& target, const json& body,
            std::initializer_list<unsigned> accepted) {
    if (options_.admin_token.empty()) throw std::runtime_error(method + " " + target + " needs --admin-token");
    const auto result = client_.Request(method, target,
                                        {{"Authorization", "Bearer " + options_.admin_token},
                                         {"Content-Type", "application/json"}},
                                        body.dump());
    if (std::find(accepted.begin(), accepted.end(), result.status) == accepted.end()) {
      throw std::runtime_error(method + " " + target + ": " + result.Describe());
    }
    return result.body.empty() ? json() : json::parse(result.body);
  }

 private:
  const SimOptions& options_;
  testing::HttpClient client_;
};

std::string Padded(int value, int width) {
  char text[16];
  std::snprintf(text, sizeof text, "%0*d", width, value);
  return text;
}

std::uint64_t SeedOf(std::uint64_t seed, const std::string& serial) { return seed ^ std::hash<std::string>{}(serial); }

// Each thread runs its share of the clients, always the one due first, until `deadline`,
// `step` being SimClient::Prepare or SimClient::Step.
using ClientStep = Clock::time_point (SimClient::*)(Clock::time_point);
void RunClients(std::vector<SimClient*> clients, ClientStep step, Clock::time_point deadline) {
  using Entry = std::pair<Clock::time_point, std::size_t>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> due;
  const auto start = Clock::now();
  for (std::size_t i = 0; i < clients.size(); ++i) due.push({start, i});
  while (!due.empty()) {
    const auto now = Clock::now();
    if (now >= deadline) break;
    const auto [at, index] = due.top();
    if (at > now) {
      std::this_thread::sleep_until(std::min(at, deadline));
      continue;
    }
    due.pop();
    const auto next = (clients[index]->*step)(now);
    if (next != Clock::time_point::max()) due.push({next, index});
  }
}

}  // namespace

SimResult RunFleetSimulation(const SimOptions& options, SimCounters& counters) {
  if (options.day_seconds <= 0 || options.days <= 0 || options.threads < 1) {
    throw std::runtime_error("day-seconds, days and threads must be positive");
  }
  SimResult result;
  result.account = options.account;
  std::optional<Provisioner> provisioner;
  if (!options.admin_token.empty()) provisioner.emplace(options);
  if (result.account.empty() && (options.devices > 0 || options.registration_key.empty())) {
    if (!provisioner) throw std::runtime_error("no --account: creating one needs --admin-token");
    // Billing and supplies on, so that the pipelines have the fleet's reads and orders.
    result.account = provisioner->Call("POST", "/api/v1/accounts",
                                       {{"name", options.prefix + " simulated fleet"},
                                        {"meter_billing", true},
                                        {"supplies_contract", true},
                                        {"supply_low_percent", options.supply_low_percent}},
                                       {201})["id"];
  }
  SimOptions effective = options;
  if (options.agents > 0 && effective.registration_key.empty()) {
    if (!provisioner) throw std::runtime_error("agents without --registration-key need --admin-token");
    effective.registration_key = provisioner->Call("POST", "/api/v1/accounts/" + result.account + "/registration-keys",
                                                   {{"expires_in_s", 86400}}, {201})["secret"];
  }

  // Simulated time ends an hour before the start of the run, so that no report is dated
  // in the future.
  const double speed = 86400.0 / options.day_seconds;
  const auto simulated_seconds = static_cast<std::int64_t>(options.days * 86400);
  SimClock clock;
  clock.speed = speed;
  clock.start_unix = static_cast<std::int64_t>(std::time(nullptr)) - simulated_seconds - 3600;
  LeanTlsContext anonymous_tls(options.server_ca, "", "");
  SimShared shared{effective, counters, clock, clock.start_unix + simulated_seconds, anonymous_tls};

  std::vector<tools::PrinterModel> models;
  if (!options.fixtures_dir.empty()) models = tools::LoadRecordedModels(options.fixtures_dir);
  result.models = models.empty() ? "built-in (5 makes)"
                                 : std::to_string(models.size()) + " recordings of " + options.fixtures_dir;
  const auto model_of = [&](std::size_t index) -> const tools::PrinterModel& {
    return models.empty() ? tools::SimulatedModel(index) : models[index % models.size()];
  };
  // Every Nth client turns restarts off; every Nth agent is in lockdown.
  int client_number = 0;
  const auto traits_of = [&](bool agent, int number) {
    SimClientTraits traits;
    ++client_number;
    if (options.disabled_every > 0 && client_number % options.disabled_every == 0) {
      traits.disabled_actions = {"restart"};
      ++result.clients_with_disabled_actions;
    }
    if (agent && options.lockdown_every > 0 && number % options.lockdown_every == 0) {
      traits.lockdown = true;
      ++result.lockdown_agents;
    }
    return traits;
  };

  std::vector<std::unique_ptr<SimClient>> clients;
  if (options.devices > 0) {
    if (options.device_ca_cert.empty() || options.device_ca_key.empty()) {
      throw std::runtime_error("direct devices need --device-ca-cert and --device-ca-key");
    }
    const auto device_ca = testing::TestCertificate::LoadFiles(options.device_ca_cert, options.device_ca_key);
    for (int d = 1; d <= options.devices; ++d) {
      const std::string serial = options.prefix + "D" + Padded(d, 5);
      const auto& model = model_of(static_cast<std::size_t>(d));
      testing::CertOptions cert;
      cert.organization = model.manufacturer;
      cert.common_name = cert.serial_number_attr = serial;
      cert.eku = testing::CertOptions::Eku::kClientAuth;
      testing::IssueCertificate(device_ca, cert).WriteFiles(options.work_dir, serial);
      // 409: provisioned by an earlier run with the same prefix.
      provisioner->Call("POST", "/api/v1/accounts/" + result.account + "/devices",
                        {{"serial", serial}, {"manufacturer", model.manufacturer}}, {201, 409});
      std::vector<tools::SimulatedPrinter> printers{{serial, model, SeedOf(options.seed, serial), clock.start_unix}};
      clients.push_back(std::make_unique<SimClient>(shared, SimClient::Kind::kDevice, serial, std::move(printers),
                                                    options.work_dir + "/" + serial + ".crt",
                                                    options.work_dir + "/" + serial + ".key", SeedOf(options.seed, serial),
                                                    traits_of(false, d)));
    }
  }
  for (int a = 1; a <= options.agents; ++a) {
    const std::string name = options.prefix + "A" + Padded(a, 3);
    std::vector<tools::SimulatedPrinter> printers;
    for (int p = 1; p <= options.printers_per_agent; ++p) {
      const std::string serial = name + "P" + Padded(p, 3);
      printers.emplace_back(serial, model_of(static_cast<std::size_t>(a + p)), SeedOf(options.seed, serial),
                            clock.start_unix);
    }
    clients.push_back(std::make_unique<SimClient>(shared, SimClient::Kind::kAgent, name, std::move(printers),
                                                  options.work_dir + "/" + name + ".crt",
                                                  options.work_dir + "/" + name + ".key", SeedOf(options.seed, name),
                                                  traits_of(true, a)));
  }
  result.clients = static_cast<int>(clients.size());

  const int threads = std::min<int>(options.threads, std::max<int>(1, result.clients));
  const auto run_all = [&](ClientStep step, Clock::time_point deadline) {
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      std::vector<SimClient*> mine;
      for (std::size_t c = static_cast<std::size_t>(t); c < clients.size(); c += static_cast<std::size_t>(threads)) {
        mine.push_back(clients[c].get());
      }
      workers.emplace_back(RunClients, std::move(mine), step, deadline);
    }
    for (auto& worker : workers) worker.join();
  };
  // Setup first (registration, enrolment, with their retries and rate limits), so that the
  // simulated period measures a fleet in service.
  const auto setup_started = Clock::now();
  run_all(&SimClient::Prepare, setup_started + std::chrono::seconds(options.setup_seconds));
  result.setup_seconds = std::chrono::duration<double>(Clock::now() - setup_started).count();

  shared.clock.real_start = Clock::now();
  for (auto& client : clients) {
    if (client->ready()) client->Begin(shared.clock.real_start);
  }
  const auto period_end = shared.clock.real_start + shared.clock.RealDuration(static_cast<double>(simulated_seconds));
  // The operator stops queuing four polls and an action's delay before the end, so that
  // every action it queued is delivered and answered within the period, with a margin
  // for clients running late on a busy machine.
  std::optional<SimOperator> simulated_operator;
  std::thread operator_thread;
  if (options.actions_per_day > 0 && provisioner) {
    simulated_operator.emplace(shared, clients);
    const auto stop_queuing = period_end - shared.clock.RealDuration(4 * options.poll_every_min * 60) -
                              std::chrono::milliseconds(options.action_delay_ms);
    operator_thread = std::thread([&, stop_queuing] {
      simulated_operator->Run(stop_queuing, shared.clock.RealDuration(86400.0 / options.actions_per_day));
    });
  }
  run_all(&SimClient::Step, period_end);
  if (operator_thread.joinable()) operator_thread.join();
  for (auto& client : clients) client->Drain();
  if (simulated_operator) result.queued_actions = simulated_operator->queued();
  result.seconds = std::chrono::duration<double>(Clock::now() - shared.clock.real_start).count();
  result.simulated_days = options.days;
  result.sim_start = tools::Rfc3339(clock.start_unix);
  result.sim_end = tools::Rfc3339(shared.end_unix);
  for (const auto& client : clients) {
    for (auto& printer : client->Results()) result.printers.push_back(std::move(printer));
    result.upload_ms.insert(result.upload_ms.end(), client->upload_ms().begin(), client->upload_ms().end());
    result.poll_ms.insert(result.poll_ms.end(), client->poll_ms().begin(), client->poll_ms().end());
  }
  std::sort(result.upload_ms.begin(), result.upload_ms.end());
  std::sort(result.poll_ms.begin(), result.poll_ms.end());
  return result;
}

}  // namespace fleetcomm::bench
