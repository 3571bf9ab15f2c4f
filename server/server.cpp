#include "server/server.hpp"

#include "auth/agent_certificate_issuer.hpp"
#include "auth/trust_anchor.hpp"
#include "jobs/periodic_runner.hpp"
#include "server/audit_writer.hpp"
#include "server/blocking_db.hpp"
#include "server/certificate_expiry.hpp"
#include "server/database_probes.hpp"
#include "server/device_routes.hpp"
#include "server/listener.hpp"
#include "server/log.hpp"
#include "server/operator_routes.hpp"
#include "server/pipeline_service.hpp"
#include "server/ops_routes.hpp"
#include "server/upload_group_commit.hpp"
#include "storage/action_delivery.hpp"
#include "storage/action_notifications.hpp"
#include "storage/audit_chain.hpp"
#include "storage/retention.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <csignal>
#include <optional>
#include <thread>

namespace fleetcomm::server {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

std::unique_ptr<auth::AgentCertificateIssuer> MakeAgentIssuer(const Config& config) {
  if (config.agent_ca.private_key.empty()) {
    Log(LogLevel::kWarn, "enrolment_disabled", {{"reason", "agent.ca_key is not set"}});
    return nullptr;
  }
  try {
    return std::make_unique<auth::AgentCertificateIssuer>(config.agent_ca.certificate, config.agent_ca.private_key);
  } catch (const std::exception& e) {
    throw ConfigError(std::string("agent.ca_cert/agent.ca_key: ") + e.what());
  }
}

auth::TrustAnchor LoadAgentAnchor(const Config& config) {
  try {
    return auth::TrustAnchor::LoadFile(config.agent_ca.certificate);
  } catch (const std::exception& e) {
    throw ConfigError(std::string("agent.ca_cert: ") + e.what());
  }
}

class RunningServer {
 public:
  explicit RunningServer(const Config& config)
      : config_(config),
        tls_(BuildTlsContexts(config)),
        threads_(config.threads > 0 ? config.threads
                                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))),
        agent_issuer_(MakeAgentIssuer(config)),
        agent_anchor_(LoadAgentAnchor(config)),
        empty_polls_({config.empty_poll_cache_ttl, static_cast<std::size_t>(config.empty_poll_cache_entries)}),
        identities_(config.identity_cache_ttl, static_cast<std::size_t>(config.identity_cache_entries)),
        state_{config_,     pool_,       cpu_,   upload_writer_, metrics_, agent_issuer_.get(), &agent_anchor_, empty_polls_,
               identities_, audit_,
               {}, {}, {}},
        device_{ListenerKind::kDevice, device_router_, state_, {}},
        operator_{ListenerKind::kOperator, operator_router_, state_, {}},
        ops_{ListenerKind::kOps, ops_router_, state_, {}},
        io_(threads_),
        control_(asio::make_strand(io_)),
        upload_writer_(pool_, metrics_, std::min(config.upload_writers, config.database_pool_size), config.upload_batch_max),
        pool_({config.DatabaseConnInfo(), config.database_pool_size, config.database_queue_limit}),
        audit_(pool_, metrics_,
               {config.audit_enabled, config.audit_flush_interval, static_cast<std::size_t>(config.audit_batch_entries),
                static_cast<std::size_t>(config.audit_queue_entries)}),
        cpu_(static_cast<std::size_t>(threads_)),
        device_acceptor_(Bind(control_, config.device_listen, "device.listen")),
        operator_acceptor_(Bind(control_, config.operator_listen, "operator.listen")),
        ops_acceptor_(Bind(control_, config.ops_listen, "ops.listen")),
        signals_(control_, SIGTERM, SIGINT, SIGHUP) {
    AddDeviceRoutes(device_router_, state_);
    AddOperatorRoutes(operator_router_, state_);
    AddOpsRoutes(ops_router_, state_);
    RecordCertificateExpiries();
  }

  bool Ready() { return SchemaAllowsStart(pool_); }

  void MaintainPartitionsBlocking() {
    const auto retention = std::chrono::hours(24 * config_.raw_upload_retention_days);
    const auto audit_retention = std::chrono::hours(24 * config_.audit_retention_days);
    auto work = [retention, audit_retention](pqxx::connection_base& c) {
      return storage::MaintainPartitions(c, 3, retention, audit_retention);
    };
    auto result = RunDbBlocking<storage::RetentionResult>(pool_, std::move(work));
    if (!result) throw std::runtime_error(result.error().detail);
    if (result->partitions_created + result->partitions_dropped > 0 || result->default_rows_deleted > 0) {
      Log(LogLevel::kInfo, "partitions_maintained",
          {{"created", result->partitions_created}, {"dropped", result->partitions_dropped},
           {"default_rows_deleted", result->default_rows_deleted}});
    }
  }

  // Asynchronous to requests; one instance at a time (advisory lock), the others skip.
  void SealAuditBlocking() {
    auto work = [](pqxx::connection_base& c) { return storage::SealAuditEntries(c, 10000, 20); };
    auto sealed = RunDbBlocking<storage::SealResult>(pool_, std::move(work));
    if (!sealed) throw std::runtime_error(sealed.error().detail);
    if (sealed->seals > 0) Log(LogLevel::kDebug, "audit_sealed", {{"seals", sealed->seals}, {"entries", sealed->entries}});
  }

  // Every instance runs it; SKIP LOCKED lets concurrent sweeps share the rows, not wait.
  void ExpireActionsBlocking() {
    auto work = [](pqxx::connection_base& c) { return storage::ExpireActions(c); };
    auto expired = RunDbBlocking<long long>(pool_, std::move(work));
    if (!expired) throw std::runtime_error(expired.error().detail);
    if (*expired > 0) Log(LogLevel::kInfo, "actions_expired", {{"count", *expired}});
  }

  // From the files the contexts in force were built from (start, or a reload that succeeded).
  void RecordCertificateExpiries() {
    try {
      for (const auto& expiry : ReadCertificateExpiries(config_)) {
        metrics_.SetCertificateExpiry(expiry.role, expiry.not_after);
      }
    } catch (const std::exception& e) {
      Log(LogLevel::kError, "certificate_expiry_unreadable", {{"error", e.what()}});
    }
  }

  int Run() {
    if (empty_polls_.Enabled() || config_.identity_cache_ttl.count() > 0) StartActionListener();
    auto io_executor = io_.get_executor();
    asio::co_spawn(control_, AcceptLoop(device_acceptor_, io_executor, device_, &tls_), asio::detached);
    asio::co_spawn(control_, AcceptLoop(operator_acceptor_, io_executor, operator_, &tls_), asio::detached);
    asio::co_spawn(control_, AcceptLoop(ops_acceptor_, io_executor, ops_, nullptr), asio::detached);
    asio::co_spawn(control_, HandleSignals(), asio::detached);
    auto tasks = DatabaseProbeTasks(pool_, metrics_);
    tasks.push_back({"partition_maintenance", std::chrono::hours(1), [this] { MaintainPartitionsBlocking(); }});
    tasks.push_back({"action_expiry", config_.action_expiry_interval, [this] { ExpireActionsBlocking(); }});
    tasks.push_back({"audit_seal", config_.audit_seal_interval, [this] { SealAuditBlocking(); }});
    jobs_.emplace(std::move(tasks), [](std::string_view task, std::string_view error) {
      Log(LogLevel::kError, "job_failed", {{"job", task}, {"error", error}});
    });
    pipelines_ = StartPipelines(pool_, config_, metrics_);
    Log(LogLevel::kInfo, "started",
        {{"device", Describe(config_.device_listen)}, {"operator", Describe(config_.operator_listen)},
         {"ops", Describe(config_.ops_listen)}, {"threads", threads_}});
    std::vector<std::thread> workers;
    for (int i = 1; i < threads_; ++i) workers.emplace_back([this] { io_.run(); });
    io_.run();
    for (auto& worker : workers) worker.join();
    pipelines_.reset();
    jobs_.reset();
    action_listener_.reset();
    Log(LogLevel::kInfo, "stopped", {{"open_connections", state_.connections.Size()}});
    return 0;
  }

 private:
  // Keeps the empty-poll and identity caches coherent with every instance's changes
  // (migration 0009).
  void StartActionListener() {
    storage::ActionListenerCallbacks callbacks{
        [this] {
          empty_polls_.ListenerUp();
          metrics_.SetActionListenerUp(true);
          Log(LogLevel::kInfo, "action_listener_up");
        },
        [this](const std::string& reason) {
          empty_polls_.ListenerDown();
          identities_.Clear();
          metrics_.SetActionListenerUp(false);
          Log(LogLevel::kWarn, "action_listener_down", {{"reason", reason}});
        },
        [this](const std::string& payload) {
          empty_polls_.Invalidate(payload);
          identities_.Invalidate(payload);
          metrics_.ActionNotified();
        }};
    action_listener_.emplace(storage::ActionListenerOptions{config_.DatabaseConnInfo("fleetcomm-listener")},
                             std::move(callbacks));
  }

  asio::awaitable<void> HandleSignals() {
    for (;;) {
      auto [ec, signal] = co_await signals_.async_wait(kTuple);
      if (ec) co_return;
      if (signal == SIGHUP) {
        Reload();
        continue;
      }
      co_await Drain();
      co_return;
    }
  }

  void Reload() {
    try {
      tls_.Replace(BuildTlsContexts(config_));
      RecordCertificateExpiries();
      Log(LogLevel::kInfo, "tls_reloaded");
    } catch (const std::exception& e) {
      // The contexts in force stay: a bad file must not lock every client out.
      Log(LogLevel::kError, "tls_reload_failed", {{"error", e.what()}});
    }
  }

  asio::awaitable<void> Drain() {
    Log(LogLevel::kInfo, "draining", {{"open_connections", state_.connections.Size()},
                                      {"drain_timeout_s", config_.drain_timeout.count()}});
    state_.draining = true;
    boost::system::error_code ignored;
    device_acceptor_.close(ignored);
    operator_acceptor_.close(ignored);
    ops_acceptor_.close(ignored);
    signals_.cancel(ignored);
    const auto deadline = std::chrono::steady_clock::now() + config_.drain_timeout;
    asio::steady_timer tick(control_);
    while (state_.connections.Size() > 0 && std::chrono::steady_clock::now() < deadline) {
      state_.connections.CloseIdle();
      tick.expires_after(std::chrono::milliseconds(50));
      co_await tick.async_wait(kTuple);
    }
    if (state_.connections.Size() > 0) {
      Log(LogLevel::kWarn, "drain_timeout", {{"connections_cut", state_.connections.Size()}});
    }
    io_.stop();
  }

  // Declaration order is teardown order reversed, and it matters: the pool finishes its
  // queued tasks (posting their completions into the stopped io_context) before the
  // acceptors and the io_context go; the io_context then destroys the coroutine frames of
  // unfinished sessions, which still touch state_, the listeners and the metrics.
  const Config& config_;
  ServerMetrics metrics_;
  TlsContextStore tls_;
  int threads_;
  std::unique_ptr<auth::AgentCertificateIssuer> agent_issuer_;
  auth::TrustAnchor agent_anchor_;
  EmptyPollCache empty_polls_;
  IdentityCache identities_;
  ServerState state_;
  Router device_router_;
  Router operator_router_;
  Router ops_router_;
  ListenerContext device_;
  ListenerContext operator_;
  ListenerContext ops_;
  asio::io_context io_;
  asio::strand<asio::io_context::executor_type> control_;
  // Before pool_: the pool's last tasks (upload writers) still use it while the pool stops.
  UploadGroupCommit upload_writer_;
  storage::DbPool pool_;
  // After pool_: its destructor writes the entries still queued through the pool.
  AuditWriter audit_;
  // After pool_ and io_: its destructor joins workers that may still post completions to io_.
  asio::thread_pool cpu_;
  std::optional<jobs::PeriodicRunner> jobs_;
  // Its callbacks touch the caches and metrics_, declared before it.
  std::optional<storage::ActionNotificationListener> action_listener_;
  std::unique_ptr<jobs::PipelineRunner> pipelines_;
  tcp::acceptor device_acceptor_;
  tcp::acceptor operator_acceptor_;
  tcp::acceptor ops_acceptor_;
  asio::signal_set signals_;
};

}  // namespace

int RunServer(const Config& config) {
  RunningServer server(config);
  if (!server.Ready()) return 1;
  return server.Run();
}

}  // namespace fleetcomm::server
