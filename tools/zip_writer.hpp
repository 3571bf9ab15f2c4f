#pragma once
// Writes a zip archive in memory with libzip, as a device or agent would send it: for
// tests, the simulator and benchmarks.
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace fleetcomm::tools {

class ZipWriteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ZipOptions {
  bool deflate = true;
  std::string comment;  // archive comment; empty: none
};

// (name, content) pairs, in this order.
std::string WriteZip(const std::vector<std::pair<std::string, std::string>>& files, const ZipOptions& options = {});

}  // namespace fleetcomm::tools
