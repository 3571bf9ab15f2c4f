#include "server/tls_contexts.hpp"

#include "auth/client_certificate.hpp"
#include "server/crl_store.hpp"
#include "server/ticket_keys.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

namespace fleetcomm::server {
namespace {

namespace ssl = boost::asio::ssl;

// TLS 1.2 suites with forward secrecy and AEAD only; TLS 1.3 suites are all modern.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Distinguishes our sessions from any other application's in a shared session cache; also
// required by OpenSSL for resumption when client certificates are verified.
constexpr unsigned char kSessionIdContext[] = "fleetcomm-device";

std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  if (code == 0) return "unknown OpenSSL error";
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof buffer);
  ERR_clear_error();
  return buffer;
}

std::shared_ptr<ssl::context> BaseServerContext(const TlsFiles& files, const char* setting,
                                                std::chrono::seconds ticket_rotation) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  // Level 2: RSA/DH >= 2048 bits, ECC >= 224 bits, no SHA-1 signatures, for peers too.
  SSL_CTX_set_security_level(ctx, 2);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) throw ConfigError("cipher list refused: " + OpenSslError());
  if (SSL_CTX_use_certificate_chain_file(ctx, files.certificate.c_str()) != 1) {
    throw ConfigError(std::string(setting) + "_cert: cannot load " + files.certificate + ": " + OpenSslError());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, files.private_key.c_str(), SSL_FILETYPE_PEM) != 1) {
    throw ConfigError(std::string(setting) + "_key: cannot load " + files.private_key + ": " + OpenSslError());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    throw ConfigError(std::string(setting) + "_key does not match " + setting + "_cert");
  }
  // TLS 1.3 session tickets (OpenSSL's default, two per full handshake) under rotating keys.
  TicketKeyRing::Install(ctx, ticket_rotation);
  return context;
}

void FreeRefused(void*, void* pointer, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<RefusedCertificate*>(pointer);
}

int RefusedIndex() {
  static const int kIndex = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, FreeRefused);
  return kIndex;
}

// Lets OpenSSL decide; only remembers the leaf it refused, once per connection.
int RecordRefusal(int preverify_ok, X509_STORE_CTX* store) {
  if (preverify_ok == 1 || ForgiveMissingCrl(store)) return 1;
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  X509* leaf = X509_STORE_CTX_get0_cert(store);
  if (ssl != nullptr && leaf != nullptr && SSL_get_ex_data(ssl, RefusedIndex()) == nullptr) {
    SSL_set_ex_data(ssl, RefusedIndex(),
                    new RefusedCertificate{auth::DescribeSubject(leaf), auth::Sha256FingerprintHex(leaf)});
  }
  return preverify_ok;
}

std::shared_ptr<ssl::context> DeviceContext(const Config& config) {
  auto context = BaseServerContext(config.device_tls, "device.tls", config.tls_ticket_rotation);
  SSL_CTX* ctx = context->native_handle();
  std::vector<std::string> anchors = config.device_trust_anchors;
  anchors.push_back(config.agent_ca.certificate);
  STACK_OF(X509_NAME)* client_cas = sk_X509_NAME_new_null();
  for (const auto& file : anchors) {
    const char* setting = file == config.agent_ca.certificate ? "agent.ca_cert" : "device.trust_anchors";
    if (SSL_CTX_load_verify_locations(ctx, file.c_str(), nullptr) != 1) {
      sk_X509_NAME_pop_free(client_cas, X509_NAME_free);
      throw ConfigError(std::string(setting) + ": cannot load CA file " + file + ": " + OpenSslError());
    }
    // Names the acceptable issuers in the CertificateRequest, so that a client holding
    // several certificates picks the right one.
    SSL_add_file_cert_subjects_to_stack(client_cas, file.c_str());
  }
  SSL_CTX_set_client_CA_list(ctx, client_cas);
  // Request a certificate without requiring one: enrolment is the one route that takes
  // another credential, and the session answers 401 certificate_rejected elsewhere.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, RecordRefusal);
  X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
  // The configured CAs are trust anchors even when they are intermediates, and a client
  // certificate must be issued directly by one of them. The depth counts untrusted CAs
  // between the leaf and the anchor: 0 refuses a chain through a CA-flagged device
  // certificate, which depth 1 still accepted (caught by tests/e2e/device_tls_tests.cpp).
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
  X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_CLIENT);
  SSL_CTX_set_verify_depth(ctx, 0);
  LoadDeviceCrls(ctx, config);
  SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof kSessionIdContext - 1);
  ERR_clear_error();
  return context;
}

}  // namespace

const RefusedCertificate* RefusedPeerCertificate(SSL* ssl) {
  return static_cast<const RefusedCertificate*>(SSL_get_ex_data(ssl, RefusedIndex()));
}

TlsContexts BuildTlsContexts(const Config& config) {
  return {DeviceContext(config), BaseServerContext(config.operator_tls, "operator.tls", config.tls_ticket_rotation)};
}

}  // namespace fleetcomm::server
