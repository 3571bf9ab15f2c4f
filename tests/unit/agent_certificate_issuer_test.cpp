#include "auth/agent_certificate_issuer.hpp"
#include "auth/client_certificate.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_pki.hpp"

#include <catch2/catch.hpp>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <thread>
#include <vector>

using namespace fleetcomm;
using testing::CertOptions;
using testing::KeyOptions;
using testing::TempDir;
using testing::X509Ptr;

namespace {

const testing::TestCertificate& AgentCa() {
  static const auto ca = [] {
    CertOptions options;
    options.common_name = "Unit Agent CA";
    options.organization = "fleetcomm";
    return testing::MakeSelfSignedCa(options);
  }();
  return ca;
}

// One issuer for the whole run: building it reads files, which is what the server does once.
const auth::AgentCertificateIssuer& Issuer() {
  static TempDir dir;
  static const auth::AgentCertificateIssuer issuer = [] {
    AgentCa().WriteFiles(dir.path(), "agent-ca");
    return auth::AgentCertificateIssuer(dir.path() + "/agent-ca.crt", dir.path() + "/agent-ca.key");
  }();
  return issuer;
}

std::string CsrPem(const KeyOptions& key_options, const std::string& cn = "evil") {
  auto key = testing::GenerateKey(key_options);
  return testing::MakeCsrPem(key.get(), cn);
}

std::string CsrForCurve(const char* curve) {
  testing::EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
  REQUIRE(key);
  return testing::MakeCsrPem(key.get(), "agent");
}

// Ed25519 signs without a separate digest, which MakeCsrPem cannot do.
std::string Ed25519CsrPem() {
  testing::EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  REQUIRE(key);
  X509_REQ* req = X509_REQ_new();
  REQUIRE(X509_REQ_set_pubkey(req, key.get()) == 1);
  REQUIRE(X509_REQ_sign(req, key.get(), nullptr) > 0);
  BIO* bio = BIO_new(BIO_s_mem());
  REQUIRE(PEM_write_bio_X509_REQ(bio, req) == 1);
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(length));
  BIO_free(bio);
  X509_REQ_free(req);
  return pem;
}

// The signature is the last field of the DER, so flipping the final byte breaks only it.
std::string WithTamperedSignature(const std::string& pem) {
  BIO* in = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509_REQ* req = PEM_read_bio_X509_REQ(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  REQUIRE(req != nullptr);
  unsigned char* der = nullptr;
  const int length = i2d_X509_REQ(req, &der);
  X509_REQ_free(req);
  REQUIRE(length > 0);
  der[length - 1] ^= 0x01;
  BIO* out = BIO_new(BIO_s_mem());
  REQUIRE(PEM_write_bio(out, "CERTIFICATE REQUEST", "", der, length) > 0);
  OPENSSL_free(der);
  char* data = nullptr;
  const long out_length = BIO_get_mem_data(out, &data);
  std::string tampered(data, static_cast<std::size_t>(out_length));
  BIO_free(out);
  return tampered;
}

std::vector<X509Ptr> ReadChain(const std::string& pem) {
  std::vector<X509Ptr> chain;
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) chain.emplace_back(cert);
  BIO_free(bio);
  return chain;
}

std::string NameEntry(X509_NAME* name, int nid) {
  const int pos = X509_NAME_get_index_by_NID(name, nid, -1);
  if (pos < 0) return {};
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, pos));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                     static_cast<std::size_t>(ASN1_STRING_length(data)));
}

bool VerifiesAsClient(X509* leaf) {
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, AgentCa().cert());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, nullptr);
  X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
  const bool ok = X509_verify_cert(ctx) == 1;
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return ok;
}

std::string RefusalOf(std::string_view pem) {
  auto result = auth::ValidateCsr(pem);
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().code == auth::AuthErrc::kInvalidCsr);
  return result.error().detail;
}

}  // namespace

