// libFuzzer target: bzImage header parsing and QEMU's setup-header patching, then RTMR1.
#include <cstddef>
#include <cstdint>

#include "mrtd/kernel.h"
#include "mrtd/rtmr.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return 0;
  tdxrt::ByteSpan in(data, size);
  // The first bytes steer the load parameters; the rest is the kernel.
  mrtd::Rtmr1Inputs r;
  r.load.memory_size = (std::uint64_t{data[0]} + 1) << 26;  // 64 MiB .. 16 GiB
  if (data[1] & 1) r.load.initrd_size = std::uint64_t{data[2]} << 16;
  r.load.cmdline = (data[1] & 2) ? "console=ttyS0 vga=0x317" : "";
  r.header_mode =
      (data[1] & 4) ? mrtd::KernelHeaderMode::kUnmodified : mrtd::KernelHeaderMode::kQemuPatched;
  r.kernel = in.subspan(3);
  (void)mrtd::ComputeRtmr1(r);
  return 0;
}
