#include "server/operator_auth.hpp"

#include "server/db_executor.hpp"
#include "storage/operator_tokens.hpp"

namespace fleetcomm::server {

boost::asio::awaitable<boost::system::result<OperatorPrincipal, ApiError>> AuthenticateOperator(
    storage::DbPool& pool, const HttpRequest& request) {
  const auto header = request[http::field::authorization];
  if (header.empty()) co_return FromAuthError({auth::AuthErrc::kTokenMissing, "no Authorization header"});
  const auto token = auth::ParseBearerToken(header);
  if (!token) co_return FromAuthError({auth::AuthErrc::kTokenInvalid, "malformed bearer token"});
  const std::string digest = auth::OperatorTokenDigest(*token);
  // Named, not a temporary inside the co_await: GCC 12 destroys such temporaries twice
  // (see docs/coroutines.md).
  auto lookup = [digest](pqxx::connection_base& conn) { return storage::FindOperatorToken(conn, digest); };
  auto pending = RunDb<std::optional<storage::OperatorTokenRecord>>(pool, std::move(lookup));
  auto found = co_await std::move(pending);
  if (!found) co_return FromStorageError(found.error());
  if (!*found) co_return FromAuthError({auth::AuthErrc::kTokenInvalid, "unknown or revoked token"});
  const auto& record = **found;
  const auto role = auth::ParseRole(record.role);
  if (!role) co_return ApiError(protocol::ErrorCode::kInternal, "internal error", "stored token has unknown role");
  co_return OperatorPrincipal{record.id, record.name, *role, record.account_ids};
}

}  // namespace fleetcomm::server
