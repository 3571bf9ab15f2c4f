// fleetcomm-sim: a simulated customer fleet against a running fleetcomm (issue 8). N direct
// devices and M agents with K printers each, over real mTLS, in compressed time:
//
//   fleetcomm-sim --server-ca ca.crt --device-ca-cert dca.crt --device-ca-key dca.key
//                 --admin-token TOKEN [--device-port 8443] [--operator-port 9443] [--host 127.0.0.1]
//                 [--devices 10] [--agents 1] [--printers-per-agent 10] [--day-seconds 60] [--days 1]
//                 [--upload-every-min 1440] [--poll-every-min 60] [--load] [--threads 4]
//                 [--account ac_...] [--registration-key RK-...] [--prefix SIM] [--seed 1]
//                 [--setup-seconds 300] [--work-dir DIR] [--json] [--json-devices] [--quiet]
//                 [--fixtures DIR|none] [--lockdown-every 10] [--disabled-every 5]
//                 [--actions-per-day 200] [--supply-low-percent 20]
//   fleetcomm-sim --local [...]   starts a throwaway PostgreSQL and server (the test harness)
//                                 and runs against it; printer models come from the
//                                 recordings of ../shared/fixtures/printers when it exists
//
// A progress line goes to stderr every second; at the end a summary table (or with --json
// one JSON document) goes to stdout. Exit code 0 when the run completed, 2 on a setup error.
#include "bench/bench_support.hpp"
#include "bench/fleet_sim.hpp"
#include "tests/support/fleet_actors.hpp"
#include "tests/support/temp_dir.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>

namespace bench = fleetcomm::bench;
namespace testing = fleetcomm::testing;
using nlohmann::json;

namespace {

const char* const kSwitches[] = {"load", "json", "json-devices", "quiet", "local"};

// Switches take no value: "--load" is read as "--load 1".
std::vector<std::string> WithSwitchValues(int argc, char** argv) {
  std::vector<std::string> args{argv[0]};
  for (int i = 1; i < argc; ++i) {
    args.emplace_back(argv[i]);
    for (const char* name : kSwitches) {
      if (args.back() == std::string("--") + name && (i + 1 >= argc || std::string(argv[i + 1]).rfind("--", 0) == 0)) {
        args.emplace_back("1");
      }
    }
  }
  return args;
}

std::string ErrorsText(const std::map<std::string, long long>& errors) {
  std::string text;
  for (const auto& [what, count] : errors) text += (text.empty() ? "" : ", ") + what + "=" + std::to_string(count);
  return text.empty() ? "none" : text;
}

// Rewrites one stderr line every second until stopped.
class ProgressLine {
 public:
  ProgressLine(bench::SimCounters& counters, int clients) : counters_(counters), clients_(clients) {
    thread_ = std::thread([this] { Run(); });
  }
  ~ProgressLine() {
    {
      const std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
    std::fprintf(stderr, "\n");
  }

 private:
  void Run() {
    long long uploads = 0, polls = 0;
    const auto start = std::chrono::steady_clock::now();
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; })) {
      const long long now_uploads = counters_.uploads, now_polls = counters_.polls;
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::fprintf(stderr,
                   "\r[%5.0fs] clients %lld/%d  uploads/s %6lld  polls/s %6lld  results %lld  expected refusals %lld"
                   "  errors: %s   ",
                   elapsed, counters_.clients_ready.load(), clients_, now_uploads - uploads, now_polls - polls,
                   counters_.results.load(),
                   counters_.lockdown_polls + counters_.refused_lockdown + counters_.refused_disabled,
                   ErrorsText(counters_.Errors()).c_str());
      std::fflush(stderr);
      uploads = now_uploads;
      polls = now_polls;
    }
  }

  bench::SimCounters& counters_;
  int clients_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

json Summary(const bench::SimResult& result, bench::SimCounters& counters, bool with_printers) {
  const double seconds = result.seconds > 0 ? result.seconds : 1;
  json out = {{"clients", result.clients},
              {"printers", result.printers.size()},
              {"printer_models", result.models},
              {"account", result.account},
              {"setup_seconds", result.setup_seconds},
              {"seconds", result.seconds},
              {"simulated_days", result.simulated_days},
              {"sim_start", result.sim_start},
              {"sim_end", result.sim_end},
              {"clients_ready", counters.clients_ready.load()},
              {"uploads", counters.uploads.load()},
              {"duplicates", counters.duplicates.load()},
              {"upload_bytes", counters.upload_bytes.load()},
              {"polls", counters.polls.load()},
              {"actions", counters.actions.load()},
              {"results", counters.results.load()},
              {"retries", counters.retries.load()},
              {"lockdown_agents", result.lockdown_agents},
              {"clients_with_disabled_actions", result.clients_with_disabled_actions},
              {"actions_queued", counters.actions_queued.load()},
              {"lockdown_polls", counters.lockdown_polls.load()},
              {"refused_lockdown", counters.refused_lockdown.load()},
              {"refused_disabled", counters.refused_disabled.load()},
              {"errors", counters.Errors()},
              {"uploads_per_s", static_cast<double>(counters.uploads) / seconds},
              {"polls_per_s", static_cast<double>(counters.polls) / seconds},
              {"upload_p50_ms", bench::Percentile(result.upload_ms, 0.5)},
              {"upload_p99_ms", bench::Percentile(result.upload_ms, 0.99)},
              {"poll_p50_ms", bench::Percentile(result.poll_ms, 0.5)},
              {"poll_p99_ms", bench::Percentile(result.poll_ms, 0.99)}};
  if (with_printers) {
    json printers = json::array();
    for (const auto& printer : result.printers) {
      printers.push_back({{"serial", printer.serial},
                          {"manufacturer", printer.manufacturer},
                          {"direct", printer.direct},
                          {"acknowledged_uploads", printer.acknowledged_uploads},
                          {"last_counters", printer.last_counters},
                          {"last_read_at", printer.last_read_at}});
    }
    out["printer_results"] = printers;
  }
  return out;
}

