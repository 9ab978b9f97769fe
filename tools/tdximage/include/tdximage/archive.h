// In-process archive reading through libarchive: Debian packages (.deb = ar archive holding
// debian-binary, control.tar.* and data.tar.{xz,zst,gz}) and plain tarballs.
//
// Nothing here shells out (no ar, tar or dpkg-deb), so what we extract is exactly what the
// hashed package holds. Entry paths are normalised ("./usr/x" -> "usr/x") and checked: absolute
// paths and ".." components are refused, sizes are bounded.
//
// Decompression bombs: everything unpacked is bounded by UnpackLimit of what was packed, entry
// sizes a header declares are checked before any data is read, and memory grows only with the
// bytes that actually arrive (in chunks of at most 1 MiB), never with what a header claims.
// Allocation failure is reported as an error naming what was being unpacked.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tdxrt/bytes.h"
#include "tdxrt/status.h"

struct archive;

namespace tdximage {

// Writing: opens libarchive writer `a` (its format and filters set) so that every byte it writes
// is appended to `*out`; libarchive's return code. For archives built in memory (the launcher's
// payload, Debian packages).
int OpenArchiveToBytes(archive* a, tdxrt::Bytes* out);

enum class EntryType { kFile, kDirectory, kSymlink, kHardlink, kOther };

struct ArchiveEntry {
  std::string path;  // normalised, relative, no trailing slash
  EntryType type = EntryType::kFile;
  std::uint32_t mode = 0;  // permission bits
  std::uint64_t size = 0;
  std::string link_target;  // symlink or hardlink target
};

inline constexpr std::uint64_t kMaxEntrySize = 2ull << 30;  // 2 GiB

// How far `packed` bytes may unpack: 32 times their size, at least 64 MiB, at most 4 GiB. Real
// inputs unpack 1-3 times (Debian's 6.12 cloud kernel package 1.04, busybox-static 2.2, the
// Alpine minirootfs 2.3, an initramfs at zstd-19 about 3); a bomb unpacks thousands of times.
std::uint64_t UnpackLimit(std::uint64_t packed);

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

// Decompresses xz, zstd, gzip or bzip2 data (or returns uncompressed data unchanged), bounded:
// more than max_size bytes of output is an error. The default bound is UnpackLimit(data.size()).
tdxrt::Result<tdxrt::Bytes> Decompress(tdxrt::ByteSpan data, std::uint64_t max_size = 0);

// Every regular file of a tar stream (any compression), in one pass, in archive order: refused
// when an entry declares more than max_entry bytes or the files total more than max_total
// (defaults: kMaxEntrySize and UnpackLimit(tar.size())).
struct TarFile {
  std::string path;
  tdxrt::Bytes data;
};
tdxrt::Result<std::vector<TarFile>> ReadTarFiles(tdxrt::ByteSpan tar, std::uint64_t max_total = 0,
                                                 std::uint64_t max_entry = kMaxEntrySize);

}  // namespace tdximage
