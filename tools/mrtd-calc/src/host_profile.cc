// Host profiles (see host_profile.h): the facts, and the knobs derived from them.
#include "mrtd/host_profile.h"

#include <charconv>

namespace mrtd {
namespace {

bool ParseInt(std::string_view s, int& out) {
  if (s.empty() || s.size() > 4) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool AtLeast(const EdkRelease& r, int year, int month) {
  return r.year > year || (r.year == year && r.month >= month);
}

bool AtLeast(const QemuHost& q, int major, int minor) {
  return q.major > major || (q.major == major && q.minor >= minor);
}

}  // namespace

bool IsUpstreamTdxQemu(const QemuHost& q) { return !q.canonical_tdx && AtLeast(q, 10, 1); }

tdxrt::Result<QemuHost> ParseQemuHost(std::string_view text) {
  auto bad = [&] {
    return tdxrt::Status::InvalidArgument("QEMU version '" + std::string(text) +
                                          "' is not MAJOR.MINOR[.PATCH] or canonical-8.2");
  };
  QemuHost q;
  std::string_view v = text;
  if (v == "canonical-8.2") {
    q.major = 8;
    q.minor = 2;
    q.canonical_tdx = true;
    return q;
  }
  if (!v.empty() && v.front() == 'v') v.remove_prefix(1);
  const auto dot = v.find('.');
  if (dot == std::string_view::npos) return bad();
  std::string_view minor = v.substr(dot + 1);
  if (const auto dot2 = minor.find('.'); dot2 != std::string_view::npos) {
    int patch = 0;
    if (!ParseInt(minor.substr(dot2 + 1), patch)) return bad();
    minor = minor.substr(0, dot2);
  }
  if (!ParseInt(v.substr(0, dot), q.major) || !ParseInt(minor, q.minor)) return bad();
  if (!AtLeast(q, 10, 1)) {
    return tdxrt::Status::InvalidArgument(
        "QEMU " + QemuHostName(q) +
        " cannot run a TD: upstream QEMU has TDX from 10.1 on (Canonical's 8.2 TDX build is "
        "canonical-8.2)");
  }
  return q;
}

std::string QemuHostName(const QemuHost& q) {
  if (q.canonical_tdx) return "canonical-8.2";
  return std::to_string(q.major) + "." + std::to_string(q.minor);
}

tdxrt::Result<EdkRelease> ParseEdkRelease(std::string_view text) {
  auto bad = [&] {
    return tdxrt::Status::InvalidArgument(
        "OVMF release '" + std::string(text) +
        "' is not stableYYYYMM (edk2's tag) or a package version YYYY.MM[-...]");
  };
  EdkRelease r;
  std::string_view v = text;
  if (v.substr(0, 5) == "edk2-") v.remove_prefix(5);
  if (v.substr(0, 6) == "stable") {
    v.remove_prefix(6);
    if (v.size() != 6 || !ParseInt(v.substr(0, 4), r.year) || !ParseInt(v.substr(4), r.month))
      return bad();
  } else {
    if (const auto epoch = v.find(':'); epoch != std::string_view::npos) v.remove_prefix(epoch + 1);
    if (v.size() < 7 || v[4] != '.' || !ParseInt(v.substr(0, 4), r.year) ||
        !ParseInt(v.substr(5, 2), r.month))
      return bad();
    if (v.size() > 7 && v[7] != '-' && v[7] != '+' && v[7] != '~') return bad();
  }
  if (r.year < 2019 || r.year > 2099 || r.month < 1 || r.month > 12) return bad();
  return r;
}

std::string EdkReleaseName(const EdkRelease& r) {
  return "stable" + std::to_string(r.year) + (r.month < 10 ? "0" : "") + std::to_string(r.month);
}

std::string HostProfile::name() const {
  return "qemu-" + QemuHostName(qemu) + "+ovmf-" + EdkReleaseName(ovmf);
}

HostProfile DeriveHostProfile(const QemuHost& qemu, const EdkRelease& ovmf) {
  HostProfile p;
  p.qemu = qemu;
  p.ovmf = ovmf;
  const std::string q = "QEMU " + QemuHostName(qemu);
  const std::string o = "OVMF " + EdkReleaseName(ovmf);
  // MR_TD: the page order is KVM's and QEMU's, not the firmware's.
  if (qemu.canonical_tdx) {
    p.page_order = PageOrder::kTwoPass;
    p.reasons.push_back("page order two-pass: " + q +
                        " (KVM TDX v19) adds a section's pages, then extends them");
  } else {
    p.page_order = PageOrder::kSinglePass;
    p.reasons.push_back("page order single-pass: upstream " + q + " adds and extends page by page");
  }
  // RTMR1's kernel: which copy OVMF loads, and whether QEMU patched it.
  if (!qemu.canonical_tdx && AtLeast(qemu, 10, 2)) {
    p.kernel_header = KernelHeaderMode::kUnmodified;
    p.reasons.push_back("kernel header unmodified: " + q +
                        " does not patch the setup header of confidential guests "
                        "(QEMU a7542a38f399)");
  } else if (!qemu.canonical_tdx && AtLeast(ovmf, 2025, 2)) {
    p.kernel_header = KernelHeaderMode::kUnmodified;
    p.reasons.push_back("kernel header unmodified: " + q +
                        " offers the unpatched etc/boot/kernel and " + o +
                        " (>= stable202502, edk2 20df7c42bd) loads that copy");
  } else if (qemu.canonical_tdx) {
    p.kernel_header = KernelHeaderMode::kQemuPatched;
    p.reasons.push_back("kernel header qemu-patched: " + q +
                        " patches the setup header and offers no etc/boot/kernel");
  } else {
    p.kernel_header = KernelHeaderMode::kQemuPatched;
    p.reasons.push_back("kernel header qemu-patched: " + q + " patches the setup header and " + o +
                        " (before stable202502) loads the patched copy");
  }
  // The ReadyToBoot separator's register.
  if (AtLeast(ovmf, 2024, 11)) {
    p.ovmf_layout = OvmfEventLayout::kStable202411;
    p.reasons.push_back("separator in RTMR1: " + o + " (>= stable202411, edk2 efaf8931bb)");
  } else {
    p.ovmf_layout = OvmfEventLayout::kPreStable202411;
    p.reasons.push_back("separator in RTMR0: " + o + " (before stable202411)");
  }
  return p;
}

tdxrt::Result<HostProfile> ParseHostProfile(std::string_view text) {
  std::optional<QemuHost> qemu;
  std::optional<EdkRelease> ovmf;
  std::string_view rest = text;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view part = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const auto eq = part.find('=');
    const std::string_view key = part.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? "" : part.substr(eq + 1);
    if (key == "qemu" && !qemu && !value.empty()) {
      TDX_ASSIGN_OR_RETURN(qemu, ParseQemuHost(value));
    } else if (key == "ovmf" && !ovmf && !value.empty()) {
      TDX_ASSIGN_OR_RETURN(ovmf, ParseEdkRelease(value));
    } else {
      return tdxrt::Status::InvalidArgument("host '" + std::string(text) + "': '" +
                                            std::string(part) +
                                            "' is not qemu=VERSION or ovmf=RELEASE (once each)");
    }
  }
  if (!qemu || !ovmf) {
    return tdxrt::Status::InvalidArgument("host '" + std::string(text) +
                                          "' needs both qemu=VERSION and ovmf=RELEASE");
  }
  return DeriveHostProfile(*qemu, *ovmf);
}

}  // namespace mrtd
