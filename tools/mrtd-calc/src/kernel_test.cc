// QEMU's kernel loading model: -m parsing, q35 memory split, setup-header patching, RTMR1/RTMR2
// event lists, on builder-made bzImages.
#include "mrtd/kernel.h"

#include <doctest/doctest.h>

#include <cstring>

#include "mrtd/pe.h"
#include "mrtd/rtmr.h"
#include "tdxrt/hex.h"
#include "test_builders.h"

using mrtd::testing::BuildPe;
using mrtd::testing::PeSpec;
using tdxrt::Bytes;

namespace {
PeSpec BzSpec() { return mrtd::testing::MinimalBzImage(0x2000); }
std::uint32_t U32(const Bytes& b, std::size_t off) { return *tdxrt::LoadLe<std::uint32_t>(b, off); }
std::uint16_t U16(const Bytes& b, std::size_t off) { return *tdxrt::LoadLe<std::uint16_t>(b, off); }
}  // namespace

TEST_CASE("QEMU -m syntax") {
  auto ok = [](const char* s) { return mrtd::ParseMemorySize(s).value(); };
  CHECK(ok("512M") == 512ull << 20);
  CHECK(ok("512m") == 512ull << 20);
  CHECK(ok("4G") == 4ull << 30);
  CHECK(ok("1024") == 1ull << 30);  // plain number = MiB
  CHECK(ok("1.5G") == 1536ull << 20);
  CHECK(ok("size=2G") == 2ull << 30);
  CHECK(ok("1T") == 1ull << 40);
  CHECK(ok("100000B") == 106496);  // rounded up to 8 KiB like QEMU
  auto err = [](const char* s) { return mrtd::ParseMemorySize(s).status().message(); };
  CHECK(err("") ==
        "invalid memory size '': no number (use QEMU -m syntax: 512M, 4G, or plain MiB)");
  CHECK(
      err("12X") ==
      "invalid memory size '12X': unknown suffix 'X' (use QEMU -m syntax: 512M, 4G, or plain MiB)");
  CHECK(err("4GB") ==
        "invalid memory size '4GB': trailing characters (use QEMU -m syntax: 512M, 4G, or plain "
        "MiB)");
  CHECK(err("1.5") ==
        "invalid memory size '1.5': a fraction needs a unit suffix (use QEMU -m syntax: 512M, 4G, "
        "or plain MiB)");
  CHECK(err("0") ==
        "invalid memory size '0': must be greater than zero (use QEMU -m syntax: 512M, 4G, or "
        "plain MiB)");
  CHECK(err("99999999999999999999") ==
        "invalid memory size '99999999999999999999': too large (use QEMU -m syntax: 512M, 4G, or "
        "plain MiB)");
  CHECK(err("20E") ==
        "invalid memory size '20E': too large (use QEMU -m syntax: 512M, 4G, or plain MiB)");
}

TEST_CASE("q35 below-4G split switches at 2.75 GiB") {
  CHECK(mrtd::Q35BelowFourGMemory(512ull << 20) == 512ull << 20);
  CHECK(mrtd::Q35BelowFourGMemory(0xb0000000ull - 8192) == 0xb0000000ull - 8192);
  CHECK(mrtd::Q35BelowFourGMemory(0xb0000000ull) == 0x80000000ull);
  CHECK(mrtd::Q35BelowFourGMemory(2ull << 30) == 2ull << 30);
  CHECK(mrtd::Q35BelowFourGMemory(64ull << 30) == 0x80000000ull);
}

