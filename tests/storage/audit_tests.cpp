// storage/audit, audit_chain, audit_query against the real PostgreSQL: entries are
// append-only even for the server's own (superuser) role, the seals chain them, and verify
// names the first entry a superuser altered, removed or inserted behind the trigger's back.
#include "storage/audit.hpp"
#include "storage/audit_chain.hpp"
#include "storage/audit_query.hpp"
#include "storage/devices.hpp"
#include "storage/retention.hpp"
#include "tests/support/temp_postgres.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

using namespace fleetcomm::storage;
using fleetcomm::testing::QueryNumber;
using fleetcomm::testing::TempPostgres;
using nlohmann::json;

namespace {

// Tampering as a superuser would: with row triggers off for this session.
void Tamper(pqxx::connection& conn, const std::string& sql) {
  pqxx::work tx(conn);
  tx.exec("SET LOCAL session_replication_role = replica");
  tx.exec(sql);
  tx.commit();
}

AuditEntry Entry(const std::string& request_id, const std::string& account = "", int status = 200) {
  AuditEntry entry;
  entry.at = std::chrono::system_clock::now();
  entry.listener = "operator";
  entry.request_id = request_id;
  entry.identity_kind = "operator";
  entry.identity_id = "7";
  entry.account_id = account;
  entry.method = "GET";
  entry.path = "/api/v1/devices?state=active";
  entry.status = status;
  entry.remote_address = "127.0.0.1:5000";
  return entry;
}

void Write(pqxx::connection& conn, const std::vector<AuditEntry>& entries) {
  auto written = InsertAuditEntries(conn, entries);
  INFO((written ? std::string() : written.error().detail));
  REQUIRE(written.has_value());
  REQUIRE(*written == static_cast<long long>(entries.size()));
}

SealResult Seal(pqxx::connection& conn, int max_entries = 1000) {
  auto sealed = SealAuditEntries(conn, max_entries, 100);
  INFO((sealed ? std::string() : sealed.error().detail));
  REQUIRE(sealed.has_value());
  return *sealed;
}

AuditVerification Verify(pqxx::connection& conn) {
  auto verified = VerifyAuditChain(conn, std::chrono::system_clock::now() - std::chrono::hours(24 * 400));
  INFO((verified ? std::string() : verified.error().detail));
  REQUIRE(verified.has_value());
  return *verified;
}

long long SeqOf(pqxx::connection& conn, const std::string& request_id) {
  return QueryNumber(conn, "SELECT min(seq) FROM audit_entries WHERE request_id = '" + request_id + "'");
}

// Ten entries r0..r9 in three batches, sealed in seals of at most four entries.
void WriteAndSeal(pqxx::connection& conn) {
  std::vector<AuditEntry> entries;
  for (int i = 0; i < 10; ++i) entries.push_back(Entry("r" + std::to_string(i)));
  Write(conn, {entries.begin(), entries.begin() + 3});
  Write(conn, {entries.begin() + 3, entries.begin() + 7});
  Write(conn, {entries.begin() + 7, entries.end()});
  const auto sealed = Seal(conn, 4);
  CHECK(sealed.entries == 10);
  CHECK(sealed.seals == 3);
}

}  // namespace

TEST_CASE("audit: entries cannot be updated, deleted or truncated, even by the owner", "[audit]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  Write(conn, {Entry("r1")});
  REQUIRE(Seal(conn).seals == 1);
  for (const char* sql : {"UPDATE audit_entries SET status = 500", "DELETE FROM audit_entries",
                          "TRUNCATE audit_entries", "UPDATE audit_seals SET hash = ''",
                          "DELETE FROM audit_seals"}) {
    INFO(sql);
    pqxx::work tx(conn);
    CHECK_THROWS_WITH(tx.exec(sql), Catch::Contains("append-only"));
  }
  // Also through a partition, where the row trigger is cloned.
  pqxx::work tx(conn);
  CHECK_THROWS_WITH(tx.exec("DELETE FROM audit_entries_" + tx.exec("SELECT to_char(now(), 'YYYYMM')")[0][0].as<std::string>()),
                    Catch::Contains("append-only"));
}

