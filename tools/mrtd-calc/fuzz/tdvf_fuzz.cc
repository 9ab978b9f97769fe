// libFuzzer target: TDVF metadata discovery/validation, then MR_TD over what validated.
#include <cstddef>
#include <cstdint>

#include "mrtd/mrtd.h"
#include "mrtd/tdvf.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tdxrt::ByteSpan fw(data, size);
  auto md = mrtd::ParseTdvf(fw);
  if (md.ok()) {
    // Bound the work: validated sections may still describe up to 4 GiB each.
    std::uint64_t pages = 0;
    for (const auto& s : md->sections) pages += s.memory_size / mrtd::kPageSize;
    if (pages <= 4096) {
      (void)mrtd::ComputeMrTd(fw, *md, mrtd::PageOrder::kSinglePass);
      (void)mrtd::ComputeMrTd(fw, *md, mrtd::PageOrder::kTwoPass);
    }
  }
  return 0;
}
