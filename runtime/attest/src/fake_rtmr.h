// Tests' stand-in for the tdx_guest driver's runtime measurement interface: a directory whose
// rtmr3:sha384 file holds the value, and a thread (inotify) that answers every 48-byte write by
// replacing the content with SHA-384(old || written), as the kernel extends RTMR3. `rogue`
// extends once more (another process extending at the same time). For tests only.
#pragma once

#include <atomic>
#include <filesystem>
#include <thread>

#include "tdxrt/quote.h"

namespace tdxrt {

class FakeRtmr {
 public:
  explicit FakeRtmr(std::filesystem::path dir);  // dir: what Rtmr3Device::Options::measurements
  ~FakeRtmr();
  FakeRtmr(const FakeRtmr&) = delete;
  FakeRtmr& operator=(const FakeRtmr&) = delete;

  std::atomic<bool> rogue{false};

 private:
  void Store(const Measurement& m);
  void Run();

  std::filesystem::path file_;
  Measurement value_{};
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace tdxrt
