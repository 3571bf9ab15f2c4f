// storage/retention: months are prepared ahead and raw uploads leave by whole partitions.
#include "storage/retention.hpp"
#include "tests/support/temp_postgres.hpp"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

using fleetcomm::storage::MaintainPartitions;
using fleetcomm::testing::QueryNumber;
using fleetcomm::testing::TempPostgres;

namespace {

void Exec(pqxx::connection& conn, const std::string& sql) {
  pqxx::work tx(conn);
  tx.exec(sql);
  tx.commit();
}

}  // namespace

TEST_CASE("retention: old raw-upload months are dropped, recent ones and future months kept", "[retention]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  Exec(conn, "SELECT fleetcomm_ensure_month_partitions('raw_uploads', '2025-01-01', '2025-02-01')");
  Exec(conn,
       "INSERT INTO raw_uploads VALUES ('up_old', '2025-01-15T00:00:00Z', 'x'), ('up_feb', '2025-02-28T23:00:00Z', 'x'), "
       "('up_new', now(), 'x'), ('up_odd', '1999-01-01T00:00:00Z', 'x')");
  CHECK(QueryNumber(conn, "SELECT count(*) FROM raw_uploads_202501") == 1);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM raw_uploads_default") == 1);

  auto result = MaintainPartitions(conn, 4, std::chrono::hours(24 * 90), std::chrono::hours(24 * 400));
  INFO((result ? std::string() : result.error().detail));
  REQUIRE(result.has_value());
  CHECK_FALSE(result->skipped);
  CHECK(result->partitions_dropped == 2);
  CHECK(result->default_rows_deleted == 1);
  CHECK(result->partitions_created == 8);  // one more month ahead for each of the eight tables
  CHECK(QueryNumber(conn, "SELECT count(*) FROM raw_uploads") == 1);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM raw_uploads WHERE upload_id = 'up_new'") == 1);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM pg_class WHERE relname = 'counter_readings_' || "
                    "to_char(now() + interval '4 months', 'YYYYMM')") == 1);

  auto again = MaintainPartitions(conn, 4, std::chrono::hours(24 * 90), std::chrono::hours(24 * 400));
  REQUIRE(again.has_value());
  CHECK(again->partitions_created == 0);
  CHECK(again->partitions_dropped == 0);
}

TEST_CASE("retention: a reading lands in its month's partition", "[retention]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  Exec(conn, "INSERT INTO counter_readings VALUES ('dv_x', 'total-impressions', date_trunc('month', now()), 1, NULL, 'up_x')");
  CHECK(QueryNumber(conn, "SELECT count(*) FROM counter_readings_" + std::string("default")) == 0);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM ONLY counter_readings") == 0);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM counter_readings WHERE tableoid::regclass::text = 'counter_readings_' || "
                    "to_char(now(), 'YYYYMM')") == 1);
}
