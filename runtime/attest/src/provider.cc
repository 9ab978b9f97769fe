// Quote providers (see tdxrt/provider.h).
#include "tdxrt/provider.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <string_view>
#include <thread>

#include "tdxrt/evidence.h"
#include "tdxrt/file.h"

namespace tdxrt {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxQuoteSize = 1 << 20;

Status Unavailable(const std::string& why) {
  return Status::NotFound("attestation unavailable: " + why);
}

// Reads a small configfs attribute (text or binary) with plain read(2) calls.
Result<Bytes> ReadAttribute(const fs::path& p, std::size_t max) {
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError("configfs-tsm: cannot open " + p.string() + ": " + Errno());
  Bytes out;
  std::uint8_t buf[65536];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status st = Status::IoError("configfs-tsm: reading " + p.string() + " failed: " + Errno());
      ::close(fd);
      return st;
    }
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
    if (out.size() > max) {
      ::close(fd);
      return Status::Corrupt("configfs-tsm: " + p.string() + " is larger than " +
                             std::to_string(max) + " bytes");
    }
  }
  ::close(fd);
  return out;
}

Status WriteAttribute(const fs::path& p, ByteSpan data) {
  // No O_CREAT: configfs attributes exist; creating a file would hide a wrong path.
  const int fd = ::open(p.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError("configfs-tsm: cannot open " + p.string() + ": " + Errno());
  const ssize_t n = ::write(fd, data.data(), data.size());
  const int write_errno = errno;
  const int rc = ::close(fd);
  if (n != static_cast<ssize_t>(data.size()) || rc != 0) {
    errno = n < 0 ? write_errno : errno;
    return Status::IoError("configfs-tsm: writing " + p.string() + " failed: " + Errno());
  }
  return Status::Ok();
}

std::string Trim(const Bytes& b) {
  std::string s(b.begin(), b.end());
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

// Removes the report entry on every path out of GetQuote.
class EntryGuard {
 public:
  explicit EntryGuard(fs::path p) : path_(std::move(p)) {}
  ~EntryGuard() { ::rmdir(path_.c_str()); }
  EntryGuard(const EntryGuard&) = delete;
  EntryGuard& operator=(const EntryGuard&) = delete;

 private:
  fs::path path_;
};

}  // namespace

bool InsideTdxGuest(const fs::path& cpuinfo) {
  auto text = ReadFile(cpuinfo, 16 << 20);
  if (!text.ok()) return false;
  const std::string_view s(reinterpret_cast<const char*>(text->data()), text->size());
  for (std::size_t pos = s.find(" tdx_guest"); pos != std::string_view::npos;
       pos = s.find(" tdx_guest", pos + 1)) {
    const std::size_t end = pos + 10;
    if (end == s.size() || s[end] == ' ' || s[end] == '\n') return true;
  }
  return false;
}

Status ConfigfsTsmProvider::Diagnose() const {
  const fs::path& root = options_.root;
  if (!InsideTdxGuest(options_.cpuinfo)) {
    return Unavailable("not inside a TDX guest: " + options_.cpuinfo.string() +
                       " has no tdx_guest CPU flag, and " + root.string() + " does not exist");
  }
  const fs::path configfs = root.parent_path().parent_path();
  std::error_code ec;
  if (!fs::exists(configfs, ec) || fs::is_empty(configfs, ec)) {
    return Unavailable("configfs is not mounted at " + configfs.string() +
                       " (mount -t configfs none " + configfs.string() + ")");
  }
  return Unavailable("the kernel lacks TSM reports: " + root.string() +
                     " does not exist in this TDX guest (needs Linux >= 6.7 with "
                     "CONFIG_TSM_REPORTS and the tdx_guest driver loaded)");
}

Result<Bytes> ConfigfsTsmProvider::GetQuote(const ReportData& report_data) {
  std::error_code ec;
  if (!fs::is_directory(options_.root, ec)) return Diagnose();

  static std::atomic<unsigned> counter{0};
  std::random_device rd;
  const fs::path entry =
      options_.root / ("tdx-attest-" + std::to_string(::getpid()) + "-" +
                       std::to_string(counter++) + "-" + std::to_string(rd() & 0xffffff));
  if (::mkdir(entry.c_str(), 0700) != 0) {
    return Status::IoError("configfs-tsm: cannot create " + entry.string() + ": " + Errno());
  }
  EntryGuard guard(entry);

  const auto deadline = std::chrono::steady_clock::now() + options_.attribute_wait;
  while (!fs::exists(entry / "inblob", ec)) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::IoError("configfs-tsm: " + entry.string() +
                             " has no inblob attribute: not a TSM report entry");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (fs::exists(entry / "provider", ec)) {
    TDX_ASSIGN_OR_RETURN(Bytes prov, ReadAttribute(entry / "provider", 256));
    if (Trim(prov) != "tdx_guest") {
      return Unavailable("the TSM report provider is '" + Trim(prov) + "', not tdx_guest");
    }
  }
  TDX_TRY(WriteAttribute(entry / "inblob", report_data));
  auto quote = ReadAttribute(entry / "outblob", kMaxQuoteSize);
  if (!quote.ok()) {
    return quote.status().WithContext(
        "no quote (is the host's quote generation service running and reachable?)");
  }
  TDX_ASSIGN_OR_RETURN(Bytes gen, ReadAttribute(entry / "generation", 64));
  if (Trim(gen) != "1") {
    return Status::IoError("configfs-tsm: " + (entry / "generation").string() + " is " + Trim(gen) +
                           " after our single write (expected 1): another process wrote to "
                           "the entry, the quote may not be for our report_data");
  }
  if (quote->empty()) {
    return Status::IoError("configfs-tsm: " + (entry / "outblob").string() +
                           " is empty: the host produced no quote");
  }
  return std::move(quote).value();
}

Result<Bytes> MockProvider::GetQuote(const ReportData& report_data) {
  TdReport r = identity_;
  r.report_data = report_data;
  return MakeMockEvidence(r);
}

}  // namespace tdxrt
