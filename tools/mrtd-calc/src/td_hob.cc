// The TD HOB QEMU builds for a TD (see include/mrtd/td_hob.h).
#include "mrtd/td_hob.h"

#include <algorithm>

namespace mrtd {

using tdxrt::Bytes;
using tdxrt::Result;
using tdxrt::Status;

namespace {

constexpr std::uint64_t k4GiB = 1ull << 32;
constexpr std::uint16_t kHobTypeHandoff = 0x0001;
constexpr std::uint16_t kHobTypeResourceDescriptor = 0x0003;
constexpr std::uint32_t kHandoffTableVersion = 0x0009;
constexpr std::uint32_t kResourceSystemMemory = 0x0;
constexpr std::uint32_t kResourceMemoryUnaccepted = 0x7;
constexpr std::uint32_t kAttrPresentInitializedTested = 0x1 | 0x2 | 0x4;
constexpr std::size_t kPhitSize = 56;
constexpr std::size_t kResourceDescriptorSize = 48;
constexpr std::size_t kEndHobSize = 8;
// gUefiOvmfPkgTokenSpaceGuid 93BB96AF-B9F2-4EB8-9462-E0BA74564236, the table entry's vendor GUID.
constexpr std::uint8_t kOvmfTokenSpaceGuid[16] = {0xaf, 0x96, 0xbb, 0x93, 0xf2, 0xb9, 0xb8, 0x4e,
                                                  0x94, 0x62, 0xe0, 0xba, 0x74, 0x56, 0x42, 0x36};

// QEMU's tdx_accept_ram_range: the entry holding [address, address + length) becomes that
// range, marked added; what was before and after it stays unaccepted.
Status Carve(std::vector<TdxRamEntry>& entries, std::uint64_t address, std::uint64_t length,
             const char* what) {
  auto it = std::find_if(entries.begin(), entries.end(), [&](const TdxRamEntry& e) {
    return address < e.address + e.length && address + length > e.address;
  });
  if (it == entries.end() || it->address > address || it->address + it->length < address + length) {
    return Status::InvalidArgument(std::string("the firmware's ") + what + " section at " +
                                   tdxrt::HexOffset(address) + " (" + tdxrt::HexOffset(length) +
                                   " bytes) is not inside one RAM range of the guest: QEMU "
                                   "refuses to start such a TD");
  }
  if (it->added) return Status::Ok();
  const TdxRamEntry old = *it;
  *it = {address, length, true};
  if (address > old.address) entries.push_back({old.address, address - old.address, false});
  if (address + length < old.address + old.length) {
    entries.push_back({address + length, old.address + old.length - address - length, false});
  }
  return Status::Ok();
}

}  // namespace

std::vector<TdxRamEntry> Q35RamRanges(std::uint64_t memory) {
  const std::uint64_t low = memory >= kQ35LowMemSplit ? kQ35LowMemLarge : kQ35LowMemSplit;
  if (memory <= low) return {{0, memory, false}};
  return {{0, low, false}, {k4GiB, memory - low, false}};
}

Result<std::vector<TdxRamEntry>> TdxRamEntries(const std::vector<TdxRamEntry>& ram,
                                               const TdvfMetadata& md) {
  std::vector<TdxRamEntry> entries = ram;
  bool has_hob = false;
  for (const auto& s : md.sections) {
    if (s.type != TdvfSectionType::kTdHob && s.type != TdvfSectionType::kTempMem) continue;
    has_hob = has_hob || s.type == TdvfSectionType::kTdHob;
    TDX_TRY(Carve(entries, s.gpa, s.memory_size,
                  s.type == TdvfSectionType::kTdHob ? "TD_HOB" : "TEMP_MEM"));
  }
  if (!has_hob) {
    return Status::InvalidArgument("the firmware's TDVF metadata has no TD_HOB section");
  }
  std::sort(entries.begin(), entries.end(),
            [](const TdxRamEntry& a, const TdxRamEntry& b) { return a.address < b.address; });
  return entries;
}

Result<TdHob> BuildTdHob(const TdvfMetadata& md, std::uint64_t memory) {
  if (memory == 0) return Status::InvalidArgument("the guest memory size is 0");
  TdHob hob;
  const TdvfSection* section = nullptr;
  for (const auto& s : md.sections) {
    if (s.type == TdvfSectionType::kTdHob && section == nullptr) section = &s;
  }
  TDX_ASSIGN_OR_RETURN(hob.entries, TdxRamEntries(Q35RamRanges(memory), md));
  hob.address = section->gpa;
  const std::size_t total = kPhitSize + hob.entries.size() * kResourceDescriptorSize + kEndHobSize;
  if (total > section->memory_size) {
    return Status::InvalidArgument("the TD HOB (" + std::to_string(total) +
                                   " bytes) overruns the firmware's TD_HOB section (" +
                                   std::to_string(section->memory_size) + " bytes)");
  }
  Bytes& b = hob.measured;
  using tdxrt::AppendLe;
  // PHIT: header, version, boot mode, memory top/bottom and free top/bottom (zero), end of list.
  AppendLe(b, kHobTypeHandoff);
  AppendLe(b, static_cast<std::uint16_t>(kPhitSize));
  AppendLe(b, std::uint32_t{0});
  AppendLe(b, kHandoffTableVersion);
  AppendLe(b, std::uint32_t{0});
  for (int i = 0; i < 4; ++i) AppendLe(b, std::uint64_t{0});
  AppendLe(b, std::uint64_t{hob.address + total});
  for (const auto& e : hob.entries) {
    AppendLe(b, kHobTypeResourceDescriptor);
    AppendLe(b, static_cast<std::uint16_t>(kResourceDescriptorSize));
    AppendLe(b, std::uint32_t{0});
    b.insert(b.end(), 16, 0);  // owner: zero GUID
    AppendLe(b, e.added ? kResourceSystemMemory : kResourceMemoryUnaccepted);
    AppendLe(b, kAttrPresentInitializedTested);
    AppendLe(b, e.address);
    AppendLe(b, e.length);
  }
  // TDX_HANDOFF_TABLE_POINTERS2: description size and "TdxTable\0", one table: GUID, address.
  const std::string desc = "TdxTable";
  Bytes& d = hob.event_data;
  d.push_back(static_cast<std::uint8_t>(desc.size() + 1));
  d.insert(d.end(), desc.begin(), desc.end());
  d.push_back(0);
  AppendLe(d, std::uint64_t{1});
  d.insert(d.end(), std::begin(kOvmfTokenSpaceGuid), std::end(kOvmfTokenSpaceGuid));
  AppendLe(d, hob.address);
  return hob;
}

}  // namespace mrtd
