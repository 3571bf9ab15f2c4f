#pragma once
// The server's configuration: one typed struct, read from a `key = value` file and then
// from FLEETCOMM_* environment variables (which win), validated completely at start.
// Every key, its default and its meaning are listed once, in config.cpp; the annotated
// sample deploy/fleetcomm.conf.example is checked against that list by a test.
#include <chrono>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace fleetcomm::server {

struct ListenAddress {
  std::string host;
  std::uint16_t port = 0;
};

struct TlsFiles {
  std::string certificate;  // PEM chain, leaf first
  std::string private_key;  // PEM
};

struct Config {
  int threads = 0;  // 0: one per core

  ListenAddress device_listen{"0.0.0.0", 8443};
  TlsFiles device_tls;
  std::vector<std::string> device_trust_anchors;  // manufacturer CA files
  std::vector<std::string> device_crls;           // CRLs of those CAs, reloaded on SIGHUP
  std::chrono::seconds identity_cache_ttl{5};       // per connection and instance; 0: look up on every request
  int identity_cache_entries = 100000;             // per instance
  std::chrono::seconds tls_ticket_rotation{3600};   // session-ticket key lifetime (tickets live up to twice it)
  TlsFiles agent_ca;                              // the CA that issues agent certificates
  std::chrono::seconds agent_certificate_lifetime{365 * 86400};
  // POST /rs/v1/enroll token buckets, per source address and per registration key.
  int enroll_rate_per_minute = 10;
  int enroll_burst = 20;
  int enroll_tracked_keys = 10000;

  ListenAddress operator_listen{"127.0.0.1", 9443};
  TlsFiles operator_tls;  // defaults to device_tls when empty

  ListenAddress ops_listen{"127.0.0.1", 9090};

  std::string database_url;
  int database_pool_size = 10;
  int database_queue_limit = 1024;
  std::chrono::milliseconds database_statement_timeout{10000};
  std::chrono::seconds database_connect_timeout{3};

  std::size_t header_limit_bytes = 16 * 1024;
  std::size_t body_limit_bytes = 16 * 1024 * 1024;
  int upload_max_entries = 8;
  int raw_upload_retention_days = 90;
  bool audit_enabled = true;
  int audit_retention_days = 400;
  std::chrono::milliseconds audit_flush_interval{200};
  int audit_batch_entries = 500;
  int audit_queue_entries = 100000;
  std::chrono::seconds audit_seal_interval{10};
  std::uint64_t upload_max_entry_bytes = 128ULL * 1024 * 1024;
  int upload_writers = 3;
  int upload_batch_max = 64;
  std::chrono::seconds action_lease{3600};
  std::chrono::seconds action_result_deadline{86400};
  int action_max_per_poll = 20;
  int poll_jitter_percent = 10;
  std::chrono::seconds action_expiry_interval{60};
  std::chrono::seconds empty_poll_cache_ttl{30};  // 0: every poll reads the database
  int empty_poll_cache_entries = 100000;
  // Pipelines (R5): workers per process, 0 in `serve` leaves them to `fleetcomm jobs`.
  int pipeline_workers = 4;
  std::chrono::milliseconds pipeline_poll_interval{500};
  std::chrono::milliseconds pipeline_sequence_interval{200};
  int pipeline_batch_size = 50;
  std::chrono::seconds pipeline_retry_base{5};
  std::chrono::seconds pipeline_retry_max{3600};
  int meter_max_pages_per_minute = 300;
  int supply_refill_margin_percent = 30;
  std::chrono::seconds handshake_timeout{10};
  std::chrono::seconds header_timeout{10};
  std::chrono::seconds body_timeout{60};
  std::chrono::seconds idle_timeout{60};
  std::chrono::seconds write_timeout{30};
  int max_connections = 10000;
  int max_in_flight = 512;
  std::chrono::seconds retry_after_min{1};
  std::chrono::seconds retry_after_max{10};

  std::chrono::seconds drain_timeout{20};
  std::string log_level = "info";

  // libpq conninfo with the pool's session settings appended.
  // `application` names the connection in pg_stat_activity.
  std::string DatabaseConnInfo(const std::string& application = "fleetcomm") const;
};

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ConfigKey {
  std::string name;           // e.g. "limits.body_bytes"
  std::string default_value;  // as written in the sample file
  std::string help;           // one line
};

// Every key, in the order of the sample file.
const std::vector<ConfigKey>& ConfigKeys();

// "limits.body_bytes" -> "FLEETCOMM_LIMITS_BODY_BYTES"
std::string EnvironmentName(const std::string& key);

// Parses file text (no I/O) plus overrides; throws ConfigError naming the key and the
// line (or variable) at fault, with what would be valid.
Config ParseConfig(const std::string& text, const std::map<std::string, std::string>& environment);

// Reads FILE and the process environment.
Config LoadConfig(const std::string& path);

}  // namespace fleetcomm::server
