// MR_TD: the TDX module's build-time measurement of the initial TD memory (the firmware).
//
// MR_TD = SHA-384 over a stream of 128-byte records emitted as the host adds and measures pages
// (Intel TDX module ABI, TDH.MEM.PAGE.ADD / TDH.MR.EXTEND):
//   page add: "MEM.PAGE.ADD" zero-padded to 16 bytes, u64 LE GPA, 104 zero bytes
//   extend:   "MR.EXTEND" zero-padded to 16 bytes, u64 LE GPA of the 256-byte chunk, 104 zeros,
//             followed by the chunk's 256 bytes (firmware bytes, zero-filled past the raw size)
// Every page of every non-PAGE_AUG section is added; only MR_EXTEND sections are extended.
//
// Hosts disagree on the interleaving, so both are offered and named explicitly:
//   kSinglePass: per page, add then extend its 16 chunks (upstream KVM >= 6.16 with QEMU >= 10.1,
//                Canonical 25.04, GCE, older Intel stacks). The default.
//   kTwoPass:    per section, add all pages, then extend them (KVM TDX v19 + QEMU 8.2 TDX
//                patches: Canonical 24.04, Kata on it).
// MR_TD depends on nothing but the firmware and the page order.
#pragma once

#include <optional>
#include <string_view>

#include "mrtd/tdvf.h"
#include "tdxrt/sha.h"

namespace mrtd {

enum class PageOrder { kSinglePass, kTwoPass };
std::string_view PageOrderName(PageOrder order);  // "single-pass" / "two-pass"
std::optional<PageOrder> ParsePageOrder(std::string_view name);

// Sink for the raw record stream (tests and `--trace` use it; MR_TD is its SHA-384).
class MrTdRecordSink {
 public:
  virtual ~MrTdRecordSink() = default;
  virtual void PageAdd(std::uint64_t gpa) = 0;
  virtual void Extend(std::uint64_t gpa, tdxrt::ByteSpan chunk256) = 0;
};

// Emits the record stream for `md` over `firmware` in `order`.
// REQUIRES: md came from ParseTdvf(firmware) (sections validated against this file).
void EmitMrTdRecords(tdxrt::ByteSpan firmware, const TdvfMetadata& md, PageOrder order,
                     MrTdRecordSink& sink);

tdxrt::Sha384Digest ComputeMrTd(tdxrt::ByteSpan firmware, const TdvfMetadata& md, PageOrder order);

}  // namespace mrtd
