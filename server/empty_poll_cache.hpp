#pragma once
// "Nothing deliverable for client X until T", per instance, so that an empty poll costs no
// database round trip (issue 5). T is the earliest of: the poll's start plus the TTL, and
// the earliest lease end of the client's delivered actions (a delivered action without a
// result must come back after its lease). Kept coherent across instances by the
// fleetcomm_actions notifications (storage/action_notifications.hpp): a client id drops
// that client's entry, an account id drops the entries of that account.
//
// Races. A poll takes a Ticket before it reads the database; its answer is stored only if
// no invalidation of its client (nor a listener outage) happened since. A commit after
// the poll's snapshot is notified after it, so either the notification comes first and
// the ticket is stale, or the entry is stored first and the notification drops it. While
// the listener is down, nothing is read or stored: every poll goes to the database.
//
// Bounded: past `capacity` entries the oldest stored is evicted. Thread-safe.
#include <array>
#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace fleetcomm::server {

class EmptyPollCache {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    std::chrono::milliseconds ttl{30000};  // zero: the cache is off
    std::size_t capacity = 100000;
  };

  struct Ticket {
    bool storable = false;
    std::uint64_t generation = 0;
    std::uint64_t epoch = 0;
    Clock::time_point started;
  };

  struct Stats {
    std::size_t entries = 0;
    bool listening = false;
  };

  explicit EmptyPollCache(Options options) : options_(options) {}

  bool Enabled() const { return options_.ttl.count() > 0; }

  // The account's poll interval when the client is known to have nothing to fetch now;
  // nullopt otherwise, with `ticket` filled for StoreEmpty after the database answered.
  std::optional<int> Lookup(const std::string& client_id, const std::string& account_id, Ticket& ticket,
                            Clock::time_point now = Clock::now());

  // Remembers that the client has nothing to fetch for `quiet_for` (capped by the TTL)
  // from the ticket's start, unless the ticket went stale.
  void StoreEmpty(const Ticket& ticket, const std::string& client_id, const std::string& account_id,
                  int poll_interval_s, std::chrono::milliseconds quiet_for);

  // A notification payload: a client id or an account id (ac_...).
  void Invalidate(const std::string& key);
  void ListenerUp();
  void ListenerDown();

  Stats GetStats() const;

 private:
  struct Entry {
    Clock::time_point until;
    std::string account_id;
    int poll_interval_s = 0;
    std::list<std::string>::iterator age;  // position in order_
  };
  static constexpr std::size_t kStripes = 256;

  std::size_t StripeOf(const std::string& client_id) const;
  void EraseLocked(std::unordered_map<std::string, Entry>::iterator it);

  const Options options_;
  mutable std::mutex mutex_;
  bool listening_ = false;
  // Bumped by anything that invalidates every client (listener up or down, an account).
  std::uint64_t generation_ = 0;
  // Bumped by an invalidation of a client hashed to the stripe: bounded memory, and a
  // ticket goes stale only when a client of its stripe was invalidated.
  std::array<std::uint64_t, kStripes> epochs_{};
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> order_;  // oldest stored first
};

}  // namespace fleetcomm::server
