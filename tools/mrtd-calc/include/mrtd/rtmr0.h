// RTMR0 of a QEMU direct boot, as far as the image alone decides it: the events OVMF measures
// into RTMR0, in order, each either predicted (digest and data from the image's firmware or
// from OVMF's fixed content) or named as the host's (not predicted).
//
// Order and content are those of OVMF edk2-stable202411 and later (separator in RTMR1), as in
// the real log shared/vectors/dstack/ccel.bin, which the tests check every predicted event
// against (its OVMF's variable store is byte-identical to Debian 13's 4 MiB OVMF.fd):
//   1. EV_EFI_HANDOFF_TABLES2 "TdxTable": the TD HOB QEMU builds (td_hob.h: from the memory
//      size and the firmware's TDVF sections)   -> predicted for upstream QEMU >= 10.1 hosts
//   2. EV_EFI_PLATFORM_FIRMWARE_BLOB2 "Fv(XXXXXXXX-...)": SHA-384 of the CFV (the variable
//      store) of the image's firmware; data: description, CFV base and length
//   3-7. EV_EFI_VARIABLE_DRIVER_CONFIG SecureBoot, PK, KEK, db, dbx: SHA-384 of each
//      UEFI_VARIABLE_DATA (variable GUID, name and data lengths, UTF-16 name, data); all empty
//      in an OVMF without enrolled keys
//   8. EV_SEPARATOR 00000000
//   9-11. EV_PLATFORM_CONFIG_FLAGS "ACPI DATA": the ACPI blobs the host QEMU serves (its
//      version and the VM shape: CPUs, memory, devices) -> predicted from a capture (acpi.h)
//   12-13. EV_EFI_VARIABLE_BOOT BootOrder (0000) and Boot0000 (OVMF's UiApp load option):
//      SHA-384 of the variable's data only
// With both the TD HOB and a capture of the host's ACPI tables, RTMR0's value is known.
// Older OVMF releases order and measure RTMR0 differently and no real log of one is at hand:
// for them nothing is predicted.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "mrtd/acpi.h"
#include "mrtd/expected_log.h"
#include "mrtd/host_profile.h"
#include "mrtd/tdvf.h"
#include "tdxrt/bytes.h"

namespace mrtd {

inline constexpr std::uint32_t kEvPlatformConfigFlags = 0xa;
inline constexpr std::uint32_t kEvEfiVariableDriverConfig = 0x80000001;
inline constexpr std::uint32_t kEvEfiVariableBoot = 0x80000002;
inline constexpr std::uint32_t kEvEfiPlatformFirmwareBlob2 = 0x8000000a;
inline constexpr std::uint32_t kEvEfiHandoffTables2 = 0x8000000b;

// UEFI_VARIABLE_DATA for a variable of `guid` (16 bytes, EFI_GUID layout) named `name`.
tdxrt::Bytes UefiVariableData(const std::uint8_t (&guid)[16], std::string_view name,
                              tdxrt::ByteSpan data);

// What a host adds to RTMR0.
struct Rtmr0Host {
  // The guest memory size when the host's TD HOB is known (upstream QEMU >= 10.1), in QEMU -m
  // syntax; empty: the TD HOB event is not predicted.
  std::string td_hob_memory;
  const AcpiCapture* acpi = nullptr;  // the host's ACPI blobs; null: not predicted
};

// The RTMR0 events of an OVMF >= stable202411 direct boot of `firmware` (register 0; events
// with predicted == false carry their type and what they depend on, no digest). The TD HOB's
// event lists the digests of the other common memory sizes as alternatives. Errors when the
// firmware has no CFV section, or the TD HOB cannot be built for the memory size.
tdxrt::Result<std::vector<ExpectedEvent>> PredictRtmr0Events(tdxrt::ByteSpan firmware,
                                                             const TdvfMetadata& md,
                                                             const Rtmr0Host& host = {});

// Why RTMR0 cannot be computed for host `p` — "for canonical-8.2: its QEMU's TD HOB is not
// known (...)", "with OVMF stable202211 (older than edk2-stable202411, ...)" — or nullopt when
// it can (with a capture of the host's ACPI tables).
std::optional<std::string> WhyRtmr0Unknown(const HostProfile& p);

// Whether every event of register `rtmr` in `events` is predicted (and there is one).
bool AllPredicted(const std::vector<ExpectedEvent>& events, int rtmr);

}  // namespace mrtd
