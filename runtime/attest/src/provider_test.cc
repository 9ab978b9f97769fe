// Quote providers: configfs-tsm against a fake configfs tree in a temp dir, its diagnosis on
// this machine, and the mock provider.
//
// The fake stands in for the kernel: an inotify thread that, when the provider creates an
// entry, populates it the way configfs does (provider, generation, inblob, and outblob as a
// FIFO so the provider's read blocks until the "kernel" has produced the quote, as the real
// read does), and answers a write to inblob with a quote carrying that report_data.
#include "tdxrt/provider.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "quote_builder.h"
#include "tdx_test/support.h"
#include "tdxrt/evidence.h"
#include "tdxrt/file.h"

namespace tdxrt {
namespace {

namespace fs = std::filesystem;

using tdx_test::TempDir;

void WriteText(const fs::path& p, const std::string& s) { std::ofstream(p) << s; }

class FakeTsm {
 public:
  std::string provider = "tdx_guest\n";
  std::string generation_after_write = "1\n";
  bool empty_outblob = false;

  explicit FakeTsm(fs::path root) : root_(std::move(root)) {
    fs::create_directories(root_);
    fd_ = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    REQUIRE(fd_ >= 0);
    REQUIRE(inotify_add_watch(fd_, root_.c_str(), IN_CREATE | IN_ONLYDIR) >= 0);
  }
  ~FakeTsm() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  void Start() {
    thread_ = std::thread([this] { Run(); });
  }

