// The downstream feeds through the real binary (PROTOCOL.md 4.5): a consumer that reads,
// restarts from its last cursor and reads again while uploads arrive gets every item once;
// the pipelines run inside `serve` and in a separate `fleetcomm jobs` process at once.
#include "tests/support/child_process.hpp"
#include "tests/support/fleet_actors.hpp"
#include "tools/report_writer.hpp"
#include "tools/sample_device.hpp"
#include "tools/zip_writer.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <set>
#include <thread>

using fleetcomm::testing::CreateAccount;
using fleetcomm::testing::CreateOperatorToken;
using fleetcomm::testing::OperatorCall;
using fleetcomm::testing::PostUpload;
using fleetcomm::testing::QueryNumber;
using fleetcomm::testing::RunningFleetcomm;
using nlohmann::json;

namespace {

std::string ReportId(int n) {
  char id[40];
  std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", n);
  return id;
}

// Upload n of a device read `n` hours after the first, 100 pages more each time.
std::string CounterUploadZip(int n, const std::string& serial) {
  auto report = fleetcomm::tools::SampleDeviceReport(ReportId(n), serial, 10000 + 100 * n);
  char read_at[32];
  std::snprintf(read_at, sizeof read_at, "2026-11-%02dT%02d:00:00Z", 1 + n / 24, n % 24);
  report.generated_at = read_at;
  report.devices[0].counters->read_at = read_at;
  return fleetcomm::tools::WriteZip({{"report.xml", fleetcomm::tools::WriteReportXml(report)}});
}

// `fleetcomm jobs --config FILE` as a second pipeline instance; stopped with SIGTERM.
class JobsProcess {
 public:
  JobsProcess(const std::string& config_path, const std::string& log_path) {
    const std::string binary = FLEETCOMM_BINARY;
    std::vector<std::string> args = {binary, "jobs", "--config", config_path};
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    std::string path = "PATH=/usr/bin:/bin";
    char* env[] = {path.data(), nullptr};
    const int null_fd = ::open("/dev/null", O_RDONLY);
    const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_ = fleetcomm::testing::SpawnChild(argv.data(), env, null_fd, log_fd, log_fd);
    ::close(null_fd);
    ::close(log_fd);
  }
  ~JobsProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  // The exit status after SIGTERM (-1 when it did not exit normally).
  int Stop() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
};

}  // namespace

TEST_CASE("feeds: a consumer restarting from its cursor gets every meter read once while uploads arrive",
          "[e2e][feeds]") {
  RunningFleetcomm fleetcomm({{"pipelines.poll_interval_ms", "20"}, {"pipelines.sequence_interval_ms", "20"},
                              {"pipelines.batch_size", "3"}});
  const std::string admin = CreateOperatorToken(fleetcomm, {"--role", "admin"});
  const std::string consumer = CreateOperatorToken(fleetcomm, {"--role", "consumer"});
  const std::string account = CreateAccount(fleetcomm, admin, {{"name", "Billing"}, {"meter_billing", true}});
  const std::string manager = CreateOperatorToken(fleetcomm, {"--role", "account_manager", "--account", account});
  fleetcomm::testing::ProvisionActiveDevice(fleetcomm, admin, account, fleetcomm.pki.device_xrx0001, "XRX0001");
  fleetcomm::testing::ProvisionActiveDevice(fleetcomm, admin, account, fleetcomm.pki.device_xrx0002, "XRX0002");

  // Who may read, and what a cursor is.
  OperatorCall(fleetcomm, manager, "GET", "/api/v1/feeds/meter-reads", 403);
  OperatorCall(fleetcomm, consumer, "GET", "/api/v1/devices", 403);
  OperatorCall(fleetcomm, consumer, "GET", "/api/v1/feeds/meter-reads?after=abc", 422);
  const json empty = OperatorCall(fleetcomm, consumer, "GET", "/api/v1/feeds/meter-reads", 200);
  CHECK(empty["items"].empty());
  CHECK(empty["next"].is_null());

  // A second pipeline instance, alone, beside the one inside serve.
  JobsProcess jobs(fleetcomm.config.path, fleetcomm.config.dir + "/jobs.log");

  constexpr int kUploadsPerDevice = 15;
  std::vector<unsigned> statuses;
  std::thread uploader([&] {
    for (int n = 1; n <= kUploadsPerDevice; ++n) {
      statuses.push_back(PostUpload(fleetcomm, fleetcomm.pki.device_xrx0001, CounterUploadZip(n, "XRX0001")).status);
      statuses.push_back(PostUpload(fleetcomm, fleetcomm.pki.device_xrx0002, CounterUploadZip(n, "XRX0002")).status);
    }
  });

  // The consumer keeps only its cursor; every third page it "restarts" (forgets everything else).
  constexpr std::size_t kExpected = 2 * 2 * kUploadsPerDevice;  // two devices, two counters
  std::vector<std::string> received;
  std::string cursor;
  int pages = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (received.size() < kExpected && std::chrono::steady_clock::now() < deadline) {
    const std::string target = "/api/v1/feeds/meter-reads?limit=7" + (cursor.empty() ? "" : "&after=" + cursor);
    const json page = OperatorCall(fleetcomm, ++pages % 3 == 0 ? admin : consumer, "GET", target, 200);
    for (const auto& item : page["items"]) {
      CHECK(item["status"] == "billable");
      received.push_back(item["id"].get<std::string>() + " " + item["serial"].get<std::string>() + " " +
                         item["counter"].get<std::string>() + " " + item["read_at"].get<std::string>());
    }
    if (page["items"].empty()) {
      CHECK(page["next"].is_null());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling an idle feed, not waiting for a log line
    } else {
      cursor = page["next"].get<std::string>();
    }
  }
  uploader.join();
  for (unsigned status : statuses) CHECK(status == 201);
  CHECK(jobs.Stop() == 0);

  REQUIRE(received.size() == kExpected);
  const std::set<std::string> unique(received.begin(), received.end());
  CHECK(unique.size() == kExpected);
  std::set<std::string> keys;  // (serial, counter, read time) without the id
  for (const auto& item : received) keys.insert(item.substr(item.find(' ') + 1));
  CHECK(keys.size() == kExpected);
  CHECK(QueryNumber(fleetcomm, "SELECT count(*) FROM meter_reads") == static_cast<long long>(kExpected));
  // Nothing more arrives after the last item, and reading past it again repeats nothing.
  const json tail = OperatorCall(fleetcomm, consumer, "GET", "/api/v1/feeds/meter-reads?after=" + cursor, 200);
  CHECK(tail["items"].empty());
}
