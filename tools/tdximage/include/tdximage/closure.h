// The shared-library closure of an ELF binary, resolved the way the dynamic loader would:
// PT_INTERP, then DT_NEEDED breadth first, searching DT_RPATH (when there is no DT_RUNPATH),
// DT_RUNPATH ($ORIGIN expanded), then the loader's system directories: glibc reads
// /etc/ld.so.conf (with its includes) and then /lib/x86_64-linux-gnu, /usr/lib/x86_64-linux-gnu,
// /lib64, /usr/lib64, /lib, /usr/lib; musl (interpreter ld-musl-*) reads
// /etc/ld-musl-x86_64.path or /lib, /usr/local/lib, /usr/lib.
//
// The closure is resolved inside a RootView: the build host ("/") for binaries we ship from the
// host, or the image tree for binaries the image already holds (then it is a check that every
// library is present). Files are placed at the path the loader looks them up by, with their
// content (symlinks dereferenced), so the image needs no host directory layout.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tdximage/tree.h"

namespace tdximage {

class RootView {
 public:
  virtual ~RootView() = default;
  virtual std::string Describe() const = 0;  // "the build host" / "the image"
  // Type of `abs` without following a final symlink; nullopt if absent.
  virtual std::optional<TreeNode::Type> Type(const std::string& abs) const = 0;
  virtual tdxrt::Result<std::string> ReadLink(const std::string& abs) const = 0;
  virtual tdxrt::Result<std::shared_ptr<const tdxrt::Bytes>> Read(const std::string& abs) const = 0;
  virtual std::vector<std::string> List(const std::string& abs_dir) const = 0;

  // Follows symlinks in every component; NotFound for missing paths.
  tdxrt::Result<std::string> RealPath(const std::string& abs) const;
};

std::unique_ptr<RootView> MakeHostRootView(std::string root = "/");
std::unique_ptr<RootView> MakeTreeRootView(const FileTree& tree);

struct ClosureFile {
  std::string path;  // absolute, where it goes in the image
  std::shared_ptr<const tdxrt::Bytes> data;
  std::string found_at;  // real path in the view
};

// The binary's interpreter and libraries (not the binary itself). A static binary has none.
tdxrt::Result<std::vector<ClosureFile>> ElfClosure(const RootView& view,
                                                   const std::string& binary_abs);

}  // namespace tdximage
