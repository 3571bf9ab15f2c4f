#include "protocol/zip_archive.hpp"

#include <zip.h>

#include <algorithm>
#include <memory>
#include <new>
#include <set>

#include "protocol/protocol_error.hpp"
#include "protocol/zip_directory.hpp"

namespace fleetcomm::protocol {
namespace {

constexpr std::uint16_t kMethodStored = 0;
constexpr std::uint16_t kMethodDeflate = 8;
constexpr std::uint16_t kFlagEncrypted = 0x0001;
constexpr std::uint16_t kFlagStrongEncryption = 0x0040;
constexpr std::uint8_t kHostMsDos = 0;
constexpr std::uint8_t kHostUnix = 3;
constexpr std::uint32_t kDosDirectory = 0x10;
constexpr std::uint32_t kUnixFileTypeMask = 0170000;
constexpr std::uint32_t kUnixDirectory = 0040000;
constexpr std::uint32_t kUnixSymlink = 0120000;
constexpr std::size_t kReadChunk = 64 * 1024;

[[noreturn]] void Invalid(const std::string& why) {
  throw ProtocolError(ErrorCode::kInvalidArchive, "invalid zip archive: " + why);
}

std::string EntryLabel(std::size_t index) { return "entry " + std::to_string(index + 1); }

struct ZipDiscard {
  void operator()(zip_t* archive) const { zip_discard(archive); }
};
using ZipPtr = std::unique_ptr<zip_t, ZipDiscard>;

struct ZipFileClose {
  void operator()(zip_file_t* file) const { zip_fclose(file); }
};
using ZipFilePtr = std::unique_ptr<zip_file_t, ZipFileClose>;

// Symlinks and directories have no business in an upload. Other Unix file types stay
// allowed: `zip - -` fed from a pipe records a FIFO mode for plain content.
bool IsFileEntry(const zipdir::Entry& entry) {
  if (entry.made_by_host == kHostUnix) {
    const std::uint32_t type = (entry.external_attributes >> 16U) & kUnixFileTypeMask;
    if (type == kUnixDirectory || type == kUnixSymlink) return false;
  }
  if (entry.made_by_host == kHostMsDos || entry.made_by_host == kHostUnix) {
    return (entry.external_attributes & kDosDirectory) == 0;
  }
  return true;
}

void CheckEntries(const std::vector<zipdir::Entry>& entries) {
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const zipdir::Entry& entry = entries[i];
    if (!zipdir::IsAllowedName(entry.name)) Invalid(EntryLabel(i) + " has a name that is not allowed");
    if (!names.insert(entry.name).second) Invalid(EntryLabel(i) + " repeats the name of another entry");
    if ((entry.flags & (kFlagEncrypted | kFlagStrongEncryption)) != 0) Invalid(EntryLabel(i) + " is encrypted");
    if (entry.method != kMethodStored && entry.method != kMethodDeflate) {
      Invalid(EntryLabel(i) + " uses a compression method other than stored or deflate");
    }
    if (!IsFileEntry(entry)) Invalid(EntryLabel(i) + " is a directory or a symbolic link");
  }
}

// Everything that can be refused without inflating, from our own reading of the
// directory; libzip is only opened on archives that passed.
std::vector<zipdir::Entry> VetDirectory(std::string_view zip, const ArchiveLimits& limits) {
  const zipdir::Location location = zipdir::Locate(zip);
  if (location.entry_count == 0) Invalid("the archive is empty");
  if (location.entry_count > limits.max_entries) {
    Invalid("more than " + std::to_string(limits.max_entries) + " entries");
  }
  std::vector<zipdir::Entry> entries = zipdir::ReadEntries(zip, location);
  CheckEntries(entries);
  return entries;
}

ZipPtr OpenWithLibzip(std::string_view zip) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(zip.data(), zip.size(), 0, &error);
  if (source == nullptr) {
    zip_error_fini(&error);
    throw std::bad_alloc();
  }
  zip_t* archive = zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error);
  zip_error_fini(&error);
  if (archive == nullptr) {
    zip_source_free(source);
    Invalid("the archive is corrupt");
  }
  return ZipPtr(archive);
}

