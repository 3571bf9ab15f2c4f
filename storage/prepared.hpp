#pragma once
// Statements on hot paths run prepared: parsing and planning the upload's
// many-CTE statement costs PostgreSQL more than executing it, and an unnamed
// statement (exec_params) is planned again on every call. libpqxx 6.4 registers
// a definition client-side and prepares it on the server at its first use on
// each connection; defining the same name with the same text again is a no-op,
// so callers simply name the statement at every use. Internal to storage/:
// includes libpqxx.
#include <pqxx/pqxx>

#include <utility>

namespace fleetcomm::storage {

struct PreparedSql {
  const char *name; // unique across storage/
  const char *sql;
};

template <class... Args>
pqxx::result ExecPrepared(pqxx::transaction_base &tx,
                          const PreparedSql &statement, Args &&...args) {
  tx.conn().prepare(statement.name, statement.sql);
  return tx.exec_prepared(statement.name, std::forward<Args>(args)...);
}

} // namespace fleetcomm::storage
