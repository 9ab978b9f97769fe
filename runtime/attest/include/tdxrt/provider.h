// Quote providers: where a TD gets evidence for a given report_data.
//
// ConfigfsTsmProvider uses the kernel's configfs-tsm interface (Linux >= 6.7,
// Documentation/ABI/testing/configfs-tsm): create a directory under
// /sys/kernel/config/tsm/report, check its `provider` is tdx_guest, write the 64-byte report_data
// to `inblob`, read the quote from `outblob`, then check `generation` still counts exactly our
// one write (another writer to the same entry would have changed the report under us), and
// remove the directory. The root is a parameter so the flow runs against a fake tree in tests.
//
// When it cannot work it says why, distinguishing: not a TDX guest (no tdx_guest CPU flag),
// configfs not mounted, and a kernel without TSM reports.
//
// MockProvider returns mock evidence (tdxrt/evidence.h) with configured measurements: a
// development mode, rejected by every policy that does not say allow_mock.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "tdxrt/quote.h"

namespace tdxrt {

class QuoteProvider {
 public:
  virtual ~QuoteProvider() = default;
  virtual Result<Bytes> GetQuote(const ReportData& report_data) = 0;
  virtual std::string Name() const = 0;
};

// True when `cpuinfo` (normally /proc/cpuinfo) shows the tdx_guest CPU flag: this kernel runs
// inside a TDX guest. Whether configfs-tsm exists says nothing about that: its module loads in
// any guest.
bool InsideTdxGuest(const std::filesystem::path& cpuinfo = "/proc/cpuinfo");

class ConfigfsTsmProvider : public QuoteProvider {
 public:
  struct Options {
    std::filesystem::path root = "/sys/kernel/config/tsm/report";
    std::filesystem::path cpuinfo = "/proc/cpuinfo";
    // configfs creates an entry's attributes with it; emulations of the interface may take a
    // moment, so their appearance is awaited this long before giving up.
    std::chrono::milliseconds attribute_wait{2000};
  };
  ConfigfsTsmProvider() : ConfigfsTsmProvider(Options{}) {}
  explicit ConfigfsTsmProvider(Options options) : options_(std::move(options)) {}

  Result<Bytes> GetQuote(const ReportData& report_data) override;
  std::string Name() const override { return "configfs-tsm"; }

 private:
  Status Diagnose() const;
  Options options_;
};

class MockProvider : public QuoteProvider {
 public:
  explicit MockProvider(TdReport identity) : identity_(std::move(identity)) {}
  Result<Bytes> GetQuote(const ReportData& report_data) override;
  std::string Name() const override { return "mock"; }

 private:
  TdReport identity_;
};

}  // namespace tdxrt
