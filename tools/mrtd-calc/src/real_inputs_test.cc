// Measurements on real Debian 12 inputs fetched with `apt-get download` by the test_inputs
// fixture (scripts/fetch-debs): the ovmf package's OVMF.fd and the 6.12 cloud kernel.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>

#include "mrtd/kernel.h"
#include "mrtd/mrtd.h"
#include "mrtd/rtmr.h"
#include "mrtd/tdvf.h"
#include "tdximage/archive.h"
#include "tdxrt/file.h"
#include "tdxrt/hex.h"
#include "test_builders.h"

namespace fs = std::filesystem;
using tdxrt::Bytes;

namespace {
// Returns the member's bytes, or nullopt after printing why the test is skipped.
std::optional<Bytes> FromDeb(const char* deb_name, const std::string& member_prefix) {
  const fs::path deb = fs::path(TDX_TEST_INPUTS_DIR) / deb_name;
  if (!fs::exists(deb)) {
    std::printf(
        "skipped: %s absent (run scripts/fetch-debs, or ctest with the test_inputs fixture)\n",
        deb.c_str());
    return std::nullopt;
  }
  auto pkg = tdxrt::ReadFile(deb);
  REQUIRE(pkg.ok());
  auto tar = tdximage::DebDataTar(*pkg);
  REQUIRE_MESSAGE(tar.ok(), tar.status().message());
  auto entries = tdximage::ListTar(*tar);
  REQUIRE(entries.ok());
  for (const auto& e : *entries) {
    if (e.type == tdximage::EntryType::kFile && e.path.rfind(member_prefix, 0) == 0) {
      auto data = tdximage::ReadTarMember(*tar, e.path);
      REQUIRE_MESSAGE(data.ok(), data.status().message());
      return std::move(data).value();
    }
  }
  FAIL("no " << member_prefix << "* in " << deb);
  return std::nullopt;
}
}  // namespace

TEST_CASE("Debian OVMF: 6 TDVF sections, both page orders stable and different") {
  auto fw = FromDeb("ovmf.deb", "usr/share/ovmf/OVMF.fd");
  if (!fw) return;
  auto md = mrtd::ParseTdvf(*fw);
  REQUIRE_MESSAGE(md.ok(), md.status().message());
  REQUIRE(md->sections.size() == 6);
  using T = mrtd::TdvfSectionType;
  const std::vector<T> types = {T::kBfv, T::kCfv, T::kTempMem, T::kTempMem, T::kTdHob, T::kTempMem};
  for (std::size_t i = 0; i < 6; ++i) CHECK(md->sections[i].type == types[i]);
  CHECK(md->sections[0].mr_extend());
  for (std::size_t i = 1; i < 6; ++i) CHECK_FALSE(md->sections[i].mr_extend());
  const auto single = mrtd::ComputeMrTd(*fw, *md, mrtd::PageOrder::kSinglePass);
  const auto two = mrtd::ComputeMrTd(*fw, *md, mrtd::PageOrder::kTwoPass);
  CHECK(single != two);
  CHECK(mrtd::ComputeMrTd(*fw, *md, mrtd::PageOrder::kSinglePass) == single);
  CHECK(mrtd::ComputeMrTd(*fw, *md, mrtd::PageOrder::kTwoPass) == two);
  // Pinned for ovmf 2022.11-6+deb12u2; a different package build is reported, not failed.
  const std::string sha = tdxrt::ToHex(tdxrt::Sha256(*fw));
  if (sha == "7b456907dd0786d415999e801a1ac4637b8ed4d7cf5378cfc6edbe5e574dd773") {
    CHECK(tdxrt::ToHex(single) ==
          "4c7206f0f483c524f12c366c711e9049030a8d47c471ee5aa9c4999a08de4057"
          "fb887fed0744d5631a212967fb231c47");
    CHECK(tdxrt::ToHex(two) ==
          "acccbcc870a381adab0d3919d90a7f268ac3b0364771f202ed4bb4e892d045b3"
          "3db3b32e6924cba830a724eed443f7e1");
  } else {
    std::printf(
        "note: OVMF.fd sha256 %s is not the pinned 2022.11-6+deb12u2 build; values not pinned\n",
        sha.c_str());
  }
}

TEST_CASE("Debian 6.12 cloud kernel: RTMR1 at 512M and 4G differ only by the initrd placement") {
  auto kernel = FromDeb("kernel.deb", "boot/vmlinuz-");
  if (!kernel) return;
  auto hdr = mrtd::ParseBzImage(*kernel);
  REQUIRE_MESSAGE(hdr.ok(), hdr.status().message());
  CHECK(hdr->protocol >= 0x20c);
  CHECK((hdr->xloadflags & 0x2) != 0);
  const Bytes initrd = mrtd::testing::Pattern(3u << 20, 9);

  mrtd::QemuKernelLoad small, big;
  small.memory_size = *mrtd::ParseMemorySize("512M");
  big.memory_size = *mrtd::ParseMemorySize("4G");
  small.initrd_size = big.initrd_size = initrd.size();
  small.cmdline = big.cmdline = "console=ttyS0";
  auto a = mrtd::PatchKernelLikeQemu(*kernel, small);
  auto b = mrtd::PatchKernelLikeQemu(*kernel, big);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(a->image.size() == b->image.size());
  for (std::size_t i = 0; i < a->image.size(); ++i) {
    if (a->image[i] != b->image[i]) CHECK((i >= 0x218 && i < 0x21c));  // ramdisk_image only
  }
  CHECK(*a->initrd_addr == ((0x20000000u - 0x28000u - 1u - initrd.size()) & ~4095u));
  CHECK(*b->initrd_addr == ((0x80000000u - 0x28000u - 1u - initrd.size()) & ~4095u));

  mrtd::Rtmr1Inputs in;
  in.kernel = *kernel;
  in.load = small;
  auto r512 = mrtd::ComputeRtmr1(in);
  in.load = big;
  auto r4g = mrtd::ComputeRtmr1(in);
  REQUIRE_MESSAGE(r512.ok(), r512.status().message());
  REQUIRE(r4g.ok());
  CHECK(r512->rtmr1 != r4g->rtmr1);
  // Only the kernel event differs.
  for (std::size_t i = 1; i < r512->events.size(); ++i)
    CHECK(r512->events[i].digest == r4g->events[i].digest);
  // QEMU >= 10.2 measures the file as built: memory no longer matters.
  in.header_mode = mrtd::KernelHeaderMode::kUnmodified;
  auto u4g = mrtd::ComputeRtmr1(in);
  in.load = small;
  auto u512 = mrtd::ComputeRtmr1(in);
  REQUIRE(u4g.ok());
  REQUIRE(u512.ok());
  CHECK(u4g->rtmr1 == u512->rtmr1);
  CHECK(u4g->rtmr1 != r4g->rtmr1);
}
