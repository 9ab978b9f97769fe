// Where a build's outputs land: out/<name>/ is replaced in one step, or not at all.
//
// A build writes into out/.<name>.partial-<pid>/ and, when every output is written, swaps it
// with out/<name>/ (renameat2 RENAME_EXCHANGE: readers see the old directory or the new one,
// never none), then removes what it swapped out. Where the file system cannot exchange, the
// previous build is moved aside to out/.<name>.old-<pid>/ and moved back if the rename fails.
// Directories of these two forms whose process is gone (a killed build) are removed by the
// next build of the same image.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "tdxrt/status.h"

namespace tdximage {

// The rename(2)-like calls ReplaceDirectory makes: exchange two paths atomically, or move one
// to a free name. Each returns 0 or an errno value. A seam for tests.
struct DirRenames {
  std::function<int(const std::filesystem::path&, const std::filesystem::path&)> exchange;
  std::function<int(const std::filesystem::path&, const std::filesystem::path&)> move;
  static DirRenames System();
};

// out_root/.<name>.partial-<pid> for this process.
std::filesystem::path StagingDirFor(const std::filesystem::path& out_root, const std::string& name);

// Removes out_root/.<name>.partial-<pid> and .old-<pid> directories whose process no longer
// exists; returns how many.
std::size_t RemoveStaleStaging(const std::filesystem::path& out_root, const std::string& name);

// Puts `staged` at `final` (replacing a previous directory there) and removes what was there.
// On failure `staged` is removed and a previous `final` is left in place; the error says which
// step failed and why.
tdxrt::Status ReplaceDirectory(const std::filesystem::path& staged,
                               const std::filesystem::path& final,
                               const DirRenames& renames = DirRenames::System());

}  // namespace tdximage
