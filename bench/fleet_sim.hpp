#pragma once
// The fleet simulator behind fleetcomm-sim (issue 8): N direct devices and M agents with K
// printers each, against a running server over real mTLS (PROTOCOL.md 3.1-3.4). Each
// client registers or enrols, uploads on its simulated schedule (or back to back in load
// mode), polls for actions, posts `succeeded` for each after a short delay, and retries
// with backoff on 503 (honouring Retry-After), 429 and network errors. Simulated time runs
// `86400 / day_seconds` times faster than real time and ends in the past, so that every
// report's times are plausible to the server.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
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
};

// Provisions what is needed, runs the fleet until the simulated period is over and
// returns what the fleet saw. `counters` is updated as it goes. Throws when the setup
// fails (no admin token where one is needed, an operator call refused).
SimResult RunFleetSimulation(const SimOptions& options, SimCounters& counters);

}  // namespace fleetcomm::bench
