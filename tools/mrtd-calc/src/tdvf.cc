// TDVF metadata discovery and validation (see include/mrtd/tdvf.h for the byte layout).
#include "mrtd/tdvf.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "tdxrt/hex.h"

namespace mrtd {

using tdxrt::ByteSpan;
using tdxrt::HexOffset;
using tdxrt::LoadLe;
using tdxrt::Result;
using tdxrt::Status;

namespace {

// EFI GUIDs in their on-disk mixed-endian form.
constexpr std::array<std::uint8_t, 16> kTableFooterGuid = {
    0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45,
    0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d};  // 96b582de-1fb2-45f7-baea-a366c55a082d
constexpr std::array<std::uint8_t, 16> kTdxMetadataGuid = {
    0x35, 0x65, 0x7a, 0xe4, 0x4a, 0x98, 0x98, 0x47,
    0x86, 0x5e, 0x46, 0x85, 0xa7, 0xbf, 0x8e, 0xc2};  // e47a6535-984a-4798-865e-4685a7bf8ec2

constexpr std::uint32_t kSignatureTdvf = 0x46564454;  // "TDVF" little endian
constexpr std::uint64_t kDescriptorHeaderSize = 16;
constexpr std::uint64_t kSectionSize = 32;
constexpr std::uint32_t kMaxTdvfSections = 256;
constexpr std::uint64_t kMaxSectionMemory = 4ull << 30;  // 4 GiB: beyond any real TDVF section
constexpr std::uint64_t kMaxGpa = 1ull << 52;            // TDX GPA width (52 bits)

bool GuidAt(ByteSpan data, std::uint64_t offset, const std::array<std::uint8_t, 16>& guid) {
  if (!tdxrt::InBounds(data.size(), offset, 16)) return false;
  return std::memcmp(data.data() + offset, guid.data(), 16) == 0;
}

// Returns the descriptor offset found through the GUID table, NotFound when the file has no
// table footer, Corrupt when the table is present but malformed or lacks the TDX entry.
Result<std::uint64_t> FindViaGuidTable(ByteSpan fw) {
  const std::uint64_t len = fw.size();
  if (len < 0x32 || !GuidAt(fw, len - 0x30, kTableFooterGuid)) {
    return Status::NotFound("no GUID table footer at " + HexOffset(len < 0x30 ? 0 : len - 0x30));
  }
  const std::uint64_t table_end = len - 0x20;
  const std::uint16_t table_size = *LoadLe<std::uint16_t>(fw, len - 0x32);
  if (table_size < 18 || table_size > table_end) {
    return Status::Corrupt("GUID table: size " + std::to_string(table_size) + " at " +
                           HexOffset(len - 0x32) + " is out of range (18.." +
                           std::to_string(table_end) + ")");
  }
  const std::uint64_t table_start = table_end - table_size;
  std::uint64_t end = len - 0x32;  // end of the last entry before the footer
  while (end > table_start) {
    if (end - table_start < 18) {
      return Status::Corrupt("GUID table: " + std::to_string(end - table_start) +
                             " stray bytes at " + HexOffset(table_start));
    }
    const std::uint64_t guid_off = end - 16;
    const std::uint16_t entry_len = *LoadLe<std::uint16_t>(fw, end - 18);
    if (entry_len < 18 || entry_len > end - table_start) {
      return Status::Corrupt("GUID table: entry ending at " + HexOffset(end) + " has length " +
                             std::to_string(entry_len) + " (must be 18.." +
                             std::to_string(end - table_start) + ")");
    }
    if (GuidAt(fw, guid_off, kTdxMetadataGuid)) {
      if (entry_len != 22) {
        return Status::Corrupt("GUID table: TDX metadata entry at " + HexOffset(end - entry_len) +
                               " has length " + std::to_string(entry_len) + ", expected 22");
      }
      const std::uint32_t back = *LoadLe<std::uint32_t>(fw, end - entry_len);
      if (back == 0 || back > len) {
        return Status::Corrupt("GUID table: TDX metadata offset " + HexOffset(back) + " at " +
                               HexOffset(end - entry_len) + " points outside the file (size " +
                               HexOffset(len) + ")");
      }
      return len - back;
    }
    end -= entry_len;
  }
  return Status::Corrupt(
      "GUID table present but it has no TDX metadata entry "
      "(e47a6535-984a-4798-865e-4685a7bf8ec2): not a TDVF firmware");
}

Status ValidateSections(const TdvfMetadata& md, std::uint64_t file_size,
                        std::vector<std::string>& warnings) {
  for (std::size_t i = 0; i < md.sections.size(); ++i) {
    const TdvfSection& s = md.sections[i];
    const std::string name =
        "TDVF section " + std::to_string(i) + " (" + std::string(SectionTypeName(s.type)) + ")";
    if (static_cast<std::uint32_t>(s.type) > 6) {
      return Status::Corrupt("TDVF section " + std::to_string(i) + ": unknown type " +
                             std::to_string(static_cast<std::uint32_t>(s.type)));
    }
    if ((s.attributes & ~(kAttrMrExtend | kAttrPageAug)) != 0) {
      return Status::Corrupt(name + ": unknown attribute bits " + HexOffset(s.attributes));
    }
    if (s.gpa % kPageSize != 0) {
      return Status::Corrupt(name + ": memory address " + HexOffset(s.gpa) +
                             " is not 4 KiB aligned");
    }
    if (s.memory_size == 0 || s.memory_size % kPageSize != 0) {
      return Status::Corrupt(name + ": memory size " + HexOffset(s.memory_size) +
                             " is not a non-zero multiple of 4 KiB");
    }
    if (s.memory_size > kMaxSectionMemory) {
      return Status::Corrupt(name + ": memory size " + HexOffset(s.memory_size) +
                             " is absurd (limit " + HexOffset(kMaxSectionMemory) + ")");
    }
    if (s.gpa >= kMaxGpa || s.memory_size > kMaxGpa - s.gpa) {
      return Status::Corrupt(name + ": memory range " + HexOffset(s.gpa) + "+" +
                             HexOffset(s.memory_size) + " exceeds the 52-bit guest physical space");
    }
    if (s.raw_size > s.memory_size) {
      return Status::Corrupt(name + ": raw data size " + HexOffset(s.raw_size) +
                             " is larger than its memory size " + HexOffset(s.memory_size));
    }
    if (s.raw_size > 0 && !tdxrt::InBounds(file_size, s.data_offset, s.raw_size)) {
      return Status::Corrupt(name + ": raw data " + HexOffset(s.raw_size) + " bytes at " +
                             HexOffset(s.data_offset) + " runs past end of file (" +
                             HexOffset(file_size) + ")");
    }
    const bool needs_data = s.type == TdvfSectionType::kBfv || s.type == TdvfSectionType::kCfv;
    if (needs_data && s.raw_size == 0) {
      return Status::Corrupt(name + ": has no raw data");
    }
    const bool no_data = s.type == TdvfSectionType::kTdHob || s.type == TdvfSectionType::kTempMem ||
                         s.type == TdvfSectionType::kPermMem;
    if (no_data && (s.raw_size != 0 || s.mr_extend())) {
      return Status::Corrupt(name + ": must have no raw data and no MR_EXTEND (raw size " +
                             HexOffset(s.raw_size) + ", attributes " + HexOffset(s.attributes) +
                             ")");
    }
    if (static_cast<std::uint32_t>(s.type) > 3) {
      warnings.push_back(name + ": upstream QEMU refuses TDVF sections of type > 3");
    }
    if (s.page_aug()) {
      warnings.push_back(name + ": PAGE_AUG, accepted after boot and not part of MR_TD");
    }
  }
  // Pairwise overlap checks (counts are small).
  for (std::size_t i = 0; i < md.sections.size(); ++i) {
    for (std::size_t j = i + 1; j < md.sections.size(); ++j) {
      const TdvfSection& a = md.sections[i];
      const TdvfSection& b = md.sections[j];
      if (a.gpa < b.gpa + b.memory_size && b.gpa < a.gpa + a.memory_size) {
        return Status::Corrupt("TDVF sections " + std::to_string(i) + " and " + std::to_string(j) +
                               " overlap in guest memory (" + HexOffset(a.gpa) + "+" +
                               HexOffset(a.memory_size) + " and " + HexOffset(b.gpa) + "+" +
                               HexOffset(b.memory_size) + ")");
      }
      if (a.raw_size > 0 && b.raw_size > 0 &&
          std::uint64_t{a.data_offset} < std::uint64_t{b.data_offset} + b.raw_size &&
          std::uint64_t{b.data_offset} < std::uint64_t{a.data_offset} + a.raw_size) {
        return Status::Corrupt("TDVF sections " + std::to_string(i) + " and " + std::to_string(j) +
                               " overlap in the file (" + HexOffset(a.data_offset) + "+" +
                               HexOffset(a.raw_size) + " and " + HexOffset(b.data_offset) + "+" +
                               HexOffset(b.raw_size) + ")");
      }
    }
  }
  return Status::Ok();
}

}  // namespace

std::string_view SectionTypeName(TdvfSectionType type) {
  switch (type) {
    case TdvfSectionType::kBfv:
      return "BFV";
    case TdvfSectionType::kCfv:
      return "CFV";
    case TdvfSectionType::kTdHob:
      return "TD_HOB";
    case TdvfSectionType::kTempMem:
      return "TEMP_MEM";
    case TdvfSectionType::kPermMem:
      return "PERM_MEM";
    case TdvfSectionType::kPayload:
      return "PAYLOAD";
    case TdvfSectionType::kPayloadParam:
      return "PAYLOAD_PARAM";
  }
  return "UNKNOWN";
}

Result<TdvfMetadata> ParseTdvf(ByteSpan fw) {
  TdvfMetadata md;
  std::uint64_t desc = 0;
  auto via_table = FindViaGuidTable(fw);
  if (via_table.ok()) {
    desc = *via_table;
    md.locator = TdvfLocator::kGuidTable;
  } else if (via_table.status().code() == Status::Code::kNotFound) {
    auto ptr = fw.size() >= 0x20 ? LoadLe<std::uint32_t>(fw, fw.size() - 0x20) : std::nullopt;
    if (!ptr || LoadLe<std::uint32_t>(fw, *ptr) != kSignatureTdvf) {
      return Status::NotFound(
          "no TDVF metadata: no GUID table footer (96b582de-1fb2-45f7-baea-a366c55a082d) at " +
          HexOffset(fw.size() < 0x30 ? 0 : fw.size() - 0x30) +
          " and no legacy pointer to a "
          "'TDVF' descriptor at " +
          HexOffset(fw.size() < 0x20 ? 0 : fw.size() - 0x20) + " (file size " +
          HexOffset(fw.size()) + ")");
    }
    desc = *ptr;
    md.locator = TdvfLocator::kLegacyPointer;
  } else {
    return via_table.status();
  }
  md.descriptor_offset = desc;

  tdxrt::Cursor hdr(fw.subspan(std::min<std::uint64_t>(desc, fw.size())), desc);
  TDX_ASSIGN_OR_RETURN(std::uint32_t sig, hdr.U32("TDVF descriptor signature"));
  if (sig != kSignatureTdvf) {
    return Status::Corrupt("TDVF descriptor at " + HexOffset(desc) + ": signature " +
                           HexOffset(sig) + " is not 'TDVF'");
  }
  TDX_ASSIGN_OR_RETURN(std::uint32_t length, hdr.U32("TDVF descriptor length"));
  TDX_ASSIGN_OR_RETURN(md.version, hdr.U32("TDVF descriptor version"));
  TDX_ASSIGN_OR_RETURN(std::uint32_t count, hdr.U32("TDVF section count"));
  if (md.version != 1) {
    return Status::Unsupported("TDVF descriptor at " + HexOffset(desc) + ": version " +
                               std::to_string(md.version) + " (only version 1 is defined)");
  }
  if (count == 0 || count > kMaxTdvfSections) {
    return Status::Corrupt("TDVF descriptor at " + HexOffset(desc) + ": section count " +
                           std::to_string(count) + " is out of range (1.." +
                           std::to_string(kMaxTdvfSections) + ")");
  }
  if (length != kDescriptorHeaderSize + kSectionSize * count) {
    return Status::Corrupt("TDVF descriptor at " + HexOffset(desc) + ": length " +
                           std::to_string(length) + " does not match " + std::to_string(count) +
                           " sections (expected " +
                           std::to_string(kDescriptorHeaderSize + kSectionSize * count) + ")");
  }
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::string f = "TDVF section " + std::to_string(i);
    TdvfSection s;
    TDX_ASSIGN_OR_RETURN(s.data_offset, hdr.U32(f + " data offset"));
    TDX_ASSIGN_OR_RETURN(s.raw_size, hdr.U32(f + " raw size"));
    TDX_ASSIGN_OR_RETURN(s.gpa, hdr.U64(f + " memory address"));
    TDX_ASSIGN_OR_RETURN(s.memory_size, hdr.U64(f + " memory size"));
    TDX_ASSIGN_OR_RETURN(std::uint32_t type, hdr.U32(f + " type"));
    TDX_ASSIGN_OR_RETURN(s.attributes, hdr.U32(f + " attributes"));
    s.type = static_cast<TdvfSectionType>(type);
    md.sections.push_back(s);
  }
  TDX_TRY(ValidateSections(md, fw.size(), md.warnings));
  return md;
}

}  // namespace mrtd
