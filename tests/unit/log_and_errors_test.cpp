#include "protocol/error_code.hpp"
#include "server/api_error.hpp"
#include "server/log.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace fleetcomm;

TEST_CASE("log values cannot forge fields or lines", "[log]") {
  CHECK(server::FormatLogValue("plain-value_1") == "plain-value_1");
  CHECK(server::FormatLogValue("") == "\"\"");
  CHECK(server::FormatLogValue("a b") == "\"a b\"");
  CHECK(server::FormatLogValue("x\" status=200") == "\"x\\\" status=200\"");
  CHECK(server::FormatLogValue("line\nlevel=error") == "\"line\\x0alevel=error\"");
  CHECK(server::FormatLogValue("caf\xc3\xa9") == "\"caf\\xc3\\xa9\"");
  const std::string huge(5000, 'a');
  const std::string formatted = server::FormatLogValue(huge);
  CHECK(formatted.size() < 1100);
  CHECK_THAT(formatted, Catch::EndsWith("...\""));
}

TEST_CASE("error bodies follow PROTOCOL.md section 1", "[errors]") {
  const server::ApiError error(protocol::ErrorCode::kCertificateRejected, "no \"good\"", "internal detail");
  CHECK(error.status == 401);
  const auto body = nlohmann::json::parse(server::ErrorBody(error));
  CHECK(body["error"]["code"] == "certificate_rejected");
  CHECK(body["error"]["message"] == "no \"good\"");
  // Internal detail stays in the log.
  CHECK(server::ErrorBody(error).find("internal detail") == std::string::npos);
  // Invalid UTF-8 from a client never breaks the JSON.
  const server::ApiError odd(protocol::ErrorCode::kInvalidRequest, "bad \xff byte");
  CHECK_NOTHROW(nlohmann::json::parse(server::ErrorBody(odd)));
}

TEST_CASE("every stable code keeps its wire name and status", "[errors]") {
  using protocol::ErrorCode;
  CHECK(protocol::WireName(ErrorCode::kInvalidRegistrationKey) == "invalid_registration_key");
  CHECK(protocol::WireName(ErrorCode::kReportIdConflict) == "report_id_conflict");
  CHECK(protocol::WireName(ErrorCode::kUnsupportedMediaType) == "unsupported_media_type");
  CHECK(protocol::DefaultHttpStatus(ErrorCode::kPayloadTooLarge) == 413);
  CHECK(protocol::DefaultHttpStatus(ErrorCode::kUnavailable) == 503);
  CHECK(protocol::DefaultHttpStatus(ErrorCode::kRateLimited) == 429);
}

TEST_CASE("storage and auth errors map to HTTP once", "[errors]") {
  using storage::StorageErrc;
  CHECK(server::FromStorageError({StorageErrc::kUnavailable, "x"}).status == 503);
  CHECK(server::FromStorageError({StorageErrc::kSchemaMismatch, "x"}).status == 503);
  CHECK(server::FromStorageError({StorageErrc::kInternal, "SELECT secret"}).message.find("SELECT") ==
        std::string::npos);
  CHECK(server::FromAuthError({auth::AuthErrc::kTokenMissing, ""}).code == protocol::ErrorCode::kUnauthorized);
  CHECK(server::FromAuthError({auth::AuthErrc::kCertificateMissing, ""}).status == 401);
}
