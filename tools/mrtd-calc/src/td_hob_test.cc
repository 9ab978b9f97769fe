// The TD HOB: q35 RAM ranges, the TDVF sections carved out of them, the bytes OVMF measures, and
// the real log's TD HOB event reproduced from Debian 13's OVMF metadata.
#include "mrtd/td_hob.h"

#include <doctest/doctest.h>

#include "mrtd/eventlog.h"
#include "mrtd/rtmr0.h"
#include "tdxrt/hex.h"
#include "tdxrt/sha.h"
#include "test_builders.h"

using mrtd::TdvfSectionType;
using mrtd::TdxRamEntry;
using mrtd::testing::BuildFirmware;
using mrtd::testing::FwLayout;
using mrtd::testing::FwSection;
using mrtd::testing::Pattern;

namespace {

constexpr std::uint64_t kMiB = 1ull << 20;
constexpr std::uint64_t kGiB = 1ull << 30;

// The TDVF sections of Debian 13's OVMF.fd (ovmf 2025.02-8+deb13u1), as mrtd-calc inspect lists
// them; only TD_HOB and TEMP_MEM enter the TD HOB.
mrtd::TdvfMetadata Debian13Metadata() {
  std::vector<FwSection> secs = {
      {TdvfSectionType::kBfv, 0xffff0000, 0x3000, mrtd::kAttrMrExtend, Pattern(0x3000, 1)},
      {TdvfSectionType::kCfv, 0xfffe0000, 0x2000, 0, Pattern(0x2000, 2)},
      {TdvfSectionType::kTempMem, 0x811000, 0xf000, 0, {}},
      {TdvfSectionType::kTempMem, 0x80b000, 0x2000, 0, {}},
      {TdvfSectionType::kTdHob, 0x809000, 0x2000, 0, {}},
      {TdvfSectionType::kTempMem, 0x800000, 0x6000, 0, {}},
  };
  auto md = mrtd::ParseTdvf(BuildFirmware(secs, FwLayout::kGuidTable).image);
  REQUIRE(md.ok());
  return *md;
}

}  // namespace

TEST_CASE("td hob: q35 RAM below and above 4 GiB") {
  using V = std::vector<TdxRamEntry>;
  CHECK(mrtd::Q35RamRanges(512 * kMiB) == V{{0, 512 * kMiB, false}});
  CHECK(mrtd::Q35RamRanges(2 * kGiB) == V{{0, 2 * kGiB, false}});
  // Up to 2.75 GiB stays below 4 GiB; from 2.75 GiB on, 2 GiB below and the rest above.
  CHECK(mrtd::Q35RamRanges(0xb0000000 - kMiB) == V{{0, 0xb0000000 - kMiB, false}});
  CHECK(mrtd::Q35RamRanges(0xb0000000) == V{{0, 2 * kGiB, false}, {4 * kGiB, 0x30000000, false}});
  CHECK(mrtd::Q35RamRanges(8 * kGiB) == V{{0, 2 * kGiB, false}, {4 * kGiB, 6 * kGiB, false}});
}

TEST_CASE("td hob: TD_HOB and TEMP_MEM carved out as added, sorted by address") {
  auto entries = mrtd::TdxRamEntries(mrtd::Q35RamRanges(kGiB), Debian13Metadata());
  REQUIRE(entries.ok());
  using V = std::vector<TdxRamEntry>;
  CHECK(*entries == V{{0, 0x800000, false},
                      {0x800000, 0x6000, true},
                      {0x806000, 0x3000, false},
                      {0x809000, 0x2000, true},
                      {0x80b000, 0x2000, true},
                      {0x80d000, 0x4000, false},
                      {0x811000, 0xf000, true},
                      {0x820000, kGiB - 0x820000, false}});
}

