#pragma once
// The error type of the storage layer boundary. libpqxx exceptions never leave storage/:
// they are translated into a StorageError here, and server/ maps it to HTTP once.
#include <boost/system/result.hpp>

#include <string>
#include <utility>

namespace fleetcomm::storage {

enum class StorageErrc {
  kUnavailable,     // database unreachable, connection lost, pool saturated: retry later
  kNotFound,
  kConflict,        // a unique or exclusion constraint decided against this request
  kInvalid,         // the database refused the data (check constraint, bad value)
  kSchemaMismatch,  // migrations: applied schema differs from what this build expects
  kInternal,
};

struct StorageError {
  StorageErrc code = StorageErrc::kInternal;
  std::string detail;  // for logs only: may contain SQL state and server text, never sent to clients

  static StorageError Unavailable(std::string d) { return {StorageErrc::kUnavailable, std::move(d)}; }
  static StorageError Internal(std::string d) { return {StorageErrc::kInternal, std::move(d)}; }
};

// Lets boost::system::result<T, StorageError>::value() throw a meaningful exception.
[[noreturn]] void throw_exception_from_error(const StorageError& error, const boost::source_location& loc);

template <class T>
using StorageResult = boost::system::result<T, StorageError>;

}  // namespace fleetcomm::storage
