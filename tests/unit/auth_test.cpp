#include "auth/client_certificate.hpp"
#include "auth/operator_token.hpp"
#include "tests/support/test_pki.hpp"

#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/x509.h>

using namespace fleetcomm;
using testing::CertOptions;

namespace {

const testing::TestCertificate& DeviceCa() {
  static const auto ca = [] {
    CertOptions options;
    options.common_name = "Unit Device CA";
    return testing::MakeSelfSignedCa(options);
  }();
  return ca;
}

CertOptions ClientOptions(std::string serial, std::string cn) {
  CertOptions options;
  options.serial_number_attr = std::move(serial);
  options.common_name = std::move(cn);
  options.eku = CertOptions::Eku::kClientAuth;
  return options;
}

auth::AuthResult<auth::ClientCertificate> Inspect(const CertOptions& options) {
  auto cert = testing::IssueCertificate(DeviceCa(), options);
  return auth::InspectClientCertificate(cert.cert());
}

// Replaces the subject with one raw UTF8String CN and re-signs: the builder's own checks
// refuse such names, but a hostile client can still present them.
testing::TestCertificate WithRawCommonName(const std::string& bytes) {
  auto cert = testing::IssueCertificate(DeviceCa(), ClientOptions("", "placeholder"));
  X509_NAME* name = X509_NAME_new();
  REQUIRE(X509_NAME_add_entry_by_NID(name, NID_commonName, V_ASN1_UTF8STRING,
                                     reinterpret_cast<const unsigned char*>(bytes.data()),
                                     static_cast<int>(bytes.size()), -1, 0) == 1);
  REQUIRE(X509_set_subject_name(cert.cert(), name) == 1);
  X509_NAME_free(name);
  REQUIRE(X509_sign(cert.cert(), DeviceCa().key(), EVP_sha256()) > 0);
  return cert;
}

std::string RefusalOf(const testing::TestCertificate& cert) {
  auto result = auth::InspectClientCertificate(cert.cert());
  REQUIRE_FALSE(result.has_value());
  return result.error().detail;
}

}  // namespace

TEST_CASE("operator tokens are random, well-formed, and stored only as a digest", "[auth]") {
  const auto a = auth::GenerateOperatorToken();
  const auto b = auth::GenerateOperatorToken();
  CHECK(a != b);
  CHECK(a.size() == 47);
  CHECK(a.rfind("fco_", 0) == 0);
  CHECK(auth::OperatorTokenDigest(a).size() == 32);
  CHECK(auth::OperatorTokenDigest(a) != auth::OperatorTokenDigest(b));
  CHECK(auth::OperatorTokenDigest(a) == auth::OperatorTokenDigest(a));
  REQUIRE(auth::ParseBearerToken("Bearer " + a).has_value());
  CHECK(*auth::ParseBearerToken("bearer " + a) == a);
  CHECK_FALSE(auth::ParseBearerToken("Basic " + a).has_value());
  CHECK_FALSE(auth::ParseBearerToken("Bearer " + a.substr(1)).has_value());
  CHECK_FALSE(auth::ParseBearerToken("Bearer " + a.substr(0, 46) + "!").has_value());
  CHECK_FALSE(auth::ParseBearerToken("Bearer").has_value());
  CHECK(auth::ParseRole("account_manager") == auth::Role::kAccountManager);
  CHECK_FALSE(auth::ParseRole("root").has_value());
  CHECK(auth::RoleName(auth::Role::kConsumer) == "consumer");
}

TEST_CASE("a device certificate names its serial: serialNumber first, else CN", "[auth]") {
  auto with_serial = Inspect(ClientOptions("XRX123456", "printer.example"));
  REQUIRE(with_serial.has_value());
  CHECK(with_serial->identity == "XRX123456");
  CHECK(with_serial->sha256_fingerprint.size() == 64);
  auto cn_only = Inspect(ClientOptions("", "ag_7f3a"));
  REQUIRE(cn_only.has_value());
  CHECK(cn_only->identity == "ag_7f3a");
}

TEST_CASE("certificates that OpenSSL accepts but PROTOCOL.md refuses are refused", "[auth]") {
  auto no_eku = ClientOptions("S1", "S1");
  no_eku.eku = CertOptions::Eku::kNone;
  CHECK_THAT(Inspect(no_eku).error().detail, Catch::Contains("no extended key usage"));

  auto server_only = ClientOptions("S2", "S2");
  server_only.eku = CertOptions::Eku::kServerAuth;
  CHECK_THAT(Inspect(server_only).error().detail, Catch::Contains("clientAuth"));

  auto ca_flagged = ClientOptions("S3", "S3");
  ca_flagged.is_ca = true;
  CHECK_THAT(Inspect(ca_flagged).error().detail, Catch::Contains("CA"));

  auto weak = ClientOptions("S4", "S4");
  weak.key.kind = testing::KeyOptions::kRsa;
  weak.key.rsa_bits = 1024;
  CHECK_THAT(Inspect(weak).error().detail, Catch::Contains("2048"));

  auto sha1 = ClientOptions("S5", "S5");
  sha1.sha1 = true;
  CHECK_THAT(Inspect(sha1).error().detail, Catch::Contains("digest"));

  CHECK_THAT(Inspect(ClientOptions("", "")).error().detail, Catch::Contains("neither"));
  CHECK_THAT(RefusalOf(WithRawCommonName("bad\nserial")), Catch::Contains("printable"));
  CHECK_THAT(RefusalOf(WithRawCommonName(std::string("nul\0byte", 8))), Catch::Contains("printable"));
  CHECK_THAT(RefusalOf(WithRawCommonName(std::string(1024, 'A'))), Catch::Contains("too long"));
  CHECK(auth::InspectClientCertificate(nullptr).error().code == auth::AuthErrc::kCertificateMissing);
}

TEST_CASE("subjects are described on one bounded, escaped line", "[auth]") {
  auto cert = WithRawCommonName("A\"B,\n" + std::string(1000, 'x'));
  const auto subject = auth::DescribeSubject(cert.cert());
  CHECK(subject.size() <= 515);
  CHECK(subject.find('\n') == std::string::npos);
}
