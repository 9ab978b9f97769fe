// FileTree: the image's file system as it is assembled, in memory, before it becomes an initramfs.
//
// Paths are normalised and relative ("usr/bin/x"). Adding a path implies its parent directories
// (0755). Nodes remember where they came from (a source name and member path) so a manifest and
// `verify` can say which input a file inherits from. Extraction from tarballs refuses absolute
// paths, "..", device nodes, FIFOs and symlinks whose relative target climbs out of the tree,
// and bounds entry and total sizes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tdxrt/bytes.h"
#include "tdxrt/status.h"

namespace tdximage {

struct TreeNode {
  enum class Type { kFile, kDirectory, kSymlink };
  Type type = Type::kFile;
  std::uint32_t mode = 0;                    // permission bits (07777)
  std::shared_ptr<const tdxrt::Bytes> data;  // files
  std::string target;                        // symlinks
  std::string origin;                        // "source:member" or "generated"
};

class FileTree {
 public:
  inline static constexpr std::uint64_t kMaxTotalSize = 4ull << 30;

  // Each Add* replaces an existing non-directory node at `path`; adding over a directory, or a
  // directory over a file, is an error.
  tdxrt::Status AddFile(std::string_view path, tdxrt::Bytes data, std::uint32_t mode,
                        std::string origin);
  tdxrt::Status AddFile(std::string_view path, std::shared_ptr<const tdxrt::Bytes> data,
                        std::uint32_t mode, std::string origin);
  tdxrt::Status AddDirectory(std::string_view path, std::uint32_t mode = 0755);
  tdxrt::Status AddSymlink(std::string_view path, std::string target, std::string origin);

  // Extracts every entry of a tar stream (any compression) below `dest` ("" = root). Only
  // entries under `member_prefix` (normalised; "" = all) are taken, with that prefix removed.
  tdxrt::Status AddTar(tdxrt::ByteSpan tar, std::string_view member_prefix, std::string_view dest,
                       std::string_view origin);

  const TreeNode* Find(std::string_view path) const;

  const std::map<std::string, TreeNode>& nodes() const { return nodes_; }
  std::uint64_t total_file_bytes() const { return total_; }

 private:
  tdxrt::Status Put(const std::string& path, TreeNode node);
  std::map<std::string, TreeNode> nodes_;
  std::uint64_t total_ = 0;
};

// Joins and normalises (resolving "." and ".."; never above the root) an in-tree path.
std::string JoinTreePath(std::string_view base_dir, std::string_view rel);

}  // namespace tdximage
