// Expected event logs of a direct boot (see include/mrtd/expected_log.h).
#include "mrtd/expected_log.h"

#include <map>

#include "mrtd/eventlog.h"
#include "mrtd/json_reader.h"
#include "mrtd/rtmr0.h"
#include "mrtd/tdvf.h"
#include "tdxrt/hex.h"
#include "tdxrt/json.h"

namespace mrtd {

using nlohmann::ordered_json;
using tdxrt::Result;
using tdxrt::Sha384Digest;
using tdxrt::Status;

std::string RegisterName(int rtmr) { return "RTMR" + std::to_string(rtmr); }

std::optional<int> ParseRegisterName(std::string_view name) {
  if (name.size() == 5 && name.substr(0, 4) == "RTMR" && name[4] >= '0' && name[4] <= '3') {
    return name[4] - '0';
  }
  return std::nullopt;
}

VariantSpec VariantOf(const HostProfile& p) {
  VariantSpec v{p.name(), p.reasons, p.page_order, p.kernel_header, p.ovmf_layout};
  v.td_hob = IsUpstreamTdxQemu(p.qemu);
  return v;
}

Sha384Digest ReplayExpected(const std::vector<ExpectedEvent>& events, int rtmr) {
  Sha384Digest r{};
  for (const auto& e : events) {
    if (e.rtmr == rtmr) ExtendRtmr(r, e.digest);
  }
  return r;
}

namespace {

// The kernel measured under one header mode and memory size, each combination once: the hosts'
// own events and every alternative share these (each is an Authenticode hash of the kernel).
class KernelDigests {
 public:
  explicit KernelDigests(const BootInputs& in) : in_(in) {}

  Result<KernelMeasurement> Get(KernelHeaderMode mode, std::uint64_t memory) {
    // Without an initrd, or unmodified, the memory size does not enter the digest.
    const std::uint64_t key_mem = mode == KernelHeaderMode::kUnmodified || !in_.initrd ? 0 : memory;
    const auto key = std::make_pair(mode, key_mem);
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
    Rtmr1Inputs r1;
    r1.kernel = in_.kernel;
    r1.load.memory_size = memory;
    if (in_.initrd) r1.load.initrd_size = in_.initrd->size();
    r1.load.cmdline = in_.cmdline;
    r1.header_mode = mode;
    TDX_ASSIGN_OR_RETURN(KernelMeasurement k, MeasureKernel(r1));
    cache_[key] = k;
    return k;
  }
  Result<Sha384Digest> Digest(KernelHeaderMode mode, std::uint64_t memory) {
    TDX_ASSIGN_OR_RETURN(KernelMeasurement k, Get(mode, memory));
    return k.digest;
  }

 private:
  const BootInputs& in_;
  std::map<std::pair<KernelHeaderMode, std::uint64_t>, KernelMeasurement> cache_;
};

std::string JoinOr(const std::vector<std::string>& items) {
  std::string s;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) s += i + 1 == items.size() ? " or " : ", ";
    s += items[i];
  }
  return s;
}

