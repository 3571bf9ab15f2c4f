#pragma once
// TLS session-ticket keys with rotation. OpenSSL seals tickets with one random key per
// SSL_CTX for the context's whole life unless the application manages keys; this ring
// makes a new key every `rotation`, seals new tickets with the newest key, and opens
// tickets sealed with the previous one (answering with a fresh ticket), so a ticket lives
// at most two rotations. One ring per TLS context: a SIGHUP reload starts new rings,
// and every earlier ticket (and the CRLs in force when it was issued) is forgotten.
// Thread-safe.
#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>

typedef struct ssl_ctx_st SSL_CTX;

namespace fleetcomm::server {

class TicketKeyRing {
 public:
  using Clock = std::chrono::steady_clock;

  struct Key {
    std::array<unsigned char, 16> name{};
    std::array<unsigned char, 32> cipher{};  // AES-256-CBC
    std::array<unsigned char, 32> mac{};     // HMAC-SHA256
  };

  explicit TicketKeyRing(std::chrono::seconds rotation) : rotation_(rotation) {}

  // The key to seal a new ticket with (made or rotated as needed).
  Key Current(Clock::time_point now = Clock::now());
  // The key a ticket names, if still accepted; `newest` says whether it is the current one.
  std::optional<Key> Find(const unsigned char name[16], bool& newest, Clock::time_point now = Clock::now());

  // Gives `ctx` a ring of its own (freed with it) for its tickets, with a session lifetime
  // of one rotation.
  static void Install(SSL_CTX* ctx, std::chrono::seconds rotation);

 private:
  struct Dated {
    Key key;
    Clock::time_point made;
  };
  void RotateLocked(Clock::time_point now);

  const std::chrono::seconds rotation_;
  std::mutex mutex_;
  std::deque<Dated> keys_;  // newest first
};

}  // namespace fleetcomm::server
