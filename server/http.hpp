#pragma once
// The HTTP vocabulary shared by sessions, the router and handlers. Includes Beast's
// message headers only (not its streams), so handler files stay light.
#include "auth/client_certificate.hpp"
#include "auth/operator_token.hpp"
#include "server/api_error.hpp"
#include "storage/audit.hpp"
#include "storage/client_identities.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fleetcomm::server {

namespace http = boost::beast::http;
using HttpRequest = http::request<http::string_body>;
using HttpResponse = http::response<http::string_body>;

enum class ListenerKind { kDevice, kOperator, kOps };
std::string_view ListenerName(ListenerKind kind);

struct OperatorPrincipal {
  long long token_id = 0;
  std::string token_name;
  auth::Role role = auth::Role::kAuditor;
  std::vector<std::string> account_ids;  // for account_manager: the accounts in scope
};

// The request's audit entry (PROTOCOL.md 4.6), kept by the request loop. A handler whose
// storage call inserts the entry in the transaction of its change sets `recorded`, and the
// loop then does not queue it again; every other entry goes to the batch writer.
struct AuditRecord {
  storage::AuditEntry entry;
  bool recorded = false;
};

// Everything a handler knows about the request it serves.
struct RequestContext {
  const HttpRequest& request;
  std::string request_id;
  ListenerKind listener;
  std::string remote_address;
  std::map<std::string, std::string> path_params;  // {name} segments of the route pattern
  std::optional<auth::ClientCertificate> client_certificate;  // device listener, when verified
  bool agent_certificate = false;                              // issued by the agent CA
  std::optional<storage::ClientIdentity> client;               // kActiveClient routes: who is calling
  std::optional<OperatorPrincipal> operator_principal;        // operator listener
  AuditRecord* audit = nullptr;                                // null when auditing is off
};

HttpResponse JsonResponse(unsigned status, std::string body);
HttpResponse ErrorResponse(const ApiError& error);

using Handler = std::function<boost::asio::awaitable<HttpResponse>(RequestContext&)>;

}  // namespace fleetcomm::server