TEST_CASE("an agent certificate carries the agent id, clientAuth and the agent CA as issuer", "[issuer]") {
  KeyOptions key_options;
  SECTION("EC P-256") { key_options.kind = KeyOptions::kEcP256; }
  SECTION("EC P-384") { key_options.kind = KeyOptions::kEcP384; }
  SECTION("RSA 2048") {
    key_options.kind = KeyOptions::kRsa;
    key_options.rsa_bits = 2048;
  }
  auto csr = auth::ValidateCsr(CsrPem(key_options, "evil"));
  REQUIRE(csr.has_value());
  const std::chrono::seconds lifetime = std::chrono::hours(24 * 30);
  const std::time_t before = std::time(nullptr);
  auto issued = Issuer().Issue(*csr, "ag_7Kq-x", lifetime);
  REQUIRE(issued.has_value());

  auto chain = ReadChain(issued->certificate_pem);
  REQUIRE(chain.size() == 2);
  X509* leaf = chain[0].get();
  CHECK(X509_cmp(chain[1].get(), AgentCa().cert()) == 0);
  CHECK(X509_NAME_cmp(X509_get_issuer_name(leaf), X509_get_subject_name(AgentCa().cert())) == 0);
  // The CSR asked for CN=evil; only the server's choice may appear.
  CHECK(X509_NAME_entry_count(X509_get_subject_name(leaf)) == 1);
  CHECK(NameEntry(X509_get_subject_name(leaf), NID_commonName) == "ag_7Kq-x");
  CHECK(X509_get_version(leaf) == X509_VERSION_3);
  CHECK((X509_get_extension_flags(leaf) & EXFLAG_CA) == 0);
  CHECK((X509_get_extended_key_usage(leaf) & XKU_SSL_CLIENT) != 0);
  CHECK((X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE) != 0);
  CHECK((X509_get_key_usage(leaf) & KU_KEY_CERT_SIGN) == 0);
  CHECK(X509_get0_subject_key_id(leaf) != nullptr);
  CHECK(X509_get0_authority_key_id(leaf) != nullptr);
  CHECK(EVP_PKEY_eq(X509_get0_pubkey(leaf), csr->public_key()) == 1);

  int days = 0;
  int seconds = 0;
  REQUIRE(ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(leaf), X509_get0_notAfter(leaf)) == 1);
  const long validity_s = days * 86400L + seconds;
  CHECK(validity_s == Approx(static_cast<double>(lifetime.count() + 300)).margin(5));
  CHECK(issued->not_after >= before + lifetime.count());
  CHECK(issued->not_after <= std::time(nullptr) + lifetime.count());
  CHECK(X509_cmp_time(X509_get0_notAfter(leaf), &issued->not_after) <= 0);

  CHECK(VerifiesAsClient(leaf));
  auto inspected = auth::InspectClientCertificate(leaf);
  REQUIRE(inspected.has_value());
  CHECK(inspected->identity == "ag_7Kq-x");
  CHECK(issued->sha256_fingerprint == auth::Sha256FingerprintHex(leaf));
  CHECK(issued->sha256_fingerprint.size() == 64);

  BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), nullptr);
  REQUIRE(serial != nullptr);
  CHECK(BN_is_negative(serial) == 0);
  CHECK(BN_num_bytes(serial) >= 8);
  char* hex = BN_bn2hex(serial);
  std::string expected_hex(hex);
  for (char& c : expected_hex) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  CHECK(issued->serial_hex == expected_hex);
  OPENSSL_free(hex);
  BN_free(serial);
}

TEST_CASE("two issues for the same CSR get different serials", "[issuer]") {
  auto csr = auth::ValidateCsr(CsrPem({}));
  REQUIRE(csr.has_value());
  auto first = Issuer().Issue(*csr, "ag_1", std::chrono::hours(1));
  auto second = Issuer().Issue(*csr, "ag_1", std::chrono::hours(1));
  REQUIRE(first.has_value());
  REQUIRE(second.has_value());
  CHECK(first->serial_hex != second->serial_hex);
  CHECK(first->sha256_fingerprint != second->sha256_fingerprint);
}

TEST_CASE("CSRs with weak or unsupported keys are refused", "[issuer]") {
  KeyOptions rsa1024;
  rsa1024.kind = KeyOptions::kRsa;
  rsa1024.rsa_bits = 1024;
  CHECK_THAT(RefusalOf(CsrPem(rsa1024)), Catch::Contains("2048"));
  CHECK_THAT(RefusalOf(CsrForCurve("P-521")), Catch::Contains("curve"));
  CHECK_THAT(RefusalOf(CsrForCurve("secp256k1")), Catch::Contains("curve"));
  CHECK_THAT(RefusalOf(Ed25519CsrPem()), Catch::Contains("key type"));
}

TEST_CASE("a CSR whose signature does not verify is refused", "[issuer]") {
  const std::string pem = CsrPem({});
  REQUIRE(auth::ValidateCsr(pem).has_value());
  CHECK_THAT(RefusalOf(WithTamperedSignature(pem)), Catch::Contains("signature"));
}