// What else the kernel event could read, grouped by digest: the other header mode, and the
// patched header at the other memory sizes QEMU users commonly give.
Result<std::vector<AlternativeDigest>> KernelAlternatives(KernelDigests& kd, const BootInputs& in,
                                                          const VariantSpec& v,
                                                          std::uint64_t memory,
                                                          const Sha384Digest& expected) {
  std::vector<std::pair<Sha384Digest, std::vector<std::string>>> patched;  // digest -> sizes
  for (std::string_view size : kAlternativeMemorySizes) {
    TDX_ASSIGN_OR_RETURN(std::uint64_t bytes, ParseMemorySize(size));
    if (bytes == memory) continue;
    TDX_ASSIGN_OR_RETURN(Sha384Digest d, kd.Digest(KernelHeaderMode::kQemuPatched, bytes));
    auto it = std::find_if(patched.begin(), patched.end(), [&](auto& p) { return p.first == d; });
    if (it == patched.end()) {
      patched.push_back({d, {std::string(size)}});
    } else {
      it->second.push_back(std::string(size));
    }
  }
  std::vector<AlternativeDigest> out;
  auto add = [&](std::string cause, const Sha384Digest& d) {
    if (d == expected) return;
    for (const auto& a : out) {
      if (a.digest == d) return;
    }
    out.push_back({std::move(cause), d});
  };
  if (v.kernel_header == KernelHeaderMode::kQemuPatched) {
    TDX_ASSIGN_OR_RETURN(Sha384Digest unmod, kd.Digest(KernelHeaderMode::kUnmodified, memory));
    add("the kernel header mode: the host measured the kernel as built (unmodified: QEMU >= 10.2, "
        "or QEMU 10.0/10.1 with OVMF >= edk2-stable202502), not with the header QEMU patches",
        unmod);
    for (const auto& [d, sizes] : patched) {
      add("the memory size: QEMU placed the initrd for MEMORY=" + JoinOr(sizes) + ", not the " +
              in.memory + " the image was measured for",
          d);
    }
  } else {
    TDX_ASSIGN_OR_RETURN(Sha384Digest same_mem, kd.Digest(KernelHeaderMode::kQemuPatched, memory));
    const std::string patched_cause =
        "the kernel header mode: the host measured the kernel with the header QEMU patches "
        "(QEMU < 10.2 with OVMF older than edk2-stable202502, or Canonical's QEMU 8.2), not "
        "unmodified";
    add(patched_cause + ", at the image's MEMORY=" + in.memory, same_mem);
    for (const auto& [d, sizes] : patched) {
      add(patched_cause + ", at MEMORY=" + JoinOr(sizes), d);
    }
  }
  return out;
}

}  // namespace

ExpectedEvent ExpectedFromMeasured(const MeasuredEvent& m, int rtmr,
                                   std::vector<std::string> depends_on) {
  ExpectedEvent e;
  e.rtmr = rtmr;
  e.type = m.type;
  e.digest = m.digest;
  e.what = m.description;
  e.depends_on = std::move(depends_on);
  e.data = m.data;
  return e;
}

Result<ExpectedLog> PredictEventLog(const BootInputs& in,
                                    const std::vector<VariantSpec>& variants) {
  if (variants.empty()) return Status::InvalidArgument("no host to predict the event log for");
  ExpectedLog log;
  log.source = "eventlog";
  log.image = in.image;
  log.memory = in.memory;
  log.cmdline = in.cmdline;
  if (in.initrd) log.initrd_size = in.initrd->size();
  TDX_ASSIGN_OR_RETURN(TdvfMetadata md, ParseTdvf(in.firmware));
  log.mr_td_single_pass = ComputeMrTd(in.firmware, md, PageOrder::kSinglePass);
  log.mr_td_two_pass = ComputeMrTd(in.firmware, md, PageOrder::kTwoPass);
  TDX_ASSIGN_OR_RETURN(std::uint64_t memory, ParseMemorySize(in.memory));
  KernelDigests kd(in);
  const Rtmr2Result r2 = ComputeRtmr2(in.cmdline, in.initrd);
  for (const auto& spec : variants) {
    ExpectedVariant v;
    v.host = spec.host;
    v.reasons = spec.reasons;
    v.page_order = spec.page_order;
    v.kernel_header = spec.kernel_header;
    v.ovmf_layout = spec.ovmf_layout;
    v.mr_td =
        spec.page_order == PageOrder::kSinglePass ? log.mr_td_single_pass : log.mr_td_two_pass;
    TDX_ASSIGN_OR_RETURN(KernelMeasurement kernel, kd.Get(spec.kernel_header, memory));
    const Rtmr1Result r1 = Rtmr1FromKernel(kernel, spec.kernel_header, spec.ovmf_layout);
    if (spec.ovmf_layout == OvmfEventLayout::kStable202411) {
      Rtmr0Host host;
      if (spec.td_hob) host.td_hob_memory = in.memory;
      host.acpi = spec.acpi;
      TDX_ASSIGN_OR_RETURN(std::vector<ExpectedEvent> rtmr0,
                           PredictRtmr0Events(in.firmware, md, host));
      v.events.insert(v.events.end(), rtmr0.begin(), rtmr0.end());
    }
    for (std::size_t i = 0; i < r1.events.size(); ++i) {
      const MeasuredEvent& m = r1.events[i];
      if (i == 0) {
        std::vector<std::string> deps = {"kernel"};
        if (spec.kernel_header == KernelHeaderMode::kQemuPatched) {
          deps.insert(deps.end(), {"kernel header mode", "memory", "initrd size", "cmdline size"});
        } else {
          deps.push_back("kernel header mode");
        }
        ExpectedEvent e = ExpectedFromMeasured(m, 1, deps);
        TDX_ASSIGN_OR_RETURN(e.alternatives, KernelAlternatives(kd, in, spec, memory, e.digest));
        v.events.push_back(std::move(e));
      } else {
        v.events.push_back(
            ExpectedFromMeasured(m, 1, {m.type == kEvSeparator ? "ovmf event layout" : "ovmf"}));
      }
    }
    for (std::size_t i = 0; i < r2.events.size(); ++i) {
      v.events.push_back(ExpectedFromMeasured(r2.events[i], 2, {i == 0 ? "cmdline" : "initrd"}));
    }
    v.rtmr1 = r1.rtmr1;
    v.rtmr2 = r2.rtmr2;
    if (AllPredicted(v.events, 0)) v.rtmr0 = ReplayExpected(v.events, 0);
    log.variants.push_back(std::move(v));
  }
  return log;
}

