#include "protocol/protocol_error.hpp"
#include "protocol/zip_archive.hpp"
#include "tools/zip_writer.hpp"

#include <catch2/catch.hpp>
#include <zip.h>
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

using namespace fleetcomm::protocol;

namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

// --- Archives from a real writer (libzip, in memory) ---------------------------------

std::string LibzipArchive(const std::vector<std::pair<std::string, std::string>>& files, bool deflate = true,
                          const char* comment = nullptr) {
  return fleetcomm::tools::WriteZip(files, {deflate, comment != nullptr ? comment : ""});
}

// --- Hand-assembled archives, for what no honest writer produces ----------------------

struct RawEntry {
  std::string name;
  std::string stored;  // the bytes as they sit in the archive (compressed or not)
  std::uint16_t method = 0;
  std::uint16_t flags = 0;
  std::optional<std::uint32_t> crc;       // default: CRC-32 of `stored`
  std::optional<std::uint64_t> declared;  // uncompressed size; default: stored.size()
  std::optional<std::uint64_t> central_offset;  // point the directory elsewhere
  std::uint8_t host = 3;
  std::uint32_t external_attributes = 0100644U << 16U;
  std::string prefix_in_data;  // raw bytes inserted before `stored` in the data area
};

void Put(std::string& out, std::uint64_t value, int width) {
  for (int i = 0; i < width; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFFU));
}

std::uint32_t Crc(std::string_view data) {
  return static_cast<std::uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

std::string Zip64Extra(std::uint64_t uncompressed, std::uint64_t compressed) {
  std::string extra;
  Put(extra, 0x0001, 2);
  Put(extra, 16, 2);
  Put(extra, uncompressed, 8);
  Put(extra, compressed, 8);
  return extra;
}

std::string LocalHeader(const RawEntry& e, std::uint64_t compressed) {
  const std::uint64_t declared = e.declared.value_or(e.stored.size());
  const bool zip64 = declared > 0xFFFFFFFFU;
  std::string out;
  Put(out, 0x04034b50, 4);
  Put(out, zip64 ? 45 : 20, 2);
  Put(out, e.flags, 2);
  Put(out, e.method, 2);
  Put(out, 0, 4);  // time, date
  Put(out, e.crc.value_or(Crc(e.stored)), 4);
  Put(out, zip64 ? 0xFFFFFFFFU : compressed, 4);
  Put(out, zip64 ? 0xFFFFFFFFU : declared, 4);
  const std::string extra = zip64 ? Zip64Extra(declared, compressed) : "";
  Put(out, e.name.size(), 2);
  Put(out, extra.size(), 2);
  return out + e.name + extra;
}

std::string BuildZip(const std::vector<RawEntry>& entries) {
  std::string out;
  std::string central;
  for (const RawEntry& e : entries) {
    const std::uint64_t offset = out.size();
    const std::uint64_t compressed = e.prefix_in_data.size() + e.stored.size();
    out += LocalHeader(e, compressed) + e.prefix_in_data + e.stored;
    const std::uint64_t declared = e.declared.value_or(e.stored.size());
    const bool zip64 = declared > 0xFFFFFFFFU;
    const std::string extra = zip64 ? Zip64Extra(declared, compressed) : "";
    Put(central, 0x02014b50, 4);
    Put(central, (static_cast<std::uint64_t>(e.host) << 8U) | 45U, 2);
    Put(central, zip64 ? 45 : 20, 2);
    Put(central, e.flags, 2);
    Put(central, e.method, 2);
    Put(central, 0, 4);
    Put(central, e.crc.value_or(Crc(e.stored)), 4);
    Put(central, zip64 ? 0xFFFFFFFFU : compressed, 4);
    Put(central, zip64 ? 0xFFFFFFFFU : declared, 4);
    Put(central, e.name.size(), 2);
    Put(central, extra.size(), 2);
    Put(central, 0, 2);  // comment
    Put(central, 0, 2);  // disk
    Put(central, 0, 2);  // internal attributes
    Put(central, e.external_attributes, 4);
    Put(central, e.central_offset.value_or(offset), 4);
    central += e.name + extra;
  }
  const std::uint64_t central_offset = out.size();
  out += central;
  Put(out, 0x06054b50, 4);
  Put(out, 0, 4);
  Put(out, entries.size(), 2);
  Put(out, entries.size(), 2);
  Put(out, central.size(), 4);
  Put(out, central_offset, 4);
  Put(out, 0, 2);
  return out;
}

RawEntry Stored(std::string name, std::string data) {
  RawEntry e;
  e.name = std::move(name);
  e.stored = std::move(data);
  return e;
}

// Raw deflate of `total` zero bytes, compressed chunk by chunk so that neither input nor
// output is ever held in full beyond the (small) compressed result.
struct Bomb {
  std::string compressed;
  std::uint32_t crc = 0;
};

Bomb DeflatedZeros(std::uint64_t total) {
  z_stream stream{};
  REQUIRE(deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) == Z_OK);
  const std::string zeros(kMiB, '\0');
  std::string out_chunk(256 * 1024, '\0');
  Bomb bomb;
  bomb.crc = static_cast<std::uint32_t>(crc32(0, nullptr, 0));
  for (std::uint64_t done = 0; done < total;) {
    const std::uint64_t n = std::min<std::uint64_t>(zeros.size(), total - done);
    done += n;
    bomb.crc = static_cast<std::uint32_t>(crc32(bomb.crc, reinterpret_cast<const Bytef*>(zeros.data()), static_cast<uInt>(n)));
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(zeros.data()));
    stream.avail_in = static_cast<uInt>(n);
    const int flush = done == total ? Z_FINISH : Z_NO_FLUSH;
    do {
      stream.next_out = reinterpret_cast<Bytef*>(out_chunk.data());
      stream.avail_out = static_cast<uInt>(out_chunk.size());
      REQUIRE(deflate(&stream, flush) != Z_STREAM_ERROR);
      bomb.compressed.append(out_chunk.data(), out_chunk.size() - stream.avail_out);
    } while (stream.avail_out == 0);
  }
  deflateEnd(&stream);
  return bomb;
}

