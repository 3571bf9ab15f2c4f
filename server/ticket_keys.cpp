#include "server/ticket_keys.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <cstring>
#include <stdexcept>

namespace fleetcomm::server {
namespace {

void FreeRing(void*, void* pointer, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<TicketKeyRing*>(pointer);
}

int RingIndex() {
  static const int kIndex = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, FreeRing);
  return kIndex;
}

bool UseKey(const TicketKeyRing::Key& key, const unsigned char* iv, EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac,
            bool seal) {
  static char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, const_cast<unsigned char*>(key.mac.data()), key.mac.size()),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
  if (EVP_MAC_CTX_set_params(mac, params) != 1) return false;
  return seal ? EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.cipher.data(), iv) == 1
              : EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.cipher.data(), iv) == 1;
}

// OpenSSL's contract: sealing returns 1 (or <0 on error); opening returns 0 for an unknown
// key (full handshake), 1 to accept, 2 to accept and issue a new ticket. TLS 1.3 clients
// use a ticket once (RFC 8446 C.4; OpenSSL marks the session not resumable), and OpenSSL
// sends none after a resumption unless asked: without 2, every other reconnection of a
// daily poller would be a full handshake. TLS 1.2 reuses its ticket until the key rotates.
int TicketCallback(SSL* ssl, unsigned char name[16], unsigned char iv[EVP_MAX_IV_LENGTH], EVP_CIPHER_CTX* cipher,
                   EVP_MAC_CTX* mac, int seal) {
  auto* ring = static_cast<TicketKeyRing*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), RingIndex()));
  if (ring == nullptr) return -1;
  if (seal == 1) {
    const auto key = ring->Current();
    if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc())) != 1) return -1;
    std::memcpy(name, key.name.data(), key.name.size());
    return UseKey(key, iv, cipher, mac, true) ? 1 : -1;
  }
  bool newest = false;
  const auto key = ring->Find(name, newest);
  if (!key) return 0;
  if (!UseKey(*key, iv, cipher, mac, false)) return -1;
  return newest && SSL_version(ssl) < TLS1_3_VERSION ? 1 : 2;
}

}  // namespace

void TicketKeyRing::RotateLocked(Clock::time_point now) {
  if (!keys_.empty() && now - keys_.front().made < rotation_) return;
  Dated fresh{{}, now};
  if (RAND_bytes(fresh.key.name.data(), fresh.key.name.size()) != 1 ||
      RAND_priv_bytes(fresh.key.cipher.data(), fresh.key.cipher.size()) != 1 ||
      RAND_priv_bytes(fresh.key.mac.data(), fresh.key.mac.size()) != 1) {
    throw std::runtime_error("RAND_bytes failed for a session ticket key");
  }
  keys_.push_front(fresh);
  while (keys_.size() > 2) keys_.pop_back();
}

TicketKeyRing::Key TicketKeyRing::Current(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  RotateLocked(now);
  return keys_.front().key;
}

std::optional<TicketKeyRing::Key> TicketKeyRing::Find(const unsigned char name[16], bool& newest,
                                                      Clock::time_point now) {
  std::lock_guard lock(mutex_);
  RotateLocked(now);
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    // The previous key opens tickets until it is two rotations old.
    if (now - keys_[i].made >= 2 * rotation_) break;
    if (std::memcmp(keys_[i].key.name.data(), name, 16) == 0) {
      newest = i == 0;
      return keys_[i].key;
    }
  }
  return std::nullopt;
}

void TicketKeyRing::Install(SSL_CTX* ctx, std::chrono::seconds rotation) {
  SSL_CTX_set_ex_data(ctx, RingIndex(), new TicketKeyRing(rotation));
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, TicketCallback);
  SSL_CTX_set_timeout(ctx, static_cast<long>(rotation.count()));
}

}  // namespace fleetcomm::server
