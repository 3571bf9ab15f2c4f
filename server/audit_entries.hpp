#pragma once
// Filling audit entries (PROTOCOL.md 4.6) from what the request loop and the connection
// know. Everything a client chose (path, user agent, certificate subject) is bounded and
// escaped by storage::AuditText.
#include "server/request_loop.hpp"

namespace fleetcomm::server {

// Time, listener, request id; the remote address unless the client may be a lockdown agent.
void BeginAuditEntry(storage::AuditEntry& entry, ListenerKind listener, const std::string& request_id,
                     const ConnectionInfo& connection);
// Method, path and query, user agent.
void DescribeRequest(storage::AuditEntry& entry, const HttpRequest& header);
// Who is calling on the device listener: certificate fingerprint, device or agent, account.
void DescribeClient(storage::AuditEntry& entry, const ConnectionInfo& connection);
void DescribeOperator(storage::AuditEntry& entry, const OperatorPrincipal& principal);
// Operator routes under /api/v1/accounts/{id} concern that account.
void DescribeRouteAccount(storage::AuditEntry& entry, const std::string& pattern,
                          const std::map<std::string, std::string>& params);
// Status, sizes, duration and the error code of an error answer.
void FinishAuditEntry(storage::AuditEntry& entry, const HttpResponse& response, std::size_t bytes_in,
                      double seconds);

// For a storage call that inserts the request's entry in the transaction of its change:
// a copy answered `status` (bytes out not known yet); nullopt when auditing is off.
std::optional<storage::AuditEntry> ChangeEntry(const RequestContext& context, int status);
inline const storage::AuditEntry* EntryOrNull(const std::optional<storage::AuditEntry>& entry) {
  return entry ? &*entry : nullptr;
}
// After such a call inserted it: the request loop must not queue the entry again.
void MarkRecorded(RequestContext& context);

// A failed TLS handshake: no request id, the reason and what the client presented.
storage::AuditEntry HandshakeAuditEntry(ListenerKind listener, const ConnectionInfo& connection,
                                        std::string_view reason, std::string_view detail, std::string_view subject,
                                        std::string_view fingerprint);

}  // namespace fleetcomm::server
