// Host profiles: each fact of host_profile.h as a row, and the parsers' refusals.
#include "mrtd/host_profile.h"

#include <doctest/doctest.h>

namespace mrtd {
namespace {

struct Row {
  const char* host;
  PageOrder order;
  KernelHeaderMode header;
  OvmfEventLayout layout;
};

TEST_CASE("host profiles: page order, kernel header and separator from QEMU and OVMF") {
  using H = KernelHeaderMode;
  using L = OvmfEventLayout;
  const Row rows[] = {
      // Canonical's 8.2 TDX build: two-pass, always the patched header.
      {"qemu=canonical-8.2,ovmf=2022.11", PageOrder::kTwoPass, H::kQemuPatched,
       L::kPreStable202411},
      {"qemu=canonical-8.2,ovmf=stable202411", PageOrder::kTwoPass, H::kQemuPatched,
       L::kStable202411},
      {"qemu=canonical-8.2,ovmf=2025.02", PageOrder::kTwoPass, H::kQemuPatched, L::kStable202411},
      // QEMU 10.1: patched unless the OVMF loads etc/boot/kernel (stable202502 and later).
      {"qemu=10.1,ovmf=2022.11-6+deb12u2", PageOrder::kSinglePass, H::kQemuPatched,
       L::kPreStable202411},
      {"qemu=10.1,ovmf=stable202411", PageOrder::kSinglePass, H::kQemuPatched, L::kStable202411},
      {"qemu=10.1.2,ovmf=edk2-stable202502", PageOrder::kSinglePass, H::kUnmodified,
       L::kStable202411},
      {"ovmf=2025.02-8,qemu=10.1", PageOrder::kSinglePass, H::kUnmodified, L::kStable202411},
      // QEMU 10.2 and later: never patched.
      {"qemu=10.2,ovmf=2022.11", PageOrder::kSinglePass, H::kUnmodified, L::kPreStable202411},
      {"qemu=v11.0.0,ovmf=stable202408", PageOrder::kSinglePass, H::kUnmodified,
       L::kPreStable202411},
  };
  for (const Row& row : rows) {
    CAPTURE(row.host);
    auto p = ParseHostProfile(row.host);
    REQUIRE_MESSAGE(p.ok(), p.status().message());
    CHECK(p->page_order == row.order);
    CHECK(p->kernel_header == row.header);
    CHECK(p->ovmf_layout == row.layout);
    CHECK(p->reasons.size() == 3);
  }
  auto p = ParseHostProfile("qemu=10.1,ovmf=2025.02");
  REQUIRE(p.ok());
  CHECK(p->name() == "qemu-10.1+ovmf-stable202502");
  CHECK(p->reasons[1] ==
        "kernel header unmodified: QEMU 10.1 offers the unpatched etc/boot/kernel and OVMF "
        "stable202502 (>= stable202502, edk2 20df7c42bd) loads that copy");
}

TEST_CASE("host profiles: what is refused, and why") {
  auto message = [](const char* text) { return ParseHostProfile(text).status().message(); };
  CHECK(message("qemu=10.0,ovmf=2025.02") ==
        "QEMU 10.0 cannot run a TD: upstream QEMU has TDX from 10.1 on (Canonical's 8.2 TDX build "
        "is canonical-8.2)");
  CHECK(message("qemu=8.2,ovmf=2025.02").rfind("QEMU 8.2 cannot run a TD", 0) == 0);
  CHECK(message("qemu=ten,ovmf=2025.02") ==
        "QEMU version 'ten' is not MAJOR.MINOR[.PATCH] or canonical-8.2");
  CHECK(message("qemu=10.1,ovmf=2025.13") ==
        "OVMF release '2025.13' is not stableYYYYMM (edk2's tag) or a package version "
        "YYYY.MM[-...]");
  CHECK(message("qemu=10.1,ovmf=stable20250") ==
        "OVMF release 'stable20250' is not stableYYYYMM (edk2's tag) or a package version "
        "YYYY.MM[-...]");
  CHECK(message("qemu=10.1,ovmf=2025.02x") ==
        "OVMF release '2025.02x' is not stableYYYYMM (edk2's tag) or a package version "
        "YYYY.MM[-...]");
  CHECK(message("qemu=10.1") == "host 'qemu=10.1' needs both qemu=VERSION and ovmf=RELEASE");
  CHECK(message("qemu=10.1,qemu=10.2,ovmf=2025.02") ==
        "host 'qemu=10.1,qemu=10.2,ovmf=2025.02': 'qemu=10.2' is not qemu=VERSION or "
        "ovmf=RELEASE (once each)");
  CHECK(message("kvm=6.16,ovmf=2025.02") ==
        "host 'kvm=6.16,ovmf=2025.02': 'kvm=6.16' is not qemu=VERSION or ovmf=RELEASE (once "
        "each)");
}

}  // namespace
}  // namespace mrtd
