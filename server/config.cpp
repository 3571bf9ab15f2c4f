#include "server/config.hpp"

#include "server/log.hpp"

#include <charconv>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

extern char** environ;

namespace fleetcomm::server {
namespace {

using Setter = std::function<void(Config&, const std::string&)>;

struct KeySpec {
  ConfigKey key;
  Setter set;
};

std::string Trim(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return {};
  const auto end = text.find_last_not_of(" \t\r");
  return text.substr(begin, end - begin + 1);
}

long long ParseInteger(const std::string& value, long long min, long long max) {
  long long result = 0;
  const auto* end = value.data() + value.size();
  auto [ptr, ec] = std::from_chars(value.data(), end, result);
  if (ec != std::errc() || ptr != end || value.empty()) throw ConfigError("expected a whole number, got '" + value + "'");
  if (result < min || result > max) {
    throw ConfigError("expected a number from " + std::to_string(min) + " to " + std::to_string(max) + ", got " + value);
  }
  return result;
}

ListenAddress ParseListen(const std::string& value) {
  const auto colon = value.rfind(':');
  if (colon == std::string::npos || colon == 0) throw ConfigError("expected HOST:PORT, got '" + value + "'");
  std::string host = value.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return {host, static_cast<std::uint16_t>(ParseInteger(value.substr(colon + 1), 0, 65535))};
}

std::vector<std::string> ParseList(const std::string& value) {
  std::vector<std::string> items;
  std::stringstream stream(value);
  std::string item;
  while (std::getline(stream, item, ',')) {
    item = Trim(item);
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

Setter Seconds(std::chrono::seconds Config::*member, long long min, long long max) {
  return [=](Config& c, const std::string& v) { c.*member = std::chrono::seconds(ParseInteger(v, min, max)); };
}

Setter Millis(std::chrono::milliseconds Config::*member, long long min, long long max) {
  return [=](Config& c, const std::string& v) { c.*member = std::chrono::milliseconds(ParseInteger(v, min, max)); };
}

Setter Int(int Config::*member, long long min, long long max) {
  return [=](Config& c, const std::string& v) { c.*member = static_cast<int>(ParseInteger(v, min, max)); };
}

Setter Text(std::string Config::*member) {
  return [=](Config& c, const std::string& v) { c.*member = v; };
}

Setter Listen(ListenAddress Config::*member) {
  return [=](Config& c, const std::string& v) { c.*member = ParseListen(v); };
}

const std::vector<KeySpec>& Specs() {
  static const std::vector<KeySpec> kSpecs = {
      {{"server.threads", "0", "I/O threads running the listeners; 0 means one per core"},
       Int(&Config::threads, 0, 256)},
      {{"device.listen", "0.0.0.0:8443", "device and agent listener (TLS, client certificates)"},
       Listen(&Config::device_listen)},
      {{"device.tls_cert", "", "PEM certificate chain the device listener presents (required)"},
       [](Config& c, const std::string& v) { c.device_tls.certificate = v; }},
      {{"device.tls_key", "", "PEM private key of device.tls_cert (required)"},
       [](Config& c, const std::string& v) { c.device_tls.private_key = v; }},
      {{"device.trust_anchors", "", "comma-separated PEM files of the manufacturer CAs that issue device certificates"},
       [](Config& c, const std::string& v) { c.device_trust_anchors = ParseList(v); }},
      {{"device.crls", "",
        "comma-separated PEM CRL files of device trust anchors (reloaded on SIGHUP); anchors without one are not checked"},
       [](Config& c, const std::string& v) { c.device_crls = ParseList(v); }},
      {{"device.identity_cache_seconds", "5",
        "how long a connection, and new connections with the same certificate on the same instance, reuse the "
        "identity behind it; bounds how late a revocation bites"},
       Seconds(&Config::identity_cache_ttl, 0, 300)},
      {{"device.identity_cache_entries", "100000", "most certificates whose identity an instance remembers"},
       Int(&Config::identity_cache_entries, 1, 10000000)},
      {{"agent.ca_cert", "", "PEM certificate of the CA that issues agent certificates (required)"},
       [](Config& c, const std::string& v) { c.agent_ca.certificate = v; }},
      {{"agent.ca_key", "", "PEM private key of agent.ca_cert; empty: enrolment answers 503"},
       [](Config& c, const std::string& v) { c.agent_ca.private_key = v; }},
      {{"agent.certificate_lifetime_days", "365", "validity of the certificates issued to agents"},
       [](Config& c, const std::string& v) {
         c.agent_certificate_lifetime = std::chrono::seconds(ParseInteger(v, 1, 3650) * 86400);
       }},
      {{"enroll.rate_per_minute", "10",
        "enrolment attempts regained per minute, per source address and per registration key; beyond, 429"},
       Int(&Config::enroll_rate_per_minute, 1, 1000000)},
      {{"enroll.burst", "20", "enrolment attempts a source address or a registration key may make at once"},
       Int(&Config::enroll_burst, 1, 1000000)},
      {{"enroll.tracked_keys", "10000",
        "addresses and keys the enrolment limits remember (each); beyond, the least recently seen is forgotten"},
       Int(&Config::enroll_tracked_keys, 1, 10000000)},
      {{"operator.listen", "127.0.0.1:9443", "operator API listener (TLS, bearer tokens)"},
       Listen(&Config::operator_listen)},
      {{"operator.tls_cert", "", "PEM certificate chain of the operator listener; empty: device.tls_cert"},
       [](Config& c, const std::string& v) { c.operator_tls.certificate = v; }},
      {{"operator.tls_key", "", "PEM private key of operator.tls_cert; empty: device.tls_key"},
       [](Config& c, const std::string& v) { c.operator_tls.private_key = v; }},
      {{"ops.listen", "127.0.0.1:9090",
        "plain-HTTP listener for /healthz, /readyz and /metrics of serve and of jobs; keep it internal"},
       Listen(&Config::ops_listen)},
      {{"database.url", "", "libpq connection string or postgresql:// URL (required); keep passwords in a passfile"},
       Text(&Config::database_url)},
      {{"database.pool_size", "10",
        "PostgreSQL connections, each with its own worker thread; serve shares them between uploads.writers, "
        "pipelines.workers + 1 and everything else (polls, operator API)"},
       Int(&Config::database_pool_size, 1, 512)},
      {{"database.queue_limit", "1024", "database tasks allowed to wait for a connection; beyond, 503"},
       Int(&Config::database_queue_limit, 1, 1000000)},
      {{"database.statement_timeout_ms", "10000", "PostgreSQL statement_timeout of the pool's sessions"},
       [](Config& c, const std::string& v) {
         c.database_statement_timeout = std::chrono::milliseconds(ParseInteger(v, 1, 3600000));
       }},
      {{"database.connect_timeout_s", "3", "how long one connection attempt may take"},
       Seconds(&Config::database_connect_timeout, 1, 300)},
      {{"limits.header_bytes", "16384", "largest request header; beyond, 431 and the connection closes"},
       [](Config& c, const std::string& v) { c.header_limit_bytes = static_cast<std::size_t>(ParseInteger(v, 1024, 1 << 20)); }},
      {{"limits.body_bytes", "16777216", "largest request body; beyond, 413 (checked before and while reading)"},
       [](Config& c, const std::string& v) {
         c.body_limit_bytes = static_cast<std::size_t>(ParseInteger(v, 1024, 1LL << 32));
       }},
      {{"retention.raw_upload_days", "90", "how long the original upload archives are kept (dropped by whole months)"},
       Int(&Config::raw_upload_retention_days, 1, 3650)},
      {{"audit.enabled", "true", "write the audit log (PROTOCOL.md 4.6); false only to measure its cost"},
       [](Config& c, const std::string& v) {
         if (v != "true" && v != "false") throw ConfigError("expected true or false, got '" + v + "'");
         c.audit_enabled = v == "true";
       }},
      {{"audit.retention_days", "400", "how long audit entries are kept (dropped by whole months)"},
       Int(&Config::audit_retention_days, 1, 36500)},
      {{"audit.flush_interval_ms", "200",
        "how often entries of read-only and refused requests are written; bounds what a crash loses"},
       [](Config& c, const std::string& v) { c.audit_flush_interval = std::chrono::milliseconds(ParseInteger(v, 10, 60000)); }},
      {{"audit.batch_entries", "500", "entries written per batch; a batch this full is written at once"},
       Int(&Config::audit_batch_entries, 1, 100000)},
      {{"audit.queue_entries", "100000",
        "entries waiting to be written; beyond, new ones are dropped and counted (requests never wait)"},
       Int(&Config::audit_queue_entries, 1, 10000000)},
      {{"audit.seal_interval_s", "10", "how often the hash chain seals new entries (one instance at a time)"},
       Seconds(&Config::audit_seal_interval, 1, 3600)},
      {{"uploads.max_entries", "8", "most entries an uploaded zip may list; beyond, 422 invalid_archive"},
       Int(&Config::upload_max_entries, 1, 100000)},
      {{"uploads.max_report_bytes", "134217728",
        "largest inflated entry of an uploaded zip, counted while inflating; beyond, 413"},
       [](Config& c, const std::string& v) {
         c.upload_max_entry_bytes = static_cast<std::uint64_t>(ParseInteger(v, 1024, 1LL << 40));
       }},
      {{"uploads.writers", "3",
        "database connections storing uploads at once (at most database.pool_size); uploads arriving meanwhile are "
        "stored together, in one transaction each (group commit)"},
       Int(&Config::upload_writers, 1, 512)},
      {{"uploads.batch_max", "64", "most uploads stored in one transaction by group commit (1 turns it off)"},
       Int(&Config::upload_batch_max, 1, 10000)},
      {{"actions.lease_s", "3600", "a delivered action without a result is delivered again (same id) after this"},
       Seconds(&Config::action_lease, 0, 30 * 86400)},
      {{"actions.result_deadline_s", "86400",
        "a delivered action without a final status this long after delivery (and expiry) ends expired"},
       Seconds(&Config::action_result_deadline, 1, 365 * 86400)},
      {{"actions.max_per_poll", "20", "most actions handed out by one poll"}, Int(&Config::action_max_per_poll, 1, 1000)},
      {{"actions.poll_jitter_percent", "10", "next_poll_s is the account's interval moved at random by up to this"},
       Int(&Config::poll_jitter_percent, 0, 50)},
      {{"actions.expiry_interval_s", "60", "how often each instance runs the action expiry sweep"},
       Seconds(&Config::action_expiry_interval, 1, 86400)},
      {{"actions.empty_poll_cache_seconds", "30",
        "an instance answers a client's empty poll from memory for up to this long; 0 turns the cache off"},
       Seconds(&Config::empty_poll_cache_ttl, 0, 3600)},
      {{"actions.empty_poll_cache_entries", "100000", "most clients remembered by the empty-poll cache of an instance"},
       Int(&Config::empty_poll_cache_entries, 1, 10000000)},
      {{"pipelines.workers", "4",
        "pipeline workers of this process (serve and jobs); 0 in serve leaves the pipelines to `fleetcomm jobs`; "
        "with fewer than uploads.writers + 1, sustained agent reports outrun the pipelines (growing feed lag)"},
       Int(&Config::pipeline_workers, 0, 64)},
      {{"pipelines.poll_interval_ms", "500", "how often an idle pipeline worker looks for due jobs"},
       Millis(&Config::pipeline_poll_interval, 10, 600000)},
      {{"pipelines.sequence_interval_ms", "200",
        "how often the feed sequencer numbers new feed items (also right after a pipeline batch)"},
       Millis(&Config::pipeline_sequence_interval, 10, 600000)},
      {{"pipelines.batch_size", "50", "jobs a worker claims and commits together"},
       Int(&Config::pipeline_batch_size, 1, 10000)},
      {{"pipelines.retry_base_s", "5", "back-off after a job's first failure; doubled after each further one"},
       Seconds(&Config::pipeline_retry_base, 1, 86400)},
      {{"pipelines.retry_max_s", "3600", "longest back-off between two attempts of a failing job"},
       Seconds(&Config::pipeline_retry_max, 1, 7 * 86400)},
      {{"meter.max_pages_per_minute", "300",
        "meter reads: pages per minute a device without a speedPpm property (or a non-print counter) may add"},
       Int(&Config::meter_max_pages_per_minute, 1, 100000)},
      {{"supplies.refill_margin_percent", "30",
        "an open replenishment order is fulfilled when its supply's level rises this many points above its lowest"},
       Int(&Config::supply_refill_margin_percent, 1, 100)},
      {{"limits.handshake_timeout_s", "10", "deadline for a whole TLS handshake"},
       Seconds(&Config::handshake_timeout, 1, 600)},
      {{"limits.header_timeout_s", "10", "deadline for a whole request header, from its first byte"},
       Seconds(&Config::header_timeout, 1, 600)},
      {{"limits.body_timeout_s", "60", "deadline for a whole request body (not per read: trickling does not help)"},
       Seconds(&Config::body_timeout, 1, 3600)},
      {{"limits.idle_timeout_s", "60", "how long a keep-alive connection may wait for its next request"},
       Seconds(&Config::idle_timeout, 1, 3600)},
      {{"limits.write_timeout_s", "30", "deadline for writing one response"}, Seconds(&Config::write_timeout, 1, 3600)},
      {{"limits.max_connections", "10000", "open connections per listener; beyond, new ones are closed at once"},
       Int(&Config::max_connections, 1, 1000000)},
      {{"limits.max_in_flight", "512", "requests being handled at once; beyond, 503 with Retry-After at once"},
       Int(&Config::max_in_flight, 1, 1000000)},
      {{"limits.retry_after_min_s", "1", "smallest Retry-After sent with 503"},
       Seconds(&Config::retry_after_min, 1, 86400)},
      {{"limits.retry_after_max_s", "10", "largest Retry-After; each 503 picks uniformly in between"},
       Seconds(&Config::retry_after_max, 1, 86400)},
      {{"shutdown.drain_timeout_s", "20", "on SIGTERM, how long in-flight requests may take before exit"},
       Seconds(&Config::drain_timeout, 0, 3600)},
      {{"server.tls_ticket_key_rotation_s", "3600",
        "a new TLS session-ticket key this often; a ticket resumes for up to twice this (and never across a reload)"},
       Seconds(&Config::tls_ticket_rotation, 60, 86400)},
      {{"log.level", "info", "debug, info, warn or error"},
       [](Config& c, const std::string& v) {
         LogLevel level;
         if (!ParseLogLevel(v, level)) throw ConfigError("expected debug, info, warn or error, got '" + v + "'");
         c.log_level = v;
       }},
  };
  return kSpecs;
}

void Apply(Config& config, const std::string& key, const std::string& value, const std::string& where) {
  for (const auto& spec : Specs()) {
    if (spec.key.name == key) {
      try {
        spec.set(config, value);
      } catch (const ConfigError& e) {
        throw ConfigError(where + ": bad value for " + key + ": " + e.what());
      }
      return;
    }
  }
  throw ConfigError(where + ": unknown setting '" + key + "' (see deploy/fleetcomm.conf.example for the valid keys)");
}

void Require(bool ok, const std::string& message) {
  if (!ok) throw ConfigError(message);
}

void Validate(Config& config) {
  Require(!config.database_url.empty(), "database.url is required");
  Require(!config.device_tls.certificate.empty() && !config.device_tls.private_key.empty(),
          "device.tls_cert and device.tls_key are required");
  Require(!config.agent_ca.certificate.empty(), "agent.ca_cert is required");
  Require(config.retry_after_min <= config.retry_after_max,
          "limits.retry_after_min_s must not exceed limits.retry_after_max_s");
  Require(config.operator_tls.certificate.empty() == config.operator_tls.private_key.empty(),
          "operator.tls_cert and operator.tls_key go together");
  Require(config.pipeline_retry_base <= config.pipeline_retry_max,
          "pipelines.retry_base_s must not exceed pipelines.retry_max_s");
  if (config.operator_tls.certificate.empty()) config.operator_tls = config.device_tls;
}

}  // namespace

const std::vector<ConfigKey>& ConfigKeys() {
  static const std::vector<ConfigKey> kKeys = [] {
    std::vector<ConfigKey> keys;
    for (const auto& spec : Specs()) keys.push_back(spec.key);
    return keys;
  }();
  return kKeys;
}

std::string EnvironmentName(const std::string& key) {
  std::string name = "FLEETCOMM_";
  for (char c : key) name += (c == '.') ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

std::string Config::DatabaseConnInfo(const std::string& application) const {
  // Session settings ride in the connection string so that every pooled connection,
  // including reconnections, gets them without an extra round trip.
  std::string options = " connect_timeout=" + std::to_string(database_connect_timeout.count()) +
                        " application_name=" + application + " options='-c statement_timeout=" +
                        std::to_string(database_statement_timeout.count()) + "'";
  if (database_url.rfind("postgres://", 0) == 0 || database_url.rfind("postgresql://", 0) == 0) {
    const char separator = database_url.find('?') == std::string::npos ? '?' : '&';
    return database_url + separator + "connect_timeout=" + std::to_string(database_connect_timeout.count()) +
           "&application_name=" + application + "&options=-c%20statement_timeout%3D" +
           std::to_string(database_statement_timeout.count());
  }
  return database_url + options;
}

Config ParseConfig(const std::string& text, const std::map<std::string, std::string>& environment) {
  Config config;
  std::set<std::string> seen;
  std::stringstream stream(text);
  std::string line;
  int line_number = 0;
  while (std::getline(stream, line)) {
    ++line_number;
    line = Trim(line);
    if (line.empty() || line[0] == '#') continue;
    const auto equals = line.find('=');
    const std::string where = "line " + std::to_string(line_number);
    if (equals == std::string::npos) throw ConfigError(where + ": expected 'key = value', got '" + line + "'");
    const std::string key = Trim(line.substr(0, equals));
    if (!seen.insert(key).second) throw ConfigError(where + ": " + key + " is set twice");
    Apply(config, key, Trim(line.substr(equals + 1)), where);
  }
  for (const auto& spec : Specs()) {
    auto it = environment.find(EnvironmentName(spec.key.name));
    if (it != environment.end()) Apply(config, spec.key.name, Trim(it->second), "environment " + it->first);
  }
  for (const auto& [name, value] : environment) {
    if (name.rfind("FLEETCOMM_", 0) != 0) continue;
    bool known = false;
    for (const auto& spec : Specs()) known = known || EnvironmentName(spec.key.name) == name;
    if (!known) throw ConfigError("environment " + name + ": unknown setting");
  }
  Validate(config);
  return config;
}

Config LoadConfig(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw ConfigError("cannot read config file " + path);
  std::stringstream text;
  text << file.rdbuf();
  std::map<std::string, std::string> environment;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string item(*entry);
    const auto equals = item.find('=');
    if (equals != std::string::npos) environment[item.substr(0, equals)] = item.substr(equals + 1);
  }
  try {
    return ParseConfig(text.str(), environment);
  } catch (const ConfigError& e) {
    throw ConfigError(path + ": " + e.what());
  }
}

}  // namespace fleetcomm::server
