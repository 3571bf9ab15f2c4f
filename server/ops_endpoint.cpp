#include "server/ops_endpoint.hpp"

#include "server/audit_writer.hpp"
#include "server/listener.hpp"
#include "server/log.hpp"
#include "server/ops_routes.hpp"
#include "server/upload_group_commit.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include <thread>

namespace fleetcomm::server {

namespace asio = boost::asio;

// Declaration order is teardown order reversed: the acceptor goes before its execution
// context, and the thread pool, whose destructor destroys unfinished connection coroutines,
// before the state, router and listener those still touch.
struct OpsEndpoint::Parts {
  Parts(const Config& config, storage::DbPool& pool, ServerMetrics& metrics)
      : upload_writer(pool, metrics, 1, 1),
        audit(pool, metrics, AuditWriterOptions{false}),
        empty_polls({std::chrono::milliseconds(0), 0}),
        identities(std::chrono::seconds(0), 0),
        state{config, pool, threads, upload_writer, metrics, nullptr, nullptr, empty_polls, identities, audit,
              {}, {}, {}},
        listener{ListenerKind::kOps, router, state, {}},
        threads(1),
        control(asio::make_strand(threads)),
        acceptor(Bind(control, config.ops_listen, "ops.listen")) {
    AddOpsRoutes(router, state);
  }

  // Never used by the ops routes; ServerState names them for the other listeners.
  UploadGroupCommit upload_writer;
  AuditWriter audit;
  EmptyPollCache empty_polls;
  IdentityCache identities;
  ServerState state;
  Router router;
  ListenerContext listener;
  // The I/O thread; also ServerState::cpu, which only the upload route uses.
  asio::thread_pool threads;
  asio::strand<asio::thread_pool::executor_type> control;
  asio::ip::tcp::acceptor acceptor;
  bool stopped = false;
};

OpsEndpoint::OpsEndpoint(const Config& config, storage::DbPool& pool, ServerMetrics& metrics)
    : parts_(std::make_unique<Parts>(config, pool, metrics)) {}

OpsEndpoint::~OpsEndpoint() { Stop(); }

void OpsEndpoint::Start() {
  Parts& parts = *parts_;
  asio::co_spawn(parts.control, AcceptLoop(parts.acceptor, parts.threads.get_executor(), parts.listener, nullptr),
                 asio::detached);
}

void OpsEndpoint::Stop() {
  Parts& parts = *parts_;
  if (parts.stopped) return;
  parts.stopped = true;
  parts.state.draining = true;
  asio::post(parts.control, [&parts] {
    boost::system::error_code ignored;
    parts.acceptor.close(ignored);
  });
  const auto deadline = std::chrono::steady_clock::now() + parts.state.config.drain_timeout;
  while (parts.state.connections.Size() > 0 && std::chrono::steady_clock::now() < deadline) {
    parts.state.connections.CloseIdle();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (parts.state.connections.Size() > 0) {
    Log(LogLevel::kWarn, "drain_timeout", {{"connections_cut", parts.state.connections.Size()}});
  }
  parts.threads.stop();
  parts.threads.join();
}

}  // namespace fleetcomm::server
