#include "storage/storage_error.hpp"

#include <stdexcept>

namespace fleetcomm::storage {

void throw_exception_from_error(const StorageError& error, const boost::source_location&) {
  throw std::runtime_error("storage error: " + error.detail);
}

}  // namespace fleetcomm::storage