 private:
  void Run() {
    alignas(inotify_event) char buf[4096];
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      for (ssize_t off = 0; off < n;) {
        const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
        off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
        const std::string name = ev->len ? ev->name : "";
        auto it = entries_.find(ev->wd);
        if (it == entries_.end() && (ev->mask & IN_CREATE)) {
          Populate(root_ / name);
        } else if (it != entries_.end() && (ev->mask & IN_CLOSE_WRITE) && name == "inblob") {
          Answer(it->second);
        }
      }
    }
  }
  void Populate(const fs::path& entry) {
    WriteText(entry / "provider", provider);
    WriteText(entry / "generation", "0\n");
    ::mkfifo((entry / "outblob").c_str(), 0600);
    const int wd = inotify_add_watch(fd_, entry.c_str(), IN_CLOSE_WRITE);
    entries_[wd] = entry;
    // Last, and atomically (rename): the provider waits for inblob to exist and may write it at
    // once; only its write may produce a close-after-write event on "inblob".
    WriteText(entry / "inblob.new", "");
    fs::rename(entry / "inblob.new", entry / "inblob");
  }
  void Answer(const fs::path& entry) {
    if (!answered_.insert(entry).second) return;  // one answer per entry, as the kernel gives
    auto in = ReadFile(entry / "inblob");
    if (!in.ok() || in->size() != 64) return;
    testing::QuoteBuilder b;
    std::copy(in->begin(), in->end(), b.quote.report.report_data.begin());
    const Bytes quote = empty_outblob ? Bytes{} : b.Build().quote;
    WriteText(entry / "generation", generation_after_write);
    int out = -1;
    while (!stop_ && (out = ::open((entry / "outblob").c_str(), O_WRONLY | O_NONBLOCK)) < 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (out < 0) return;
    ::fcntl(out, F_SETFL, 0);
    std::size_t done = 0;
    while (done < quote.size()) {
      const ssize_t w = ::write(out, quote.data() + done, quote.size() - done);
      if (w <= 0) break;
      done += static_cast<std::size_t>(w);
    }
    ::close(out);
  }

  fs::path root_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::map<int, fs::path> entries_;
  std::set<fs::path> answered_;
};

ReportData Rd(std::uint8_t fill) {
  ReportData r{};
  r.fill(fill);
  return r;
}

TEST_CASE("configfs-tsm: a quote for our report_data from a fake configfs tree") {
  TempDir tmp;
  FakeTsm fake(tmp.path / "tsm/report");
  fake.Start();
  ConfigfsTsmProvider p({.root = tmp.path / "tsm/report", .cpuinfo = "/proc/cpuinfo"});
  auto q = p.GetQuote(Rd(0xab));
  REQUIRE_MESSAGE(q.ok(), q.status().message());
  auto parsed = ParseQuote(*q);
  REQUIRE_MESSAGE(parsed.ok(), parsed.status().message());
  CHECK(parsed->report.report_data == Rd(0xab));
  // A second request uses a fresh entry.
  auto q2 = p.GetQuote(Rd(0xcd));
  REQUIRE_MESSAGE(q2.ok(), q2.status().message());
  CHECK(ParseQuote(*q2)->report.report_data == Rd(0xcd));
}

TEST_CASE("configfs-tsm: a generation that moved under us is an error") {
  TempDir tmp;
  FakeTsm fake(tmp.path / "tsm/report");
  fake.generation_after_write = "2\n";
  fake.Start();
  ConfigfsTsmProvider p({.root = tmp.path / "tsm/report"});
  auto q = p.GetQuote(Rd(1));
  REQUIRE(!q.ok());
  CHECK(q.status().message().find(
            "is 2 after our single write (expected 1): another process wrote to the entry") !=
        std::string::npos);
}

TEST_CASE("configfs-tsm: another TSM provider, and an empty outblob") {
  TempDir tmp;
  {
    FakeTsm fake(tmp.path / "a/report");
    fake.provider = "sev_guest\n";
    fake.Start();
    ConfigfsTsmProvider p({.root = tmp.path / "a/report"});
    auto q = p.GetQuote(Rd(1));
    REQUIRE(!q.ok());
    CHECK(q.status().message() ==
          "attestation unavailable: the TSM report provider is 'sev_guest', not tdx_guest");
  }
  {
    FakeTsm fake(tmp.path / "b/report");
    fake.empty_outblob = true;
    fake.Start();
    ConfigfsTsmProvider p({.root = tmp.path / "b/report"});
    auto q = p.GetQuote(Rd(1));
    REQUIRE(!q.ok());
    CHECK(q.status().message().find("outblob is empty: the host produced no quote") !=
          std::string::npos);
  }
}

TEST_CASE("configfs-tsm: diagnoses a missing interface") {
  TempDir tmp;
  WriteText(tmp.path / "cpuinfo-plain", "flags\t\t: fpu vme hypervisor\n");
  WriteText(tmp.path / "cpuinfo-tdx", "flags\t\t: fpu vme hypervisor tdx_guest\n");
  const fs::path root = tmp.path / "config/tsm/report";
  {
    ConfigfsTsmProvider p({.root = root, .cpuinfo = tmp.path / "cpuinfo-plain"});
    CHECK(p.GetQuote(Rd(1)).status().message() ==
          "attestation unavailable: not inside a TDX guest: " +
              (tmp.path / "cpuinfo-plain").string() + " has no tdx_guest CPU flag, and " +
              root.string() + " does not exist");
  }
  {
    ConfigfsTsmProvider p({.root = root, .cpuinfo = tmp.path / "cpuinfo-tdx"});
    CHECK(p.GetQuote(Rd(1)).status().message() ==
          "attestation unavailable: configfs is not mounted at " + (tmp.path / "config").string() +
              " (mount -t configfs none " + (tmp.path / "config").string() + ")");
  }
  fs::create_directories(tmp.path / "config/usb_gadget");
  {
    ConfigfsTsmProvider p({.root = root, .cpuinfo = tmp.path / "cpuinfo-tdx"});
    CHECK(p.GetQuote(Rd(1)).status().message() ==
          "attestation unavailable: the kernel lacks TSM reports: " + root.string() +
              " does not exist in this TDX guest (needs Linux >= 6.7 with CONFIG_TSM_REPORTS "
              "and the tdx_guest driver loaded)");
  }
}

TEST_CASE("InsideTdxGuest reads the tdx_guest CPU flag, a whole word") {
  TempDir tmp;
  WriteText(tmp.path / "a", "flags\t\t: fpu vme hypervisor tdx_guest\nbogomips\t: 4000\n");
  WriteText(tmp.path / "b", "flags\t\t: fpu tdx_guest vme\n");
  WriteText(tmp.path / "c", "flags\t\t: fpu vme hypervisor tdx_guest_ext\n");
  WriteText(tmp.path / "d", "flags\t\t: fpu vme hypervisor\n");
  WriteText(tmp.path / "e", "flags\t\t: fpu tdx_guest");
  CHECK(InsideTdxGuest(tmp.path / "a"));
  CHECK(InsideTdxGuest(tmp.path / "b"));
  CHECK_FALSE(InsideTdxGuest(tmp.path / "c"));
  CHECK_FALSE(InsideTdxGuest(tmp.path / "d"));
  CHECK(InsideTdxGuest(tmp.path / "e"));
  CHECK_FALSE(InsideTdxGuest(tmp.path / "absent"));
}

TEST_CASE("configfs-tsm on this machine") {
  auto cpuinfo = ReadFile("/proc/cpuinfo");
  if (cpuinfo.ok() &&
      std::string(cpuinfo->begin(), cpuinfo->end()).find(" tdx_guest") != std::string::npos) {
    MESSAGE("skipped: this machine is a TDX guest; the no-TDX diagnosis does not apply");
    return;
  }
  ConfigfsTsmProvider p;
  auto q = p.GetQuote(Rd(1));
  REQUIRE(!q.ok());
  CHECK(q.status().message() ==
        "attestation unavailable: not inside a TDX guest: /proc/cpuinfo has no tdx_guest CPU "
        "flag, and /sys/kernel/config/tsm/report does not exist");
}

TEST_CASE("the mock provider returns marked evidence with the report_data") {
  TdReport id;
  id.mr_td.fill(0x4c);
  MockProvider p(id);
  auto e = p.GetQuote(Rd(7));
  REQUIRE(e.ok());
  CHECK(e->size() == kMockEvidenceSize);
  auto parsed = ParseEvidence(*e);
  REQUIRE(parsed.ok());
  CHECK(parsed->kind == EvidenceKind::kMock);
  CHECK(parsed->report.mr_td == id.mr_td);
  CHECK(parsed->report.report_data == Rd(7));
  CHECK(!ParseQuote(*e).ok());  // never mistaken for a quote
}

}  // namespace
}  // namespace tdxrt
