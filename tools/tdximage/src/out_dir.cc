// Atomic replacement of out/<name> (see include/tdximage/out_dir.h).
#include "tdximage/out_dir.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace tdximage {

namespace fs = std::filesystem;
using tdxrt::Status;

DirRenames DirRenames::System() {
  return DirRenames{
      [](const fs::path& a, const fs::path& b) {
        return ::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) == 0 ? 0
                                                                                           : errno;
      },
      [](const fs::path& a, const fs::path& b) {
        return ::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_NOREPLACE) == 0 ? 0
                                                                                            : errno;
      }};
}

fs::path StagingDirFor(const fs::path& out_root, const std::string& name) {
  return out_root / ("." + name + ".partial-" + std::to_string(::getpid()));
}

std::size_t RemoveStaleStaging(const fs::path& out_root, const std::string& name) {
  std::size_t removed = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(out_root, ec)) {
    const std::string f = e.path().filename().string();
    for (const std::string kind : {".partial-", ".old-"}) {
      const std::string prefix = "." + name + kind;
      if (f.size() <= prefix.size() || f.compare(0, prefix.size(), prefix) != 0) continue;
      int pid = 0;
      const char* first = f.data() + prefix.size();
      const char* last = f.data() + f.size();
      auto [end, err] = std::from_chars(first, last, pid);
      if (err != std::errc() || end != last || pid <= 0) continue;
      // Gone (ESRCH): a killed or crashed build. Anything else, ours included, is left alone.
      if (::kill(pid, 0) == 0 || errno != ESRCH) continue;
      std::error_code rm;
      fs::remove_all(e.path(), rm);
      if (!rm) ++removed;
    }
  }
  return removed;
}

namespace {
std::string Why(int err) { return std::strerror(err); }
}  // namespace

Status ReplaceDirectory(const fs::path& staged, const fs::path& final, const DirRenames& renames) {
  std::error_code ec;
  auto drop_staged = [&] { fs::remove_all(staged, ec); };
  const bool previous = fs::symlink_status(final, ec).type() != fs::file_type::not_found;
  if (!previous) {
    if (int err = renames.move(staged, final); err != 0) {
      drop_staged();
      return Status::IoError(final.string() + ": cannot rename " + staged.filename().string() +
                             " into place: " + Why(err));
    }
    return Status::Ok();
  }
  int err = renames.exchange(staged, final);
  if (err == 0) {
    fs::remove_all(staged, ec);  // now the previous build
    return Status::Ok();
  }
  if (err != EINVAL && err != ENOSYS && err != ENOTSUP) {
    drop_staged();
    return Status::IoError(final.string() + ": cannot exchange it with " +
                           staged.filename().string() + ": " + Why(err) +
                           " (the previous build is unchanged)");
  }
  // No RENAME_EXCHANGE on this file system: move the previous build aside, and back on failure.
  const fs::path aside = final.parent_path() /
                         ("." + final.filename().string() + ".old-" + std::to_string(::getpid()));
  fs::remove_all(aside, ec);
  if (int e = renames.move(final, aside); e != 0) {
    drop_staged();
    return Status::IoError(final.string() + ": cannot move the previous build aside: " + Why(e));
  }
  if (int e = renames.move(staged, final); e != 0) {
    const int back = renames.move(aside, final);
    drop_staged();
    return Status::IoError(final.string() + ": cannot rename " + staged.filename().string() +
                           " into place: " + Why(e) +
                           (back == 0 ? " (the previous build is back in place)"
                                      : " (and the previous build could not be moved back from " +
                                            aside.string() + ": " + Why(back) + ")"));
  }
  fs::remove_all(aside, ec);
  return Status::Ok();
}

}  // namespace tdximage
