// The hermetic build root: a Debian file system assembled in-process from exact, locked packages,
// and commands run inside it isolated from the host.
//
// Why not debootstrap or mmdebstrap: they run dpkg and maintainer scripts on the host and resolve
// versions at build time; here every byte of the root comes from a package the lock pins by
// sha256, unpacked with libarchive (as kernels are), so the root is the same on any Linux machine.
// No maintainer script runs: a toolchain that needs one (an alternatives symlink, a generated
// cache) is not supported, and the packages' own files are enough for gcc, cmake and ninja.
//
// Layout: Debian's merged /usr (bin, sbin, lib, lib64 are symlinks into usr/, as bookworm and
// trixie install it), so packages that still ship /lib/... and those that moved to /usr/lib/...
// meet in one place. Added on top: /build/src (the source), /build/home, /tmp, /proc and /dev
// mount points, and a one-line /etc/passwd and /etc/group for root.
//
// Isolation (RunIsolated): new user, mount, PID, UTS, IPC and network namespaces (the user
// namespace even for root: mounts made in a mount namespace it owns never propagate back to the
// host, even when tdximage itself runs in a chroot), chroot into the root, /proc of the new PID
// namespace, a /dev holding only null, zero, full, random and urandom, hostname "tdximage-build",
// umask 022, and an environment made only of the fixed variables the caller gives. The network
// namespace has only a loopback device that is down: nothing inside can reach any address, the
// host's loopback included.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tdximage/tree.h"
#include "tdxrt/bytes.h"
#include "tdxrt/status.h"

namespace tdximage {

struct RootPackage {
  std::string name;  // for messages and file origins
  std::shared_ptr<const tdxrt::Bytes> deb;
};

// Unpacks every package's data.tar into one tree in the merged-/usr layout. Files keep their
// permission bits (setuid and setgid dropped); each node's origin names its package.
tdxrt::Result<FileTree> AssembleBuildRoot(const std::vector<RootPackage>& packages);

// Writes `tree` into `dir`, which must exist and be empty. Nothing is followed: every path is
// created below `dir` by this call.
tdxrt::Status WriteTree(const FileTree& tree, const std::filesystem::path& dir);

struct IsolatedCommands {
  std::filesystem::path root;          // the build root on disk
  std::string workdir = "/build/src";  // inside the root
  std::vector<std::string> commands;   // each as /bin/sh -euc COMMAND
  std::vector<std::pair<std::string, std::string>> env;
  std::string hostname = "tdximage-build";
  // Called with each line the commands print (stdout and stderr together); may be empty.
  std::function<void(const std::string&)> line;
};

// Runs the commands in order inside `root`, isolated as described above; stops at the first that
// fails, naming it with its exit status and the last lines it printed. A kernel that refuses a
// namespace is reported naming the namespace and what to enable.
tdxrt::Status RunIsolated(const IsolatedCommands& run);

// Reads a regular file of the build root after the commands ran, resolving `abs` inside the root
// (symlinks the commands made cannot lead out of it). Refuses anything but a regular file.
tdxrt::Result<tdxrt::Bytes> ReadInRoot(const std::filesystem::path& root, const std::string& abs,
                                       std::uint64_t max_size);

}  // namespace tdximage