const Bomb& GibibyteOfZeros() {
  static const Bomb bomb = DeflatedZeros(1024 * kMiB);
  return bomb;
}

RawEntry DeflateEntry(std::string name, const Bomb& bomb, std::uint64_t declared) {
  RawEntry e = Stored(std::move(name), bomb.compressed);
  e.method = 8;
  e.crc = bomb.crc;
  e.declared = declared;
  return e;
}

ErrorCode CodeOf(std::string_view zip, const ArchiveLimits& limits = {}) {
  try {
    ReadAllEntries(zip, limits);
  } catch (const ProtocolError& error) {
    return error.code();
  }
  FAIL("the archive was accepted");
  return ErrorCode::kInternal;
}

std::string MessageOf(std::string_view zip, const ArchiveLimits& limits = {}) {
  try {
    ReadAllEntries(zip, limits);
  } catch (const ProtocolError& error) {
    return error.what();
  }
  FAIL("the archive was accepted");
  return {};
}

}  // namespace

TEST_CASE("a libzip upload with one report.xml yields its exact bytes", "[protocol][zip]") {
  const std::string xml = "<Report/>\n" + std::string(100000, 'x');
  for (const bool deflate : {true, false}) {
    CHECK(ExtractReportXml(LibzipArchive({{"report.xml", xml}}, deflate), {}) == xml);
  }
  CHECK(ExtractReportXml(LibzipArchive({{"report.xml", xml}}, true, "archive comment"), {}) == xml);
}

TEST_CASE("an upload holds exactly one entry, named report.xml", "[protocol][zip]") {
  const auto code_of = [](const std::string& zip) {
    try {
      ExtractReportXml(zip, {});
    } catch (const ProtocolError& error) {
      return error.code();
    }
    return ErrorCode::kInternal;
  };
  CHECK(code_of(LibzipArchive({{"Report.xml", "x"}})) == ErrorCode::kInvalidArchive);
  CHECK(code_of(LibzipArchive({{"report.xml", "x"}, {"extra.txt", "y"}})) == ErrorCode::kInvalidArchive);
  CHECK(code_of(BuildZip({})) == ErrorCode::kInvalidArchive);  // libzip would open it as empty
}

TEST_CASE("engineering logs: every entry in directory order", "[protocol][zip]") {
  const auto entries = ReadAllEntries(LibzipArchive({{"a.log", "first"}, {"b.txt", ""}, {"c.bin", std::string(5000, '\7')}}), {});
  REQUIRE(entries.size() == 3);
  CHECK(entries[0].name == "a.log");
  CHECK(entries[0].data == "first");
  CHECK(entries[1].name == "b.txt");
  CHECK(entries[1].data.empty());
  CHECK(entries[2].data == std::string(5000, '\7'));
}

