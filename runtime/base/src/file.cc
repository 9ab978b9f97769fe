// File reading with bounds, atomic writing.
#include "tdxrt/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "tdxrt/hex.h"

namespace tdxrt {

namespace {
std::string Errno() { return std::strerror(errno); }

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_;
};
}  // namespace

Result<Bytes> ReadFile(const std::filesystem::path& path, std::uint64_t max_size) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Status::IoError(path.string() + ": cannot open: " + Errno());
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Status::IoError(path.string() + ": stat: " + Errno());
  if (S_ISDIR(st.st_mode)) return Status::InvalidArgument(path.string() + ": is a directory");
  if (S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) > max_size) {
    return Status::InvalidArgument(path.string() + ": file is " + std::to_string(st.st_size) +
                                   " bytes, more than the limit of " + std::to_string(max_size));
  }
  Bytes out;
  if (S_ISREG(st.st_mode)) out.reserve(static_cast<std::size_t>(st.st_size));
  std::uint8_t buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(path.string() + ": read: " + Errno());
    }
    if (n == 0) break;
    if (out.size() + static_cast<std::size_t>(n) > max_size) {
      return Status::InvalidArgument(path.string() + ": more than the limit of " +
                                     std::to_string(max_size) + " bytes");
    }
    out.insert(out.end(), buf, buf + n);
  }
  return out;
}

Status WriteFileAtomic(const std::filesystem::path& path, ByteSpan data, unsigned mode) {
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  std::random_device rd;
  std::string suffix = ".tmp." + std::to_string(::getpid()) + "." + std::to_string(rd());
  std::filesystem::path tmp = dir / ("." + path.filename().string() + suffix);
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (fd.get() < 0) return Status::IoError(tmp.string() + ": cannot create: " + Errno());
  auto fail = [&](const std::string& what) {
    std::string msg = path.string() + ": " + what + ": " + Errno();
    ::unlink(tmp.c_str());
    return Status::IoError(msg);
  };
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fchmod(fd.get(), mode) != 0) return fail("chmod");
  if (::fsync(fd.get()) != 0) return fail("fsync");
  if (::close(fd.release()) != 0) return fail("close");
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("rename");
  return Status::Ok();
}

Status WriteFileAtomic(const std::filesystem::path& path, std::string_view text, unsigned mode) {
  return WriteFileAtomic(
      path, ByteSpan(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), mode);
}

}  // namespace tdxrt
