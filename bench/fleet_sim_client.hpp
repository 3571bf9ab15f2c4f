#pragma once
// One simulated client of fleetcomm-sim: a direct device (one printer) or an agent (its
// printers), with its own TLS context and keep-alive connection. Driven by one scheduler
// thread at a time through Step().
#include "bench/fleet_sim.hpp"
#include "bench/lean_https.hpp"
#include "tools/simulated_printer.hpp"

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <random>

namespace fleetcomm::bench {

using SimSteadyClock = std::chrono::steady_clock;

// Simulated time: `start_unix` at `real_start`, running `speed` times faster.
struct SimClock {
  std::int64_t start_unix = 0;
  double speed = 1;
  SimSteadyClock::time_point real_start;
  std::int64_t At(SimSteadyClock::time_point real) const;
  SimSteadyClock::duration RealDuration(double simulated_seconds) const;
};

struct SimShared {
  const SimOptions& options;
  SimCounters& counters;
  SimClock clock;
  std::int64_t end_unix = 0;  // load mode: a client stops once its printers reach it
  const LeanTlsContext& anonymous_tls;  // enrolment, before an agent has a certificate
};

// What a client tells the server about itself in every report (PROTOCOL.md 5).
struct SimClientTraits {
  bool lockdown = false;                   // agents only: Agent/@securityMode
  std::vector<std::string> disabled_actions;  // Agent/@disabledActions or Device/@disabledActions
};

class SimClient {
 public:
  enum class Kind { kDevice, kAgent };
  // A device's cert/key exist already; an agent's are written to them at enrolment.
  SimClient(const SimShared& shared, Kind kind, std::string name, std::vector<tools::SimulatedPrinter> printers,
            std::string cert_file, std::string key_file, std::uint64_t seed, SimClientTraits traits = {});

  // Setup, before the simulated period: registers or enrols (one attempt). Returns when
  // to try again; time_point::max() once ready or given up.
  SimSteadyClock::time_point Prepare(SimSteadyClock::time_point now);
  // The simulated period begins at `now`: spreads the first upload and poll over one
  // interval of each.
  void Begin(SimSteadyClock::time_point now);
  // Does what is due at `now` (one request at most) and returns when something is due
  // next; time_point::max() once the client has given up or is done.
  SimSteadyClock::time_point Step(SimSteadyClock::time_point now);
  bool ready() const { return ready_; }
  // After the run: posts the results still waiting for their delay (best effort).
  void Drain();

  std::vector<SimPrinterResult> Results() const;
  Kind kind() const { return kind_; }
  const std::string& name() const { return name_; }
  const SimClientTraits& traits() const { return traits_; }
  // The server's id (dv_..., ag_...), known once ready; read by the operator thread.
  std::string id() const;
  // Whether the server has stored a report of it yet (and so knows its traits).
  bool has_uploaded() const { return has_uploaded_; }
  const std::vector<double>& upload_ms() const { return upload_ms_; }
  const std::vector<double>& poll_ms() const { return poll_ms_; }

 private:
  struct PendingUpload {
    std::string body;
    std::vector<std::map<std::string, std::int64_t>> counters;  // per printer
    std::string read_at;
    std::vector<std::set<std::string>> low_supplies;  // per printer
  };
  struct PendingResult {
    std::string action_id;
    SimSteadyClock::time_point due;
  };

  bool Start(SimSteadyClock::time_point now);
  bool Enroll(SimSteadyClock::time_point now);
  bool Register(SimSteadyClock::time_point now);
  void Upload(SimSteadyClock::time_point now);
  void Poll(SimSteadyClock::time_point now);
  bool PostResult(const PendingResult& pending, SimSteadyClock::time_point now);
  PendingUpload BuildUpload(SimSteadyClock::time_point now);
  LeanResponse Exchange(const std::string& raw, std::vector<double>* latencies);
  // A refused request: retried after Retry-After or a growing, jittered delay when the
  // server is busy (503, 429); counted and given up otherwise. Returns whether to retry.
  bool Refused(const LeanResponse& response, SimSteadyClock::time_point now);
  void Backoff(SimSteadyClock::time_point now, int retry_after_s);
  SimSteadyClock::time_point NextDue() const;

  const SimShared& shared_;
  Kind kind_;
  std::string name_;
  std::vector<tools::SimulatedPrinter> printers_;
  std::vector<SimPrinterResult> results_;
  std::string cert_file_, key_file_;
  SimClientTraits traits_;
  mutable std::mutex id_mutex_;
  std::string id_;
  std::atomic<bool> has_uploaded_{false};
  std::mt19937_64 random_;
  std::unique_ptr<LeanTlsContext> tls_;
  std::unique_ptr<LeanHttpsConnection> connection_;
  bool ready_ = false;
  bool done_ = false;
  int attempts_ = 0;
  SimSteadyClock::time_point blocked_until_{};
  SimSteadyClock::time_point next_upload_{}, next_poll_{};
  std::int64_t load_clock_ = 0;  // load mode: the printers' simulated time
  std::optional<PendingUpload> pending_upload_;
  std::deque<PendingResult> pending_results_;
  std::vector<double> upload_ms_, poll_ms_;
};

}  // namespace fleetcomm::bench
