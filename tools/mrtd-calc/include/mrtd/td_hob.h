// The TD HOB: the hand-off block list QEMU writes into a TD's memory before it starts (the
// memory map OVMF accepts and uses), and the first event of RTMR0, which measures it.
//
// From upstream QEMU >= 10.1 (hw/i386/tdvf-hob.c, target/i386/kvm/tdx.c) and edk2 OvmfPkg
// (TdxHelperMeasureTdHob, TdxMeasurementHob.c):
//   - the RAM entries are the e820 RAM ranges of the q35 machine ([0, below-4G) and, for larger
//     guests, [4 GiB, 4 GiB + rest)), all "unaccepted"; each TD_HOB and TEMP_MEM section of the
//     firmware's TDVF metadata is carved out of the entry holding it as "added" (the pages QEMU
//     adds before the TD runs); the entries are sorted by address;
//   - the list is one PHIT (EFI_HOB_HANDOFF_INFO_TABLE, 56 bytes, version 9, only
//     EfiEndOfHobList set: the guest address just past the END HOB), one
//     EFI_HOB_RESOURCE_DESCRIPTOR (48 bytes) per RAM entry (SYSTEM_MEMORY for added,
//     MEMORY_UNACCEPTED otherwise; attributes PRESENT | INITIALIZED | TESTED for both) and an
//     END HOB (8 bytes), written at the TD_HOB section's address;
//   - OVMF measures the list up to, not including, the END HOB into RTMR0 as
//     EV_EFI_HANDOFF_TABLES2 with a TDX_HANDOFF_TABLE_POINTERS2 "TdxTable" pointing at it.
// Checked against the real log shared/vectors/dstack/ccel.bin: with the TDVF sections of
// Debian 13's OVMF and 1 GiB of memory the digest is the log's, byte for byte.
//
// Canonical's QEMU 8.2 TDX build (Ubuntu 24.04) came from an earlier series whose attribute
// bits differed (ENCRYPTED, UNACCEPTED); without a log of it, its TD HOB is not predicted.
#pragma once

#include <cstdint>
#include <vector>

#include "mrtd/tdvf.h"
#include "tdxrt/bytes.h"
#include "tdxrt/status.h"

namespace mrtd {

struct TdxRamEntry {
  std::uint64_t address = 0;
  std::uint64_t length = 0;
  bool added = false;  // TD_HOB / TEMP_MEM: added before the TD runs (else to be accepted)
  bool operator==(const TdxRamEntry&) const = default;
};

// QEMU's q35 RAM below 4 GiB: 2 GiB when the guest has >= 2.75 GiB, else up to 2.75 GiB.
inline constexpr std::uint64_t kQ35LowMemSplit = 0xb0000000;
inline constexpr std::uint64_t kQ35LowMemLarge = 0x80000000;

// The e820 RAM ranges of a q35 guest with `memory` bytes.
std::vector<TdxRamEntry> Q35RamRanges(std::uint64_t memory);

// The RAM entries QEMU describes in the TD HOB: `ram` with every TD_HOB and TEMP_MEM section of
// `md` carved out as added, sorted by address. Errors (as QEMU refuses to start) when a section
// is not inside one RAM range or the metadata has no TD_HOB section.
tdxrt::Result<std::vector<TdxRamEntry>> TdxRamEntries(const std::vector<TdxRamEntry>& ram,
                                                      const TdvfMetadata& md);

struct TdHob {
  std::uint64_t address = 0;  // guest address (the TD_HOB section's)
  tdxrt::Bytes measured;      // PHIT and resource descriptors: what OVMF hashes
  tdxrt::Bytes event_data;    // TDX_HANDOFF_TABLE_POINTERS2 "TdxTable"
  std::vector<TdxRamEntry> entries;
};

// The TD HOB upstream QEMU >= 10.1 writes for a q35 guest of `memory` bytes booting firmware
// with metadata `md`.
tdxrt::Result<TdHob> BuildTdHob(const TdvfMetadata& md, std::uint64_t memory);

}  // namespace mrtd
