// Writes the binary inputs the CLI cases use, generated from the test builders so no binary
// fixture is checked in: TDVF firmware in both layouts and a corrupted one, a bzImage, an
// initrd, a non-kernel, a CC event log and a truncated one, and a quote under the test PKI
// whose PCK certificate name is hostile bytes (with its collateral and root).
#include <cstdio>
#include <filesystem>
#include <string>

#include "quote_builder.h"
#include "tdxrt/file.h"
#include "test_builders.h"

namespace fs = std::filesystem;
using mrtd::TdvfSectionType;
using mrtd::testing::FwSection;
using tdxrt::Bytes;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_fixtures DIR\n");
    return 2;
  }
  const fs::path dir = argv[1];
  fs::create_directories(dir);
  int failures = 0;
  auto put = [&](const char* name, const Bytes& b) {
    auto s = tdxrt::WriteFileAtomic(dir / name, b);
    if (!s.ok()) {
      std::fprintf(stderr, "make_fixtures: %s\n", s.message().c_str());
      ++failures;
    }
  };
  const std::vector<FwSection> secs = {
      {TdvfSectionType::kBfv, 0xffff0000, 0x4000, mrtd::kAttrMrExtend,
       mrtd::testing::Pattern(0x4000, 1)},
      {TdvfSectionType::kCfv, 0xfffe0000, 0x2000, 0, mrtd::testing::Pattern(0x2000, 2)},
      {TdvfSectionType::kTdHob, 0x809000, 0x2000, 0, {}},
      {TdvfSectionType::kTempMem, 0x800000, 0x6000, 0, {}},
  };
  auto guid = mrtd::testing::BuildFirmware(secs, mrtd::testing::FwLayout::kGuidTable);
  put("fw.fd", guid.image);
  put("fw-legacy.fd",
      mrtd::testing::BuildFirmware(secs, mrtd::testing::FwLayout::kLegacyPointer).image);
  Bytes bad = guid.image;
  tdxrt::StoreLe<std::uint32_t>(bad, guid.SectionEntry(1), 0x7fff0000);  // CFV data offset
  put("fw-bad-range.fd", bad);
  put("not-firmware.bin", Bytes(8192, 0x5a));

  mrtd::testing::PeSpec k = mrtd::testing::MinimalBzImage(0x2000);
  put("bzImage", mrtd::testing::BuildPe(k).image);
  put("initrd.img", mrtd::testing::Pattern(100000, 5));

  const char* actions[] = {"Calling EFI Application from Boot Option",
                           "Exit Boot Services Invocation"};
  std::vector<mrtd::testing::LogEvent> events;
  events.push_back({1, 0x80000001, mrtd::testing::Pattern(40, 8), {}});
  for (const char* a : actions)
    events.push_back({2, 0x80000007, Bytes(a, a + std::string(a).size()), {}});
  events.push_back({3, 0x6, Bytes{0xec, 0x22, 0x3b, 0x8f, 0, 0, 0, 0}, {}});
  auto log = mrtd::testing::BuildEventLog(events, 1024, 0xff);
  put("ccel.bin", log.bytes);
  Bytes cut = log.bytes;
  tdxrt::StoreLe<std::uint32_t>(cut, log.offsets[2] + 12 + 2 + 32 + 2 + 48, 5000);  // event size
  put("ccel-bad.bin", cut);
  // Small valid seeds for the fuzz corpora (tools/*/fuzz/corpus/*).
  const std::vector<FwSection> tiny = {
      {TdvfSectionType::kBfv, 0xfffff000, 0x1000, mrtd::kAttrMrExtend,
       mrtd::testing::Pattern(0x800, 3)},
      {TdvfSectionType::kTdHob, 0x800000, 0x1000, 0, {}},
  };
  put("seed-tdvf-guid.fd",
      mrtd::testing::BuildFirmware(tiny, mrtd::testing::FwLayout::kGuidTable).image);
  put("seed-tdvf-legacy.fd",
      mrtd::testing::BuildFirmware(tiny, mrtd::testing::FwLayout::kLegacyPointer).image);
  mrtd::testing::PeSpec pe;
  pe.pe32_plus = false;
  pe.sections = {{".text", 0x400, 0x200}, {".data", 0x600, 0x100}};
  pe.cert_offset = 0x700;
  pe.cert_size = 0x80;
  pe.file_size = 0x780;
  put("seed-pe32.efi", mrtd::testing::BuildPe(pe).image);
  k = mrtd::testing::MinimalBzImage(0x100);
  Bytes kernel_seed = {0x07, 0x03, 0x10};  // 512 MiB, initrd of 1 MiB, cmdline with vga=
  Bytes small_k = mrtd::testing::BuildPe(k).image;
  kernel_seed.insert(kernel_seed.end(), small_k.begin(), small_k.end());
  put("seed-kernel.bin", kernel_seed);
  put("seed-ccel.bin", mrtd::testing::BuildEventLog(events, 700, 0x00).bytes);
  // A quote whose PCK certificate is named with bytes that are not UTF-8 and a terminal escape.
  tdxrt::testing::QuoteBuilder qb;
  qb.pck_cn = "\xff\xfe\x1b[2J forged";
  const auto forged = qb.Build();
  auto text = [](const std::string& s) { return Bytes(s.begin(), s.end()); };
  put("forged-cn.quote", forged.quote);
  put("forged-cn-collateral.json", text(tdxrt::SerializeCollateralJson(forged.collateral)));
  put("forged-cn-root.pem", text(forged.root_pem));
  return failures == 0 ? 0 : 1;
}
