#pragma once
// One LISTEN connection per server instance on channel fleetcomm_actions (migration 0009:
// triggers notify the client id when a row may have become deliverable for it, and the
// account id when its poll interval changed). Its own libpqxx connection on its own thread,
// reconnecting with a doubling back-off. The callbacks run on that thread:
//   on_up      after LISTEN is in force: every later commit will be heard;
//   on_down    when the connection is lost (or could not be made): notifications of commits
//              from now on until the next on_up may be missed;
//   on_notify  with the payload.
// A connection that vanished without a word (network partition) is found by a ping every
// `ping_interval`, so that is how long notifications can go missing unnoticed.
#include <chrono>
#include <functional>
#include <string>
#include <thread>

namespace fleetcomm::storage {

inline constexpr const char* kActionChannel = "fleetcomm_actions";

struct ActionListenerOptions {
  std::string conninfo;
  std::chrono::milliseconds retry_min{1000};
  std::chrono::milliseconds retry_max{30000};
  std::chrono::milliseconds ping_interval{10000};
};

struct ActionListenerCallbacks {
  std::function<void()> on_up;
  std::function<void(const std::string& reason)> on_down;
  std::function<void(const std::string& payload)> on_notify;
};

class ActionNotificationListener {
 public:
  // Starts the thread at once; it connects in the background.
  ActionNotificationListener(ActionListenerOptions options, ActionListenerCallbacks callbacks);
  ~ActionNotificationListener();  // stops and joins promptly (no callback after it returns)
  ActionNotificationListener(const ActionNotificationListener&) = delete;
  ActionNotificationListener& operator=(const ActionNotificationListener&) = delete;

 private:
  void Run();
  // Listens until the connection fails (returns its reason) or stop is asked (returns "").
  // `was_up`: LISTEN was in force (on_up was called).
  std::string ListenOnce(bool& was_up);
  // False when stop was asked during the wait.
  bool WaitForStop(std::chrono::milliseconds timeout);

  const ActionListenerOptions options_;
  const ActionListenerCallbacks callbacks_;
  int stop_fd_ = -1;  // eventfd: written once to stop
  std::thread thread_;
};

}  // namespace fleetcomm::storage