TEST_CASE("audit: an untouched log verifies; sealing again adds nothing", "[audit]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  WriteAndSeal(conn);
  CHECK(Seal(conn).seals == 0);
  const auto verified = Verify(conn);
  CHECK_FALSE(verified.first_break);
  CHECK(verified.entries == 10);
  CHECK(verified.seals == 3);
  CHECK(verified.unsealed == 0);

  Write(conn, {Entry("late")});
  CHECK(Verify(conn).unsealed == 1);
  CHECK(Seal(conn).entries == 1);
  const auto again = Verify(conn);
  CHECK_FALSE(again.first_break);
  CHECK(again.entries == 11);
}

TEST_CASE("audit: verify names the first altered, removed or inserted entry", "[audit]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  WriteAndSeal(conn);

  SECTION("altered") {
    const auto seq = SeqOf(conn, "r5");
    Tamper(conn, "UPDATE audit_entries SET status = 404 WHERE request_id IN ('r5', 'r8')");
    const auto verified = Verify(conn);
    REQUIRE(verified.first_break);
    CHECK(verified.first_break->problem == "altered");
    CHECK(verified.first_break->seq == seq);
    CHECK(verified.first_break->request_id == "r5");
    CHECK(verified.entries == 4);  // the first seal was intact
  }
  SECTION("altered so that it leaves its seal's range") {
    const auto seq = SeqOf(conn, "r1");
    Tamper(conn, "UPDATE audit_entries SET xid = '99999999'::xid8 WHERE request_id = 'r1'");
    const auto verified = Verify(conn);
    REQUIRE(verified.first_break);
    CHECK(verified.first_break->problem == "altered");
    CHECK(verified.first_break->seq == seq);
  }
  SECTION("removed") {
    const auto seq = SeqOf(conn, "r2");
    Tamper(conn, "DELETE FROM audit_entries WHERE request_id = 'r2'");
    const auto verified = Verify(conn);
    REQUIRE(verified.first_break);
    CHECK(verified.first_break->problem == "removed");
    CHECK(verified.first_break->seq == seq);
  }
  SECTION("inserted inside a sealed range") {
    Tamper(conn,
           "INSERT INTO audit_entries (seq, xid, at, listener, kind, request_id, status) "
           "SELECT seq + 1000, xid, at, listener, kind, 'forged', 200 FROM audit_entries WHERE request_id = 'r6'");
    const auto verified = Verify(conn);
    REQUIRE(verified.first_break);
    CHECK(verified.first_break->problem == "inserted");
    CHECK(verified.first_break->request_id == "forged");
  }
  SECTION("an exact copy of an entry") {
    Tamper(conn, "INSERT INTO audit_entries SELECT * FROM audit_entries WHERE request_id = 'r3'");
    const auto verified = Verify(conn);
    REQUIRE(verified.first_break);
    CHECK(verified.first_break->problem == "inserted");
    CHECK(verified.first_break->seq == SeqOf(conn, "r3") );
  }
  SECTION("a seal rewritten") {
    Tamper(conn, "UPDATE audit_seals SET entry_digests[1] = sha256('x') WHERE id = 2");
    const auto verified = Verify(conn);
    REQUIRE(verified.first_break);
    CHECK(verified.first_break->problem == "seal_altered");
    CHECK(verified.first_break->seal == 2);
  }
}

TEST_CASE("audit: a transaction still open is not sealed over, so its late commit is no insertion", "[audit]") {
  const std::string database = TempPostgres::Instance().CreateDatabase();
  pqxx::connection conn(database);
  pqxx::connection slow(database);
  // The slow transaction takes its sequence number first and commits last.
  pqxx::work open(slow);
  InsertAuditEntry(open, Entry("slow"));
  Write(conn, {Entry("fast")});
  CHECK(Seal(conn).entries == 0);  // "fast" has an xid above the open transaction's
  open.commit();
  CHECK(Seal(conn).entries == 2);
  const auto verified = Verify(conn);
  CHECK_FALSE(verified.first_break);
  CHECK(verified.entries == 2);
  CHECK(SeqOf(conn, "slow") < SeqOf(conn, "fast"));
}

