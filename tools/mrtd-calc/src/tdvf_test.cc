// TDVF metadata parsing and MR_TD: builder-made firmware in both layouts, expected digests
// computed here from an explicitly assembled record stream, and one-field corruptions with their
// exact diagnoses.
#include "mrtd/tdvf.h"

#include <doctest/doctest.h>

#include <cstring>

#include "mrtd/mrtd.h"
#include "tdxrt/hex.h"
#include "test_builders.h"

using mrtd::PageOrder;
using mrtd::TdvfSectionType;
using mrtd::testing::BuildFirmware;
using mrtd::testing::FwLayout;
using mrtd::testing::FwSection;
using mrtd::testing::Pattern;
using tdxrt::Bytes;

namespace {

std::vector<FwSection> SampleSections() {
  return {
      // BFV: MR_EXTEND, raw data shorter than its memory (the tail is zero-filled when extended).
      {TdvfSectionType::kBfv, 0xffff0000, 0x3000, mrtd::kAttrMrExtend, Pattern(0x3000 - 0x340, 1)},
      {TdvfSectionType::kCfv, 0xfffe0000, 0x2000, 0, Pattern(0x2000, 2)},
      {TdvfSectionType::kTdHob, 0x809000, 0x2000, 0, {}},
      {TdvfSectionType::kTempMem, 0x800000, 0x1000, 0, {}},
      {TdvfSectionType::kTempMem, 0x900000, 0x4000, mrtd::kAttrPageAug, {}},
  };
}

// The record stream written out byte by byte, independent of the library's emitter.
Bytes Record(const char* op, std::uint64_t gpa) {
  Bytes r(128, 0);
  std::memcpy(r.data(), op, std::strlen(op));
  for (int i = 0; i < 8; ++i)
    r[16 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(gpa >> (8 * i));
  return r;
}

std::string ExpectedMrTd(const std::vector<FwSection>& secs, PageOrder order) {
  Bytes stream;
  auto add = [&](const Bytes& b) { stream.insert(stream.end(), b.begin(), b.end()); };
  for (const auto& s : secs) {
    if (s.attributes & mrtd::kAttrPageAug) continue;
    Bytes mem(s.memory_size, 0);
    if (!s.data.empty()) std::memcpy(mem.data(), s.data.data(), s.data.size());
    const std::uint64_t pages = s.memory_size / 4096;
    auto extend_page = [&](std::uint64_t p) {
      for (std::uint64_t c = 0; c < 16; ++c) {
        const std::uint64_t off = p * 4096 + c * 256;
        add(Record("MR.EXTEND", s.gpa + off));
        stream.insert(stream.end(), mem.begin() + static_cast<long>(off),
                      mem.begin() + static_cast<long>(off + 256));
      }
    };
    const bool ext = (s.attributes & mrtd::kAttrMrExtend) != 0;
    if (order == PageOrder::kSinglePass) {
      for (std::uint64_t p = 0; p < pages; ++p) {
        add(Record("MEM.PAGE.ADD", s.gpa + p * 4096));
        if (ext) extend_page(p);
      }
    } else {
      for (std::uint64_t p = 0; p < pages; ++p) add(Record("MEM.PAGE.ADD", s.gpa + p * 4096));
      if (ext) {
        for (std::uint64_t p = 0; p < pages; ++p) extend_page(p);
      }
    }
  }
  return tdxrt::ToHex(tdxrt::Sha384(stream));
}

std::string ParseError(const Bytes& fw) {
  auto md = mrtd::ParseTdvf(fw);
  return md.ok() ? "ok" : md.status().message();
}

}  // namespace

TEST_CASE("GUID-table firmware: sections parsed, MR_TD equals the raw record stream, both orders") {
  auto secs = SampleSections();
  auto fw = BuildFirmware(secs, FwLayout::kGuidTable);
  auto md = mrtd::ParseTdvf(fw.image);
  REQUIRE_MESSAGE(md.ok(), md.status().message());
  CHECK(md->locator == mrtd::TdvfLocator::kGuidTable);
  CHECK(md->descriptor_offset == fw.descriptor_offset);
  REQUIRE(md->sections.size() == secs.size());
  CHECK(md->sections[0].mr_extend());
  CHECK(md->sections[0].raw_size == 0x3000 - 0x340);
  CHECK(md->sections[4].page_aug());
  CHECK(md->warnings.size() == 1);  // the PAGE_AUG note
  const auto single = tdxrt::ToHex(mrtd::ComputeMrTd(fw.image, *md, PageOrder::kSinglePass));
  const auto two = tdxrt::ToHex(mrtd::ComputeMrTd(fw.image, *md, PageOrder::kTwoPass));
  CHECK(single == ExpectedMrTd(secs, PageOrder::kSinglePass));
  CHECK(two == ExpectedMrTd(secs, PageOrder::kTwoPass));
  CHECK(single != two);
}

TEST_CASE("legacy-pointer firmware gives the same MR_TD as the GUID-table layout") {
  auto secs = SampleSections();
  auto a = BuildFirmware(secs, FwLayout::kGuidTable);
  auto b = BuildFirmware(secs, FwLayout::kLegacyPointer);
  auto ma = mrtd::ParseTdvf(a.image);
  auto mb = mrtd::ParseTdvf(b.image);
  REQUIRE(ma.ok());
  REQUIRE_MESSAGE(mb.ok(), mb.status().message());
  CHECK(mb->locator == mrtd::TdvfLocator::kLegacyPointer);
  for (auto order : {PageOrder::kSinglePass, PageOrder::kTwoPass}) {
    CHECK(mrtd::ComputeMrTd(a.image, *ma, order) == mrtd::ComputeMrTd(b.image, *mb, order));
  }
}

TEST_CASE("MR_TD depends on every extended byte and on nothing outside the sections") {
  auto secs = SampleSections();
  auto fw = BuildFirmware(secs, FwLayout::kGuidTable);
  auto md = mrtd::ParseTdvf(fw.image);
  REQUIRE(md.ok());
  const auto base = mrtd::ComputeMrTd(fw.image, *md, PageOrder::kSinglePass);
  Bytes in_bfv = fw.image;
  in_bfv[fw.data_offsets[0] + 0x1234] ^= 1;
  CHECK(mrtd::ComputeMrTd(in_bfv, *md, PageOrder::kSinglePass) != base);
  Bytes in_cfv = fw.image;  // CFV is added, not extended: its bytes do not count
  in_cfv[fw.data_offsets[1] + 5] ^= 1;
  CHECK(mrtd::ComputeMrTd(in_cfv, *md, PageOrder::kSinglePass) == base);
}

TEST_CASE("page order names round-trip") {
  CHECK(mrtd::ParsePageOrder("single-pass") == PageOrder::kSinglePass);
  CHECK(mrtd::ParsePageOrder("two-pass") == PageOrder::kTwoPass);
  CHECK_FALSE(mrtd::ParsePageOrder("two_pass").has_value());
  CHECK(mrtd::PageOrderName(PageOrder::kTwoPass) == "two-pass");
}

TEST_CASE("corrupted descriptors are rejected with exact diagnoses") {
  auto fw = BuildFirmware(SampleSections(), FwLayout::kGuidTable);
  const std::size_t d = fw.descriptor_offset;
  const std::string at = tdxrt::HexOffset(d);
  auto with = [&](auto mutate) {
    Bytes b = fw.image;
    mutate(b);
    return ParseError(b);
  };
  CHECK(with([&](Bytes& b) { b[d] = 'X'; }) ==
        "TDVF descriptor at " + at + ": signature 0x46564458 is not 'TDVF'");
  CHECK(with([&](Bytes& b) { tdxrt::StoreLe<std::uint32_t>(b, d + 8, 2); }) ==
        "TDVF descriptor at " + at + ": version 2 (only version 1 is defined)");
  CHECK(with([&](Bytes& b) { tdxrt::StoreLe<std::uint32_t>(b, d + 12, 0); }) ==
        "TDVF descriptor at " + at + ": section count 0 is out of range (1..256)");
  CHECK(with([&](Bytes& b) { tdxrt::StoreLe<std::uint32_t>(b, d + 12, 4); }) ==
        "TDVF descriptor at " + at + ": length 176 does not match 4 sections (expected 144)");
  const std::size_t s0 = fw.SectionEntry(0), s1 = fw.SectionEntry(1), s2 = fw.SectionEntry(2);
  CHECK(with([&](Bytes& b) { tdxrt::StoreLe<std::uint32_t>(b, s0 + 4, 0x100000); }) ==
        "TDVF section 0 (BFV): raw data size 0x100000 is larger than its memory size 0x3000");
  CHECK(with([&](Bytes& b) { tdxrt::StoreLe<std::uint32_t>(b, s1, 0x7fff0000); }) ==
        "TDVF section 1 (CFV): raw data 0x2000 bytes at 0x7fff0000 runs past end of file (" +
            tdxrt::HexOffset(fw.image.size()) + ")");
  CHECK(with([&](Bytes& b) { tdxrt::StoreLe<std::uint64_t>(b, s2 + 8, 0x809800); }) ==
        "TDVF section 2 (TD_HOB): memory address 0x809800 is not 4 KiB aligned");
  CHECK(with([&](Bytes& b) { tdxrt::StoreLe<std::uint64_t>(b, s2 + 16, 0); }) ==
        "TDVF section 2 (TD_HOB): memory size 0x0 is not a non-zero multiple of 4 KiB");
  CHECK(with([&](Bytes& b) { tdxrt::StoreLe<std::uint64_t>(b, s2 + 16, 1ull << 40); }) ==
        "TDVF section 2 (TD_HOB): memory size 0x10000000000 is absurd (limit 0x100000000)");
  CHECK(with([&](Bytes& b) { tdxrt::StoreLe<std::uint32_t>(b, s2 + 24, 9); }) ==
        "TDVF section 2: unknown type 9");
  CHECK(with([&](Bytes& b) { tdxrt::StoreLe<std::uint32_t>(b, s2 + 28, 0x10); }) ==
        "TDVF section 2 (TD_HOB): unknown attribute bits 0x10");
  CHECK(with([&](Bytes& b) { tdxrt::StoreLe<std::uint32_t>(b, s2 + 28, 1); }) ==
        "TDVF section 2 (TD_HOB): must have no raw data and no MR_EXTEND (raw size 0x0, attributes "
        "0x1)");
  CHECK(with([&](Bytes& b) { tdxrt::StoreLe<std::uint32_t>(b, s1 + 4, 0); }) ==
        "TDVF section 1 (CFV): has no raw data");
  CHECK(with([&](Bytes& b) { tdxrt::StoreLe<std::uint64_t>(b, s2 + 8, 0x800000); }) ==
        "TDVF sections 2 and 3 overlap in guest memory (0x800000+0x2000 and 0x800000+0x1000)");
  CHECK(with([&](Bytes& b) {
          tdxrt::StoreLe<std::uint32_t>(b, s1, static_cast<std::uint32_t>(fw.data_offsets[0]));
        }) == "TDVF sections 0 and 1 overlap in the file (0x1000+0x2cc0 and 0x1000+0x2000)");
  CHECK(with([&](Bytes& b) { tdxrt::StoreLe<std::uint64_t>(b, s2 + 8, 0xffffffffffff000ull); }) ==
        "TDVF section 2 (TD_HOB): memory range 0xffffffffffff000+0x2000 exceeds the 52-bit guest "
        "physical space");
}

TEST_CASE("corrupted GUID tables are rejected with exact diagnoses") {
  auto fw = BuildFirmware(SampleSections(), FwLayout::kGuidTable);
  const std::size_t n = fw.image.size();
  Bytes b = fw.image;
  tdxrt::StoreLe<std::uint16_t>(b, n - 0x32, 3);
  CHECK(ParseError(b) == "GUID table: size 3 at " + tdxrt::HexOffset(n - 0x32) +
                             " is out of range (18.." + std::to_string(n - 0x20) + ")");
  b = fw.image;
  b[n - 0x32 - 16] ^= 0xff;  // the TDX entry's GUID
  CHECK(ParseError(b) ==
        "GUID table present but it has no TDX metadata entry "
        "(e47a6535-984a-4798-865e-4685a7bf8ec2): not a TDVF firmware");
  b = fw.image;
  tdxrt::StoreLe<std::uint16_t>(b, n - 0x32 - 18, 5);  // the TDX entry's length
  CHECK(ParseError(b) == "GUID table: entry ending at " + tdxrt::HexOffset(n - 0x32) +
                             " has length 5 (must be 18..44)");
  b = fw.image;
  tdxrt::StoreLe<std::uint32_t>(b, n - 0x32 - 22, static_cast<std::uint32_t>(n + 1));
  CHECK(ParseError(b) == "GUID table: TDX metadata offset " + tdxrt::HexOffset(n + 1) + " at " +
                             tdxrt::HexOffset(n - 0x32 - 22) + " points outside the file (size " +
                             tdxrt::HexOffset(n) + ")");
  b = fw.image;
  b[n - 0x30] ^= 1;  // footer GUID gone, no legacy pointer either
  CHECK(ParseError(b).rfind("no TDVF metadata: no GUID table footer", 0) == 0);
  CHECK(ParseError(Bytes(10, 0)) ==
        "no TDVF metadata: no GUID table footer (96b582de-1fb2-45f7-baea-a366c55a082d) at 0x0 "
        "and no legacy pointer to a 'TDVF' descriptor at 0x0 (file size 0xa)");
}

TEST_CASE("every truncation and every single-byte flip of the metadata is handled cleanly") {
  auto fw = BuildFirmware(SampleSections(), FwLayout::kGuidTable);
  for (std::size_t len = 0; len < fw.image.size(); len += 7) {
    Bytes b(fw.image.begin(), fw.image.begin() + static_cast<long>(len));
    CHECK_FALSE(mrtd::ParseTdvf(b).ok());
  }
  // Flip each byte of the descriptor and of the GUID table region.
  std::vector<std::size_t> offsets;
  for (std::size_t i = 0; i < 16 + 32 * 5; ++i) offsets.push_back(fw.descriptor_offset + i);
  for (std::size_t i = fw.image.size() - 0x20 - 62; i < fw.image.size(); ++i) offsets.push_back(i);
  for (std::size_t off : offsets) {
    Bytes b = fw.image;
    b[off] ^= 0x80;
    auto md = mrtd::ParseTdvf(b);
    if (md.ok()) (void)mrtd::ComputeMrTd(b, *md, PageOrder::kSinglePass);
  }
}
