// RTMR0 events a direct boot's image decides (see include/mrtd/rtmr0.h).
#include "mrtd/rtmr0.h"

#include <cstring>

#include "mrtd/rtmr.h"
#include "mrtd/td_hob.h"
#include "tdxrt/sha.h"

namespace mrtd {

using tdxrt::Bytes;
using tdxrt::Result;
using tdxrt::Status;

namespace {

// EFI_GLOBAL_VARIABLE 8BE4DF61-93CA-11D2-AA0D-00E098032B8C and
// EFI_IMAGE_SECURITY_DATABASE_GUID D719B2CB-3D3A-4596-A3BC-DAD00E67656F, in EFI_GUID byte order.
constexpr std::uint8_t kGlobalVariable[16] = {0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11,
                                              0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c};
constexpr std::uint8_t kImageSecurityDatabase[16] = {
    0xcb, 0xb2, 0x19, 0xd7, 0x3a, 0x3d, 0x96, 0x45, 0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f};
// OvmfPkg's DXE firmware volume (7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1) and UiApp's file
// (462CAA21-7614-4503-836E-8AB6F4662331): Boot0000, the boot manager menu OVMF creates.
constexpr std::uint8_t kOvmfDxeFv[16] = {0xc9, 0xbd, 0xb8, 0x7c, 0xeb, 0xf8, 0x34, 0x4f,
                                         0xaa, 0xea, 0x3e, 0xe4, 0xaf, 0x65, 0x16, 0xa1};
constexpr std::uint8_t kUiAppFile[16] = {0x21, 0xaa, 0x2c, 0x46, 0x14, 0x76, 0x03, 0x45,
                                         0x83, 0x6e, 0x8a, 0xb6, 0xf4, 0x66, 0x23, 0x31};

void PutUtf16(Bytes& b, std::string_view s, bool nul) {
  for (char c : s) tdxrt::AppendLe(b, static_cast<std::uint16_t>(static_cast<std::uint8_t>(c)));
  if (nul) tdxrt::AppendLe(b, std::uint16_t{0});
}

// EFI_LOAD_OPTION of OVMF's UiApp: LOAD_OPTION_ACTIVE | LOAD_OPTION_HIDDEN |
// LOAD_OPTION_CATEGORY_APP, "UiApp", Fv(DXEFV)/FvFile(UiApp)/End.
Bytes UiAppLoadOption() {
  Bytes path;
  for (const auto* guid : {kOvmfDxeFv, kUiAppFile}) {
    path.push_back(0x04);                              // MEDIA_DEVICE_PATH
    path.push_back(guid == kOvmfDxeFv ? 0x07 : 0x06);  // PIWG firmware volume / file
    tdxrt::AppendLe(path, std::uint16_t{20});
    path.insert(path.end(), guid, guid + 16);
  }
  path.insert(path.end(), {0x7f, 0xff, 0x04, 0x00});  // end of the device path
  Bytes b;
  tdxrt::AppendLe(b, std::uint32_t{0x109});
  tdxrt::AppendLe(b, static_cast<std::uint16_t>(path.size()));
  PutUtf16(b, "UiApp", true);
  b.insert(b.end(), path.begin(), path.end());
  return b;
}

ExpectedEvent Event(std::uint32_t type, const std::string& what,
                    std::vector<std::string> depends_on) {
  ExpectedEvent e;
  e.rtmr = 0;
  e.type = type;
  e.what = what;
  e.depends_on = std::move(depends_on);
  return e;
}

ExpectedEvent Predicted(std::uint32_t type, const std::string& what,
                        std::vector<std::string> depends_on, tdxrt::ByteSpan hashed, Bytes data) {
  ExpectedEvent e = Event(type, what, std::move(depends_on));
  e.digest = tdxrt::Sha384(hashed);
  e.data = std::move(data);
  return e;
}

ExpectedEvent NotPredicted(std::uint32_t type, const std::string& what,
                           std::vector<std::string> depends_on) {
  ExpectedEvent e = Event(type, what, std::move(depends_on));
  e.predicted = false;
  return e;
}

}  // namespace

Bytes UefiVariableData(const std::uint8_t (&guid)[16], std::string_view name,
                       tdxrt::ByteSpan data) {
  Bytes b(guid, guid + 16);
  tdxrt::AppendLe(b, std::uint64_t{name.size()});
  tdxrt::AppendLe(b, std::uint64_t{data.size()});
  PutUtf16(b, name, false);
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

namespace {

// The TD HOB's event at `memory`, with the digests of the other common sizes as alternatives.
Result<ExpectedEvent> TdHobEvent(const TdvfMetadata& md, const std::string& memory) {
  TDX_ASSIGN_OR_RETURN(std::uint64_t bytes, ParseMemorySize(memory));
  TDX_ASSIGN_OR_RETURN(TdHob hob, BuildTdHob(md, bytes));
  ExpectedEvent e =
      Predicted(kEvEfiHandoffTables2,
                "\"TdxTable\": the TD HOB QEMU builds for MEMORY=" + memory + " (" +
                    std::to_string(hob.entries.size()) + " memory ranges)",
                {"memory", "ovmf", "host: QEMU >= 10.1"}, hob.measured, hob.event_data);
  for (std::string_view size : kAlternativeMemorySizes) {
    TDX_ASSIGN_OR_RETURN(std::uint64_t other, ParseMemorySize(size));
    if (other == bytes) continue;
    auto alt = BuildTdHob(md, other);
    if (!alt.ok()) continue;  // a size the firmware's sections do not fit in
    e.alternatives.push_back(
        {"the memory size: the TD HOB is QEMU's for MEMORY=" + std::string(size) + ", not the " +
             memory + " the image was measured for",
         tdxrt::Sha384(alt->measured)});
  }
  return e;
}

}  // namespace

std::optional<std::string> WhyRtmr0Unknown(const HostProfile& p) {
  if (!VariantOf(p).td_hob) {
    return "for " + QemuHostName(p.qemu) +
           ": its QEMU's TD HOB is not known (upstream QEMU >= 10.1 only)";
  }
  if (p.ovmf_layout != OvmfEventLayout::kStable202411) {
    return "with OVMF " + EdkReleaseName(p.ovmf) +
           " (older than edk2-stable202411, whose RTMR0 order no real log shows)";
  }
  return std::nullopt;
}

bool AllPredicted(const std::vector<ExpectedEvent>& events, int rtmr) {
  bool any = false;
  for (const auto& e : events) {
    if (e.rtmr != rtmr) continue;
    if (!e.predicted) return false;
    any = true;
  }
  return any;
}

Result<std::vector<ExpectedEvent>> PredictRtmr0Events(tdxrt::ByteSpan firmware,
                                                      const TdvfMetadata& md,
                                                      const Rtmr0Host& host) {
  const TdvfSection* cfv = nullptr;
  for (const auto& s : md.sections) {
    if (s.type == TdvfSectionType::kCfv) cfv = &s;
  }
  if (cfv == nullptr || !tdxrt::InBounds(firmware.size(), cfv->data_offset, cfv->raw_size)) {
    return Status::InvalidArgument("the firmware has no CFV section (variable store) to measure");
  }
  std::vector<ExpectedEvent> out;
  if (host.td_hob_memory.empty()) {
    out.push_back(NotPredicted(kEvEfiHandoffTables2, "\"TdxTable\": the TD HOB QEMU builds",
                               {"host: QEMU version, memory size"}));
  } else {
    TDX_ASSIGN_OR_RETURN(ExpectedEvent hob, TdHobEvent(md, host.td_hob_memory));
    out.push_back(std::move(hob));
  }
  {
    Bytes data;
    const std::string desc = "Fv(XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX)";
    data.push_back(static_cast<std::uint8_t>(desc.size() + 1));
    data.insert(data.end(), desc.begin(), desc.end());
    data.push_back(0);
    tdxrt::AppendLe(data, cfv->gpa);
    tdxrt::AppendLe(data, std::uint64_t{cfv->raw_size});
    out.push_back(Predicted(
        kEvEfiPlatformFirmwareBlob2,
        "the firmware's variable store (CFV, " + std::to_string(cfv->raw_size) + " bytes)",
        {"ovmf"}, firmware.subspan(cfv->data_offset, cfv->raw_size), std::move(data)));
  }
  struct Var {
    const char* name;
    const std::uint8_t (*guid)[16];
  };
  for (const Var& v : {Var{"SecureBoot", &kGlobalVariable}, Var{"PK", &kGlobalVariable},
                       Var{"KEK", &kGlobalVariable}, Var{"db", &kImageSecurityDatabase},
                       Var{"dbx", &kImageSecurityDatabase}}) {
    Bytes data = UefiVariableData(*v.guid, v.name, {});
    out.push_back(Predicted(kEvEfiVariableDriverConfig,
                            std::string("variable ") + v.name + " (empty: no Secure Boot keys)",
                            {"ovmf"}, data, data));
  }
  out.push_back(ExpectedFromMeasured(SeparatorEvent(), 0, {"ovmf"}));
  if (host.acpi == nullptr) {
    for (int i = 0; i < 3; ++i) {
      out.push_back(NotPredicted(kEvPlatformConfigFlags,
                                 "\"ACPI DATA\": a table blob of the host QEMU",
                                 {"host: QEMU version, CPUs, memory, devices"}));
    }
  } else {
    TDX_ASSIGN_OR_RETURN(std::vector<ExpectedEvent> acpi, AcpiEvents(*host.acpi));
    out.insert(out.end(), acpi.begin(), acpi.end());
  }
  {
    const Bytes order = {0x00, 0x00};
    out.push_back(Predicted(kEvEfiVariableBoot, "variable BootOrder (0000)", {"ovmf"}, order,
                            UefiVariableData(kGlobalVariable, "BootOrder", order)));
    const Bytes option = UiAppLoadOption();
    out.push_back(Predicted(kEvEfiVariableBoot, "variable Boot0000 (OVMF's UiApp)", {"ovmf"},
                            option, UefiVariableData(kGlobalVariable, "Boot0000", option)));
  }
  return out;
}

}  // namespace mrtd