void PrintTable(const json& summary) {
  std::printf("%-22s %s\n", "clients (ready)",
              (summary["clients"].dump() + " (" + summary["clients_ready"].dump() + ")").c_str());
  std::printf("%-22s %s (models: %s)\n", "printers", summary["printers"].dump().c_str(),
              summary["printer_models"].get<std::string>().c_str());
  std::printf("%-22s %.1f s real\n", "setup", summary["setup_seconds"].get<double>());
  std::printf("%-22s %.1f s real, %.2f simulated days (%s .. %s)\n", "duration", summary["seconds"].get<double>(),
              summary["simulated_days"].get<double>(), summary["sim_start"].get<std::string>().c_str(),
              summary["sim_end"].get<std::string>().c_str());
  std::printf("%-22s %lld (%lld duplicates), %.1f/s, p50 %.2f ms, p99 %.2f ms\n", "uploads acknowledged",
              summary["uploads"].get<long long>(), summary["duplicates"].get<long long>(),
              summary["uploads_per_s"].get<double>(), summary["upload_p50_ms"].get<double>(),
              summary["upload_p99_ms"].get<double>());
  std::printf("%-22s %lld, %.1f/s, p50 %.2f ms, p99 %.2f ms\n", "polls", summary["polls"].get<long long>(),
              summary["polls_per_s"].get<double>(), summary["poll_p50_ms"].get<double>(),
              summary["poll_p99_ms"].get<double>());
  std::printf("%-22s %lld queued by the operator, %lld received, %lld results accepted\n", "actions",
              summary["actions_queued"].get<long long>(), summary["actions"].get<long long>(),
              summary["results"].get<long long>());
  std::printf("%-22s %lld lockdown agents (%lld polls answered 403 lockdown, %lld actions 409 lockdown); "
              "%lld clients turn restart off (%lld actions 409 action_disabled)\n",
              "expected refusals", summary["lockdown_agents"].get<long long>(),
              summary["lockdown_polls"].get<long long>(), summary["refused_lockdown"].get<long long>(),
              summary["clients_with_disabled_actions"].get<long long>(), summary["refused_disabled"].get<long long>());
  std::printf("%-22s %lld\n", "retries", summary["retries"].get<long long>());
  if (summary.contains("pipeline_jobs")) {
    std::printf("%-22s %lld jobs, lag p50 %lld ms, p99 %lld ms, drained %.1f s after the run\n", "pipelines",
                summary["pipeline_jobs"].get<long long>(), summary["pipeline_lag_p50_ms"].get<long long>(),
                summary["pipeline_lag_p99_ms"].get<long long>(), summary["pipeline_drain_s"].get<double>());
  }
  std::printf("%-22s %s\n", "errors", ErrorsText(summary["errors"].get<std::map<std::string, long long>>()).c_str());
}

