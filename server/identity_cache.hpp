#pragma once
// The identity behind a client certificate, per instance, keyed by the certificate's
// SHA-256 fingerprint, so that a client connecting anew (daily pollers do, every time)
// does not cost a database read while its identity is fresh. Same lifetime as the
// per-connection cache (device.identity_cache_seconds), so a revocation still reaches
// every instance within it; the fleetcomm_actions notifications (a client id, when its
// state, account or lockdown changes: migration 0009) drop the entries sooner. A lookup
// that started before an invalidation does not store its answer. Bounded: past
// `capacity` entries the oldest stored goes first. Thread-safe.
#include "storage/client_identities.hpp"

#include <chrono>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace fleetcomm::server {

class IdentityCache {
 public:
  using Clock = std::chrono::steady_clock;

  IdentityCache(std::chrono::seconds ttl, std::size_t capacity) : ttl_(ttl), capacity_(capacity) {}

  struct Found {
    storage::ClientIdentity identity;
    Clock::time_point read_at;  // when the database said so
  };
  // The identity while fresh. Otherwise nullopt, and `generation` for Store.
  std::optional<Found> Find(const std::string& fingerprint, std::uint64_t& generation,
                            Clock::time_point now = Clock::now());
  // Remembers an active identity as the database said it at `read_at`, unless an
  // invalidation came since Find.
  void Store(const std::string& fingerprint, const storage::ClientIdentity& identity, std::uint64_t generation,
             Clock::time_point read_at);
  // A notification payload; a client id drops that client's entries (others are ignored).
  void Invalidate(const std::string& key);
  void Clear();
  std::size_t Size() const;

 private:
  struct Entry {
    storage::ClientIdentity identity;
    Clock::time_point read_at;
    std::list<std::string>::iterator age;
  };
  void EraseLocked(std::unordered_map<std::string, Entry>::iterator it);

  const std::chrono::seconds ttl_;
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::uint64_t generation_ = 0;
  std::unordered_map<std::string, Entry> entries_;             // by fingerprint
  std::unordered_multimap<std::string, std::string> by_client_;  // client id -> fingerprint
  std::list<std::string> order_;                               // fingerprints, oldest stored first
};

}  // namespace fleetcomm::server
