#pragma once
// A minimal reader of the zip central directory, used to vet an archive before libzip
// inflates anything: libzip 1.7 neither exposes local header offsets nor refuses
// overlapping entries (nih-at/libzip#354), and it would happily open 65,535 entries.
#include <cstdint>
#include <string_view>
#include <vector>

namespace fleetcomm::protocol::zipdir {

struct Location {
  std::uint64_t entry_count = 0;
  std::uint64_t offset = 0;  // of the central directory
  std::uint64_t size = 0;
};

struct Entry {
  std::string_view name;  // raw bytes, a view into the archive
  std::uint16_t flags = 0;
  std::uint16_t method = 0;
  std::uint8_t made_by_host = 0;
  std::uint32_t external_attributes = 0;
  std::uint64_t compressed_size = 0;
  std::uint64_t uncompressed_size = 0;  // as declared: never trusted for allocation
  std::uint64_t local_header_offset = 0;
  std::uint64_t data_end = 0;  // just past the compressed data, from the local header
};

// Finds the end-of-central-directory record (zip64 included). Cheap: reads only the
// trailer, so the entry count can be refused before any entry is looked at.
// Throws ProtocolError(kInvalidArchive).
Location Locate(std::string_view zip);

// Reads every central directory record and its local header. Throws
// ProtocolError(kInvalidArchive) on anything inconsistent or out of bounds.
std::vector<Entry> ReadEntries(std::string_view zip, const Location& location);

// PROTOCOL.md 3.3 entry names, plus: valid UTF-8 without control characters (names end up
// in the database and in logs).
bool IsAllowedName(std::string_view name);

}  // namespace fleetcomm::protocol::zipdir
