// The event log a QEMU direct boot of an image is expected to produce, once per host the image
// targets: every RTMR1 and RTMR2 event we can predict (register, type, digest, what it measures,
// the inputs it depends on) and, for the event a host or a launch setting can change (the
// kernel's, whose header QEMU may patch with addresses that depend on the memory size), the
// digest each likely other setting gives. tdximage writes it as <name>-eventlog.json; mrtd-calc
// diagnose reads it back (or a <name>-measurements.json, which has the register values only)
// and explains where a real log or quote differs.
//
// RTMR0 is predicted in part (rtmr0.h): the events the image decides; the TD HOB for hosts whose
// QEMU builds it as upstream >= 10.1 does (td_hob.h); the host QEMU's ACPI tables only from a
// capture of them (acpi.h). With all of them a host's RTMR0 value is known. RTMR3 is the TD's
// own runtime log (tdx-attest).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mrtd/host_profile.h"
#include "mrtd/kernel.h"
#include "mrtd/mrtd.h"
#include "mrtd/rtmr.h"
#include "tdxrt/bytes.h"
#include "tdxrt/sha.h"
#include "tdxrt/status.h"

namespace mrtd {

struct AcpiCapture;

struct AlternativeDigest {
  std::string cause;  // what gives this digest instead, in words
  tdxrt::Sha384Digest digest{};
};

struct ExpectedEvent {
  int rtmr = 1;  // 0..3
  std::uint32_t type = 0;
  // false: an RTMR0 event the host decides (the TD HOB, ACPI tables): its type is known, its
  // digest is not (zero, and absent from the file).
  bool predicted = true;
  tdxrt::Sha384Digest digest{};
  std::string what;                     // "the kernel (Authenticode, qemu-patched header)"
  std::vector<std::string> depends_on;  // "kernel", "memory", "cmdline", "initrd", "ovmf", ...
  std::optional<tdxrt::Bytes> data;     // the event data, where it is known in advance
  std::vector<AlternativeDigest> alternatives;
};

// One host's expectation: from an event log file with its events, from a measurements file with
// register values only (events empty).
struct ExpectedVariant {
  std::string host;  // a host profile's name ("qemu-10.1+ovmf-stable202502") or the knobs' label
  std::vector<std::string> reasons;
  PageOrder page_order = PageOrder::kSinglePass;
  KernelHeaderMode kernel_header = KernelHeaderMode::kQemuPatched;
  OvmfEventLayout ovmf_layout = OvmfEventLayout::kStable202411;
  tdxrt::Sha384Digest mr_td{};
  tdxrt::Sha384Digest rtmr1{}, rtmr2{};
  // Known when every RTMR0 event is predicted (the TD HOB and a capture of the host's ACPI).
  std::optional<tdxrt::Sha384Digest> rtmr0;
  // RTMR0's (OVMF >= stable202411 only, partly predicted: rtmr0.h), RTMR1's, RTMR2's; empty
  // when only register values are known.
  std::vector<ExpectedEvent> events;
};

struct ExpectedLog {
  std::string source;  // "eventlog" or "measurements": which file it came from
  std::string image;
  tdxrt::Sha384Digest mr_td_single_pass{}, mr_td_two_pass{};
  std::string memory;   // QEMU -m syntax, as the image was measured
  std::string cmdline;  // kernel command line
  std::optional<std::uint64_t> initrd_size;
  std::vector<ExpectedVariant> variants;  // one per host, at least one

  bool has_events() const { return !variants.empty() && !variants.front().events.empty(); }
  // Some host measures the kernel with the header QEMU patches, which holds the initrd's
  // address: RTMR1 then depends on the memory size.
  bool Rtmr1FollowsMemory() const {
    return std::any_of(variants.begin(), variants.end(), [](const ExpectedVariant& v) {
      return v.kernel_header == KernelHeaderMode::kQemuPatched;
    });
  }
};

// A host to predict for: the knobs and where they came from.
struct VariantSpec {
  std::string host;
  std::vector<std::string> reasons;
  PageOrder page_order = PageOrder::kSinglePass;
  KernelHeaderMode kernel_header = KernelHeaderMode::kQemuPatched;
  OvmfEventLayout ovmf_layout = OvmfEventLayout::kStable202411;
  bool td_hob = false;                // the host builds the TD HOB as upstream QEMU >= 10.1
  const AcpiCapture* acpi = nullptr;  // the host's ACPI blobs, when captured
};
VariantSpec VariantOf(const HostProfile& p);

struct BootInputs {
  std::string image;
  tdxrt::ByteSpan firmware;  // the image's OVMF (TDVF)
  tdxrt::ByteSpan kernel;
  std::optional<tdxrt::ByteSpan> initrd;
  std::string cmdline;
  std::string memory;  // QEMU -m syntax
};

// Memory sizes tried for the kernel event's alternatives (QEMU -m syntax).
inline constexpr std::array<std::string_view, 6> kAlternativeMemorySizes = {"256M", "512M", "1G",
                                                                            "2G",   "4G",   "8G"};

// A computed event as an expected one of register `rtmr`.
ExpectedEvent ExpectedFromMeasured(const MeasuredEvent& m, int rtmr,
                                   std::vector<std::string> depends_on);

tdxrt::Result<ExpectedLog> PredictEventLog(const BootInputs& in,
                                           const std::vector<VariantSpec>& variants);

// <name>-eventlog.json: written by tdximage, read by mrtd-calc diagnose.
inline constexpr int kEventLogFileVersion = 1;
nlohmann::ordered_json ExpectedLogJson(const ExpectedLog& log);
// One host's entry (host, knobs, mr_td, rtmr1, rtmr2; with its events when asked).
nlohmann::ordered_json ExpectedVariantJson(const ExpectedVariant& v, bool with_events);

// Reads an event log file (eventlog_version) or a measurements file (tdximage's
// <name>-measurements.json). Every field is checked; errors name `what` and the field
// ("hosts[1].events[0].digest: ..."). An event log whose events do not replay to its own
// rtmr1/rtmr2 is refused.
tdxrt::Result<ExpectedLog> ParseExpectedLog(std::string_view text, const std::string& what);

// Replays one register of a variant from its events.
tdxrt::Sha384Digest ReplayExpected(const std::vector<ExpectedEvent>& events, int rtmr);

std::string RegisterName(int rtmr);  // "RTMR1"
std::optional<int> ParseRegisterName(std::string_view name);

}  // namespace mrtd