// libzip must see the very directory we vetted; a disagreement means a crafted archive
// with two readings (e.g. a second end-of-directory record).
void CrossCheck(zip_t* archive, const std::vector<zipdir::Entry>& entries) {
  if (zip_get_num_entries(archive, 0) != static_cast<zip_int64_t>(entries.size())) {
    Invalid("inconsistent central directory");
  }
  for (std::size_t i = 0; i < entries.size(); ++i) {
    zip_stat_t stat;
    zip_stat_init(&stat);
    if (zip_stat_index(archive, i, ZIP_FL_ENC_RAW, &stat) != 0 || stat.name == nullptr ||
        std::string_view(stat.name) != entries[i].name || stat.comp_size != entries[i].compressed_size ||
        stat.comp_method != static_cast<zip_int32_t>(entries[i].method) ||
        stat.encryption_method != ZIP_EM_NONE) {
      Invalid(EntryLabel(i) + " is inconsistent with the central directory");
    }
  }
}

// Counts what is actually inflated, since declared sizes lie (libzip 1.7 keeps returning
// data past them): reads at most one byte beyond the budget, then stops.
std::string Inflate(zip_t* archive, std::size_t index, const zipdir::Entry& entry, std::uint64_t budget,
                    bool budget_is_entry_limit) {
  if (entry.uncompressed_size > budget) {
    throw ProtocolError(ErrorCode::kPayloadTooLarge, EntryLabel(index) + " is too large once inflated");
  }
  ZipFilePtr file(zip_fopen_index(archive, index, 0));
  if (!file) Invalid(EntryLabel(index) + " cannot be read");
  std::string data;
  std::vector<char> chunk(kReadChunk);
  for (;;) {
    const std::uint64_t left = budget - data.size();  // data.size() <= budget here
    const std::uint64_t want = left >= chunk.size() ? chunk.size() : left + 1;
    const zip_int64_t got = zip_fread(file.get(), chunk.data(), want);
    if (got < 0) Invalid(EntryLabel(index) + " is corrupt (bad data or CRC)");
    if (got == 0) break;
    data.append(chunk.data(), static_cast<std::size_t>(got));
    if (data.size() > budget) {
      throw ProtocolError(ErrorCode::kPayloadTooLarge,
                          budget_is_entry_limit ? EntryLabel(index) + " is too large once inflated"
                                                : "the archive is too large once inflated");
    }
  }
  if (zip_fclose(file.release()) != 0) Invalid(EntryLabel(index) + " is corrupt (bad data or CRC)");
  if (data.size() != entry.uncompressed_size) Invalid(EntryLabel(index) + " does not have its declared size");
  return data;
}

}  // namespace

std::vector<ArchiveEntry> ReadAllEntries(std::string_view zip, const ArchiveLimits& limits) {
  const std::vector<zipdir::Entry> entries = VetDirectory(zip, limits);
  ZipPtr archive = OpenWithLibzip(zip);
  CrossCheck(archive.get(), entries);
  std::vector<ArchiveEntry> result;
  result.reserve(entries.size());
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::uint64_t total_left = limits.max_total_uncompressed - total;
    const bool entry_limit_binds = limits.max_entry_uncompressed <= total_left;
    std::string data = Inflate(archive.get(), i, entries[i],
                               entry_limit_binds ? limits.max_entry_uncompressed : total_left, entry_limit_binds);
    total += data.size();
    result.push_back({std::string(entries[i].name), std::move(data)});
  }
  return result;
}

std::string ExtractReportXml(std::string_view zip, const ArchiveLimits& limits) {
  const std::vector<zipdir::Entry> entries = VetDirectory(zip, limits);
  if (entries.size() != 1 || entries.front().name != "report.xml") {
    Invalid("an upload holds exactly one entry, named report.xml");
  }
  ZipPtr archive = OpenWithLibzip(zip);
  CrossCheck(archive.get(), entries);
  return Inflate(archive.get(), 0, entries.front(),
                 std::min(limits.max_entry_uncompressed, limits.max_total_uncompressed), true);
}

}  // namespace fleetcomm::protocol
