#pragma once
// Which accounts an operator token may see (PROTOCOL.md section 4): admin and auditor all,
// account_manager those its token lists, consumer none (feeds only). Handlers answer 404
// for anything outside the scope, exactly as for a missing id.
#include "server/http.hpp"

#include <optional>
#include <string>
#include <vector>

namespace fleetcomm::server {

// nullopt: every account.
std::optional<std::vector<std::string>> VisibleAccounts(const OperatorPrincipal& principal);
bool CanSeeAccount(const OperatorPrincipal& principal, const std::optional<std::string>& account_id);

}  // namespace fleetcomm::server