TEST_CASE("audit: lists filter, page newest first and keep account managers to their accounts", "[audit]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  Write(conn, {Entry("a1", "ac_1"), Entry("a2", "ac_2", 401), Entry("a3", ""), Entry("a4", "ac_1", 201)});

  AuditFilter all;
  auto page = ListAuditEntries(conn, all, "", 3);
  REQUIRE(page.has_value());
  REQUIRE(page->items.size() == 3);
  CHECK(json::parse(page->items[0])["request_id"] == "a4");
  REQUIRE(page->next);
  auto rest = ListAuditEntries(conn, all, *page->next, 3);
  REQUIRE(rest.has_value());
  REQUIRE(rest->items.size() == 1);
  CHECK(json::parse(rest->items[0])["request_id"] == "a1");
  CHECK_FALSE(rest->next);

  AuditFilter manager;
  manager.scope = std::vector<std::string>{"ac_1"};
  auto scoped = ListAuditEntries(conn, manager, "", 100);
  REQUIRE(scoped.has_value());
  CHECK(scoped->items.size() == 2);  // not ac_2's, not the one without an account

  AuditFilter refused;
  refused.status = 401;
  refused.identity_kind = "operator";
  refused.identity_id = "7";
  refused.path_prefix = "/api/v1/devices";
  auto found = ListAuditEntries(conn, refused, "", 100);
  REQUIRE(found.has_value());
  REQUIRE(found->items.size() == 1);
  const json entry = json::parse(found->items[0]);
  CHECK(entry["request_id"] == "a2");
  CHECK(entry["identity"] == json{{"kind", "operator"}, {"id", "7"}});
  CHECK(entry["path"] == "/api/v1/devices?state=active");

  AuditFilter window;
  window.since = "2000-01-01T00:00:00Z";
  window.until = "2000-01-02T00:00:00Z";
  auto empty = ListAuditEntries(conn, window, "", 100);
  REQUIRE(empty.has_value());
  CHECK(empty->items.empty());

  auto exported = ExportAuditEntries(conn, all, 0, 3);
  REQUIRE(exported.has_value());
  REQUIRE(exported->items.size() == 3);
  CHECK(json::parse(exported->items[0])["request_id"] == "a1");
  REQUIRE(exported->next);
}

TEST_CASE("audit: any bytes in a path or user agent are stored bounded and escaped, and still verify", "[audit]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  std::string hostile = "/rs/v1/\x01\x7f\xc3\x28\xff\\\n";
  hostile += std::string(1 << 20, 'a');
  AuditEntry entry = Entry("odd");
  entry.path = AuditText(hostile, kAuditPathBytes);
  entry.user_agent = AuditText(std::string("\0\xe2\x80\xa8\xf0\x9f\x96\xa8", 8), kAuditUserAgentBytes);
  entry.detail = AuditText("CN=\"; DROP TABLE audit_entries; --\xc0\xaf", kAuditDetailBytes);
  Write(conn, {entry});
  Seal(conn);
  CHECK_FALSE(Verify(conn).first_break);
  CHECK(QueryNumber(conn, "SELECT octet_length(path) FROM audit_entries") <= 2048);
  auto page = ListAuditEntries(conn, AuditFilter{}, "", 1);
  REQUIRE(page.has_value());
  const json stored = json::parse(page->items.at(0));
  CHECK(stored["path"].get<std::string>().rfind("/rs/v1/\\u0001\\u007F\\xC3(\\xFF\\\\\\u000Aaaa", 0) == 0);
  CHECK(stored["user_agent"] == "\\u0000\xe2\x80\xa8\xf0\x9f\x96\xa8");  // U+2028 is printable
}