TEST_CASE("td hob: the measured bytes") {
  auto hob = mrtd::BuildTdHob(Debian13Metadata(), 4 * kGiB);
  REQUIRE(hob.ok());
  // 8 entries below 2 GiB, one above 4 GiB.
  REQUIRE(hob->entries.size() == 9);
  CHECK(hob->entries.back() == TdxRamEntry{4 * kGiB, 2 * kGiB, false});
  REQUIRE(hob->measured.size() == 56 + 9 * 48);
  const auto le = [&](std::size_t off, std::size_t n) {
    std::uint64_t v = 0;
    for (std::size_t i = n; i-- > 0;) v = (v << 8) | hob->measured[off + i];
    return v;
  };
  CHECK(le(0, 2) == 1);  // PHIT
  CHECK(le(2, 2) == 56);
  CHECK(le(8, 4) == 9);                            // version
  CHECK(le(48, 8) == 0x809000 + 56 + 9 * 48 + 8);  // just past the END HOB
  CHECK(le(56, 2) == 3);                           // resource descriptor
  CHECK(le(56 + 24, 4) == 7);                      // the first range is unaccepted
  CHECK(le(56 + 48 + 24, 4) == 0);                 // TEMP_MEM 0x800000: system memory
  CHECK(le(56 + 48 + 28, 4) == 7);                 // present, initialized, tested
  CHECK(le(56 + 48 + 32, 8) == 0x800000);
  CHECK(le(56 + 48 + 40, 8) == 0x6000);
  CHECK(hob->address == 0x809000);
  // TDX_HANDOFF_TABLE_POINTERS2: 9, "TdxTable\0", one table, gUefiOvmfPkgTokenSpaceGuid, address.
  CHECK(tdxrt::ToHex(hob->event_data) ==
        "0954647854616"
        "26c6500"
        "0100000000000000"
        "af96bb93f2b9b84e9462e0ba74564236"
        "0090800000000000");
}

TEST_CASE("td hob: errors name the section and the memory") {
  // 8 MiB of memory: the first TEMP_MEM section (0x811000) lies past the end of RAM.
  auto small = mrtd::BuildTdHob(Debian13Metadata(), 8 * kMiB);
  REQUIRE_FALSE(small.ok());
  CHECK(small.status().message() ==
        "the firmware's TEMP_MEM section at 0x811000 (0xf000 bytes) is not inside one RAM range "
        "of the guest: QEMU refuses to start such a TD");
  CHECK_FALSE(mrtd::BuildTdHob(Debian13Metadata(), 0).ok());
  std::vector<FwSection> no_hob = {
      {TdvfSectionType::kBfv, 0xffff0000, 0x3000, mrtd::kAttrMrExtend, Pattern(0x3000, 1)},
      {TdvfSectionType::kTempMem, 0x800000, 0x1000, 0, {}}};
  auto md = mrtd::ParseTdvf(BuildFirmware(no_hob, FwLayout::kGuidTable).image);
  REQUIRE(md.ok());
  auto none = mrtd::BuildTdHob(*md, kGiB);
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().message() == "the firmware's TDVF metadata has no TD_HOB section");
}

TEST_CASE("td hob: the real log's TD HOB event (shared/vectors/dstack/ccel.bin)") {
  const auto bytes = mrtd::testing::SharedFile("vectors/dstack/ccel.bin");
  if (!bytes) return;
  auto log = mrtd::ParseCcEventLog(*bytes);
  REQUIRE(log.ok());
  const mrtd::CcEvent& real = log->events.front();
  REQUIRE(real.type == mrtd::kEvEfiHandoffTables2);
  // The TD dstack logged: Debian 13's OVMF sections (its variable store is Debian 13's too) and
  // 1 GiB of memory. Every other size gives another digest.
  auto hob = mrtd::BuildTdHob(Debian13Metadata(), kGiB);
  REQUIRE(hob.ok());
  CHECK(tdxrt::ToHex(tdxrt::Sha384(hob->measured)) == tdxrt::ToHex(*real.Sha384()));
  CHECK(tdxrt::ToHex(hob->event_data) == tdxrt::ToHex(real.data));
  for (std::uint64_t mem : {512 * kMiB, 2 * kGiB, 4 * kGiB}) {
    auto other = mrtd::BuildTdHob(Debian13Metadata(), mem);
    REQUIRE(other.ok());
    CHECK(tdxrt::ToHex(tdxrt::Sha384(other->measured)) != tdxrt::ToHex(*real.Sha384()));
  }
}
