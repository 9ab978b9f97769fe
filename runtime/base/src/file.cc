// File reading with bounds, atomic writing.
#include "tdxrt/file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

#include "tdxrt/hex.h"

namespace tdxrt {

std::string Errno() { return std::strerror(errno); }

namespace {

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
  return ReadOpenFile(fd.get(), path, max_size);
}

Result<Bytes> ReadOpenFile(int fd, const std::filesystem::path& path, std::uint64_t max_size) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Status::IoError(path.string() + ": stat: " + Errno());
  if (S_ISDIR(st.st_mode)) return Status::InvalidArgument(path.string() + ": is a directory");
  if (S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) > max_size) {
    return Status::InvalidArgument(path.string() + ": file is " + std::to_string(st.st_size) +
                                   " bytes, more than the limit of " + std::to_string(max_size));
  }
  // Regular files are read straight into a buffer of their size; anything else (pipes,
  // /proc files) grows as it goes. Either way the limit holds.
  Bytes out(S_ISREG(st.st_mode) ? static_cast<std::size_t>(st.st_size) : 0);
  std::size_t used = 0;
  for (;;) {
    if (used == out.size()) {
      if (out.size() >= max_size) {
        // Probe for one more byte: a file that grew past the limit is refused.
        std::uint8_t probe;
        ssize_t n = ::read(fd, &probe, 1);
        if (n == 0) break;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return Status::IoError(path.string() + ": read: " + Errno());
        return Status::InvalidArgument(path.string() + ": more than the limit of " +
                                       std::to_string(max_size) + " bytes");
      }
      out.resize(static_cast<std::size_t>(
          std::min<std::uint64_t>(max_size, std::max<std::size_t>(out.size() * 2, 1 << 16))));
    }
    ssize_t n = ::read(fd, out.data() + used, out.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(path.string() + ": read: " + Errno());
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  out.resize(used);
  return out;
}

Result<MappedFile> MappedFile::Open(const std::filesystem::path& path, std::uint64_t max_size) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Status::IoError(path.string() + ": cannot open: " + Errno());
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Status::IoError(path.string() + ": stat: " + Errno());
  MappedFile m;
  if (!S_ISREG(st.st_mode) || st.st_size == 0) {
    TDX_ASSIGN_OR_RETURN(m.copy_, ReadFile(path, max_size));
    return m;
  }
  if (static_cast<std::uint64_t>(st.st_size) > max_size) {
    return Status::InvalidArgument(path.string() + ": file is " + std::to_string(st.st_size) +
                                   " bytes, more than the limit of " + std::to_string(max_size));
  }
  void* p =
      ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (p == MAP_FAILED) return Status::IoError(path.string() + ": mmap: " + Errno());
  ::madvise(p, static_cast<std::size_t>(st.st_size), MADV_SEQUENTIAL);
  m.map_ = static_cast<const std::uint8_t*>(p);
  m.size_ = static_cast<std::size_t>(st.st_size);
  return m;
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : map_(other.map_), size_(other.size_), copy_(std::move(other.copy_)) {
  other.map_ = nullptr;
  other.size_ = 0;
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    if (map_ != nullptr) ::munmap(const_cast<std::uint8_t*>(map_), size_);
    map_ = other.map_;
    size_ = other.size_;
    copy_ = std::move(other.copy_);
    other.map_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (map_ != nullptr) ::munmap(const_cast<std::uint8_t*>(map_), size_);
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

Result<std::filesystem::path> MakeTempDir(std::string_view prefix) {
  std::error_code ec;
  std::filesystem::path base = std::filesystem::temp_directory_path(ec);
  if (ec) base = "/tmp";
  std::string tmpl = (base / (std::string(prefix) + "XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return Status::IoError(tmpl + ": cannot create a temporary directory: " + Errno());
  }
  return std::filesystem::path(tmpl);
}

}  // namespace tdxrt
