// The kernel image OVMF measures into RTMR1 under QEMU direct kernel boot (-kernel).
//
// QEMU's x86_load_linux() rewrites the bzImage setup header (Linux boot protocol,
// Documentation/arch/x86/boot.rst) before serving it to the firmware over fw_cfg; OVMF then
// measures the Authenticode hash of the result. Offsets patched (protocol >= 2.02, "high" kernel):
//   0x210 type_of_loader = 0xb0            0x211 loadflags |= 0x80 (CAN_USE_HEAP)
//   0x224 heap_end_ptr (u16) = cmdline_addr - real_addr - 0x200
//   0x228 cmd_line_ptr (u32) = cmdline_addr
//   0x218 ramdisk_image (u32), 0x21c ramdisk_size (u32) when an initrd is given
//   0x1fa vid_mode (u16) when the command line has vga=
// The initrd goes at (initrd_max - size) & ~4095, where initrd_max is 4 GiB - 1 when xloadflags
// has XLF_CAN_BE_LOADED_ABOVE_4G (protocol >= 2.12), else initrd_addr_max (0x22c), clamped to
// below-4G RAM minus QEMU's ACPI data size (0x28000) minus 1. On q35, below-4G RAM is all RAM
// when RAM < 0xb0000000 (2.75 GiB), otherwise 0x80000000: so RTMR1 depends on the memory size.
//
// Two real host behaviours exist and are named explicitly:
//   kQemuPatched: QEMU <= 10.1 (Canonical 24.04 QEMU 8.2, upstream 9.x-10.1): header patched.
//   kUnmodified:  QEMU >= 10.2 for confidential guests (commit a7542a38f399 "x86/loader: Don't
//                 update kernel header for CoCo VMs"): the file is measured as built.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tdxrt/bytes.h"
#include "tdxrt/status.h"

namespace mrtd {

enum class KernelHeaderMode { kQemuPatched, kUnmodified };
std::string_view KernelHeaderModeName(KernelHeaderMode mode);  // "qemu-patched" / "unmodified"
std::optional<KernelHeaderMode> ParseKernelHeaderMode(std::string_view name);

// Parses QEMU's -m size syntax: a number with an optional B/K/M/G/T/P/E suffix (case-insensitive;
// no suffix means MiB; decimals allowed with a suffix, e.g. 1.5G), optionally as "size=...".
// The result is rounded up to 8 KiB as QEMU does.
tdxrt::Result<std::uint64_t> ParseMemorySize(std::string_view text);

// q35's below-4G RAM for a given RAM size (hw/i386/pc_q35.c).
std::uint64_t Q35BelowFourGMemory(std::uint64_t ram_size);

inline constexpr std::uint32_t kQemuAcpiDataSize = 0x28000;

struct BzImageHeader {
  std::uint16_t protocol = 0;
  std::uint8_t setup_sects = 0;
  std::uint8_t loadflags = 0;
  std::uint16_t xloadflags = 0;
  std::uint32_t initrd_addr_max = 0;
};

// Checks that `kernel` is a bzImage with a PE/COFF (EFI stub) header and reads its setup header.
tdxrt::Result<BzImageHeader> ParseBzImage(tdxrt::ByteSpan kernel);

struct QemuKernelLoad {
  std::uint64_t memory_size = 0;             // bytes (guest RAM, -m)
  std::optional<std::uint64_t> initrd_size;  // set when -initrd is given
  std::string cmdline;                       // -append
  std::uint32_t acpi_data_size = kQemuAcpiDataSize;
};

struct PatchedKernel {
  tdxrt::Bytes image;
  BzImageHeader header;
  std::optional<std::uint32_t> initrd_addr;
  std::uint32_t initrd_max = 0;
};

// Applies x86_load_linux's setup-header rewrite. Errors mirror QEMU's refusals (initrd too
// large, kernel too old for an initrd, invalid vga=).
tdxrt::Result<PatchedKernel> PatchKernelLikeQemu(tdxrt::ByteSpan kernel,
                                                 const QemuKernelLoad& load);

}  // namespace mrtd
