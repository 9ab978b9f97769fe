// Host profiles: which QEMU runs the TD and which OVMF release the image ships decide three
// things the measurements depend on, so a user names those two facts instead of the knobs.
//
//   page order (MR_TD)       Canonical's QEMU 8.2 TDX build (KVM TDX v19) adds all pages of a
//                            section, then extends them (two-pass); upstream QEMU >= 10.1 (the
//                            first with TDX) adds and extends page by page (single-pass).
//   kernel header (RTMR1)    QEMU patches the bzImage setup header (loader type, cmdline and
//                            initrd addresses) before OVMF reads it, except that:
//                            - QEMU >= 10.0 also offers the unpatched file etc/boot/kernel, and
//                              OVMF from edk2-stable202502 on (edk2 commit 20df7c42bd, PR 10628:
//                              QemuKernelLoaderFsDxe prefers the named blob) loads and so
//                              measures that one;
//                            - QEMU >= 10.2 does not patch the header of confidential guests at
//                              all (QEMU commit a7542a38f399).
//                            So QEMU 10.0/10.1 with a 2025 OVMF measures the unmodified kernel.
//   separator (RTMR0/RTMR1)  edk2-stable202411 (commit efaf8931bb) moved the ReadyToBoot
//                            separator from RTMR0 to RTMR1.
// The low-level knobs (mrtd-calc --page-order, --kernel-header, --ovmf-layout) stay for experts;
// a profile and a knob that disagree is an error, never a silent choice.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mrtd/kernel.h"
#include "mrtd/mrtd.h"
#include "mrtd/rtmr.h"
#include "tdxrt/status.h"

namespace mrtd {

struct QemuHost {
  int major = 0;
  int minor = 0;
  bool canonical_tdx = false;  // Canonical's 8.2 TDX build (Ubuntu 24.04), not upstream
};
// "10.1", "10.1.2", "v10.2.0", or "canonical-8.2" (the flavor the image launchers name with
// QEMU_TDX_FLAVOR). Upstream QEMU before 10.1 has no TDX and is refused.
tdxrt::Result<QemuHost> ParseQemuHost(std::string_view text);
std::string QemuHostName(const QemuHost& q);  // "10.1", "canonical-8.2"
// Upstream QEMU that can run a TD (>= 10.1), whose TD HOB td_hob.h builds.
bool IsUpstreamTdxQemu(const QemuHost& q);

// An edk2 release: "stable202502", "edk2-stable202502", or a distribution's OVMF version whose
// upstream part is the release date, "2025.02" / "2025.02-8" / "2022.11-6+deb12u2".
struct EdkRelease {
  int year = 0;
  int month = 0;
};
tdxrt::Result<EdkRelease> ParseEdkRelease(std::string_view text);
std::string EdkReleaseName(const EdkRelease& r);  // "stable202502"

struct HostProfile {
  QemuHost qemu;
  EdkRelease ovmf;
  PageOrder page_order = PageOrder::kSinglePass;
  KernelHeaderMode kernel_header = KernelHeaderMode::kQemuPatched;
  OvmfEventLayout ovmf_layout = OvmfEventLayout::kStable202411;
  std::vector<std::string> reasons;  // one line per derived knob, citing the fact it rests on
  std::string name() const;          // "qemu-10.1+ovmf-stable202502"
};
HostProfile DeriveHostProfile(const QemuHost& qemu, const EdkRelease& ovmf);

// "qemu=10.1,ovmf=2025.02" (either order); both parts required.
tdxrt::Result<HostProfile> ParseHostProfile(std::string_view text);

}  // namespace mrtd
