// storage/agents against the migrated schema: enrolment and renewal record certificates,
// operators list (scoped, paged), read and revoke agents, and a revoked agent renews nothing.
#include "storage/accounts.hpp"
#include "storage/agents.hpp"
#include "storage/client_identities.hpp"
#include "tests/support/temp_postgres.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <set>
#include <string>

namespace storage = fleetcomm::storage;
using fleetcomm::testing::QueryNumber;
using fleetcomm::testing::TempPostgres;
using nlohmann::json;

namespace {

std::string Query(pqxx::connection& conn, const std::string& sql) {
  pqxx::read_transaction tx(conn);
  return tx.exec1(sql)[0].as<std::string>();
}

std::string NewAccount(pqxx::connection& conn, const std::string& name) {
  storage::AccountFields fields;
  fields.name = name;
  return storage::CreateAccount(conn, fields).value().id;
}

// A fake certificate whose fingerprint is 64 copies of `digit`.
storage::AgentCertificateIssue FakeIssue(char digit, int* calls = nullptr) {
  return [digit, calls]() -> storage::StorageResult<storage::IssuedAgentCertificate> {
    if (calls != nullptr) ++*calls;
    return storage::IssuedAgentCertificate{std::string("PEM-") + digit, std::string(64, digit),
                                           std::string("0") + digit, 2000000000};
  };
}

std::string Enrol(pqxx::connection& conn, const std::string& account, const std::string& agent_id) {
  const std::string secret = "RK-" + agent_id;
  storage::NewRegistrationKey key{account, std::string(32, '\0'), std::nullopt, std::nullopt};
  {
    pqxx::work tx(conn);
    key.key_sha256 = pqxx::binarystring(tx.exec_params1("SELECT sha256($1::bytea)", secret)[0]).str();
  }
  storage::CreateRegistrationKey(conn, key).value();
  storage::AgentEnrolment enrolment{key.key_sha256, agent_id, "agent-lite", "5.6.1", "HQ", std::nullopt,
                                    "it@example.com"};
  return storage::EnrollAgent(conn, enrolment, FakeIssue('a')).value().agent_id;
}

}  // namespace

TEST_CASE("agents: an enrolled agent reads back with its site, certificate and defaults", "[agents]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  const std::string account = NewAccount(conn, "Acme");
  Enrol(conn, account, "ag_one");

  auto agent = storage::GetAgent(conn, "ag_one").value();
  REQUIRE(agent);
  CHECK(agent->account_id == account);
  CHECK(agent->product == "agent-lite");
  CHECK(agent->version == "5.6.1");
  CHECK(agent->security_mode == "normal");
  CHECK(agent->disabled_actions.empty());
  CHECK(agent->site_name == "HQ");
  CHECK_FALSE(agent->site_location);
  CHECK(agent->contact_email == "it@example.com");
  CHECK_FALSE(agent->host_json);
  CHECK_FALSE(agent->last_contact_at);
  CHECK(agent->state == "active");
  CHECK_FALSE(agent->revoked_at);
  CHECK(agent->cert_fingerprint == std::string(64, 'a'));
  CHECK(agent->cert_not_after == "2033-05-18T03:33:20Z");
  CHECK(QueryNumber(conn, "SELECT count(*) FROM agent_certificates WHERE agent_id = 'ag_one' AND reason = 'enrolment'") == 1);
  CHECK_FALSE(storage::GetAgent(conn, "ag_nobody").value());

  // What the latest report says about the host and refused actions reads back as stored.
  {
    pqxx::work tx(conn);
    tx.exec("UPDATE agents SET host = '{\"dns_name\":\"pc-17\"}', disabled_actions = '{restart,\"a b\"}', "
            "security_mode = 'lockdown', last_contact_at = '2026-11-24T03:00:00Z' WHERE id = 'ag_one'");
    tx.commit();
  }
  agent = storage::GetAgent(conn, "ag_one").value();
  REQUIRE(agent);
  REQUIRE(agent->host_json);
  CHECK(json::parse(*agent->host_json) == json{{"dns_name", "pc-17"}});
  CHECK(agent->disabled_actions == std::vector<std::string>{"restart", "a b"});
  CHECK(agent->security_mode == "lockdown");
  CHECK(agent->last_contact_at == "2026-11-24T03:00:00Z");
}

