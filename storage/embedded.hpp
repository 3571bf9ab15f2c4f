#pragma once
// The migrations compiled into this build (migrations/*.sql), in the form the migrator takes.
#include "storage/migrator.hpp"

#include <vector>

namespace fleetcomm::storage {

// Every embedded migration, in ascending version order. The SQL text is not copied: it
// points into the binary's static data.
std::vector<Migration> EmbeddedMigrations();

}  // namespace fleetcomm::storage