TEST_CASE("what is not a zip archive is invalid_archive", "[protocol][zip]") {
  const std::string good = LibzipArchive({{"report.xml", "<Report/>"}});
  CHECK(CodeOf("") == ErrorCode::kInvalidArchive);  // libzip alone opens this as empty
  CHECK(CodeOf("hello, world") == ErrorCode::kInvalidArchive);
  CHECK(CodeOf(std::string(4096, '\0')) == ErrorCode::kInvalidArchive);
  CHECK(CodeOf(good.substr(0, good.size() - 10)) == ErrorCode::kInvalidArchive);
  CHECK(CodeOf(good.substr(0, good.size() / 2)) == ErrorCode::kInvalidArchive);
  CHECK(CodeOf(good.substr(20)) == ErrorCode::kInvalidArchive);
  std::string flipped = good;
  flipped[flipped.size() - 10] ^= 0x55;  // central directory offset
  CHECK(CodeOf(flipped) == ErrorCode::kInvalidArchive);
}

TEST_CASE("the entry count is refused from the directory", "[protocol][zip]") {
  std::vector<RawEntry> entries;
  for (int i = 0; i < 10000; ++i) entries.push_back(Stored("f" + std::to_string(i), "x"));
  CHECK(MessageOf(BuildZip(entries)).find("more than 8 entries") != std::string::npos);

  entries.resize(9);
  CHECK(CodeOf(BuildZip(entries)) == ErrorCode::kInvalidArchive);
  entries.resize(8);
  CHECK(ReadAllEntries(BuildZip(entries), {}).size() == 8);
  ArchiveLimits two;
  two.max_entries = 2;
  entries.resize(3);
  CHECK(CodeOf(BuildZip(entries), two) == ErrorCode::kInvalidArchive);
}

TEST_CASE("entry names never look like paths", "[protocol][zip]") {
  for (const char* name : {"../evil.sh", "..", "a/b.txt", "/etc/passwd", "dir/", "a\\b.txt", "..\\evil", "C:evil.txt",
                           "c:\\x", "report..xml", "", "tab\tname", "nul\x01name"}) {
    INFO(name);
    CHECK(MessageOf(BuildZip({Stored(name, "x")})).find("name that is not allowed") != std::string::npos);
  }
  CHECK(CodeOf(BuildZip({Stored("bad\xC0\xAF", "x")})) == ErrorCode::kInvalidArchive);  // overlong '/'
  CHECK(ReadAllEntries(BuildZip({Stored("ok-name_1.2.txt", "x"), Stored("\xC3\xA9t\xC3\xA9.log", "y")}), {}).size() == 2);
}

TEST_CASE("duplicate names, encryption, other methods and non-files are refused", "[protocol][zip]") {
  CHECK(MessageOf(BuildZip({Stored("a.txt", "1"), Stored("a.txt", "2")})).find("repeats") != std::string::npos);

  RawEntry encrypted = Stored("report.xml", "ciphertext");
  encrypted.flags = 0x0001;
  CHECK(MessageOf(BuildZip({encrypted})).find("encrypted") != std::string::npos);
  RawEntry strong = Stored("report.xml", "ciphertext");
  strong.flags = 0x0041;
  CHECK(CodeOf(BuildZip({strong})) == ErrorCode::kInvalidArchive);

  for (const std::uint16_t method : {1, 12, 14, 93, 99}) {  // shrink, bzip2, lzma, zstd, AES
    RawEntry e = Stored("report.xml", "data");
    e.method = method;
    INFO(method);
    CHECK(MessageOf(BuildZip({e})).find("compression method") != std::string::npos);
  }

  RawEntry symlink = Stored("link", "/etc/passwd");
  symlink.external_attributes = 0120777U << 16U;
  CHECK(MessageOf(BuildZip({symlink})).find("symbolic link") != std::string::npos);
  RawEntry unix_directory = Stored("dir", "");
  unix_directory.external_attributes = 0040755U << 16U;
  CHECK(CodeOf(BuildZip({unix_directory})) == ErrorCode::kInvalidArchive);
  RawEntry fifo = Stored("report.xml", "<Report/>");  // what `zip - -` records from a pipe
  fifo.external_attributes = 0010600U << 16U;
  CHECK(ReadAllEntries(BuildZip({fifo}), {}).front().data == "<Report/>");
  RawEntry directory = Stored("dir", "");
  directory.host = 0;
  directory.external_attributes = 0x10;
  CHECK(CodeOf(BuildZip({directory})) == ErrorCode::kInvalidArchive);
}