TEST_CASE("CSR input that is not exactly one bounded PEM request is refused", "[issuer]") {
  const std::string pem = CsrPem({});
  CHECK_THAT(RefusalOf(""), Catch::Contains("empty"));
  CHECK_THAT(RefusalOf("hello, I am a certificate request"), Catch::Contains("PEM"));
  CHECK_THAT(RefusalOf(std::string(20 * 1024, 'A')), Catch::Contains("16 KiB"));
  CHECK_THAT(RefusalOf(pem + std::string(20 * 1024, '\n')), Catch::Contains("16 KiB"));
  CHECK_THAT(RefusalOf(pem + pem), Catch::Contains("more than one"));
  CHECK_THAT(RefusalOf("junk\n" + pem), Catch::Contains("before"));
  CHECK_THAT(RefusalOf(AgentCa().CertPem()), Catch::Contains("CERTIFICATE REQUEST"));
  CHECK_THAT(RefusalOf("-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----\n"),
             Catch::Contains("CERTIFICATE REQUEST"));
  // Whitespace around the block and text after the END line are harmless.
  CHECK(auth::ValidateCsr("\n  " + pem + "sent by agent-lite 5.6.1\n").has_value());
}

TEST_CASE("agent ids outside [A-Za-z0-9_-]{1,64} and silly lifetimes are refused", "[issuer]") {
  auto csr = auth::ValidateCsr(CsrPem({}));
  REQUIRE(csr.has_value());
  for (const std::string& bad : std::vector<std::string>{"", "ag\"1", "ag\n1", "ag 1", "ag,CN=x", std::string(65, 'a')}) {
    auto issued = Issuer().Issue(*csr, bad, std::chrono::hours(1));
    REQUIRE_FALSE(issued.has_value());
    CHECK_THAT(issued.error().detail, Catch::Contains("agent id"));
    CHECK(issued.error().code == auth::AuthErrc::kInternal);  // the server chose it: a 500, not a 422
  }
  CHECK(Issuer().Issue(*csr, std::string(64, 'a'), std::chrono::hours(1)).has_value());
  CHECK_FALSE(Issuer().Issue(*csr, "ag_1", std::chrono::seconds(0)).has_value());
  CHECK_FALSE(Issuer().Issue(*csr, "ag_1", std::chrono::seconds(-60)).has_value());
}

TEST_CASE("the issuer refuses a CA that is not one, a key that is not its own, missing files", "[issuer]") {
  TempDir dir;
  AgentCa().WriteFiles(dir.path(), "ca");
  CertOptions other_options;
  other_options.common_name = "Other CA";
  testing::MakeSelfSignedCa(other_options).WriteFiles(dir.path(), "other");
  CertOptions leaf_options;
  leaf_options.common_name = "not-a-ca";
  leaf_options.eku = CertOptions::Eku::kClientAuth;
  testing::IssueCertificate(AgentCa(), leaf_options).WriteFiles(dir.path(), "leaf");
  const std::string d = dir.path() + "/";

  CHECK_NOTHROW(auth::AgentCertificateIssuer(d + "ca.crt", d + "ca.key"));
  CHECK_THROWS_WITH(auth::AgentCertificateIssuer(d + "leaf.crt", d + "leaf.key"), Catch::Contains("not a CA"));
  CHECK_THROWS_WITH(auth::AgentCertificateIssuer(d + "ca.crt", d + "other.key"), Catch::Contains("does not match"));
  CHECK_THROWS_WITH(auth::AgentCertificateIssuer(d + "missing.crt", d + "ca.key"), Catch::Contains("missing.crt"));
  CHECK_THROWS_WITH(auth::AgentCertificateIssuer(d + "ca.crt", d + "missing.key"), Catch::Contains("missing.key"));
  CHECK_THROWS_WITH(auth::AgentCertificateIssuer(d + "ca.key", d + "ca.key"), Catch::Contains("ca.key"));
}

TEST_CASE("concurrent issues share the CA key safely", "[issuer]") {
  auto csr = auth::ValidateCsr(CsrPem({}));
  REQUIRE(csr.has_value());
  std::vector<std::string> serials(4 * 8);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 8; ++i) {
        auto issued = Issuer().Issue(*csr, "ag_" + std::to_string(t), std::chrono::hours(1));
        if (!issued || !VerifiesAsClient(ReadChain(issued->certificate_pem).at(0).get())) {
          ++failures;
          continue;
        }
        serials[static_cast<std::size_t>(t * 8 + i)] = issued->serial_hex;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(failures == 0);
  std::sort(serials.begin(), serials.end());
  CHECK(std::adjacent_find(serials.begin(), serials.end()) == serials.end());
}