// ---- JSON ----

namespace {

std::string Hex(const Sha384Digest& d) { return tdxrt::ToHex(d); }

}  // namespace

ordered_json ExpectedVariantJson(const ExpectedVariant& v, bool with_events) {
  ordered_json j;
  j["host"] = v.host;
  if (!v.reasons.empty()) j["reasons"] = v.reasons;
  j["page_order"] = PageOrderName(v.page_order);
  j["kernel_header"] = KernelHeaderModeName(v.kernel_header);
  j["ovmf_layout"] = OvmfEventLayoutName(v.ovmf_layout);
  j["mr_td"] = Hex(v.mr_td);
  if (v.rtmr0) j["rtmr0"] = Hex(*v.rtmr0);
  j["rtmr1"] = Hex(v.rtmr1);
  j["rtmr2"] = Hex(v.rtmr2);
  if (!with_events) return j;
  ordered_json ev = ordered_json::array();
  for (const auto& e : v.events) {
    ordered_json x;
    x["register"] = RegisterName(e.rtmr);
    x["type"] = EventTypeName(e.type);
    x["type_value"] = e.type;
    if (!e.predicted) x["predicted"] = false;
    if (e.predicted) x["digest"] = Hex(e.digest);
    x["what"] = e.what;
    x["depends_on"] = e.depends_on;
    if (e.data) x["data"] = tdxrt::ToHex(*e.data);
    if (!e.alternatives.empty()) {
      x["alternatives"] = ordered_json::array();
      for (const auto& a : e.alternatives) {
        x["alternatives"].push_back({{"digest", Hex(a.digest)}, {"cause", a.cause}});
      }
    }
    ev.push_back(std::move(x));
  }
  j["events"] = std::move(ev);
  return j;
}

ordered_json ExpectedLogJson(const ExpectedLog& log) {
  ordered_json j;
  j["eventlog_version"] = kEventLogFileVersion;
  j["image"] = log.image;
  j["inputs"] = {{"memory", log.memory}, {"cmdline", log.cmdline}};
  if (log.initrd_size) j["inputs"]["initrd_size"] = *log.initrd_size;
  j["mr_td"] = {{"single-pass", Hex(log.mr_td_single_pass)}, {"two-pass", Hex(log.mr_td_two_pass)}};
  j["predicted"] = {
      "RTMR0 (OVMF >= stable202411: the events the image decides, the TD HOB for upstream QEMU "
      ">= 10.1, the ACPI tables where the host's were captured; rtmr0 when all are)",
      "RTMR1", "RTMR2"};
  j["not_predicted"] =
      "RTMR0 events marked predicted: false (the host's: TD HOB of another QEMU, ACPI tables not "
      "captured), and then RTMR0's value; RTMR3 (the TD's runtime log: tdx-attest)";
  j["hosts"] = ordered_json::array();
  for (const auto& v : log.variants) j["hosts"].push_back(ExpectedVariantJson(v, true));
  return j;
}

