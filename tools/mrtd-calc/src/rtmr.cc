// RTMR1/RTMR2 event lists (see include/mrtd/rtmr.h).
#include "mrtd/rtmr.h"

#include <cstring>

#include "mrtd/pe.h"

namespace mrtd {

using tdxrt::Result;
using tdxrt::Sha384Digest;

std::string_view OvmfEventLayoutName(OvmfEventLayout layout) {
  return layout == OvmfEventLayout::kStable202411 ? "stable202411" : "pre-stable202411";
}

std::optional<OvmfEventLayout> ParseOvmfEventLayout(std::string_view name) {
  if (name == "stable202411") return OvmfEventLayout::kStable202411;
  if (name == "pre-stable202411") return OvmfEventLayout::kPreStable202411;
  return std::nullopt;
}

void ExtendRtmr(Sha384Digest& rtmr, const Sha384Digest& digest) {
  std::uint8_t buf[96];
  std::memcpy(buf, rtmr.data(), 48);
  std::memcpy(buf + 48, digest.data(), 48);
  rtmr = tdxrt::Sha384(buf);
}

Sha384Digest ReplayEvents(const std::vector<MeasuredEvent>& events) {
  Sha384Digest r{};
  for (const auto& e : events) ExtendRtmr(r, e.digest);
  return r;
}

namespace {
MeasuredEvent Action(const char* text) {
  const tdxrt::ByteSpan bytes(reinterpret_cast<const std::uint8_t*>(text), std::strlen(text));
  return {std::string("EV_EFI_ACTION \"") + text + "\"", tdxrt::Sha384(bytes), kEvEfiAction,
          tdxrt::Bytes(bytes.begin(), bytes.end())};
}
}  // namespace

MeasuredEvent SeparatorEvent() {
  const std::uint8_t zero[4] = {0, 0, 0, 0};
  return {"EV_SEPARATOR 00000000", tdxrt::Sha384(zero), kEvSeparator, tdxrt::Bytes(zero, zero + 4)};
}

Result<KernelMeasurement> MeasureKernel(const Rtmr1Inputs& in) {
  KernelMeasurement out;
  if (in.header_mode == KernelHeaderMode::kQemuPatched) {
    TDX_ASSIGN_OR_RETURN(PatchedKernel pk, PatchKernelLikeQemu(in.kernel, in.load));
    out.initrd_addr = pk.initrd_addr;
    TDX_ASSIGN_OR_RETURN(out.digest, AuthenticodeSha384(pk.image));
  } else {
    TDX_TRY(ParseBzImage(in.kernel).status());
    TDX_ASSIGN_OR_RETURN(out.digest, AuthenticodeSha384(in.kernel));
  }
  return out;
}

Rtmr1Result Rtmr1FromKernel(const KernelMeasurement& kernel, KernelHeaderMode header_mode,
                            OvmfEventLayout layout) {
  Rtmr1Result out;
  out.initrd_addr = kernel.initrd_addr;
  out.events.push_back({"EV_EFI_BOOT_SERVICES_APPLICATION kernel (Authenticode, " +
                            std::string(KernelHeaderModeName(header_mode)) + " header)",
                        kernel.digest, kEvEfiBootServicesApplication, std::nullopt});
  out.events.push_back(Action("Calling EFI Application from Boot Option"));
  if (layout == OvmfEventLayout::kStable202411) out.events.push_back(SeparatorEvent());
  out.events.push_back(Action("Exit Boot Services Invocation"));
  out.events.push_back(Action("Exit Boot Services Returned with Success"));
  out.rtmr1 = ReplayEvents(out.events);
  return out;
}

Result<Rtmr1Result> ComputeRtmr1(const Rtmr1Inputs& in) {
  TDX_ASSIGN_OR_RETURN(KernelMeasurement kernel, MeasureKernel(in));
  return Rtmr1FromKernel(kernel, in.header_mode, in.layout);
}

tdxrt::Bytes KernelLoadOptionsUtf16(std::string_view cmdline, bool has_initrd) {
  std::string opts(cmdline);
  if (has_initrd) opts += " initrd=initrd";
  tdxrt::Bytes out;
  out.reserve(opts.size() * 2 + 2);
  for (char c : opts) {
    out.push_back(static_cast<std::uint8_t>(c));
    out.push_back(0);
  }
  out.push_back(0);
  out.push_back(0);
  return out;
}

Rtmr2Result ComputeRtmr2(std::string_view cmdline, std::optional<tdxrt::ByteSpan> initrd) {
  Rtmr2Result out;
  out.events.push_back({"EV_EVENT_TAG kernel load options (UTF-16LE command line)",
                        tdxrt::Sha384(KernelLoadOptionsUtf16(cmdline, initrd.has_value())),
                        kEvEventTag, std::nullopt});
  if (initrd) {
    out.events.push_back({"EV_EVENT_TAG initrd (" + std::to_string(initrd->size()) + " bytes)",
                          tdxrt::Sha384(*initrd), kEvEventTag, std::nullopt});
  }
  out.rtmr2 = ReplayEvents(out.events);
  return out;
}

}  // namespace mrtd
