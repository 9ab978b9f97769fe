// In-process archive reading through libarchive: Debian packages (.deb = ar archive holding
// debian-binary, control.tar.* and data.tar.{xz,zst,gz}) and plain tarballs.
//
// Nothing here shells out (no ar, tar or dpkg-deb), so what we extract is exactly what the
// hashed package holds. Entry paths are normalised ("./usr/x" -> "usr/x") and checked: absolute
// paths and ".." components are refused, sizes are bounded.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tdxrt/bytes.h"
#include "tdxrt/status.h"

namespace tdximage {

enum class EntryType { kFile, kDirectory, kSymlink, kHardlink, kOther };

struct ArchiveEntry {
  std::string path;  // normalised, relative, no trailing slash
  EntryType type = EntryType::kFile;
  std::uint32_t mode = 0;  // permission bits
  std::uint64_t size = 0;
  std::string link_target;  // symlink or hardlink target
};

inline constexpr std::uint64_t kMaxEntrySize = 2ull << 30;  // 2 GiB

// Normalises an archive path; errors on absolute paths, ".." and empty names.
tdxrt::Result<std::string> NormaliseArchivePath(std::string_view raw);

// Extracts the data.tar.* member of a .deb into memory (still compressed).
tdxrt::Result<tdxrt::Bytes> DebDataTar(tdxrt::ByteSpan deb);

// True when `data` is a tar stream (any compression): its first header reads. Says nothing
// about whether its entries are safe; extraction checks that.
bool LooksLikeTar(tdxrt::ByteSpan data);

// Lists a tar archive (any compression libarchive knows).
tdxrt::Result<std::vector<ArchiveEntry>> ListTar(tdxrt::ByteSpan tar);

// Reads one regular file from a tar archive. NotFound if absent; an error if it is not a regular
// file (symlinks are not followed: name the target instead).
tdxrt::Result<tdxrt::Bytes> ReadTarMember(tdxrt::ByteSpan tar, std::string_view path,
                                          std::uint64_t max_size = kMaxEntrySize);

// Convenience: one regular file from a .deb's data.tar.
tdxrt::Result<tdxrt::Bytes> ReadDebMember(tdxrt::ByteSpan deb, std::string_view path,
                                          std::uint64_t max_size = kMaxEntrySize);

// Decompresses xz, zstd, gzip or bzip2 data (or returns uncompressed data unchanged), bounded.
tdxrt::Result<tdxrt::Bytes> Decompress(tdxrt::ByteSpan data,
                                       std::uint64_t max_size = kMaxEntrySize);

}  // namespace tdximage
