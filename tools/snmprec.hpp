#pragma once
// A recording of SNMP varbinds in snmpsim's `.snmprec` text format (one `OID|TYPE|VALUE`
// per line), decoded into typed values and indexed by OID so that scalars can be looked up
// and table columns walked as an agent would answer GET and GETNEXT.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace fleetcomm::tools {

using Oid = std::vector<std::uint32_t>;

// Dotted decimal, with or without a leading dot; nullopt when not an OID.
std::optional<Oid> ParseOid(std::string_view text);
std::string OidToString(const Oid& oid);

enum class SnmpType {
  kInteger,      // 2
  kOctetString,  // 4, 4x
  kNull,         // 5
  kObjectId,     // 6
  kIpAddress,    // 64, 64x
  kCounter32,    // 65
  kGauge32,      // 66
  kTimeTicks,    // 67
  kOpaque,       // 68
  kCounter64,    // 70
};

struct SnmpValue {
  SnmpType type = SnmpType::kNull;
  // The raw bytes for octet strings and Opaque (hex already decoded), the dotted text
  // for object identifiers and IP addresses, empty otherwise.
  std::string bytes;
  // Set for the numeric types. Counter64 values above 2^63-1 keep only `unsigned_number`.
  std::optional<std::int64_t> number;
  std::optional<std::uint64_t> unsigned_number;
};

struct SkippedLine {
  std::size_t line = 0;  // 1-based
  std::string reason;
};

struct WalkEntry {
  Oid index;  // the OID components after the walked column
  const SnmpValue* value = nullptr;
};

class SnmpRecordingError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class SnmpRecording {
 public:
  // Lines that cannot be decoded are skipped and listed in Skipped(): real recordings
  // contain a few (a Counter32 recorded as `6git3159`), and one bad varbind must not
  // hide the rest of the device.
  static SnmpRecording Parse(std::string_view text);
  // Throws SnmpRecordingError when the file cannot be read.
  static SnmpRecording Load(const std::filesystem::path& path);

  // The value recorded for exactly this OID. A repeated OID keeps its first value.
  const SnmpValue* Get(std::string_view oid) const;
  const SnmpValue* Get(const Oid& oid) const;
  // Every varbind strictly below `column`, in OID order.
  std::vector<WalkEntry> Walk(std::string_view column) const;
  std::vector<WalkEntry> Walk(const Oid& column) const;

  std::size_t Size() const { return values_.size(); }
  const std::vector<SkippedLine>& Skipped() const { return skipped_; }

 private:
  std::map<Oid, SnmpValue> values_;
  std::vector<SkippedLine> skipped_;
};

}  // namespace fleetcomm::tools