TEST_CASE("audit: a batch keeps tabs, newlines and backslashes as sent, and stores fields no one escaped", "[audit]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  AuditEntry plain = Entry("tabs");
  plain.identity_id = "a\tb\\c\nd\\N";  // COPY's separators and its null marker, as data
  plain.before_json = R"({"name":"tab\there \\ and \"quotes\""})";
  AuditEntry unescaped = Entry(std::string("nul\0\xff", 5));  // not valid text for PostgreSQL
  unescaped.status = 0;
  unescaped.bytes_out = -1;
  Write(conn, {plain, unescaped});
  Seal(conn);
  CHECK_FALSE(Verify(conn).first_break);
  pqxx::read_transaction tx(conn);
  const auto rows = tx.exec(
      "SELECT identity_id, before->>'name', request_id, status IS NULL, bytes_out IS NULL FROM audit_entries ORDER BY seq");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0][0].as<std::string>() == "a\tb\\c\nd\\N");
  CHECK(rows[0][1].as<std::string>() == "tab\there \\ and \"quotes\"");
  CHECK(rows[1][2].as<std::string>() == "nul\\u0000\\xFF");
  CHECK(rows[1][3].as<bool>());
  CHECK(rows[1][4].as<bool>());
}

TEST_CASE("audit: an operator change commits its entry with the row before and after; a refused one none",
          "[audit]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  const AuditEntry request = Entry("change");
  AccountFields fields;
  fields.name = "Before";
  auto created = CreateAccount(conn, fields, &request);
  REQUIRE(created.has_value());
  fields.name = "After";
  AuditEntry patch = Entry("patch");
  REQUIRE(PatchAccount(conn, created->id, fields, &patch).value());
  AuditEntry missing = Entry("missing");
  CHECK_FALSE(PatchAccount(conn, "ac_nobody", fields, &missing).value());

  auto page = ListAuditEntries(conn, AuditFilter{}, "", 10);
  REQUIRE(page.has_value());
  REQUIRE(page->items.size() == 2);  // nothing for the account that does not exist
  const json patched = json::parse(page->items[0]);
  CHECK(patched["request_id"] == "patch");
  CHECK(patched["account_id"] == created->id);
  CHECK(patched["before"]["name"] == "Before");
  CHECK(patched["after"]["name"] == "After");
  const json creation = json::parse(page->items[1]);
  CHECK(creation["before"].is_null());
  CHECK(creation["after"]["id"] == created->id);
}

TEST_CASE("audit: a registration commits its entry as the device's with 200 or 202; a revoked device's none",
          "[audit]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  AccountFields fields;
  fields.name = "Fleet";
  auto account = CreateAccount(conn, fields);
  REQUIRE(account.has_value());
  REQUIRE(ProvisionDevice(conn, account->id, "Xerox", "S1").has_value());
  const auto registration = [](const std::string& serial) {
    return Registration{"Xerox", serial, std::string("M1"), std::nullopt, std::nullopt, std::string(64, 'a')};
  };
  const auto request = [](const std::string& request_id) {
    AuditEntry entry = Entry(request_id);
    entry.listener = "device";
    entry.identity_kind = "certificate";
    entry.identity_id = "S1";
    entry.bytes_out = -1;
    return entry;
  };

  const AuditEntry active_request = request("register-active");
  auto active = RegisterDevice(conn, registration("S1"), &active_request);
  REQUIRE(active.has_value());
  CHECK(active->audit_recorded);
  const AuditEntry pending_request = request("register-pending");
  auto pending = RegisterDevice(conn, registration("S2"), &pending_request);
  REQUIRE(pending.has_value());
  CHECK(pending->device.state == "pending");
  CHECK(pending->audit_recorded);
  REQUIRE(RevokeDevice(conn, pending->device.id).has_value());
  const AuditEntry revoked_request = request("register-revoked");
  auto revoked = RegisterDevice(conn, registration("S2"), &revoked_request);
  REQUIRE(revoked.has_value());
  CHECK(revoked->device.state == "revoked");
  CHECK_FALSE(revoked->audit_recorded);

  auto page = ListAuditEntries(conn, AuditFilter{}, "", 10);
  REQUIRE(page.has_value());
  REQUIRE(page->items.size() == 2);
  const json second = json::parse(page->items[0]);
  CHECK(second["request_id"] == "register-pending");
  CHECK(second["status"] == 202);
  CHECK(second["identity"] == json{{"kind", "device"}, {"id", pending->device.id}});
  CHECK(second["account_id"].is_null());
  CHECK(second["bytes_out"].is_null());
  const json first = json::parse(page->items[1]);
  CHECK(first["request_id"] == "register-active");
  CHECK(first["status"] == 200);
  CHECK(first["identity"] == json{{"kind", "device"}, {"id", active->device.id}});
  CHECK(first["account_id"] == account->id);
}

