#include "server/operator_scope.hpp"

#include <algorithm>

namespace fleetcomm::server {

std::optional<std::vector<std::string>> VisibleAccounts(const OperatorPrincipal& principal) {
  switch (principal.role) {
    case auth::Role::kAdmin:
    case auth::Role::kAuditor: return std::nullopt;
    case auth::Role::kAccountManager: return principal.account_ids;
    case auth::Role::kConsumer: break;
  }
  return std::vector<std::string>{};
}

bool CanSeeAccount(const OperatorPrincipal& principal, const std::optional<std::string>& account_id) {
  const auto visible = VisibleAccounts(principal);
  if (!visible) return true;
  // Devices without an account (pending) are visible only to roles that see everything.
  if (!account_id) return false;
  return std::find(visible->begin(), visible->end(), *account_id) != visible->end();
}

}  // namespace fleetcomm::server
