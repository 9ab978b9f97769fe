// tdximage capture-acpi: the ACPI tables a host's QEMU serves a TD of this image's shape, taken
// from that QEMU itself, for RTMR0 (mrtd/acpi.h).
//
// OVMF measures into RTMR0 the fw_cfg files "etc/table-loader", "etc/acpi/tables",
// "etc/acpi/rsdp" (whatever the loader allocates) as QEMU serves them: they depend on the QEMU
// version and the VM's shape (CPUs, memory, devices), which only the host knows. The capture
// boots the image's own kernel and firmware under the given QEMU with the launcher's machine
// options and shape, with a capture initramfs assembled from the recipe's own locked sources
// (its busybox and kernel modules, plus qemu_fw_cfg) whose program prints every such file from
// /sys/firmware/qemu_fw_cfg in base64 with its size and SHA-256; QEMU rebuilds the tables once,
// when the firmware first reads them, so Linux reads what OVMF measured.
//
// Fidelity: `--accel tdx` on a TDX host runs the very launch (a TD); `kvm` and `tcg` run the
// same QEMU and shape without TDX, with what TDX implies set by hand (no SMM, no PIC, split
// irqchip under KVM): the tables are QEMU's for that machine, but a TD's may differ (CPU model,
// physical address width, QEMU's TDX-specific changes), so a policy pins RTMR0 only from a
// `tdx` capture.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "mrtd/acpi.h"
#include "tdximage/recipe.h"
#include "tdximage/sources.h"
#include "tdxrt/status.h"

namespace tdximage {

// The program the capture initramfs runs, and the markers of what it prints.
inline constexpr std::string_view kCaptureProgram = "/usr/bin/tdximage-capture-acpi";
inline constexpr std::string_view kBlobMarker = "TDXIMAGE-ACPI-BLOB";
inline constexpr std::string_view kEndMarker = "TDXIMAGE-ACPI-END";
inline constexpr std::string_view kDoneMarker = "TDXIMAGE-ACPI-DONE";
inline constexpr std::string_view kErrorMarker = "TDXIMAGE-ACPI-ERROR";

// The capture variant of `recipe`: the same kernel, firmware, root file system and files from
// its sources (none from the host or a build section), its modules plus qemu_fw_cfg, and the
// capture program as the payload.
tdxrt::Result<Recipe> CaptureRecipe(const Recipe& recipe);

struct CaptureShape {
  std::string qemu = "qemu-system-x86_64";
  std::string accel = "tcg";            // tcg | kvm | tdx
  std::string tdx_flavor = "upstream";  // with accel tdx: upstream | canonical-8.2
  std::string memory;                   // QEMU -m syntax (the recipe's launch.memory)
  int cpus = 1;
  std::vector<std::string> extra_args;  // devices the launch adds (EXTRA_QEMU_ARGS, vsock)
};

// The QEMU arguments after the binary: the launcher's (runtime/launcher) for this shape.
tdxrt::Result<std::vector<std::string>> CaptureQemuArgs(const CaptureShape& s,
                                                        const std::string& kernel,
                                                        const std::string& initrd,
                                                        const std::string& firmware);

// Boots `kernel`, `initrd` (the capture initramfs) and `firmware`, written to a private
// temporary directory that is removed after, under shape.qemu with CaptureQemuArgs, stopped after
// `timeout_seconds`; returns the capture: the QEMU (its `--version` line), the shape, the
// arguments (temporary files by their role) and the blobs the guest printed. Errors quote the
// console's last lines. `log` (may be empty) gets one progress line.
tdxrt::Result<mrtd::AcpiCapture> RunCaptureBoot(tdxrt::ByteSpan kernel, tdxrt::ByteSpan initrd,
                                                tdxrt::ByteSpan firmware, const CaptureShape& s,
                                                int timeout_seconds, CommandRunner& runner,
                                                const std::function<void(const std::string&)>& log);

// The blobs in a capture boot's console output. Lines outside the markers (the kernel's, /init's)
// are skipped; each blob's size and SHA-256 are checked; errors name the console line.
tdxrt::Result<std::vector<mrtd::AcpiBlob>> ParseCaptureConsole(std::string_view console);

}  // namespace tdximage