TEST_CASE("overlapping entries are refused before inflating", "[protocol][zip]") {
  // "Quoted" overlap: entry 1's data quotes entry 2's complete local header and data.
  const RawEntry inner = Stored("b.txt", "payload");
  RawEntry outer = Stored("a.txt", "");
  outer.prefix_in_data = LocalHeader(inner, inner.stored.size()) + inner.stored;
  outer.crc = Crc(outer.prefix_in_data);
  outer.declared = outer.prefix_in_data.size();
  RawEntry quoted = inner;
  quoted.central_offset = 30 + outer.name.size();
  const std::string zip = BuildZip({outer, quoted});
  CHECK(MessageOf(zip).find("overlap") != std::string::npos);

  // Full overlap: two directory records for one local header.
  RawEntry twin = Stored("a.txt", "x");
  RawEntry alias = Stored("b.txt", "x");
  alias.central_offset = 0;
  CHECK(CodeOf(BuildZip({twin, alias})) == ErrorCode::kInvalidArchive);

  // A directory that points past the end of the file.
  RawEntry outside = Stored("a.txt", "x");
  outside.central_offset = 1000000;
  CHECK(CodeOf(BuildZip({outside})) == ErrorCode::kInvalidArchive);
}

TEST_CASE("CRC mismatches and wrong declared sizes are invalid_archive", "[protocol][zip]") {
  RawEntry bad_crc = Stored("report.xml", "<Report/>");
  bad_crc.crc = 0x12345678;
  CHECK(MessageOf(BuildZip({bad_crc})).find("corrupt") != std::string::npos);

  RawEntry longer = Stored("report.xml", "<Report/>");
  longer.declared = 100;
  CHECK(CodeOf(BuildZip({longer})) == ErrorCode::kInvalidArchive);

  // Deflate data that inflates to more than declared, with a matching CRC.
  const Bomb small = DeflatedZeros(5000);
  CHECK(CodeOf(BuildZip({DeflateEntry("a.bin", small, 100)})) == ErrorCode::kInvalidArchive);
  CHECK(ReadAllEntries(BuildZip({DeflateEntry("a.bin", small, 5000)}), {}).front().data == std::string(5000, '\0'));

  // Truncated deflate stream.
  RawEntry cut = DeflateEntry("a.bin", small, 5000);
  cut.stored.resize(cut.stored.size() / 2);
  CHECK(CodeOf(BuildZip({cut})) == ErrorCode::kInvalidArchive);
}

TEST_CASE("a zip bomb is stopped by counting inflated bytes", "[protocol][zip][slow]") {
  const Bomb& bomb = GibibyteOfZeros();
  REQUIRE(bomb.compressed.size() < 2 * kMiB);

  // Honest declaration: refused from the directory, at the default limit.
  CHECK(CodeOf(BuildZip({DeflateEntry("report.xml", bomb, 1024 * kMiB)})) == ErrorCode::kPayloadTooLarge);
  // Lying declarations (small, and the zip64 2^62 liar): refused while inflating.
  ArchiveLimits limits;
  limits.max_entry_uncompressed = 4 * kMiB;
  CHECK(CodeOf(BuildZip({DeflateEntry("report.xml", bomb, 2048)}), limits) == ErrorCode::kPayloadTooLarge);
  CHECK(CodeOf(BuildZip({DeflateEntry("report.xml", bomb, 1ULL << 62U)}), limits) == ErrorCode::kPayloadTooLarge);
  try {
    ExtractReportXml(BuildZip({DeflateEntry("report.xml", bomb, 100)}), limits);
    FAIL("accepted");
  } catch (const ProtocolError& error) {
    CHECK(error.code() == ErrorCode::kPayloadTooLarge);
    CHECK(std::string(error.what()).find("too large") != std::string::npos);
  }
}

TEST_CASE("the entry limit is exact and the total limit spans entries", "[protocol][zip]") {
  ArchiveLimits limits;
  limits.max_entry_uncompressed = 1000;
  CHECK(ReadAllEntries(LibzipArchive({{"a", std::string(1000, 'a')}}), limits).front().data.size() == 1000);
  CHECK(CodeOf(LibzipArchive({{"a", std::string(1001, 'a')}}), limits) == ErrorCode::kPayloadTooLarge);

  limits.max_total_uncompressed = 1500;
  CHECK(CodeOf(LibzipArchive({{"a", std::string(1000, 'a')}, {"b", std::string(501, 'b')}}), limits) ==
        ErrorCode::kPayloadTooLarge);
  CHECK(ReadAllEntries(LibzipArchive({{"a", std::string(1000, 'a')}, {"b", std::string(500, 'b')}}), limits).size() ==
        2);
}