TEST_CASE("audit: retention drops old seals a month after their entries; the chain goes on from the last dropped seal",
          "[audit][retention]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  pqxx::nontransaction(conn).exec(
      "SELECT fleetcomm_ensure_month_partitions(t, '2025-01-01', '2025-03-01') FROM unnest(ARRAY['audit_entries', "
      "'audit_seals']) AS t");
  std::vector<AuditEntry> january;
  for (int i = 0; i < 6; ++i) {
    january.push_back(Entry("jan" + std::to_string(i)));
    january.back().at = std::chrono::sys_days{std::chrono::year{2025} / 1 / 15};
  }
  Write(conn, january);
  REQUIRE(Seal(conn, 4).seals == 2);
  // Sealed in January as well (moving rows between partitions needs the triggers off).
  Tamper(conn, "UPDATE audit_seals SET sealed_at = '2025-01-15T01:00:00Z'");
  REQUIRE(QueryNumber(conn, "SELECT count(*) FROM audit_seals_202501") == 2);

  auto kept = MaintainPartitions(conn, 1, std::chrono::hours(24 * 90), std::chrono::hours(24 * 400));
  REQUIRE(kept.has_value());
  CHECK(QueryNumber(conn, "SELECT count(*) FROM audit_seals") == 0);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM audit_entries") == 0);
  CHECK(QueryNumber(conn, "SELECT last_seal_id FROM audit_trims") == 2);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM pg_class WHERE relname = 'audit_seals_202503'") == 0);  // empty, gone too
  // A month without a seal goes on its own, and records nothing.
  pqxx::nontransaction(conn).exec("SELECT fleetcomm_ensure_month_partitions('audit_seals', '2025-04-01', '2025-04-01')");
  CHECK(QueryNumber(conn, "SELECT fleetcomm_trim_audit_seals('2025-06-01T00:00:00Z')") == 1);
  CHECK(QueryNumber(conn, "SELECT count(*) FROM audit_trims") == 1);

  const auto empty = Verify(conn);
  CHECK_FALSE(empty.first_break);
  CHECK(empty.seals == 0);

  Write(conn, {Entry("now0"), Entry("now1")});
  REQUIRE(Seal(conn).seals == 1);
  CHECK(QueryNumber(conn, "SELECT id FROM audit_seals") == 3);
  const auto continued = Verify(conn);
  CHECK_FALSE(continued.first_break);
  CHECK(continued.seals == 1);
  CHECK(continued.entries == 2);

  SECTION("a seal that is not the chain's head stays, and so do those after it") {
    pqxx::nontransaction(conn).exec("SELECT fleetcomm_ensure_month_partitions('audit_seals', '2025-02-01', '2025-02-01')");
    Tamper(conn, "UPDATE audit_seals SET sealed_at = '1999-01-01T00:00:00Z' WHERE id = 3");  // DEFAULT partition
    Write(conn, {Entry("now2")});
    REQUIRE(Seal(conn).seals == 1);
    Tamper(conn, "UPDATE audit_seals SET sealed_at = '2025-02-15T01:00:00Z' WHERE id = 4");
    REQUIRE(QueryNumber(conn, "SELECT count(*) FROM audit_seals_default") == 1);
    // Seal 4's month has gone, but seal 3 before it is in no month: nothing goes.
    auto trimmed = pqxx::nontransaction(conn).exec("SELECT fleetcomm_trim_audit_seals(now())");
    CHECK(trimmed[0][0].as<int>() == 0);
    CHECK(QueryNumber(conn, "SELECT count(*) FROM audit_seals") == 2);
  }
  SECTION("removing the record of what retention dropped breaks the chain") {
    Tamper(conn, "DELETE FROM audit_trims");
    const auto broken = Verify(conn);
    REQUIRE(broken.first_break);
    CHECK(broken.first_break->problem == "seal_altered");
    CHECK(broken.first_break->seal == 3);
  }
}
