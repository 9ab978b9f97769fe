// The ACPI tables a host's QEMU serves a TD through fw_cfg, and the RTMR0 events OVMF measures
// for them: the three (or more) EV_PLATFORM_CONFIG_FLAGS "ACPI DATA" events.
//
// OVMF (OvmfPkg/Library/AcpiPlatformLib/QemuFwCfgAcpi.c) downloads "etc/table-loader", measures
// it whole, then runs its commands in order: each ALLOCATE downloads the named fw_cfg file
// ("etc/acpi/tables", "etc/acpi/rsdp", ...) and measures it whole before patching it. The blobs
// depend on the QEMU version and the VM's shape (CPUs, memory, devices), not on the image: they
// are captured once per host from the QEMU that will run the TD (tdximage capture-acpi) and
// kept as a JSON capture file that mrtd-calc and tdximage read back.
//
// The loader's format (QEMU hw/acpi/bios-linker-loader.c): 128-byte commands, a 32-bit
// command number first; ALLOCATE (1) carries a 56-byte NUL-terminated file name, a 32-bit
// alignment and a zone byte. Other commands (ADD_POINTER, ADD_CHECKSUM, WRITE_POINTER) patch
// blobs after they are measured; unknown ones OVMF skips.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mrtd/expected_log.h"
#include "mrtd/host_profile.h"
#include "tdxrt/bytes.h"
#include "tdxrt/status.h"

namespace mrtd {

inline constexpr std::string_view kTableLoaderFile = "etc/table-loader";
inline constexpr std::size_t kLoaderCommandSize = 128;
inline constexpr std::size_t kLoaderFileNameSize = 56;
inline constexpr std::size_t kMaxAcpiBlobSize = 16u << 20;

struct AcpiBlob {
  std::string name;  // fw_cfg file name
  tdxrt::Bytes data;
};

struct AcpiCapture {
  std::string qemu;    // the QEMU that served the blobs (`qemu --version`'s first line)
  std::string memory;  // the VM shape it was captured with: QEMU -m syntax
  unsigned cpus = 1;
  std::string accel;                   // tcg, kvm or tdx
  std::vector<std::string> qemu_args;  // the machine and device arguments, for the record
  std::vector<AcpiBlob> blobs;         // etc/table-loader and every file it allocates
  const AcpiBlob* Find(std::string_view name) const;
};

// The files the loader allocates, in command order. Errors name the command and its offset.
tdxrt::Result<std::vector<std::string>> TableLoaderAllocations(tdxrt::ByteSpan loader);

// RTMR0's ACPI events for `c`: the loader, then each allocated file, in OVMF's order.
tdxrt::Result<std::vector<ExpectedEvent>> AcpiEvents(const AcpiCapture& c);

// The QEMU version a capture's `qemu` line names ("QEMU emulator version 10.1.0 (...)" ->
// {10, 1}); nullopt when it names none.
std::optional<std::pair<int, int>> QemuVersionOf(std::string_view version_line);

// Whether `c` was captured from `host`'s QEMU (the same major.minor upstream version).
bool CapturedFrom(const AcpiCapture& c, const QemuHost& host);

inline constexpr int kAcpiCaptureVersion = 1;
nlohmann::ordered_json AcpiCaptureJson(const AcpiCapture& c);
// Reads a capture file: every field checked (the blobs' sizes and SHA-384 against their
// bytes, the loader parsed, every allocated file present); errors name `what` and the field.
tdxrt::Result<AcpiCapture> ParseAcpiCapture(std::string_view text, const std::string& what);

}  // namespace mrtd