TEST_CASE("setup header patched exactly as x86_load_linux does, initrd at the top of low RAM") {
  auto pe = BuildPe(BzSpec());
  mrtd::QemuKernelLoad load;
  load.memory_size = 512ull << 20;
  load.initrd_size = 0x123456;
  load.cmdline = "console=ttyS0";
  auto pk = mrtd::PatchKernelLikeQemu(pe.image, load);
  REQUIRE_MESSAGE(pk.ok(), pk.status().message());
  const Bytes& p = pk->image;
  CHECK(p[0x210] == 0xb0);
  CHECK(p[0x211] == 0x81);
  CHECK(U16(p, 0x224) == 0xfe00);
  CHECK(U32(p, 0x228) == 0x20000);
  const std::uint32_t initrd_max = (512u << 20) - 0x28000 - 1;
  CHECK(pk->initrd_max == initrd_max);
  CHECK(U32(p, 0x218) == ((initrd_max - 0x123456) & ~4095u));
  CHECK(U32(p, 0x21c) == 0x123456);
  // Nothing else changed.
  std::size_t diffs = 0;
  for (std::size_t i = 0; i < p.size(); ++i) diffs += p[i] != pe.image[i];
  CHECK(diffs <= 11);
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] != pe.image[i])
      CHECK((i == 0x210 || i == 0x211 || (i >= 0x218 && i < 0x220) || (i >= 0x224 && i < 0x22c)));
  }
}

TEST_CASE("initrd_max: xloadflags, initrd_addr_max, protocol, and QEMU's refusals") {
  PeSpec s = BzSpec();
  s.xloadflags = 0x1;  // not loadable above 4G: initrd_addr_max counts
  s.initrd_addr_max = 0x37ffffff;
  auto pe = BuildPe(s);
  mrtd::QemuKernelLoad load;
  load.memory_size = 4ull << 30;
  load.initrd_size = 0x1000;
  auto pk = mrtd::PatchKernelLikeQemu(pe.image, load);
  REQUIRE(pk.ok());
  CHECK(pk->initrd_max == 0x37ffffff);
  CHECK(U32(pk->image, 0x218) == ((0x37ffffffu - 0x1000u) & ~4095u));

  load.initrd_size = 0x40000000;
  CHECK(mrtd::PatchKernelLikeQemu(pe.image, load).status().message() ==
        "initrd of 1073741824 bytes is too large for QEMU to place (max 939524095 at this memory "
        "size)");

  load.initrd_size.reset();
  load.cmdline = "vga=0x317 quiet";
  pk = mrtd::PatchKernelLikeQemu(pe.image, load);
  REQUIRE(pk.ok());
  CHECK(U16(pk->image, 0x1fa) == 0x317);
  CHECK(U32(pk->image, 0x218) == 0);  // no initrd: ramdisk fields untouched
  load.cmdline = "vga=ask";
  CHECK(U16(mrtd::PatchKernelLikeQemu(pe.image, load)->image, 0x1fa) == 0xfffd);
  load.cmdline = "vga=0x31z";
  CHECK(mrtd::PatchKernelLikeQemu(pe.image, load).status().message() ==
        "invalid 'vga=' kernel parameter in the command line");
}

TEST_CASE("not a bzImage, no PE header, impossible setup size") {
  auto pe = BuildPe(BzSpec());
  Bytes b = pe.image;
  b[0x202] = 'X';
  CHECK(mrtd::ParseBzImage(b).status().message() ==
        "not a bzImage: no 'HdrS' setup header signature at 0x202");
  b = pe.image;
  b[0x40] = 'X';
  CHECK(mrtd::ParseBzImage(b).status().message() ==
        "bzImage has no usable PE/COFF header (OVMF can only boot an EFI-stub kernel): PE image: "
        "no 'PE\\0\\0' signature at 0x40 (not a PE/COFF image)");
  b = pe.image;
  b[0x1f1] = 60;
  CHECK(mrtd::ParseBzImage(b).status().message() ==
        "bzImage: setup size 0x7a00 (setup_sects 60 at 0x1f1) exceeds the file size 0x2400");
  CHECK_FALSE(mrtd::ParseBzImage(Bytes(0x100, 0)).ok());
}

