#include "storage/action_notifications.hpp"

#include <pqxx/pqxx>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <system_error>

namespace fleetcomm::storage {
namespace {

using Clock = std::chrono::steady_clock;

// Constructing it runs LISTEN on the connection.
class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& conn, const std::function<void(const std::string&)>& deliver)
      : pqxx::notification_receiver(conn, kActionChannel), deliver_(deliver) {}
  void operator()(const std::string& payload, int) override { deliver_(payload); }

 private:
  const std::function<void(const std::string&)>& deliver_;
};

int MillisUntil(Clock::time_point when) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(when - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 60000));
}

}  // namespace

ActionNotificationListener::ActionNotificationListener(ActionListenerOptions options, ActionListenerCallbacks callbacks)
    : options_(std::move(options)), callbacks_(std::move(callbacks)) {
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  thread_ = std::thread([this] { Run(); });
}

ActionNotificationListener::~ActionNotificationListener() {
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto written = ::write(stop_fd_, &one, sizeof one);
  thread_.join();
  ::close(stop_fd_);
}

bool ActionNotificationListener::WaitForStop(std::chrono::milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  for (;;) {
    pollfd stop{stop_fd_, POLLIN, 0};
    const int ready = ::poll(&stop, 1, MillisUntil(until));
    if (ready > 0) return false;
    if (ready == 0 && Clock::now() >= until) return true;
  }
}

void ActionNotificationListener::Run() {
  auto delay = options_.retry_min;
  bool reported_down = false;
  for (;;) {
    bool was_up = false;
    const std::string reason = ListenOnce(was_up);
    if (reason.empty()) return;
    if (was_up) delay = options_.retry_min;
    if (was_up || !reported_down) callbacks_.on_down(reason);
    reported_down = true;
    if (!WaitForStop(delay)) return;
    delay = std::min(delay * 2, options_.retry_max);
  }
}

std::string ActionNotificationListener::ListenOnce(bool& was_up) {
  try {
    pqxx::connection conn(options_.conninfo);
    Receiver receiver(conn, callbacks_.on_notify);
    was_up = true;
    callbacks_.on_up();
    auto next_ping = Clock::now() + options_.ping_interval;
    for (;;) {
      pollfd fds[2] = {{conn.sock(), POLLIN, 0}, {stop_fd_, POLLIN, 0}};
      const int ready = ::poll(fds, 2, MillisUntil(next_ping));
      if (ready < 0 && errno != EINTR) return std::string("poll: ") + std::strerror(errno);
      if (fds[1].revents != 0) return {};
      // A server ending the session sends FATAL, then EOF: get_notifs throws on the EOF.
      if (fds[0].revents != 0) conn.get_notifs();
      if (!conn.is_open()) return "connection closed";
      if (Clock::now() >= next_ping) {
        pqxx::nontransaction(conn).exec("SELECT 1");
        // Notifications that arrived with the answer sit in libpq's buffer, not the socket.
        conn.get_notifs();
        next_ping = Clock::now() + options_.ping_interval;
      }
    }
  } catch (const std::exception& e) {
    return e.what();
  }
}

}  // namespace fleetcomm::storage
