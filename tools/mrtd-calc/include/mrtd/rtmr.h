// RTMR1 and RTMR2 for a QEMU direct kernel boot with OVMF, as lists of measured events.
//
// RTMR[i] = SHA384(RTMR[i] || digest) starting from 48 zero bytes, one extension per event.
//
// RTMR1 (OVMF):
//   1. EV_EFI_BOOT_SERVICES_APPLICATION: Authenticode SHA-384 of the kernel as OVMF receives it
//      (see kernel.h for the two header modes)
//   2. EV_EFI_ACTION "Calling EFI Application from Boot Option"
//   3. EV_SEPARATOR (4 zero bytes), only with edk2-stable202411 and later; older OVMF measures
//      that separator into RTMR0 instead
//   4. EV_EFI_ACTION "Exit Boot Services Invocation"
//   5. EV_EFI_ACTION "Exit Boot Services Returned with Success"
// EV_EFI_ACTION digests are SHA-384 of the ASCII text without a terminator.
//
// RTMR2 (the kernel's EFI stub, Linux >= 6.9 with the CC measurement protocol):
//   1. EV_EVENT_TAG load options: the command line as OVMF passes it, i.e. each byte widened to
//      UTF-16LE (OVMF's %a conversion), " initrd=initrd" appended when an initrd is given, plus
//      a UTF-16 NUL
//   2. EV_EVENT_TAG initrd: SHA-384 of the initrd file bytes (only when an initrd is given)
// An older stub leaves RTMR2 at zero; callers must know their kernel.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mrtd/kernel.h"
#include "tdxrt/sha.h"

namespace mrtd {

enum class OvmfEventLayout { kPreStable202411, kStable202411 };
std::string_view OvmfEventLayoutName(OvmfEventLayout layout);  // "pre-stable202411"/"stable202411"
std::optional<OvmfEventLayout> ParseOvmfEventLayout(std::string_view name);

// TCG event types of the events a direct boot measures into RTMR1/RTMR2.
inline constexpr std::uint32_t kEvSeparator = 0x4;
inline constexpr std::uint32_t kEvEventTag = 0x6;
inline constexpr std::uint32_t kEvEfiBootServicesApplication = 0x80000003;
inline constexpr std::uint32_t kEvEfiAction = 0x80000007;

struct MeasuredEvent {
  std::string description;
  tdxrt::Sha384Digest digest{};
  std::uint32_t type = 0;
  std::optional<tdxrt::Bytes> data;  // the event's data, where it is known in advance
};

tdxrt::Sha384Digest ReplayEvents(const std::vector<MeasuredEvent>& events);
void ExtendRtmr(tdxrt::Sha384Digest& rtmr, const tdxrt::Sha384Digest& digest);

struct Rtmr1Inputs {
  tdxrt::ByteSpan kernel;
  QemuKernelLoad load;  // memory size, initrd size, cmdline
  KernelHeaderMode header_mode = KernelHeaderMode::kQemuPatched;
  OvmfEventLayout layout = OvmfEventLayout::kStable202411;
};

struct Rtmr1Result {
  std::vector<MeasuredEvent> events;
  tdxrt::Sha384Digest rtmr1{};
  std::optional<std::uint32_t> initrd_addr;  // where QEMU places the initrd (patched mode)
};

tdxrt::Result<Rtmr1Result> ComputeRtmr1(const Rtmr1Inputs& in);

// ComputeRtmr1 in two steps, for callers that measure one kernel for several hosts: the
// kernel's digest (the costly part: the header patched as QEMU does, then Authenticode), and
// the events around a digest for a header mode and layout.
struct KernelMeasurement {
  tdxrt::Sha384Digest digest{};
  std::optional<std::uint32_t> initrd_addr;  // patched mode with an initrd
};
tdxrt::Result<KernelMeasurement> MeasureKernel(const Rtmr1Inputs& in);  // header_mode, kernel, load
Rtmr1Result Rtmr1FromKernel(const KernelMeasurement& kernel, KernelHeaderMode header_mode,
                            OvmfEventLayout layout);

// EV_SEPARATOR with its 4 zero bytes, as OVMF measures it into RTMR0 and RTMR1.
MeasuredEvent SeparatorEvent();

// The load options OVMF hands to the kernel, UTF-16LE with the terminating NUL.
tdxrt::Bytes KernelLoadOptionsUtf16(std::string_view cmdline, bool has_initrd);

struct Rtmr2Result {
  std::vector<MeasuredEvent> events;
  tdxrt::Sha384Digest rtmr2{};
};

// `initrd` is nullopt when no initrd is given.
Rtmr2Result ComputeRtmr2(std::string_view cmdline, std::optional<tdxrt::ByteSpan> initrd);

}  // namespace mrtd
