#pragma once
// Resolves `Authorization: Bearer <token>` on the operator listener to an OperatorPrincipal.
#include "server/http.hpp"
#include "storage/db_pool.hpp"

#include <boost/system/result.hpp>

namespace fleetcomm::server {

boost::asio::awaitable<boost::system::result<OperatorPrincipal, ApiError>> AuthenticateOperator(
    storage::DbPool& pool, const HttpRequest& request);

}  // namespace fleetcomm::server
