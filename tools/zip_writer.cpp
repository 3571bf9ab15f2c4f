#include "tools/zip_writer.hpp"

#include <zip.h>

#include <memory>

namespace fleetcomm::tools {
namespace {

struct SourceFree {
  void operator()(zip_source_t* source) const { zip_source_free(source); }
};

void Check(bool ok, const char* step) {
  if (!ok) throw ZipWriteError(std::string("zip writer: ") + step + " failed");
}

}  // namespace

std::string WriteZip(const std::vector<std::pair<std::string, std::string>>& files, const ZipOptions& options) {
  zip_error_t error;
  zip_error_init(&error);
  // The buffer source outlives the archive (zip_source_keep) so that the bytes can be read back.
  std::unique_ptr<zip_source_t, SourceFree> sink(zip_source_buffer_create(nullptr, 0, 0, &error));
  zip_error_fini(&error);
  Check(sink != nullptr, "buffer");
  zip_source_keep(sink.get());
  zip_t* archive = zip_open_from_source(sink.get(), ZIP_TRUNCATE, nullptr);
  Check(archive != nullptr, "open");
  for (const auto& [name, data] : files) {
    zip_source_t* source = zip_source_buffer(archive, data.data(), data.size(), 0);
    const zip_int64_t index = source == nullptr ? -1 : zip_file_add(archive, name.c_str(), source, ZIP_FL_ENC_UTF_8);
    if (index < 0) {
      if (source != nullptr) zip_source_free(source);
      zip_discard(archive);
      throw ZipWriteError("zip writer: cannot add " + name);
    }
    if (zip_set_file_compression(archive, static_cast<zip_uint64_t>(index), options.deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE,
                                 0) != 0) {
      zip_discard(archive);
      throw ZipWriteError("zip writer: cannot set compression");
    }
  }
  if (!options.comment.empty() &&
      zip_set_archive_comment(archive, options.comment.data(), static_cast<zip_uint16_t>(options.comment.size())) != 0) {
    zip_discard(archive);
    throw ZipWriteError("zip writer: cannot set the comment");
  }
  if (zip_close(archive) != 0) {
    zip_discard(archive);
    throw ZipWriteError("zip writer: close failed");
  }
  Check(zip_source_open(sink.get()) == 0, "reopen");
  Check(zip_source_seek(sink.get(), 0, SEEK_END) == 0, "seek");
  const zip_int64_t size = zip_source_tell(sink.get());
  Check(size >= 0 && zip_source_seek(sink.get(), 0, SEEK_SET) == 0, "tell");
  std::string bytes(static_cast<std::size_t>(size), '\0');
  const bool complete = zip_source_read(sink.get(), bytes.data(), bytes.size()) == size;
  zip_source_close(sink.get());
  Check(complete, "read back");
  return bytes;
}

}  // namespace fleetcomm::tools
