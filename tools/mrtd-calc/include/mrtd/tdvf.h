// TDVF metadata: discovery in an OVMF/TDVF firmware image and validation of its sections.
//
// Layout (TDVF design guide, "TDVF Metadata"; OVMF ResetVectorVtf0.asm GUIDed table):
//
//   GUID table (all current OVMF builds), at the end of the file:
//     len-0x20 .. end      reset vector area
//     len-0x30 .. len-0x20 footer GUID 96b582de-1fb2-45f7-baea-a366c55a082d
//     len-0x32 .. len-0x30 u16 size of the whole table, footer included; table ends at len-0x20
//     entries, walked backwards from len-0x32: [payload][u16 entry length][16-byte GUID]
//     entry e47a6535-984a-4798-865e-4685a7bf8ec2 (22 bytes): u32 v, descriptor at len - v
//   Legacy (td-shim style): u32 at len-0x20 = file offset of the descriptor.
//
//   Descriptor: "TDVF", u32 length (16 + 32 * count), u32 version (1), u32 section count, then
//   per section (32 bytes): u32 data offset, u32 raw size, u64 memory GPA, u64 memory size,
//   u32 type, u32 attributes.
//
// Every field is validated before use; ParseTdvf never reads outside the buffer, and anything
// that would make the measurement ambiguous (overlaps, unaligned pages, data outside the file)
// is an error naming the section and the offending numbers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tdxrt/bytes.h"
#include "tdxrt/status.h"

namespace mrtd {

enum class TdvfSectionType : std::uint32_t {
  kBfv = 0,
  kCfv = 1,
  kTdHob = 2,
  kTempMem = 3,
  kPermMem = 4,
  kPayload = 5,
  kPayloadParam = 6,
};
std::string_view SectionTypeName(TdvfSectionType type);

inline constexpr std::uint32_t kAttrMrExtend = 1u << 0;
inline constexpr std::uint32_t kAttrPageAug = 1u << 1;
inline constexpr std::uint64_t kPageSize = 4096;

struct TdvfSection {
  std::uint32_t data_offset = 0;
  std::uint32_t raw_size = 0;
  std::uint64_t gpa = 0;
  std::uint64_t memory_size = 0;
  TdvfSectionType type = TdvfSectionType::kBfv;
  std::uint32_t attributes = 0;

  bool mr_extend() const { return (attributes & kAttrMrExtend) != 0; }
  bool page_aug() const { return (attributes & kAttrPageAug) != 0; }
};

enum class TdvfLocator { kGuidTable, kLegacyPointer };

struct TdvfMetadata {
  TdvfLocator locator = TdvfLocator::kGuidTable;
  std::uint64_t descriptor_offset = 0;
  std::uint32_t version = 0;
  std::vector<TdvfSection> sections;
  // Non-fatal observations (e.g. section types upstream QEMU refuses).
  std::vector<std::string> warnings;
};

// Finds and validates the TDVF metadata of `firmware`. Errors name the structure and offset.
tdxrt::Result<TdvfMetadata> ParseTdvf(tdxrt::ByteSpan firmware);

}  // namespace mrtd
