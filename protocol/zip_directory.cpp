#include "protocol/zip_directory.hpp"

#include <algorithm>
#include <string>

#include "protocol/protocol_error.hpp"
#include "protocol/utf8.hpp"

namespace fleetcomm::protocol::zipdir {
namespace {

constexpr std::uint32_t kEocdSignature = 0x06054b50;
constexpr std::uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr std::uint32_t kZip64EocdSignature = 0x06064b50;
constexpr std::uint32_t kCentralSignature = 0x02014b50;
constexpr std::uint32_t kLocalSignature = 0x04034b50;
constexpr std::size_t kEocdSize = 22;
constexpr std::size_t kZip64LocatorSize = 20;
constexpr std::size_t kZip64EocdSize = 56;
constexpr std::size_t kCentralSize = 46;
constexpr std::size_t kLocalSize = 30;
constexpr std::uint16_t kZip64ExtraId = 0x0001;

[[noreturn]] void Invalid(const std::string& why) {
  throw ProtocolError(ErrorCode::kInvalidArchive, "invalid zip archive: " + why);
}

// Little-endian reads at an offset the caller has already bounds-checked.
std::uint64_t Le(std::string_view bytes, std::uint64_t at, int width) {
  std::uint64_t value = 0;
  for (int i = width - 1; i >= 0; --i) {
    value = (value << 8U) | static_cast<unsigned char>(bytes[at + static_cast<std::uint64_t>(i)]);
  }
  return value;
}
std::uint16_t Le16(std::string_view b, std::uint64_t at) { return static_cast<std::uint16_t>(Le(b, at, 2)); }
std::uint32_t Le32(std::string_view b, std::uint64_t at) { return static_cast<std::uint32_t>(Le(b, at, 4)); }
std::uint64_t Le64(std::string_view b, std::uint64_t at) { return Le(b, at, 8); }

bool Fits(std::string_view zip, std::uint64_t offset, std::uint64_t length) {
  return offset <= zip.size() && length <= zip.size() - offset;
}

Location ReadZip64Trailer(std::string_view zip, std::uint64_t eocd_at) {
  if (eocd_at < kZip64LocatorSize) Invalid("truncated zip64 trailer");
  const std::uint64_t locator_at = eocd_at - kZip64LocatorSize;
  if (Le32(zip, locator_at) != kZip64LocatorSignature) Invalid("missing zip64 locator");
  const std::uint64_t record_at = Le64(zip, locator_at + 8);
  if (record_at > locator_at || locator_at - record_at < kZip64EocdSize ||
      Le32(zip, record_at) != kZip64EocdSignature) {
    Invalid("bad zip64 end of central directory");
  }
  if (Le32(zip, record_at + 16) != 0 || Le32(zip, record_at + 20) != 0 ||
      Le64(zip, record_at + 24) != Le64(zip, record_at + 32)) {
    Invalid("multi-disk archives are not supported");
  }
  Location location{Le64(zip, record_at + 32), Le64(zip, record_at + 48), Le64(zip, record_at + 40)};
  if (location.offset > record_at || location.size > record_at - location.offset) {
    Invalid("central directory out of bounds");
  }
  return location;
}

// Applies the zip64 extended information field, whose members appear only for the
// central directory values that were saturated, in this fixed order.
void ApplyZip64Extra(std::string_view extra, Entry& entry, bool usize_saturated,
                     bool csize_saturated, bool offset_saturated) {
  std::size_t at = 0;
  while (extra.size() - at >= 4) {
    const std::uint16_t id = Le16(extra, at);
    const std::uint16_t length = Le16(extra, at + 2);
    if (extra.size() - at - 4 < length) Invalid("truncated extra field");
    if (id == kZip64ExtraId) {
      std::string_view field = extra.substr(at + 4, length);
      std::size_t used = 0;
      auto take = [&](std::uint64_t& target) {
        if (field.size() - used < 8) Invalid("truncated zip64 extra field");
        target = Le64(field, used);
        used += 8;
      };
      if (usize_saturated) take(entry.uncompressed_size);
      if (csize_saturated) take(entry.compressed_size);
      if (offset_saturated) take(entry.local_header_offset);
      return;
    }
    at += 4 + static_cast<std::size_t>(length);
  }
  if (usize_saturated || csize_saturated || offset_saturated) Invalid("missing zip64 extra field");
}

// Parses the central record at `at` and returns the offset of the next one.
std::uint64_t ReadCentralRecord(std::string_view zip, std::uint64_t at, std::uint64_t end, Entry& entry) {
  if (end - at < kCentralSize || Le32(zip, at) != kCentralSignature) Invalid("bad central directory record");
  const std::uint16_t name_length = Le16(zip, at + 28);
  const std::uint16_t extra_length = Le16(zip, at + 30);
  const std::uint16_t comment_length = Le16(zip, at + 32);
  const std::uint64_t record_size = kCentralSize + name_length + extra_length + comment_length;
  if (end - at < record_size) Invalid("central directory record out of bounds");
  entry.made_by_host = static_cast<std::uint8_t>(Le16(zip, at + 4) >> 8U);
  entry.flags = Le16(zip, at + 8);
  entry.method = Le16(zip, at + 10);
  entry.compressed_size = Le32(zip, at + 20);
  entry.uncompressed_size = Le32(zip, at + 24);
  entry.external_attributes = Le32(zip, at + 38);
  entry.local_header_offset = Le32(zip, at + 42);
  if (Le16(zip, at + 34) != 0 && Le16(zip, at + 34) != 0xFFFF) Invalid("multi-disk archives are not supported");
  entry.name = zip.substr(at + kCentralSize, name_length);
  ApplyZip64Extra(zip.substr(at + kCentralSize + name_length, extra_length), entry,
                  entry.uncompressed_size == 0xFFFFFFFF, entry.compressed_size == 0xFFFFFFFF,
                  entry.local_header_offset == 0xFFFFFFFF);
  return at + record_size;
}

// The data of an entry starts after its local header, whose name and extra lengths may
// differ from the central ones; compressed data must end before the central directory.
void ReadLocalHeader(std::string_view zip, const Location& location, Entry& entry) {
  const std::uint64_t at = entry.local_header_offset;
  if (!Fits(zip, at, kLocalSize) || at + kLocalSize > location.offset || Le32(zip, at) != kLocalSignature) {
    Invalid("bad local header");
  }
  const std::uint64_t name_length = Le16(zip, at + 26);
  const std::uint64_t data_start = at + kLocalSize + name_length + Le16(zip, at + 28);
  if (data_start > location.offset || zip.substr(at + kLocalSize, name_length) != entry.name) {
    Invalid("local header does not match the central directory");
  }
  if (entry.compressed_size > location.offset - data_start) Invalid("entry data out of bounds");
  entry.data_end = data_start + entry.compressed_size;
}

}  // namespace

Location Locate(std::string_view zip) {
  if (zip.size() < kEocdSize) Invalid("too short to be a zip archive");
  // The record is the last thing in the file, followed only by its own comment: search
  // backwards and take the first candidate whose comment length reaches exactly the end.
  const std::uint64_t lowest = zip.size() > kEocdSize + 0xFFFF ? zip.size() - kEocdSize - 0xFFFF : 0;
  for (std::uint64_t at = zip.size() - kEocdSize + 1; at-- > lowest;) {
    if (Le32(zip, at) != kEocdSignature || at + kEocdSize + Le16(zip, at + 20) != zip.size()) continue;
    if (Le16(zip, at + 4) != 0 || Le16(zip, at + 6) != 0 || Le16(zip, at + 8) != Le16(zip, at + 10)) {
      Invalid("multi-disk archives are not supported");
    }
    Location location{Le16(zip, at + 10), Le32(zip, at + 16), Le32(zip, at + 12)};
    if (location.entry_count == 0xFFFF || location.offset == 0xFFFFFFFF || location.size == 0xFFFFFFFF) {
      return ReadZip64Trailer(zip, at);
    }
    if (location.offset > at || location.size > at - location.offset) Invalid("central directory out of bounds");
    return location;
  }
  Invalid("no end of central directory record");
}

std::vector<Entry> ReadEntries(std::string_view zip, const Location& location) {
  std::vector<Entry> entries;
  // Bounded by the caller's entry limit, checked before this is called.
  entries.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(location.entry_count, 64)));
  std::uint64_t at = location.offset;
  const std::uint64_t end = location.offset + location.size;
  for (std::uint64_t i = 0; i < location.entry_count; ++i) {
    Entry entry;
    at = ReadCentralRecord(zip, at, end, entry);
    entries.push_back(entry);
  }
  if (at != end) Invalid("central directory size does not match its records");
  for (Entry& entry : entries) ReadLocalHeader(zip, location, entry);

  // Overlap bombs share compressed data between entries (Fifield's non-recursive bomb):
  // disjoint [local header, end of data) ranges rule them out.
  std::vector<const Entry*> by_offset;
  by_offset.reserve(entries.size());
  for (const Entry& entry : entries) by_offset.push_back(&entry);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const Entry* a, const Entry* b) { return a->local_header_offset < b->local_header_offset; });
  for (std::size_t i = 1; i < by_offset.size(); ++i) {
    if (by_offset[i]->local_header_offset < by_offset[i - 1]->data_end) Invalid("entries overlap");
  }
  return entries;
}

bool IsAllowedName(std::string_view name) {
  if (name.empty() || !IsPrintableUtf8(name)) return false;
  if (name.find_first_of("/\\") != std::string_view::npos) return false;
  if (name.find("..") != std::string_view::npos) return false;
  const bool drive_letter = name.size() >= 2 && name[1] == ':' &&
                            ((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z'));
  return !drive_letter;
}

}  // namespace fleetcomm::protocol::zipdir
