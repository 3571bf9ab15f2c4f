#pragma once
// Zip uploads (PROTOCOL.md 3.3 and 3.6), read from the request body in memory. Every
// refusal is a ProtocolError: kInvalidArchive for anything malformed or not allowed,
// kPayloadTooLarge when inflating goes past a limit. Nothing is ever written to disk.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fleetcomm::protocol {

struct ArchiveLimits {
  std::size_t max_entries = 8;
  std::uint64_t max_entry_uncompressed = 128ULL * 1024 * 1024;
  // Across all entries of one archive; the default is what the two limits above allow,
  // so only a deployment that wants less memory per diagnostics upload needs to set it.
  std::uint64_t max_total_uncompressed = 8ULL * 128 * 1024 * 1024;
};

struct ArchiveEntry {
  std::string name;
  std::string data;  // inflated, CRC-checked
};

// The single entry of an upload, which must be named `report.xml`.
std::string ExtractReportXml(std::string_view zip, const ArchiveLimits& limits);

// Every entry, in central directory order (engineering logs, 3.6).
std::vector<ArchiveEntry> ReadAllEntries(std::string_view zip, const ArchiveLimits& limits);

}  // namespace fleetcomm::protocol
