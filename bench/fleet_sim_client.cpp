#include "bench/fleet_sim_client.hpp"

#include "tests/support/test_pki.hpp"
#include "tools/report_writer.hpp"
#include "tools/zip_writer.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>

namespace fleetcomm::bench {

using nlohmann::json;
using Clock = SimSteadyClock;

std::int64_t SimClock::At(Clock::time_point real) const {
  const double elapsed = std::chrono::duration<double>(real - real_start).count();
  return start_unix + static_cast<std::int64_t>(elapsed * speed);
}

Clock::duration SimClock::RealDuration(double simulated_seconds) const {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(simulated_seconds / speed));
}

void SimCounters::CountError(const std::string& what) {
  const std::lock_guard lock(errors_mutex);
  ++errors[what];
}

std::map<std::string, long long> SimCounters::Errors() {
  const std::lock_guard lock(errors_mutex);
  return errors;
}

SimClient::SimClient(const SimShared& shared, Kind kind, std::string name,
                     std::vector<tools::SimulatedPrinter> printers, std::string cert_file, std::string key_file,
                     std::uint64_t seed, SimClientTraits traits)
    : shared_(shared),
      kind_(kind),
      name_(std::move(name)),
      printers_(std::move(printers)),
      cert_file_(std::move(cert_file)),
      key_file_(std::move(key_file)),
      traits_(std::move(traits)),
      random_(seed) {
  for (const auto& printer : printers_) {
    SimPrinterResult result;
    result.serial = printer.serial();
    result.manufacturer = printer.Snapshot().manufacturer;
    result.direct = kind_ == Kind::kDevice;
    results_.push_back(result);
  }
  if (!printers_.empty()) load_clock_ = printers_.front().now();
}

Clock::time_point SimClient::Prepare(Clock::time_point now) {
  if (ready_ || done_) return Clock::time_point::max();
  if (now < blocked_until_) return blocked_until_;
  try {
    if (Start(now)) {
      ready_ = true;
      ++shared_.counters.clients_ready;
      return Clock::time_point::max();
    }
  } catch (const std::exception&) {
    shared_.counters.CountError("network");
    connection_.reset();
    Backoff(now, -1);
  }
  return done_ ? Clock::time_point::max() : blocked_until_;
}

void SimClient::Begin(Clock::time_point now) {
  const auto& options = shared_.options;
  std::uniform_real_distribution<double> spread(0, 1);
  next_upload_ = options.load ? now : now + shared_.clock.RealDuration(options.upload_every_min * 60 * spread(random_));
  next_poll_ = now + shared_.clock.RealDuration(options.poll_every_min * 60 * spread(random_));
  blocked_until_ = now;
}

Clock::time_point SimClient::Step(Clock::time_point now) {
  if (done_ || !ready_) return Clock::time_point::max();
  if (now < blocked_until_) return blocked_until_;
  try {
    if (!pending_results_.empty() && pending_results_.front().due <= now) {
      if (PostResult(pending_results_.front(), now)) pending_results_.pop_front();
    } else if (now >= next_upload_) {
      Upload(now);
    } else if (now >= next_poll_) {
      Poll(now);
    }
  } catch (const std::exception&) {
    // Connection refused, reset, TLS failure: the same request again, later.
    shared_.counters.CountError("network");
    connection_.reset();
    Backoff(now, -1);
  }
  return NextDue();
}

Clock::time_point SimClient::NextDue() const {
  if (done_ || !ready_) return Clock::time_point::max();
  Clock::time_point due = std::min(next_upload_, next_poll_);
  if (!pending_results_.empty()) due = std::min(due, pending_results_.front().due);
  return std::max(due, blocked_until_);
}

