#include "server/audit_entries.hpp"

namespace fleetcomm::server {
namespace {

// The wire code of an error body {"error":{"code":"...",...}}, without a JSON parse.
std::string ErrorCodeOf(const std::string& body) {
  constexpr std::string_view kKey = "\"code\":\"";
  const auto start = body.find(kKey);
  if (start == std::string::npos) return {};
  const auto end = body.find('"', start + kKey.size());
  if (end == std::string::npos || end - start > 80) return {};
  return body.substr(start + kKey.size(), end - start - kKey.size());
}

}  // namespace

void BeginAuditEntry(storage::AuditEntry& entry, ListenerKind listener, const std::string& request_id,
                     const ConnectionInfo& connection) {
  entry = storage::AuditEntry{};
  entry.at = std::chrono::system_clock::now();
  entry.started = std::chrono::steady_clock::now();
  entry.listener = std::string(ListenerName(listener));
  entry.request_id = request_id;
  entry.remote_address = connection.remote_address;
  DescribeClient(entry, connection);
}

void DescribeRequest(storage::AuditEntry& entry, const HttpRequest& header) {
  entry.method = storage::AuditText(header.method_string(), 32);
  entry.path = storage::AuditText(header.target(), storage::kAuditPathBytes);
  entry.user_agent = storage::AuditText(header[http::field::user_agent], storage::kAuditUserAgentBytes);
}

void DescribeClient(storage::AuditEntry& entry, const ConnectionInfo& connection) {
  if (connection.certificate && *connection.certificate) {
    const auto& certificate = **connection.certificate;
    entry.cert_fingerprint = certificate.sha256_fingerprint;
    entry.identity_kind = "certificate";
    entry.identity_id = storage::AuditText(certificate.identity, 256);
  }
  if (connection.identity) {
    const auto& identity = *connection.identity;
    entry.identity_kind = identity.kind == storage::ClientKind::kAgent ? "agent" : "device";
    entry.identity_id = identity.id;
    entry.account_id = identity.account_id.value_or("");
    // A lockdown agent's address is never stored (PROTOCOL.md 4.6).
    if (identity.lockdown) entry.remote_address.clear();
  } else if (connection.agent_certificate) {
    // An agent not looked up yet may be in lockdown: its address is not stored either.
    entry.remote_address.clear();
  }
}

void DescribeOperator(storage::AuditEntry& entry, const OperatorPrincipal& principal) {
  entry.identity_kind = "operator";
  entry.identity_id = std::to_string(principal.token_id);
  entry.detail = storage::AuditText("token " + principal.token_name, storage::kAuditDetailBytes);
}

void DescribeRouteAccount(storage::AuditEntry& entry, const std::string& pattern,
                          const std::map<std::string, std::string>& params) {
  if (pattern.rfind("/api/v1/accounts/{id}", 0) != 0) return;
  if (auto id = params.find("id"); id != params.end()) entry.account_id = storage::AuditText(id->second, 64);
}

void FinishAuditEntry(storage::AuditEntry& entry, const HttpResponse& response, std::size_t bytes_in,
                      double seconds) {
  entry.status = static_cast<int>(response.result_int());
  entry.bytes_in = static_cast<long long>(bytes_in);
  entry.bytes_out = static_cast<long long>(response.body().size());
  entry.duration_ms = static_cast<long long>(seconds * 1000);
  entry.started = {};  // measured: the writer must not measure again
  if (entry.status >= 400) entry.error_code = ErrorCodeOf(response.body());
}

std::optional<storage::AuditEntry> ChangeEntry(const RequestContext& context, int status) {
  if (context.audit == nullptr) return std::nullopt;
  storage::AuditEntry entry = context.audit->entry;
  entry.status = status;
  entry.bytes_in = static_cast<long long>(context.request.body().size());
  entry.bytes_out = -1;
  return entry;
}

void MarkRecorded(RequestContext& context) {
  if (context.audit != nullptr) context.audit->recorded = true;
}

storage::AuditEntry HandshakeAuditEntry(ListenerKind listener, const ConnectionInfo& connection,
                                        std::string_view reason, std::string_view detail, std::string_view subject,
                                        std::string_view fingerprint) {
  storage::AuditEntry entry;
  entry.at = std::chrono::system_clock::now();
  entry.listener = std::string(ListenerName(listener));
  entry.kind = "tls_handshake";
  entry.remote_address = connection.remote_address;
  entry.error_code = std::string(reason);
  entry.cert_fingerprint = storage::AuditText(fingerprint, 128);
  std::string described = std::string(detail);
  if (!subject.empty()) described += "; subject: " + std::string(subject);
  entry.detail = storage::AuditText(described, storage::kAuditDetailBytes);
  return entry;
}

}  // namespace fleetcomm::server
