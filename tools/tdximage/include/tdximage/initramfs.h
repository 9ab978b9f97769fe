// Deterministic initramfs: a FileTree written as cpio newc through libarchive, then compressed.
//
// Reproducibility rules (the same tree gives the same bytes on any machine; with zstd or gzip,
// only on machines with the same libzstd/zlib version, whose compressed output changes between
// releases, so stable-gzip, this project's own encoder (deflate.h), is what recipes published
// for others should use): entries sorted by path (parents before children), every
// directory present, mtime = SOURCE_DATE_EPOCH (default 0), uid/gid 0, inode numbers 1..n in
// path order, nlink 2 for directories and 1 otherwise, modes normalised (directories 0755,
// files 0755 when any execute bit is set else 0644, symlinks 0777) unless the recipe set an
// explicit mode, no padding past the trailer; gzip without a timestamp or name, zstd frames
// without content size or checksum (libarchive's defaults).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "tdximage/tree.h"

namespace tdximage {

enum class Compression { kZstd, kGzip, kStableGzip, kNone };
std::string_view CompressionName(Compression c);  // "zstd" / "gzip" / "stable-gzip" / "none"
std::optional<Compression> ParseCompression(std::string_view name);
std::string_view CompressionSuffix(Compression c);  // ".zst" / ".gz" / ".gz" / ""
// What produced the compressed bytes: "libzstd 1.5.4", "zlib 1.2.13" (this machine's library,
// whose output differs between its releases), "tdximage stable-gzip 1" or "none". Recorded in
// the manifest so that verify can name it.
std::string CompressorVersion(Compression c);

struct InitramfsOptions {
  Compression compression = Compression::kZstd;
  int level = 19;
  std::int64_t mtime = 0;
  // Paths whose mode is kept exactly as given (explicit modes from the recipe).
  std::vector<std::string> explicit_modes;
};

// Normalised mode for a node (see above).
std::uint32_t NormalisedMode(const TreeNode& node);

tdxrt::Result<tdxrt::Bytes> WriteInitramfs(const FileTree& tree, const InitramfsOptions& options);

// Reads a (compressed) cpio archive back into a tree: for inspect, verify and tests.
tdxrt::Result<FileTree> ReadInitramfs(tdxrt::ByteSpan data);

}  // namespace tdximage