namespace {

constexpr std::size_t kMaxHosts = 32;
constexpr std::size_t kMaxEvents = 64;
constexpr std::size_t kMaxAlternatives = 32;
constexpr std::size_t kMaxText = 4096;
constexpr std::size_t kMaxData = 1 << 16;

using Reader = JsonReader;

Result<ExpectedVariant> ReadVariant(const Reader& R, const nlohmann::json& h, const std::string& p,
                                    bool with_events) {
  ExpectedVariant v;
  TDX_ASSIGN_OR_RETURN(v.host, R.Str(h, p, "host", 256));
  if (v.host.empty()) return R.Error(p + ".host", "empty");
  TDX_ASSIGN_OR_RETURN(const nlohmann::json* reasons, R.Array(h, p, "reasons", 16, false));
  if (reasons) {
    for (std::size_t i = 0; i < reasons->size(); ++i) {
      if (!(*reasons)[i].is_string()) return R.Error(R.At(p, "reasons", i), "is not a string");
      v.reasons.push_back((*reasons)[i].get<std::string>().substr(0, kMaxText));
    }
  }
  TDX_ASSIGN_OR_RETURN(std::string order, R.Str(h, p, "page_order", 64));
  TDX_ASSIGN_OR_RETURN(std::string header, R.Str(h, p, "kernel_header", 64));
  TDX_ASSIGN_OR_RETURN(std::string layout, R.Str(h, p, "ovmf_layout", 64));
  const auto po = ParsePageOrder(order);
  if (!po) return R.Error(p + ".page_order", "'" + order + "' is not single-pass or two-pass");
  const auto km = ParseKernelHeaderMode(header);
  if (!km)
    return R.Error(p + ".kernel_header", "'" + header + "' is not qemu-patched or unmodified");
  const auto ol = ParseOvmfEventLayout(layout);
  if (!ol) {
    return R.Error(p + ".ovmf_layout", "'" + layout + "' is not stable202411 or pre-stable202411");
  }
  v.page_order = *po;
  v.kernel_header = *km;
  v.ovmf_layout = *ol;
  TDX_ASSIGN_OR_RETURN(v.mr_td, R.Digest(h, p, "mr_td"));
  if (h.contains("rtmr0")) {
    TDX_ASSIGN_OR_RETURN(v.rtmr0, R.Digest(h, p, "rtmr0"));
  }
  TDX_ASSIGN_OR_RETURN(v.rtmr1, R.Digest(h, p, "rtmr1"));
  TDX_ASSIGN_OR_RETURN(v.rtmr2, R.Digest(h, p, "rtmr2"));
  if (!with_events) return v;
  TDX_ASSIGN_OR_RETURN(const nlohmann::json* events, R.Array(h, p, "events", kMaxEvents));
  if (events->empty()) return R.Error(p + ".events", "empty");
  for (std::size_t i = 0; i < events->size(); ++i) {
    const nlohmann::json& x = (*events)[i];
    const std::string ep = R.At(p, "events", i);
    ExpectedEvent e;
    TDX_ASSIGN_OR_RETURN(std::string reg, R.Str(x, ep, "register", 16));
    const auto r = ParseRegisterName(reg);
    if (!r || *r == 3) {
      return R.Error(ep + ".register", "'" + reg + "' is not RTMR0, RTMR1 or RTMR2");
    }
    e.rtmr = *r;
    TDX_ASSIGN_OR_RETURN(const nlohmann::json* tv, R.Field(x, ep, "type_value"));
    if (!tv->is_number_unsigned() || tv->get<std::uint64_t>() > 0xffffffffu) {
      return R.Error(ep + ".type_value", "not a 32-bit unsigned number");
    }
    e.type = tv->get<std::uint32_t>();
    TDX_ASSIGN_OR_RETURN(const nlohmann::json* pred, R.Field(x, ep, "predicted", false));
    if (pred) {
      if (!pred->is_boolean()) return R.Error(ep + ".predicted", "is not true or false");
      e.predicted = pred->get<bool>();
      if (!e.predicted && e.rtmr != 0) {
        return R.Error(ep + ".predicted", "only RTMR0 events may be left unpredicted");
      }
    }
    if (e.predicted) {
      TDX_ASSIGN_OR_RETURN(e.digest, R.Digest(x, ep, "digest"));
    } else if (x.contains("digest")) {
      return R.Error(ep + ".digest", "given for an event that is not predicted");
    }
    TDX_ASSIGN_OR_RETURN(e.what, R.Str(x, ep, "what"));
    TDX_ASSIGN_OR_RETURN(const nlohmann::json* deps, R.Array(x, ep, "depends_on", 16));
    for (std::size_t k = 0; k < deps->size(); ++k) {
      if (!(*deps)[k].is_string()) return R.Error(R.At(ep, "depends_on", k), "is not a string");
      e.depends_on.push_back((*deps)[k].get<std::string>().substr(0, 256));
    }
    TDX_ASSIGN_OR_RETURN(const nlohmann::json* data, R.Field(x, ep, "data", false));
    if (data) {
      if (!data->is_string()) return R.Error(ep + ".data", "is not a string");
      const std::string& s = data->get_ref<const std::string&>();
      if (s.size() > 2 * kMaxData) return R.Error(ep + ".data", "longer than 64 KiB");
      auto b = tdxrt::FromHex(s);
      if (!b.ok()) return R.Error(ep + ".data", "not hex (" + b.status().message() + ")");
      e.data = std::move(b).value();
    }
    TDX_ASSIGN_OR_RETURN(const nlohmann::json* alts,
                         R.Array(x, ep, "alternatives", kMaxAlternatives, false));
    if (alts) {
      for (std::size_t k = 0; k < alts->size(); ++k) {
        const std::string ap = R.At(ep, "alternatives", k);
        AlternativeDigest a;
        TDX_ASSIGN_OR_RETURN(a.digest, R.Digest((*alts)[k], ap, "digest"));
        TDX_ASSIGN_OR_RETURN(a.cause, R.Str((*alts)[k], ap, "cause"));
        e.alternatives.push_back(std::move(a));
      }
    }
    v.events.push_back(std::move(e));
  }
  if (v.rtmr0) {
    if (!AllPredicted(v.events, 0)) {
      return R.Error(p + ".rtmr0", "given, but not every RTMR0 event is predicted");
    }
    const Sha384Digest replay = ReplayExpected(v.events, 0);
    if (replay != *v.rtmr0) {
      return R.Error(p + ".rtmr0", "its events replay to " + Hex(replay) + ", not to this value");
    }
  }
  for (int reg : {1, 2}) {
    const Sha384Digest replay = ReplayExpected(v.events, reg);
    if (replay != (reg == 1 ? v.rtmr1 : v.rtmr2)) {
      return R.Error(p + ".rtmr" + std::to_string(reg),
                     "its events replay to " + Hex(replay) + ", not to this value");
    }
  }
  return v;
}

// tdximage's <name>-measurements.json: "hosts" when the recipe names them, else the two page
// orders with the recipe's knobs.
Result<ExpectedLog> ReadMeasurements(const Reader& R, const nlohmann::json& j) {
  ExpectedLog log;
  log.source = "measurements";
  TDX_ASSIGN_OR_RETURN(log.image, R.Str(j, "", "name", 256));
  TDX_ASSIGN_OR_RETURN(const nlohmann::json* mr, R.Field(j, "", "mr_td"));
  TDX_ASSIGN_OR_RETURN(log.mr_td_single_pass, R.Digest(*mr, "mr_td", "single-pass"));
  TDX_ASSIGN_OR_RETURN(log.mr_td_two_pass, R.Digest(*mr, "mr_td", "two-pass"));
  TDX_ASSIGN_OR_RETURN(const nlohmann::json* assumes, R.Field(j, "", "assumes"));
  TDX_ASSIGN_OR_RETURN(log.memory, R.Str(*assumes, "assumes", "memory", 64));
  TDX_ASSIGN_OR_RETURN(log.cmdline, R.Str(*assumes, "assumes", "cmdline"));
  TDX_ASSIGN_OR_RETURN(const nlohmann::json* hosts, R.Array(j, "", "hosts", kMaxHosts, false));
  if (hosts) {
    if (hosts->empty()) return R.Error("hosts", "empty");
    for (std::size_t i = 0; i < hosts->size(); ++i) {
      TDX_ASSIGN_OR_RETURN(ExpectedVariant v,
                           ReadVariant(R, (*hosts)[i], R.At("", "hosts", i), false));
      log.variants.push_back(std::move(v));
    }
    return log;
  }
  TDX_ASSIGN_OR_RETURN(std::string header, R.Str(*assumes, "assumes", "kernel_header", 64));
  TDX_ASSIGN_OR_RETURN(std::string layout, R.Str(*assumes, "assumes", "ovmf_layout", 64));
  const auto km = ParseKernelHeaderMode(header);
  const auto ol = ParseOvmfEventLayout(layout);
  if (!km) return R.Error("assumes.kernel_header", "'" + header + "' is not a header mode");
  if (!ol) return R.Error("assumes.ovmf_layout", "'" + layout + "' is not an OVMF layout");
  for (PageOrder order : {PageOrder::kSinglePass, PageOrder::kTwoPass}) {
    ExpectedVariant v;
    v.host = std::string(PageOrderName(order));
    v.page_order = order;
    v.kernel_header = *km;
    v.ovmf_layout = *ol;
    v.mr_td = order == PageOrder::kSinglePass ? log.mr_td_single_pass : log.mr_td_two_pass;
    TDX_ASSIGN_OR_RETURN(v.rtmr1, R.Digest(j, "", "rtmr1"));
    TDX_ASSIGN_OR_RETURN(v.rtmr2, R.Digest(j, "", "rtmr2"));
    log.variants.push_back(std::move(v));
  }
  return log;
}

}  // namespace