void SimClient::Backoff(Clock::time_point now, int retry_after_s) {
  ++attempts_;
  ++shared_.counters.retries;
  double seconds = 0.2 * std::pow(2.0, std::min(attempts_, 6));
  seconds = std::min(seconds, 10.0) * std::uniform_real_distribution<double>(0.5, 1.5)(random_);
  if (retry_after_s >= 0) seconds = retry_after_s;
  blocked_until_ = now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

std::string SimClient::id() const {
  const std::lock_guard lock(id_mutex_);
  return id_;
}

namespace {

// The `error.code` of an error answer, or "".
std::string ErrorCodeOf(const std::string& body) {
  try {
    return json::parse(body).at("error").at("code").get<std::string>();
  } catch (const std::exception&) {
    return "";
  }
}

}  // namespace

bool SimClient::Refused(const LeanResponse& response, Clock::time_point now) {
  const std::string code = ErrorCodeOf(response.body);
  shared_.counters.CountError(std::to_string(response.status) + (code.empty() ? "" : " " + code));
  if (response.status == 503 || response.status == 429) {
    Backoff(now, response.retry_after_s);
    return true;
  }
  return false;
}

LeanResponse SimClient::Exchange(const std::string& raw, std::vector<double>* latencies) {
  if (!connection_) {
    connection_ = std::make_unique<LeanHttpsConnection>(tls_ ? *tls_ : shared_.anonymous_tls,
                                                        shared_.options.device_port, shared_.options.host);
  }
  const auto sent = Clock::now();
  LeanResponse response = connection_->Exchange(raw);
  if (latencies != nullptr) latencies->push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
  return response;
}

bool SimClient::Start(Clock::time_point now) {
  return kind_ == Kind::kAgent ? Enroll(now) : Register(now);
}

bool SimClient::Enroll(Clock::time_point now) {
  auto key = testing::GenerateKey({});
  const json body = {{"registration_key", shared_.options.registration_key},
                     {"csr", testing::MakeCsrPem(key.get(), name_)},
                     {"product", "agent-lite"},
                     {"version", "5.6.1"},
                     {"site", {{"name", name_ + " site"}, {"contact_email", "it@example.com"}}}};
  const auto response = Exchange(RawRequest("POST", "/rs/v1/enroll", body.dump()), nullptr);
  if (response.status != 201) {
    if (!Refused(response, now)) done_ = true;
    return false;
  }
  attempts_ = 0;
  const json answer = json::parse(response.body);
  {
    const std::lock_guard lock(id_mutex_);
    id_ = answer.at("agent_id").get<std::string>();
  }
  std::ofstream(cert_file_) << answer.at("certificate").get<std::string>();
  std::ofstream(key_file_) << testing::PrivateKeyPem(key.get());
  tls_ = std::make_unique<LeanTlsContext>(shared_.options.server_ca, cert_file_, key_file_);
  connection_.reset();  // the next connection presents the new certificate
  return true;
}

bool SimClient::Register(Clock::time_point now) {
  if (!tls_) tls_ = std::make_unique<LeanTlsContext>(shared_.options.server_ca, cert_file_, key_file_);
  const auto device = printers_.front().Snapshot();
  const json body = {{"serial", device.serial}, {"manufacturer", device.manufacturer}, {"model", device.model},
                     {"firmware", device.identity->firmware.value_or("1.0")}};
  const auto response = Exchange(RawRequest("POST", "/rs/v1/register", body.dump()), nullptr);
  if (response.status == 200) {
    attempts_ = 0;
    const std::lock_guard lock(id_mutex_);
    id_ = json::parse(response.body).at("device_id").get<std::string>();
    return true;
  }
  // 202: pending, not pre-provisioned; it could not upload.
  if (!Refused(response, now)) done_ = true;
  return false;
}

SimClient::PendingUpload SimClient::BuildUpload(Clock::time_point now) {
  const auto& options = shared_.options;
  std::int64_t sim_now = shared_.clock.At(now);
  if (options.load) {
    load_clock_ += static_cast<std::int64_t>(options.upload_every_min * 60);
    sim_now = load_clock_;
  }
  protocol::Report report;
  report.id = tools::RandomUuid(random_);
  report.generated_at = tools::Rfc3339(sim_now);
  report.source = kind_ == Kind::kAgent ? protocol::ReportSource::kAgent : protocol::ReportSource::kDevice;
  if (kind_ == Kind::kAgent) {
    protocol::AgentInfo agent;
    agent.product = "agent-lite";
    agent.version = "5.6.1";
    agent.security_mode = traits_.lockdown ? protocol::SecurityMode::kLockdown : protocol::SecurityMode::kNormal;
    agent.disabled_actions = traits_.disabled_actions;
    report.agent = agent;
  }
  PendingUpload upload;
  upload.read_at = report.generated_at;
  for (auto& printer : printers_) {
    printer.AdvanceTo(sim_now);
    report.devices.push_back(printer.Snapshot());
    auto& device = report.devices.back();
    if (kind_ == Kind::kDevice) device.disabled_actions = traits_.disabled_actions;
    std::map<std::string, std::int64_t> counters;
    for (const auto& counter : device.counters->items) counters[counter.name] = counter.value;
    upload.counters.push_back(std::move(counters));
    std::set<std::string> low;
    for (const auto& supply : device.supplies) {
      if (tools::SimulatedPrinter::SupplyIsLow(supply, options.supply_low_percent)) {
        low.insert(std::to_string(supply.index) + "/" + supply.serial.value_or(""));
      }
    }
    upload.low_supplies.push_back(std::move(low));
  }
  upload.body = tools::WriteZip({{"report.xml", tools::WriteReportXml(report)}});
  return upload;
}

void SimClient::Upload(Clock::time_point now) {
  const auto& options = shared_.options;
  if (options.load && load_clock_ >= shared_.end_unix) {
    next_upload_ = Clock::time_point::max();
    return;
  }
  if (!pending_upload_) pending_upload_ = BuildUpload(now);
  const auto response =
      Exchange(RawRequest("POST", "/rs/v1/uploads", "application/zip", pending_upload_->body), &upload_ms_);
  if (response.status != 201 && response.status != 200) {
    if (Refused(response, now)) return;  // the same report again after the backoff
  } else {
    attempts_ = 0;
    ++shared_.counters.uploads;
    shared_.counters.upload_bytes += static_cast<long long>(pending_upload_->body.size());
    const json answer = json::parse(response.body);
    if (answer.value("duplicate", false)) ++shared_.counters.duplicates;
    for (const auto& device : answer.at("devices")) {
      if (device.value("status", "") != "accepted") continue;
      const std::string serial = device.value("serial", "");
      for (std::size_t i = 0; i < results_.size(); ++i) {
        if (results_[i].serial != serial) continue;
        ++results_[i].acknowledged_uploads;
        results_[i].last_counters = pending_upload_->counters[i];
        results_[i].last_read_at = pending_upload_->read_at;
        results_[i].reads[pending_upload_->read_at] = pending_upload_->counters[i];
        results_[i].low_supplies.insert(pending_upload_->low_supplies[i].begin(),
                                        pending_upload_->low_supplies[i].end());
      }
    }
    has_uploaded_ = true;
  }
  pending_upload_.reset();
  if (options.load) {
    next_upload_ = now;
  } else {
    next_upload_ += shared_.clock.RealDuration(options.upload_every_min * 60);
    if (next_upload_ < now) next_upload_ = now;  // fell behind: no burst to catch up
  }
}

void SimClient::Poll(Clock::time_point now) {
  const auto response = Exchange(RawRequest("GET", "/rs/v1/actions"), &poll_ms_);
  if (response.status == 403 && traits_.lockdown && ErrorCodeOf(response.body) == "lockdown") {
    ++shared_.counters.lockdown_polls;  // expected: a lockdown agent does not take actions
  } else if (response.status != 200) {
    if (Refused(response, now)) return;
  } else {
    attempts_ = 0;
    ++shared_.counters.polls;
    // Named: a range-for over a member of a temporary would read a destroyed object.
    const json answer = json::parse(response.body);
    for (const auto& action : answer.at("actions")) {
      ++shared_.counters.actions;
      const auto due = now + std::chrono::milliseconds(shared_.options.action_delay_ms);
      pending_results_.push_back({action.at("id").get<std::string>(), due});
    }
  }
  next_poll_ += shared_.clock.RealDuration(shared_.options.poll_every_min * 60);
  if (next_poll_ < now) next_poll_ = now;
}

bool SimClient::PostResult(const PendingResult& pending, Clock::time_point now) {
  const json body = {{"status", "succeeded"}, {"message", "done by the simulator"}};
  const auto response = Exchange(RawRequest("POST", "/rs/v1/actions/" + pending.action_id + "/result", body.dump()),
                                 nullptr);
  if (response.status == 200) {
    attempts_ = 0;
    ++shared_.counters.results;
    return true;
  }
  return !Refused(response, now);
}

void SimClient::Drain() {
  while (ready_ && !done_ && !pending_results_.empty()) {
    try {
      if (!PostResult(pending_results_.front(), Clock::now())) return;
      pending_results_.pop_front();
    } catch (const std::exception&) {
      shared_.counters.CountError("network");
      return;
    }
  }
}

std::vector<SimPrinterResult> SimClient::Results() const { return results_; }

}  // namespace fleetcomm::bench
