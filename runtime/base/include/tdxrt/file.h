// Whole-file reads with a size bound, and atomic writes (temp file in the same directory,
// fsync, rename), so a crash or a full disk never leaves a half-written output in place.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "tdxrt/bytes.h"

namespace tdxrt {

// The OS reason for the last failed call (strerror(errno)), for error messages.
std::string Errno();

inline constexpr std::uint64_t kDefaultMaxFileSize = 4ull << 30;  // 4 GiB

// Errors name the path and the OS reason. A file larger than max_size is refused before reading.
Result<Bytes> ReadFile(const std::filesystem::path& path,
                       std::uint64_t max_size = kDefaultMaxFileSize);

// The same for a file the caller has opened (and checked: what it is, where it is); `path`
// names it in errors. The descriptor stays open.
Result<Bytes> ReadOpenFile(int fd, const std::filesystem::path& path,
                           std::uint64_t max_size = kDefaultMaxFileSize);

// A read-only view of a whole file: mmap for regular files (no copy, no zero-fill: large
// initrds hash at SHA-384 speed), a heap copy for anything else. Movable, not copyable.
// REQUIRES: the file is not truncated by someone else while mapped (SIGBUS otherwise); inputs
// the tools measure are the user's own files.
class MappedFile {
 public:
  static Result<MappedFile> Open(const std::filesystem::path& path,
                                 std::uint64_t max_size = kDefaultMaxFileSize);
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  ByteSpan bytes() const { return map_ != nullptr ? ByteSpan(map_, size_) : ByteSpan(copy_); }
  std::size_t size() const { return bytes().size(); }

 private:
  MappedFile() = default;
  const std::uint8_t* map_ = nullptr;
  std::size_t size_ = 0;
  Bytes copy_;
};

// Creates a new private directory (mode 0700, a name nobody can predict: mkdtemp) under $TMPDIR
// (or /tmp), named <prefix>XXXXXX. The caller removes it.
Result<std::filesystem::path> MakeTempDir(std::string_view prefix);

// Writes `data` to `path` atomically with the given permission bits.
Status WriteFileAtomic(const std::filesystem::path& path, ByteSpan data, unsigned mode = 0644);
Status WriteFileAtomic(const std::filesystem::path& path, std::string_view text,
                       unsigned mode = 0644);

}  // namespace tdxrt
