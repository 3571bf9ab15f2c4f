#include "tests/support/temp_dir.hpp"
#include "tests/support/test_pki.hpp"

#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace fleetcomm::testing {
namespace {

X509Ptr ReadCert(const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "r");
  REQUIRE(file != nullptr);
  X509Ptr cert(PEM_read_X509(file, nullptr, nullptr, nullptr));
  std::fclose(file);
  REQUIRE(cert);
  return cert;
}

// Returns X509_V_OK or the OpenSSL verify error, checking purpose as a TLS peer would.
int Verify(const std::string& anchor_path, const std::string& cert_path, int purpose,
           const std::string& intermediate_path = "") {
  X509Ptr anchor = ReadCert(anchor_path);
  X509Ptr cert = ReadCert(cert_path);
  X509Ptr intermediate = intermediate_path.empty() ? nullptr : ReadCert(intermediate_path);
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  if (intermediate) sk_X509_push(untrusted, intermediate.get());
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, anchor.get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  REQUIRE(X509_STORE_CTX_init(ctx, store, cert.get(), untrusted) == 1);
  X509_STORE_CTX_set_purpose(ctx, purpose);
  int result = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  sk_X509_free(untrusted);
  return result;
}

}  // namespace

TEST_CASE("standard test PKI chains as the server will see it", "[pki]") {
  TempDir dir;
  TestPkiFiles pki = WriteStandardTestPki(dir.path());

  CHECK(Verify(pki.device_ca.cert, pki.device_xrx0001.cert, X509_PURPOSE_SSL_CLIENT) == X509_V_OK);
  CHECK(Verify(pki.device_ca.cert, pki.device_xrx0002.cert, X509_PURPOSE_SSL_CLIENT) == X509_V_OK);
  CHECK(Verify(pki.device_ca.cert, pki.device_expired.cert, X509_PURPOSE_SSL_CLIENT) ==
        X509_V_ERR_CERT_HAS_EXPIRED);
  CHECK(Verify(pki.device_ca.cert, pki.device_not_yet_valid.cert, X509_PURPOSE_SSL_CLIENT) ==
        X509_V_ERR_CERT_NOT_YET_VALID);
  CHECK(Verify(pki.device_ca.cert, pki.device_serverauth.cert, X509_PURPOSE_SSL_CLIENT) ==
        X509_V_ERR_INVALID_PURPOSE);
  CHECK(Verify(pki.device_ca.cert, pki.device_rogue.cert, X509_PURPOSE_SSL_CLIENT) != X509_V_OK);
  CHECK(Verify(pki.rogue_ca.cert, pki.device_rogue.cert, X509_PURPOSE_SSL_CLIENT) == X509_V_OK);
  // OpenSSL itself lets these through; refusing them is the server's job.
  CHECK(Verify(pki.device_ca.cert, pki.device_noeku.cert, X509_PURPOSE_SSL_CLIENT) == X509_V_OK);
  CHECK(Verify(pki.device_ca.cert, pki.device_ca_flagged.cert, X509_PURPOSE_SSL_CLIENT) == X509_V_OK);
  CHECK(Verify(pki.device_ca.cert, pki.device_chained.cert, X509_PURPOSE_SSL_CLIENT, pki.device_ca_flagged.cert) ==
        X509_V_OK);
  CHECK(Verify(pki.server_ca.cert, pki.server.cert, X509_PURPOSE_SSL_SERVER) == X509_V_OK);
  CHECK(Verify(pki.device_ca.cert, pki.server.cert, X509_PURPOSE_SSL_SERVER) != X509_V_OK);

  X509Ptr server = ReadCert(pki.server.cert);
  CHECK(X509_check_host(server.get(), "localhost", 0, 0, nullptr) == 1);
  CHECK(X509_check_ip_asc(server.get(), "127.0.0.1", 0) == 1);

  X509Ptr noeku = ReadCert(pki.device_noeku.cert);
  CHECK(X509_get_ext_by_NID(noeku.get(), NID_ext_key_usage, -1) == -1);
  X509Ptr ca_flagged = ReadCert(pki.device_ca_flagged.cert);
  CHECK(X509_check_ca(ca_flagged.get()) != 0);
  X509Ptr sha1 = ReadCert(pki.device_sha1.cert);
  CHECK(X509_get_signature_nid(sha1.get()) == NID_ecdsa_with_SHA1);

  TestCertificate rsa1024 = TestCertificate::LoadFiles(pki.device_rsa1024.cert, pki.device_rsa1024.key);
  CHECK(EVP_PKEY_get_bits(rsa1024.key()) == 1024);
  CHECK(X509_check_private_key(rsa1024.cert(), rsa1024.key()) == 1);

  struct stat key_stat {};
  REQUIRE(::stat(pki.device_xrx0001.key.c_str(), &key_stat) == 0);
  CHECK((key_stat.st_mode & 0777) == 0600);
}

TEST_CASE("device identity sits in subject serialNumber", "[pki]") {
  TempDir dir;
  TestPkiFiles pki = WriteStandardTestPki(dir.path());
  X509Ptr cert = ReadCert(pki.device_xrx0001.cert);
  char serial[64] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_serialNumber, serial, sizeof serial);
  CHECK(std::string(serial) == "XRX0001");
}

TEST_CASE("fingerprint is the lowercase hex SHA-256 of the DER", "[pki]") {
  CertOptions options;
  options.common_name = "fingerprint";
  TestCertificate cert = MakeSelfSigned(options);
  std::string fingerprint = cert.Sha256FingerprintHex();
  REQUIRE(fingerprint.size() == 64);
  CHECK(fingerprint.find_first_not_of("0123456789abcdef") == std::string::npos);

  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  REQUIRE(X509_digest(cert.cert(), EVP_sha256(), digest, &length) == 1);
  std::string expected;
  for (unsigned int i = 0; i < length; ++i) {
    char byte[3];
    std::snprintf(byte, sizeof byte, "%02x", digest[i]);
    expected += byte;
  }
  CHECK(fingerprint == expected);
}

TEST_CASE("CSR parses back and its signature verifies", "[pki]") {
  EvpPkeyPtr key = GenerateKey({});
  std::string pem = MakeCsrPem(key.get(), "agent-42");
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509_REQ* req = PEM_read_bio_X509_REQ(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  REQUIRE(req != nullptr);
  CHECK(X509_REQ_verify(req, X509_REQ_get0_pubkey(req)) == 1);
  CHECK(X509_REQ_verify(req, key.get()) == 1);
  X509_REQ_free(req);
}

TEST_CASE("CRL revokes the listed certificate", "[pki]") {
  CertOptions ca_options;
  ca_options.common_name = "crl test CA";
  TestCertificate ca = MakeSelfSignedCa(ca_options);
  CertOptions leaf_options;
  leaf_options.common_name = "revoked";
  leaf_options.eku = CertOptions::Eku::kClientAuth;
  TestCertificate leaf = IssueCertificate(ca, leaf_options);

  std::string pem = MakeCrlPem(ca, {&leaf});
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509_CRL* crl = PEM_read_bio_X509_CRL(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  REQUIRE(crl != nullptr);
  CHECK(X509_CRL_verify(crl, ca.key()) == 1);

  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca.cert());
  X509_STORE_add_crl(store, crl);
  X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  REQUIRE(X509_STORE_CTX_init(ctx, store, leaf.cert(), nullptr) == 1);
  CHECK(X509_verify_cert(ctx) != 1);
  CHECK(X509_STORE_CTX_get_error(ctx) == X509_V_ERR_CERT_REVOKED);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  X509_CRL_free(crl);
}

}  // namespace fleetcomm::testing
