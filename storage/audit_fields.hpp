#pragma once
// How an audit entry's fields are stored, shared by the JSON path (entries committed with
// their change) and the COPY path (batches). Internal to storage/.
#include "storage/audit.hpp"

#include <chrono>
#include <string>

namespace fleetcomm::storage {

// RFC 3339 in UTC with microseconds, as PostgreSQL reads it whatever the session's settings.
std::string AuditTimestamp(std::chrono::system_clock::time_point at);

// The entry's duration: measured up to now when the entry carries its start.
long long AuditDurationMs(const AuditEntry& entry);

// `value` itself when PostgreSQL can store it as text (valid UTF-8, no NUL), otherwise its
// AuditText form: a field that was not escaped at the source cannot fail a whole batch.
std::string AuditSafeText(const std::string& value);

}  // namespace fleetcomm::storage