Result<ExpectedLog> ParseExpectedLog(std::string_view text, const std::string& what) {
  TDX_ASSIGN_OR_RETURN(nlohmann::json j, tdxrt::ParseJson(text, what));
  const Reader R(what);
  if (!j.is_object()) return R.Error("(top level)", "is not an object");
  if (!j.contains("eventlog_version")) {
    if (j.contains("rtmr1") && j.contains("mr_td")) return ReadMeasurements(R, j);
    return R.Error("(top level)",
                   "neither an expected event log (eventlog_version) nor a measurements file "
                   "(mr_td, rtmr1)");
  }
  const nlohmann::json& ver = j["eventlog_version"];
  if (!ver.is_number_integer() || ver.get<long long>() != kEventLogFileVersion) {
    return R.Error("eventlog_version", "unsupported (this mrtd-calc reads version " +
                                           std::to_string(kEventLogFileVersion) + ")");
  }
  ExpectedLog log;
  log.source = "eventlog";
  TDX_ASSIGN_OR_RETURN(log.image, R.Str(j, "", "image", 256));
  TDX_ASSIGN_OR_RETURN(const nlohmann::json* inputs, R.Field(j, "", "inputs"));
  TDX_ASSIGN_OR_RETURN(log.memory, R.Str(*inputs, "inputs", "memory", 64));
  TDX_ASSIGN_OR_RETURN(log.cmdline, R.Str(*inputs, "inputs", "cmdline"));
  TDX_ASSIGN_OR_RETURN(const nlohmann::json* isz, R.Field(*inputs, "inputs", "initrd_size", false));
  if (isz) {
    if (!isz->is_number_unsigned()) return R.Error("inputs.initrd_size", "not a number");
    log.initrd_size = isz->get<std::uint64_t>();
  }
  TDX_ASSIGN_OR_RETURN(const nlohmann::json* mr, R.Field(j, "", "mr_td"));
  TDX_ASSIGN_OR_RETURN(log.mr_td_single_pass, R.Digest(*mr, "mr_td", "single-pass"));
  TDX_ASSIGN_OR_RETURN(log.mr_td_two_pass, R.Digest(*mr, "mr_td", "two-pass"));
  TDX_ASSIGN_OR_RETURN(const nlohmann::json* hosts, R.Array(j, "", "hosts", kMaxHosts));
  if (hosts->empty()) return R.Error("hosts", "empty");
  for (std::size_t i = 0; i < hosts->size(); ++i) {
    const std::string p = R.At("", "hosts", i);
    TDX_ASSIGN_OR_RETURN(ExpectedVariant v, ReadVariant(R, (*hosts)[i], p, true));
    const Sha384Digest& want =
        v.page_order == PageOrder::kSinglePass ? log.mr_td_single_pass : log.mr_td_two_pass;
    if (v.mr_td != want) {
      return R.Error(p + ".mr_td",
                     "is not the file's mr_td." + std::string(PageOrderName(v.page_order)));
    }
    log.variants.push_back(std::move(v));
  }
  return log;
}

}  // namespace mrtd
