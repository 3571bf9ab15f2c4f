#include "storage/embedded.hpp"

#include "migrations/embedded_migrations.hpp"

#include <algorithm>
#include <string>

namespace fleetcomm::storage {

std::vector<Migration> EmbeddedMigrations() {
  std::vector<Migration> out;
  const auto& all = migrations::All();
  out.reserve(all.size());
  for (const auto& m : all) out.push_back(Migration{m.version, std::string(m.name), m.sql});
  // The generator emits them sorted by file name; the migrator relies on version order.
  std::stable_sort(out.begin(), out.end(), [](const Migration& a, const Migration& b) { return a.version < b.version; });
  return out;
}

}  // namespace fleetcomm::storage