TEST_CASE("agents: lists are scoped by account, filtered and paged by cursor", "[agents]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  const std::string acme = NewAccount(conn, "Acme");
  const std::string other = NewAccount(conn, "Other");
  for (const char* id : {"ag_1", "ag_2", "ag_3", "ag_4", "ag_5"}) Enrol(conn, acme, id);
  Enrol(conn, other, "ag_9");

  std::set<std::string> seen;
  std::string after;
  int pages = 0;
  for (; pages < 10; ++pages) {
    auto page = storage::ListAgents(conn, {std::vector<std::string>{acme}, std::nullopt, std::nullopt}, after, 2)
                    .value();
    CHECK(page.items.size() <= 2);
    for (const auto& agent : page.items) {
      CHECK(agent.account_id == acme);
      CHECK(seen.insert(agent.id).second);
    }
    if (!page.next) break;
    after = *page.next;
  }
  CHECK(pages == 2);
  CHECK(seen == std::set<std::string>{"ag_1", "ag_2", "ag_3", "ag_4", "ag_5"});

  CHECK(storage::ListAgents(conn, {std::nullopt, std::nullopt, std::nullopt}, "", 100).value().items.size() == 6);
  const auto only_other = storage::ListAgents(conn, {std::nullopt, other, std::nullopt}, "", 100).value();
  REQUIRE(only_other.items.size() == 1);
  CHECK(only_other.items[0].id == "ag_9");
  CHECK_FALSE(only_other.next);
  // An account filter outside the scope finds nothing, rather than widening the scope.
  CHECK(storage::ListAgents(conn, {std::vector<std::string>{acme}, other, std::nullopt}, "", 100)
            .value()
            .items.empty());
  CHECK(storage::ListAgents(conn, {std::vector<std::string>{}, std::nullopt, std::nullopt}, "", 100)
            .value()
            .items.empty());

  storage::RevokeAgent(conn, "ag_2").value();
  const auto revoked = storage::ListAgents(conn, {std::nullopt, std::nullopt, std::string("revoked")}, "", 100).value();
  REQUIRE(revoked.items.size() == 1);
  CHECK(revoked.items[0].id == "ag_2");
}

TEST_CASE("agents: revocation is idempotent and the identity lookup sees it", "[agents]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  const std::string account = NewAccount(conn, "Acme");
  Enrol(conn, account, "ag_r");

  auto first = storage::RevokeAgent(conn, "ag_r").value();
  REQUIRE(first);
  CHECK(first->newly_revoked);
  CHECK(first->agent.state == "revoked");
  REQUIRE(first->agent.revoked_at);
  const std::string revoked_at = Query(conn, "SELECT revoked_at::text FROM agents WHERE id = 'ag_r'");

  auto again = storage::RevokeAgent(conn, "ag_r").value();
  REQUIRE(again);
  CHECK_FALSE(again->newly_revoked);
  CHECK(again->agent.state == "revoked");
  CHECK(Query(conn, "SELECT revoked_at::text FROM agents WHERE id = 'ag_r'") == revoked_at);

  CHECK_FALSE(storage::RevokeAgent(conn, "ag_nobody").value());
  auto identity = storage::FindAgent(conn, "ag_r").value();
  REQUIRE(identity);
  CHECK(identity->state == "revoked");
}

TEST_CASE("agents: renewal records the new certificate; a revoked agent gets none", "[agents]") {
  pqxx::connection conn(TempPostgres::Instance().CreateDatabase());
  const std::string account = NewAccount(conn, "Acme");
  Enrol(conn, account, "ag_n");

  int calls = 0;
  const auto pem = storage::RenewAgentCertificate(conn, "ag_n", FakeIssue('b', &calls));
  REQUIRE(pem.has_value());
  CHECK(*pem == "PEM-b");
  CHECK(calls == 1);
  auto agent = storage::GetAgent(conn, "ag_n").value();
  REQUIRE(agent);
  CHECK(agent->cert_fingerprint == std::string(64, 'b'));
  CHECK(agent->last_contact_at);
  CHECK(Query(conn, "SELECT cert_serial FROM agents WHERE id = 'ag_n'") == "0b");
  CHECK(Query(conn, "SELECT string_agg(reason || ':' || serial, ',' ORDER BY issued_at, reason) "
                    "FROM agent_certificates WHERE agent_id = 'ag_n'") == "enrolment:0a,renewal:0b");

  // A failed signature stores nothing.
  const auto failed = storage::RenewAgentCertificate(conn, "ag_n", []() -> storage::StorageResult<storage::IssuedAgentCertificate> {
    return storage::StorageError::Internal("no signature today");
  });
  REQUIRE(failed.has_error());
  CHECK(failed.error().code == storage::StorageErrc::kInternal);
  CHECK(Query(conn, "SELECT cert_fingerprint FROM agents WHERE id = 'ag_n'") == std::string(64, 'b'));
  CHECK(QueryNumber(conn, "SELECT count(*) FROM agent_certificates WHERE agent_id = 'ag_n'") == 2);

  storage::RevokeAgent(conn, "ag_n").value();
  const auto refused = storage::RenewAgentCertificate(conn, "ag_n", FakeIssue('c', &calls));
  REQUIRE(refused.has_error());
  CHECK(refused.error().code == storage::StorageErrc::kNotFound);
  CHECK(calls == 1);  // nothing was signed for a revoked agent
  CHECK(QueryNumber(conn, "SELECT count(*) FROM agent_certificates WHERE agent_id = 'ag_n'") == 2);

  const auto unknown = storage::RenewAgentCertificate(conn, "ag_nobody", FakeIssue('d', &calls));
  REQUIRE(unknown.has_error());
  CHECK(unknown.error().code == storage::StorageErrc::kNotFound);
  CHECK(calls == 1);
}
