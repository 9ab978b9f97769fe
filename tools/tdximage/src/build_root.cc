// The hermetic build root (see include/tdximage/build_root.h).
#include "tdximage/build_root.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>

#include "tdximage/archive.h"
#include "tdxrt/file.h"

namespace tdximage {

namespace fs = std::filesystem;
using tdxrt::Bytes;
using tdxrt::Result;
using tdxrt::Status;

namespace {

// Top-level directories Debian's merged /usr turns into symlinks (usr-is-merged).
constexpr const char* kMerged[] = {"bin", "sbin", "lib", "lib64"};

std::string MergedPath(const std::string& path) {
  for (const char* top : kMerged) {
    const std::string t(top);
    if (path == t || path.rfind(t + "/", 0) == 0) return "usr/" + path;
  }
  return path;
}

}  // namespace

Result<FileTree> AssembleBuildRoot(const std::vector<RootPackage>& packages) {
  FileTree unpacked;
  for (const auto& p : packages) {
    auto tar = DebDataTar(*p.deb);
    if (!tar.ok()) return tar.status().WithContext("toolchain package " + p.name);
    TDX_TRY(unpacked.AddTar(*tar, "", "", p.name).WithContext("toolchain package " + p.name));
  }
  FileTree root;
  for (const char* top : kMerged) {
    TDX_TRY(root.AddDirectory(std::string("usr/") + top, 0755));
    TDX_TRY(root.AddSymlink(top, std::string("usr/") + top, "generated"));
  }
  for (const auto& [path, node] : unpacked.nodes()) {
    const std::string to = MergedPath(path);
    if (to == "usr/bin" || to == "usr/sbin" || to == "usr/lib" || to == "usr/lib64") continue;
    switch (node.type) {
      case TreeNode::Type::kDirectory:
        TDX_TRY(root.AddDirectory(to, node.mode & 0777));
        break;
      case TreeNode::Type::kSymlink:
        TDX_TRY(root.AddSymlink(to, node.target, node.origin));
        break;
      case TreeNode::Type::kFile:
        TDX_TRY(root.AddFile(to, node.data, node.mode & 0777, node.origin));
        break;
    }
  }
  for (const char* d : {"build", "build/src", "build/home", "proc", "dev", "etc"})
    TDX_TRY(root.AddDirectory(d, 0755));
  TDX_TRY(root.AddDirectory("tmp", 01777));
  const std::string passwd = "root:x:0:0:root:/build/home:/bin/sh\n";
  const std::string group = "root:x:0:\n";
  TDX_TRY(root.AddFile("etc/passwd", Bytes(passwd.begin(), passwd.end()), 0644, "generated"));
  TDX_TRY(root.AddFile("etc/group", Bytes(group.begin(), group.end()), 0644, "generated"));
  return root;
}

Status WriteTree(const FileTree& tree, const fs::path& dir) {
  const int root = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (root < 0) return Status::IoError(dir.string() + ": " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{root};
  auto fail = [&](const std::string& path, const char* op) {
    return Status::IoError((dir / path).string() + ": " + op + ": " + std::strerror(errno));
  };
  // Directories are made writable while the tree is written and get their modes at the end.
  std::vector<std::pair<std::string, std::uint32_t>> dir_modes;
  for (const auto& [path, node] : tree.nodes()) {
    switch (node.type) {
      case TreeNode::Type::kDirectory:
        if (::mkdirat(root, path.c_str(), 0755) != 0 && errno != EEXIST) return fail(path, "mkdir");
        dir_modes.emplace_back(path, node.mode);
        break;
      case TreeNode::Type::kSymlink:
        if (::symlinkat(node.target.c_str(), root, path.c_str()) != 0) return fail(path, "symlink");
        break;
      case TreeNode::Type::kFile: {
        const int fd = ::openat(root, path.c_str(),
                                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) return fail(path, "create");
        const Bytes& d = *node.data;
        std::size_t done = 0;
        while (done < d.size()) {
          const ssize_t n = ::write(fd, d.data() + done, d.size() - done);
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) {
            ::close(fd);
            return fail(path, "write");
          }
          done += static_cast<std::size_t>(n);
        }
        if (::fchmod(fd, node.mode & 0777) != 0) {
          ::close(fd);
          return fail(path, "chmod");
        }
        ::close(fd);
        break;
      }
    }
  }
  for (auto it = dir_modes.rbegin(); it != dir_modes.rend(); ++it) {
    if (::fchmodat(root, it->first.c_str(), it->second & 07777, 0) != 0)
      return fail(it->first, "chmod");
  }
  return Status::Ok();
}

namespace {

// Everything the child processes need, prepared before fork (nothing allocates after it).
struct Prepared {
  std::string root, proc, dev, workdir, hostname;
  std::vector<std::string> dev_nodes_host, dev_nodes_root;
  std::vector<std::string> dev_links_root, dev_links_target;
  std::vector<std::vector<std::string>> argv_strings;
  std::vector<std::vector<char*>> argvs;
  std::vector<std::string> env_strings;
  std::vector<char*> envp;
  std::string uid_map, gid_map;
};

[[noreturn]] void Die(int fd, const char* what, int err) {
  char buf[512];
  const int n = std::snprintf(buf, sizeof buf, "%s: %s", what, std::strerror(err));
  if (n > 0) {
    const ssize_t w = ::write(fd, buf, static_cast<std::size_t>(n));
    (void)w;
  }
  ::_exit(125);
}

void WriteProcFile(int errfd, const char* path, const std::string& content) {
  const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || ::write(fd, content.data(), content.size()) != static_cast<ssize_t>(content.size()))
    Die(errfd, path, errno);
  ::close(fd);
}

int WaitFor(pid_t pid) {
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(-1, &status, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return 126;
    if (r == pid) break;  // reap other exits (we are PID 1 of the namespace) until ours
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// PID 1 of the new PID namespace: mounts, chroot, then each command in turn. It dies with its
// parent, and the kernel then kills every process of the namespace: nothing of a build outlives
// the tdximage that started it.
[[noreturn]] void RunInNamespace(const Prepared& p, int out, int errfd) {
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) Die(errfd, "prctl(PR_SET_PDEATHSIG)", errno);
  if (::mount("proc", p.proc.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
    Die(errfd, "mount /proc in the build root", errno);
  if (::mount("tmpfs", p.dev.c_str(), "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") != 0)
    Die(errfd, "mount /dev in the build root", errno);
  for (std::size_t i = 0; i < p.dev_nodes_root.size(); ++i) {
    const int fd = ::open(p.dev_nodes_root[i].c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) Die(errfd, "create a /dev node in the build root", errno);
    ::close(fd);
    if (::mount(p.dev_nodes_host[i].c_str(), p.dev_nodes_root[i].c_str(), nullptr, MS_BIND,
                nullptr) != 0)
      Die(errfd, "bind-mount a /dev node into the build root", errno);
  }
  for (std::size_t i = 0; i < p.dev_links_root.size(); ++i) {
    if (::symlink(p.dev_links_target[i].c_str(), p.dev_links_root[i].c_str()) != 0)
      Die(errfd, "symlink in the build root's /dev", errno);
  }
  if (::sethostname(p.hostname.data(), p.hostname.size()) != 0) Die(errfd, "sethostname", errno);
  if (::chroot(p.root.c_str()) != 0) Die(errfd, "chroot into the build root", errno);
  if (::chdir(p.workdir.c_str()) != 0) Die(errfd, "chdir to the build directory", errno);
  ::umask(022);
  const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0) Die(errfd, "/dev/null in the build root", errno);
  for (std::size_t i = 0; i < p.argvs.size(); ++i) {
    const pid_t pid = ::fork();
    if (pid < 0) Die(errfd, "fork", errno);
    if (pid == 0) {
      ::dup2(devnull, 0);
      ::dup2(out, 1);
      ::dup2(out, 2);
      ::execve("/bin/sh", p.argvs[i].data(), const_cast<char* const*>(p.envp.data()));
      const char msg[] = "tdximage: the build root has no /bin/sh (list dash in the toolchain)\n";
      const ssize_t w = ::write(2, msg, sizeof msg - 1);
      (void)w;
      ::_exit(127);
    }
    const int rc = WaitFor(pid);
    if (rc != 0) {
      char buf[64];
      const int n = std::snprintf(buf, sizeof buf, "#%zu %d", i + 1, rc);
      const ssize_t w = ::write(errfd, buf, static_cast<std::size_t>(n));
      (void)w;
      ::_exit(1);
    }
  }
  ::_exit(0);
}

// The first child: enters the namespaces, then forks PID 1 of the new PID namespace.
[[noreturn]] void EnterNamespaces(const Prepared& p, int out, int errfd, pid_t parent) {
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) Die(errfd, "prctl(PR_SET_PDEATHSIG)", errno);
  if (::getppid() != parent) ::_exit(125);  // tdximage is already gone
  // A user namespace first, even for root: the mount namespace it owns is "less privileged",
  // so the kernel makes every mount it copies a slave and nothing mounted in it can propagate
  // back to the host, including inside a chroot, where "/" is no mount point to make private.
  if (::unshare(CLONE_NEWUSER) != 0) Die(errfd, "user namespace (CLONE_NEWUSER)", errno);
  WriteProcFile(errfd, "/proc/self/setgroups", "deny");
  WriteProcFile(errfd, "/proc/self/uid_map", p.uid_map);
  WriteProcFile(errfd, "/proc/self/gid_map", p.gid_map);
  const struct {
    int flag;
    const char* name;
  } kNamespaces[] = {{CLONE_NEWNS, "mount namespace (CLONE_NEWNS)"},
                     {CLONE_NEWPID, "PID namespace (CLONE_NEWPID)"},
                     {CLONE_NEWNET, "network namespace (CLONE_NEWNET)"},
                     {CLONE_NEWUTS, "UTS namespace (CLONE_NEWUTS)"},
                     {CLONE_NEWIPC, "IPC namespace (CLONE_NEWIPC)"}};
  for (const auto& ns : kNamespaces) {
    if (::unshare(ns.flag) != 0) Die(errfd, ns.name, errno);
  }
  // EINVAL: "/" is no mount point (a chroot); the user namespace already cut propagation.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 && errno != EINVAL)
    Die(errfd, "make the mount namespace private", errno);
  const pid_t pid = ::fork();
  if (pid < 0) Die(errfd, "fork into the PID namespace", errno);
  if (pid == 0) RunInNamespace(p, out, errfd);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

}  // namespace

Status RunIsolated(const IsolatedCommands& run) {
  Prepared p;
  p.root = run.root.string();
  p.proc = (run.root / "proc").string();
  p.dev = (run.root / "dev").string();
  p.workdir = run.workdir;
  p.hostname = run.hostname;
  for (const char* d : {"null", "zero", "full", "random", "urandom"}) {
    p.dev_nodes_host.push_back(std::string("/dev/") + d);
    p.dev_nodes_root.push_back(p.dev + "/" + d);
  }
  for (const auto& [name, target] :
       std::vector<std::pair<std::string, std::string>>{{"fd", "/proc/self/fd"},
                                                        {"stdin", "/proc/self/fd/0"},
                                                        {"stdout", "/proc/self/fd/1"},
                                                        {"stderr", "/proc/self/fd/2"}}) {
    p.dev_links_root.push_back(p.dev + "/" + name);
    p.dev_links_target.push_back(target);
  }
  for (const auto& c : run.commands) p.argv_strings.push_back({"/bin/sh", "-euc", c});
  for (auto& a : p.argv_strings) {
    std::vector<char*> v;
    for (auto& s : a) v.push_back(s.data());
    v.push_back(nullptr);
    p.argvs.push_back(std::move(v));
  }
  for (const auto& [k, v] : run.env) p.env_strings.push_back(k + "=" + v);
  for (auto& s : p.env_strings) p.envp.push_back(s.data());
  p.envp.push_back(nullptr);
  p.uid_map = "0 " + std::to_string(::geteuid()) + " 1";
  p.gid_map = "0 " + std::to_string(::getegid()) + " 1";

  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
    return Status::IoError(std::string("pipe: ") + std::strerror(errno));
  const pid_t self = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return Status::IoError(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::close(out[0]);
    ::close(err[0]);
    EnterNamespaces(p, out[1], err[1], self);
  }
  ::close(out[1]);
  ::close(err[1]);
  // Output: handed on line by line; the last lines are kept for the error message.
  std::deque<std::string> tail;
  std::string partial;
  auto emit = [&](const std::string& line) {
    if (run.line) run.line(line);
    tail.push_back(line);
    if (tail.size() > 40) tail.pop_front();
  };
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    partial.append(buf, static_cast<std::size_t>(n));
    for (std::size_t nl; (nl = partial.find('\n')) != std::string::npos;) {
      emit(partial.substr(0, nl));
      partial.erase(0, nl + 1);
    }
    if (partial.size() > 65536) {
      emit(partial);
      partial.clear();
    }
  }
  if (!partial.empty()) emit(partial);
  ::close(out[0]);
  std::string failure;
  for (;;) {
    const ssize_t n = ::read(err[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    failure.append(buf, static_cast<std::size_t>(n));
  }
  ::close(err[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (rc == 0) return Status::Ok();
  std::string last;
  for (const auto& l : tail) last += "\n  | " + l;
  if (!failure.empty() && failure[0] == '#') {
    // "#N RC": command N failed.
    const std::size_t index = std::stoul(failure.substr(1));
    const std::string code = failure.substr(failure.find(' ') + 1);
    const std::string& cmd = run.commands.at(index - 1);
    return Status::IoError("build command " + std::to_string(index) + " of " +
                           std::to_string(run.commands.size()) + " failed (exit " + code +
                           "): " + cmd + (last.empty() ? "" : "\n  last output:" + last));
  }
  if (!failure.empty()) {
    return Status::Unsupported(
        "cannot isolate the build: the kernel refused " + failure +
        " (hint: hermetic builds need user namespaces: root may always create them, except in a "
        "chroot (run tdximage in a container or a mount namespace entered with pivot_root "
        "instead); otherwise sysctl kernel.unprivileged_userns_clone=1 and "
        "user.max_user_namespaces > 0; in a container, one allowed to create namespaces)");
  }
  return Status::IoError("the isolated build ended with status " + std::to_string(rc) + last);
}

Result<Bytes> ReadInRoot(const fs::path& root, const std::string& abs, std::uint64_t max_size) {
  const int dir = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return Status::IoError(root.string() + ": " + std::strerror(errno));
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  const std::string rel = abs.substr(abs.find_first_not_of('/'));
  const int fd = static_cast<int>(::syscall(SYS_openat2, dir, rel.c_str(), &how, sizeof how));
  const int saved = errno;
  ::close(dir);
  if (fd < 0) return Status::NotFound(abs + " in the build root: " + std::strerror(saved));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::InvalidArgument(abs + " in the build root is not a regular file");
  }
  auto data = tdxrt::ReadOpenFile(fd, abs, max_size);
  ::close(fd);
  return data;
}

}  // namespace tdximage