// --local: waits (up to a minute) for the pipelines to finish the run's jobs, then adds the
// lag from upload commit to pipeline commit and the drain time after the run.
void AddPipelineLag(const testing::RunningFleetcomm& local, json& summary) {
  const auto ended = std::chrono::steady_clock::now();
  while (testing::QueryNumber(local, "SELECT count(*) FROM pipeline_jobs WHERE finished_at IS NULL") > 0 &&
         std::chrono::steady_clock::now() - ended < std::chrono::minutes(1)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  summary["pipeline_drain_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - ended).count();
  const std::string lag = "extract(epoch FROM finished_at - created_at) * 1000";
  const auto percentile = [&](const char* p) {
    return testing::QueryNumber(local, std::string("SELECT coalesce(round(percentile_cont(") + p +
                                           ") WITHIN GROUP (ORDER BY " + lag + ")), 0)::bigint FROM pipeline_jobs");
  };
  summary["pipeline_jobs"] = testing::QueryNumber(local, "SELECT count(*) FROM pipeline_jobs");
  summary["pipeline_lag_p50_ms"] = percentile("0.5");
  summary["pipeline_lag_p99_ms"] = percentile("0.99");
}

}  // namespace

int main(int argc, char** argv) try {
  const auto args = WithSwitchValues(argc, argv);
  std::vector<char*> argp;
  for (const auto& arg : args) argp.push_back(const_cast<char*>(arg.c_str()));
  const auto flags = bench::ParseFlags(static_cast<int>(argp.size()), argp.data(),
                                       {{"host", "127.0.0.1"}, {"device-port", "8443"}, {"operator-port", "9443"},
                                        {"server-ca", ""}, {"device-ca-cert", ""}, {"device-ca-key", ""},
                                        {"admin-token", ""}, {"account", ""}, {"registration-key", ""},
                                        {"devices", "10"}, {"agents", "1"}, {"printers-per-agent", "10"},
                                        {"day-seconds", "60"}, {"days", "1"}, {"upload-every-min", "1440"},
                                        {"poll-every-min", "60"}, {"action-delay-ms", "200"}, {"threads", "4"}, {"setup-seconds", "300"},
                                        {"prefix", "SIM"}, {"seed", "1"}, {"work-dir", ""}, {"load", "0"},
                                        {"json", "0"}, {"json-devices", "0"}, {"quiet", "0"}, {"local", "0"},
                                        {"fixtures", ""}, {"lockdown-every", "10"}, {"disabled-every", "5"},
                                        {"actions-per-day", "200"}, {"supply-low-percent", "20"}});
  bench::SimOptions options;
  options.host = flags.at("host");
  options.device_port = static_cast<std::uint16_t>(std::stoi(flags.at("device-port")));
  options.operator_port = static_cast<std::uint16_t>(std::stoi(flags.at("operator-port")));
  options.server_ca = flags.at("server-ca");
  options.device_ca_cert = flags.at("device-ca-cert");
  options.device_ca_key = flags.at("device-ca-key");
  options.admin_token = flags.at("admin-token");
  options.account = flags.at("account");
  options.registration_key = flags.at("registration-key");
  options.devices = std::stoi(flags.at("devices"));
  options.agents = std::stoi(flags.at("agents"));
  options.printers_per_agent = std::stoi(flags.at("printers-per-agent"));
  options.day_seconds = std::stod(flags.at("day-seconds"));
  options.days = std::stod(flags.at("days"));
  options.upload_every_min = std::stod(flags.at("upload-every-min"));
  options.poll_every_min = std::stod(flags.at("poll-every-min"));
  options.action_delay_ms = std::stoi(flags.at("action-delay-ms"));
  options.threads = std::stoi(flags.at("threads"));
  options.setup_seconds = std::stoi(flags.at("setup-seconds"));
  options.prefix = flags.at("prefix");
  options.seed = std::stoull(flags.at("seed"));
  options.load = flags.at("load") != "0";
  options.lockdown_every = std::stoi(flags.at("lockdown-every"));
  options.disabled_every = std::stoi(flags.at("disabled-every"));
  options.actions_per_day = std::stod(flags.at("actions-per-day"));
  options.supply_low_percent = std::stoi(flags.at("supply-low-percent"));
  options.fixtures_dir = flags.at("fixtures");
  if (options.fixtures_dir == "none") {
    options.fixtures_dir.clear();
  } else if (options.fixtures_dir.empty() && flags.at("local") != "0") {
    // The demo: real makes, supplies and counters when the recordings are beside the project.
    const std::string recordings = std::string(FLEETCOMM_SHARED_DIR) + "/fixtures/printers";
    if (std::filesystem::is_directory(recordings)) options.fixtures_dir = recordings;
  }

  // --local: the test harness's throwaway stack (PostgreSQL, PKI, server) for this run.
  std::unique_ptr<testing::RunningFleetcomm> local;
  if (flags.at("local") != "0") {
    local = std::make_unique<testing::RunningFleetcomm>(testing::ConfigOverrides{
        {"log.level", "warn"}, {"enroll.rate_per_minute", "100000"}, {"enroll.burst", "100000"}});
    bench::Admin admin(*local);
    options.device_port = local->config.ports.device;
    options.operator_port = local->config.ports.operator_api;
    options.server_ca = local->pki.server_ca.cert;
    options.device_ca_cert = local->pki.device_ca.cert;
    options.device_ca_key = local->pki.device_ca.key;
    options.admin_token = admin.auth.front().second.substr(std::string("Bearer ").size());
  }
  std::optional<testing::TempDir> scratch;
  options.work_dir = flags.at("work-dir");
  if (options.work_dir.empty()) options.work_dir = scratch.emplace().path();

  bench::SimCounters counters;
  bench::SimResult result;
  {
    std::optional<ProgressLine> progress;
    if (flags.at("quiet") == "0") progress.emplace(counters, options.devices + options.agents);
    result = bench::RunFleetSimulation(options, counters);
  }
  json summary = Summary(result, counters, flags.at("json-devices") != "0");
  if (local) AddPipelineLag(*local, summary);
  if (flags.at("json") != "0") {
    std::printf("%s\n", summary.dump().c_str());
  } else {
    PrintTable(summary);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "fleetcomm-sim: %s\n", e.what());
  return 2;
}
