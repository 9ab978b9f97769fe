// Authenticode hashing: the expected digest is assembled here from explicit byte ranges of a
// builder-made PE (Microsoft Authenticode PE rules as EDK2 applies them), then corruptions.
#include "mrtd/pe.h"

#include <doctest/doctest.h>

#include "tdxrt/hex.h"
#include "test_builders.h"

using mrtd::testing::BuildPe;
using mrtd::testing::PeSpec;
using tdxrt::Bytes;

namespace {
PeSpec TwoSections() {
  PeSpec s;
  // Section table order differs from file order: hashing must sort by file offset.
  s.sections = {{".text", 0x1400, 0x1000}, {".setup", 0x400, 0x1000}};
  s.file_size = 0x2800;  // 0x400 bytes of trailing data after the sections
  return s;
}

std::string Expected(const Bytes& img,
                     const std::vector<std::pair<std::size_t, std::size_t>>& ranges) {
  tdxrt::Sha384Hasher h;
  for (auto [off, len] : ranges) h.Update(tdxrt::ByteSpan(img).subspan(off, len));
  return tdxrt::ToHex(h.Final());
}

std::string PeError(const Bytes& img) {
  auto r = mrtd::AuthenticodeSha384(img);
  return r.ok() ? "ok" : r.status().message();
}
}  // namespace

TEST_CASE(
    "Authenticode skips CheckSum and the certificate directory, sorts sections, hashes trailing "
    "data") {
  auto pe = BuildPe(TwoSections());
  const Bytes& b = pe.image;
  const std::string want =
      Expected(b, {{0, pe.checksum_offset},
                   {pe.checksum_offset + 4, pe.cert_dir_offset - (pe.checksum_offset + 4)},
                   {pe.cert_dir_offset + 8, 0x400 - (pe.cert_dir_offset + 8)},
                   {0x400, 0x1000},
                   {0x1400, 0x1000},
                   {0x2400, 0x400}});
  auto got = mrtd::AuthenticodeSha384(b);
  REQUIRE_MESSAGE(got.ok(), got.status().message());
  CHECK(tdxrt::ToHex(*got) == want);

  // The skipped fields do not matter; everything else does.
  Bytes c = b;
  c[pe.checksum_offset] ^= 0xff;
  c[pe.cert_dir_offset + 2] ^= 0x10;  // the certificate directory entry is excluded
  CHECK(mrtd::AuthenticodeSha384(c).value() == *got);
  c = b;
  c[0x2500] ^= 1;  // trailing data
  CHECK(mrtd::AuthenticodeSha384(c).value() != *got);
}

TEST_CASE("the certificate table is excluded from trailing data, PE32 offsets work") {
  PeSpec s = TwoSections();
  s.pe32_plus = false;
  s.cert_offset = 0x2600;
  s.cert_size = 0x200;
  auto pe = BuildPe(s);
  const std::string want =
      Expected(pe.image, {{0, pe.checksum_offset},
                          {pe.checksum_offset + 4, pe.cert_dir_offset - (pe.checksum_offset + 4)},
                          {pe.cert_dir_offset + 8, 0x400 - (pe.cert_dir_offset + 8)},
                          {0x400, 0x1000},
                          {0x1400, 0x1000},
                          {0x2400, 0x200}});
  CHECK(tdxrt::ToHex(mrtd::AuthenticodeSha384(pe.image).value()) == want);
}

TEST_CASE("without a certificate directory entry the header is hashed through to SizeOfHeaders") {
  PeSpec s = TwoSections();
  s.number_of_rva_and_sizes = 4;
  auto pe = BuildPe(s);
  const std::string want =
      Expected(pe.image, {{0, pe.checksum_offset},
                          {pe.checksum_offset + 4, 0x400 - (pe.checksum_offset + 4)},
                          {0x400, 0x1000},
                          {0x1400, 0x1000},
                          {0x2400, 0x400}});
  CHECK(tdxrt::ToHex(mrtd::AuthenticodeSha384(pe.image).value()) == want);
}

TEST_CASE("malformed PE images are rejected with exact diagnoses") {
  auto pe = BuildPe(TwoSections());
  auto with = [&](auto mutate) {
    Bytes b = pe.image;
    mutate(b);
    return PeError(b);
  };
  CHECK(PeError(Bytes{}) == "PE image: file is empty or too short");
  CHECK(with([&](Bytes& b) { b[pe.pe_offset] = 'X'; }) ==
        "PE image: no 'PE\\0\\0' signature at 0x40 (not a PE/COFF image)");
  CHECK(with([&](Bytes& b) { tdxrt::StoreLe<std::uint32_t>(b, 0x3c, 0xfffffff0); }) ==
        "PE image: no 'PE\\0\\0' signature at 0xfffffff0 (not a PE/COFF image)");
  CHECK(with([&](Bytes& b) { tdxrt::StoreLe<std::uint16_t>(b, pe.opt_offset, 0x107); }) ==
        "PE image: optional header magic 0x107 at 0x58 is neither PE32 (0x10b) nor PE32+ (0x20b)");
  CHECK(with([&](Bytes& b) { tdxrt::StoreLe<std::uint32_t>(b, pe.opt_offset + 60, 0x100000); }) ==
        "PE image: SizeOfHeaders 0x100000 exceeds the file size 0x2800");
  CHECK(with([&](Bytes& b) { tdxrt::StoreLe<std::uint32_t>(b, pe.opt_offset + 60, 0x60); }) ==
        "PE image: CheckSum field lies beyond SizeOfHeaders 0x60");
  CHECK(with([&](Bytes& b) { tdxrt::StoreLe<std::uint32_t>(b, pe.section_table + 16, 0x10000); }) ==
        "PE image: section 0 (.text): raw data 0x10000 bytes at 0x1400 runs past end of file "
        "(0x2800)");
  CHECK(with([&](Bytes& b) { tdxrt::StoreLe<std::uint16_t>(b, pe.pe_offset + 6, 200); }) ==
        "PE image: 200 sections (limit 96)");
  CHECK(
      with([&](Bytes& b) { tdxrt::StoreLe<std::uint32_t>(b, pe.cert_dir_offset + 4, 0x1000); }) ==
      "PE image: certificate table size 0x1000 is larger than the 0x400 bytes after the sections");
  // Every truncation that cuts into the headers or a section fails cleanly.
  for (std::size_t len = 0; len < 0x2400; len += 13) {
    Bytes b(pe.image.begin(), pe.image.begin() + static_cast<long>(len));
    CHECK_FALSE(mrtd::AuthenticodeSha384(b).ok());
  }
}
