#pragma once
// The fleet simulator behind fleetcomm-sim (issue 8): N direct devices and M agents with K
// printers each, against a running server over real mTLS (PROTOCOL.md 3.1-3.4). Each
// client registers or enrols, uploads on its simulated schedule (or back to back in load
// mode), polls for actions, posts `succeeded` for each after a short delay, and retries
// with backoff on 503 (honouring Retry-After), 429 and network errors. Some agents run in
// lockdown (their polls answer 403 lockdown) and some clients turn action types off; a
// simulated operator queues actions through the operator API, and the refusals these
// clients cause (409 lockdown, 409 action_disabled) are expected outcomes, counted apart
// from errors. Simulated time runs
// `86400 / day_seconds` times faster than real time and ends in the past, so that every
// report's times are plausible to the server.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace fleetcomm::bench {

struct SimOptions {
  std::string host = "127.0.0.1";
  std::uint16_t device_port = 8443;
  std::uint16_t operator_port = 9443;
  std::string server_ca;  // verifies both listeners
  std::string device_ca_cert, device_ca_key;  // issues the direct devices' certificates
  std::string admin_token;       // creates what is missing: account, devices, registration key
  std::string account;           // empty: a new one (needs admin_token)
  std::string registration_key;  // for the agents; empty: a new one (needs admin_token)
  int devices = 10;
  int agents = 1;
  int printers_per_agent = 10;
  double day_seconds = 60;  // real seconds per simulated day
  double days = 1;          // simulated days to run
  double upload_every_min = 24 * 60;  // simulated minutes between a client's uploads
  double poll_every_min = 60;         // simulated minutes between a client's polls
  bool load = false;                  // upload back to back (simulated time per upload still advances)
  int action_delay_ms = 200;          // real time between receiving an action and its result
  int threads = 4;
  int setup_seconds = 300;  // registration and enrolment of the whole fleet, before the period
  std::string prefix = "SIM";  // serials: <prefix>D00001, <prefix>A001P001
  std::uint64_t seed = 1;
  std::string work_dir;  // certificates and keys are written here
  std::string fixtures_dir;  // printer models from these SNMP recordings; empty: built-in makes
  int lockdown_every = 0;    // every Nth agent reports securityMode="lockdown" (0: none)
  int disabled_every = 0;    // every Nth client reports disabledActions="restart" (0: none)
  double actions_per_day = 0;  // actions the simulated operator queues per simulated day, fleet-wide
  int supply_low_percent = 20;  // the account's threshold; a new account gets it
};

// What one printer's acknowledged uploads carried (an upload is acknowledged when the
// server answered 201 or 200 duplicate and listed the printer as accepted).
struct SimPrinterResult {
  std::string serial;
  std::string manufacturer;
  bool direct = false;
  long long acknowledged_uploads = 0;
  std::map<std::string, std::int64_t> last_counters;  // of the last acknowledged upload
  std::string last_read_at;
  // Every acknowledged upload's counters by read time (a resent report counts once).
  std::map<std::string, std::map<std::string, std::int64_t>> reads;
  // The supplies an acknowledged upload reported low (SimulatedPrinter::SupplyIsLow at the
  // account's threshold), as "<index>/<supply serial>": one order each is expected.
  std::set<std::string> low_supplies;
};

// An action the simulated operator queued (201).
struct SimQueuedAction {
  std::string id;
  std::string type;
  std::string client;  // the device's serial or the agent's name
};

// Live counters (read by the progress line while the run goes on).
struct SimCounters {
  std::atomic<long long> clients_ready{0};
  std::atomic<long long> uploads{0};        // acknowledged uploads (reports, not printers)
  std::atomic<long long> duplicates{0};     // of which answered 200 duplicate
  std::atomic<long long> polls{0};
  std::atomic<long long> actions{0};        // actions received
  std::atomic<long long> results{0};        // results accepted
  std::atomic<long long> retries{0};
  // Expected outcomes, not errors: polls of lockdown agents (403 lockdown), actions the
  // operator could not queue for them (409 lockdown) or of a type their client turned off
  // (409 action_disabled).
  std::atomic<long long> lockdown_polls{0};
  std::atomic<long long> actions_queued{0};
  std::atomic<long long> refused_lockdown{0};
  std::atomic<long long> refused_disabled{0};
  std::atomic<long long> upload_bytes{0};
  std::mutex errors_mutex;
  std::map<std::string, long long> errors;  // "503", "422 invalid_report", "network", ...
  void CountError(const std::string& what);
  std::map<std::string, long long> Errors();
};

struct SimResult {
  int clients = 0;
  double setup_seconds = 0;     // real, registration and enrolment
  double seconds = 0;           // real, the simulated period
  double simulated_days = 0;
  std::string sim_start, sim_end;  // RFC 3339
  std::string account;
  std::vector<double> upload_ms, poll_ms;  // latencies of answered requests, sorted
  std::vector<SimPrinterResult> printers;
  std::vector<SimQueuedAction> queued_actions;
  std::string models;  // where the printer models came from
  int lockdown_agents = 0;
  int clients_with_disabled_actions = 0;
};

// Provisions what is needed, runs the fleet until the simulated period is over and
// returns what the fleet saw. `counters` is updated as it goes. Throws when the setup
// fails (no admin token where one is needed, an operator call refused).
SimResult RunFleetSimulation(const SimOptions& options, SimCounters& counters);

}  // namespace fleetcomm::bench