TEST_CASE("RTMR1: event list per layout, memory matters only with a patched header and an initrd") {
  auto pe = BuildPe(BzSpec());
  mrtd::Rtmr1Inputs in;
  in.kernel = pe.image;
  in.load.memory_size = 512ull << 20;
  in.load.initrd_size = 0x10000;
  auto a = mrtd::ComputeRtmr1(in);
  REQUIRE_MESSAGE(a.ok(), a.status().message());
  REQUIRE(a->events.size() == 5);
  CHECK(a->events[2].description == "EV_SEPARATOR 00000000");
  // EV_EFI_ACTION digests are SHA-384 of the bare text (values seen in real CC event logs).
  CHECK(tdxrt::ToHex(a->events[1].digest) ==
        "77a0dab2312b4e1e57a84d865a21e5b2ee8d677a21012ada819d0a98988078d3"
        "d740f6346bfe0abaa938ca20439a8d71");
  CHECK(tdxrt::ToHex(a->events[2].digest) ==
        "394341b7182cd227c5c6b07ef8000cdfd86136c4292b8e576573ad7ed9ae4101"
        "9f5818b4b971c9effc60e1ad9f1289f0");
  // Replay by hand.
  tdxrt::Sha384Digest r{};
  for (const auto& e : a->events) {
    Bytes buf(r.begin(), r.end());
    buf.insert(buf.end(), e.digest.begin(), e.digest.end());
    r = tdxrt::Sha384(buf);
  }
  CHECK(r == a->rtmr1);

  in.layout = mrtd::OvmfEventLayout::kPreStable202411;
  auto old = mrtd::ComputeRtmr1(in);
  REQUIRE(old.ok());
  CHECK(old->events.size() == 4);
  CHECK(old->rtmr1 != a->rtmr1);
  in.layout = mrtd::OvmfEventLayout::kStable202411;

  in.load.memory_size = 4ull << 30;
  auto b = mrtd::ComputeRtmr1(in);
  REQUIRE(b.ok());
  CHECK(b->rtmr1 != a->rtmr1);
  CHECK(*b->initrd_addr != *a->initrd_addr);

  in.header_mode = mrtd::KernelHeaderMode::kUnmodified;
  auto u1 = mrtd::ComputeRtmr1(in);
  in.load.memory_size = 512ull << 20;
  auto u2 = mrtd::ComputeRtmr1(in);
  REQUIRE(u1.ok());
  REQUIRE(u2.ok());
  CHECK(u1->rtmr1 == u2->rtmr1);
  CHECK(u1->events[0].digest == mrtd::AuthenticodeSha384(pe.image).value());
}

TEST_CASE("RTMR2: UTF-16LE load options with ' initrd=initrd' and NUL, then the initrd hash") {
  const Bytes initrd = mrtd::testing::Pattern(5000, 3);
  auto r = mrtd::ComputeRtmr2("console=ttyS0", initrd);
  REQUIRE(r.events.size() == 2);
  const std::string opts = "console=ttyS0 initrd=initrd";
  Bytes u16;
  for (char c : opts) {
    u16.push_back(static_cast<std::uint8_t>(c));
    u16.push_back(0);
  }
  u16.push_back(0);
  u16.push_back(0);
  CHECK(r.events[0].digest == tdxrt::Sha384(u16));
  CHECK(r.events[1].digest == tdxrt::Sha384(initrd));
  auto none = mrtd::ComputeRtmr2("", std::nullopt);
  REQUIRE(none.events.size() == 1);
  const std::uint8_t nul[2] = {0, 0};
  CHECK(none.events[0].digest == tdxrt::Sha384(nul));
  CHECK(mrtd::KernelLoadOptionsUtf16("a", true).size() == (1 + 14 + 1) * 2);
}

TEST_CASE("option names for header mode and event layout") {
  CHECK(mrtd::ParseKernelHeaderMode("qemu-patched") == mrtd::KernelHeaderMode::kQemuPatched);
  CHECK(mrtd::ParseKernelHeaderMode("unmodified") == mrtd::KernelHeaderMode::kUnmodified);
  CHECK_FALSE(mrtd::ParseKernelHeaderMode("patched").has_value());
  CHECK(mrtd::ParseOvmfEventLayout("pre-stable202411") == mrtd::OvmfEventLayout::kPreStable202411);
  CHECK_FALSE(mrtd::ParseOvmfEventLayout("old").has_value());
}
