#pragma once
// The schema migrations compiled into this build, in ascending version order.
#include <string_view>
#include <vector>

namespace fleetcomm::migrations {

struct EmbeddedMigration {
  int version;             // NNNN prefix of the file name
  std::string_view name;   // file name without extension, e.g. "0001_foundation"
  std::string_view sql;
};

const std::vector<EmbeddedMigration>& All();

}  // namespace fleetcomm::migrations
