// Test-side builders for the binary formats mrtd parses: TDVF firmware images (GUID-table and
// legacy layouts), PE/COFF images and bzImages, CC event logs. Tests build a valid input, check
// it parses, then change one field or byte at a time and assert the exact diagnosis.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "mrtd/tdvf.h"
#include "tdxrt/bytes.h"
#include "tdxrt/file.h"

namespace mrtd::testing {

// ---- TDVF ----
struct FwSection {
  TdvfSectionType type = TdvfSectionType::kBfv;
  std::uint64_t gpa = 0;
  std::uint64_t memory_size = 0;
  std::uint32_t attributes = 0;
  tdxrt::Bytes data;  // raw data (empty: none)
};

enum class FwLayout { kGuidTable, kLegacyPointer };

struct BuiltFirmware {
  tdxrt::Bytes image;
  std::uint64_t descriptor_offset = 0;
  std::vector<std::uint64_t> data_offsets;  // per section (0 without data)
  // Offset of section i's 32-byte entry in the descriptor.
  std::uint64_t SectionEntry(std::size_t i) const { return descriptor_offset + 16 + 32 * i; }
};

BuiltFirmware BuildFirmware(const std::vector<FwSection>& sections, FwLayout layout);

// Bytes with a recognisable pattern.
tdxrt::Bytes Pattern(std::size_t n, std::uint8_t seed);

// ---- PE / bzImage ----
struct PeSpec {
  bool pe32_plus = true;
  std::uint32_t size_of_headers = 0x400;
  struct Section {
    std::string name;
    std::uint32_t raw_offset;
    std::uint32_t raw_size;
  };
  std::vector<Section> sections;
  std::uint32_t number_of_rva_and_sizes = 16;
  std::uint32_t cert_offset = 0, cert_size = 0;
  std::size_t file_size = 0x3000;
  // When set, the image also carries a Linux setup header (bzImage).
  bool bzimage = false;
  std::uint16_t protocol = 0x20f;
  std::uint8_t setup_sects = 1;    // setup = 1 KiB
  std::uint16_t xloadflags = 0x3;  // XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G
  std::uint32_t initrd_addr_max = 0x7fffffff;
};

struct BuiltPe {
  tdxrt::Bytes image;
  std::uint32_t pe_offset = 0;
  std::uint32_t opt_offset = 0;       // optional header
  std::uint32_t checksum_offset = 0;  // CheckSum field
  std::uint32_t cert_dir_offset = 0;  // certificate directory entry
  std::uint32_t section_table = 0;
};

BuiltPe BuildPe(const PeSpec& spec);

// The spec of a minimal EFI-stub bzImage: headers to 0x200, a .setup section, a .text section of
// `text_size` bytes; BuildPe(MinimalBzImage()).image parses as a bzImage with a PE header.
PeSpec MinimalBzImage(std::uint32_t text_size = 0x2000);

// ---- CC event log ----
struct LogEvent {
  std::uint32_t mr_index;
  std::uint32_t type;
  tdxrt::Bytes data;
  tdxrt::Bytes sha384;  // 48 bytes; empty = SHA-384 of data
};

struct BuiltLog {
  tdxrt::Bytes bytes;
  std::vector<std::uint64_t> offsets;  // of each TCG_PCR_EVENT2 record
};

// A crypto-agile log with SHA-256 and SHA-384 digests, padded with `pad` to `total` bytes.
BuiltLog BuildEventLog(const std::vector<LogEvent>& events, std::size_t total = 0,
                       std::uint8_t pad = 0xff);

#ifdef TDX_SHARED_DIR
// A file of ../shared (e.g. "vectors/dstack/ccel.bin"); nullopt, after printing the "skipped:"
// line the test runner looks for, when ../shared is absent. A file that is there but unreadable
// is an error (an empty Bytes makes the caller's first check fail).
inline std::optional<tdxrt::Bytes> SharedFile(const char* relative) {
  const std::filesystem::path path = std::filesystem::path(TDX_SHARED_DIR) / relative;
  if (!std::filesystem::exists(path)) {
    std::printf("skipped: %s absent (no ../shared)\n", path.c_str());
    return std::nullopt;
  }
  auto bytes = tdxrt::ReadFile(path);
  return bytes.ok() ? std::move(bytes).value() : tdxrt::Bytes{};
}
#endif

}  // namespace mrtd::testing
