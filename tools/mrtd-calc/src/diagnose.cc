// Measurement diagnosis (see include/mrtd/diagnose.h).
#include "mrtd/diagnose.h"

#include <algorithm>

#include "mrtd/rtmr.h"
#include "mrtd/rtmr0.h"
#include "tdxrt/hex.h"

namespace mrtd {

using nlohmann::ordered_json;
using tdxrt::Sha384Digest;

namespace {

std::string Hex(const Sha384Digest& d) { return tdxrt::ToHex(d); }

std::string HostOfPageOrder(PageOrder o) {
  return o == PageOrder::kTwoPass ? "Canonical's QEMU 8.2 TDX build (KVM TDX v19)"
                                  : "upstream KVM with QEMU >= 10.1";
}

// ---- causes, in words ----

constexpr const char* kSeparatorNowInRtmr1 =
    "the separator's register: OVMF measured the ReadyToBoot separator into RTMR1, as "
    "edk2-stable202411 and later do; the image was measured for an older OVMF "
    "(pre-stable202411), so the OVMF that ran is newer than that, or the image's OVMF release "
    "(recipe) is wrong";
constexpr const char* kSeparatorNotInRtmr1 =
    "the separator's register: OVMF measured no separator into RTMR1, as releases before "
    "edk2-stable202411 do (they measure it into RTMR0); the image was measured for "
    "stable202411 or later, so the OVMF that ran is older than that, or the image's OVMF "
    "release (recipe) is wrong";

constexpr const char* kSeparatorAlsoInRtmr0 =
    "the separator's register: a second separator in RTMR0, the ReadyToBoot one that releases "
    "before edk2-stable202411 measure there; the image was measured for stable202411 or later";

std::string GenericEventCause(const ExpectedLog& x, const ExpectedEvent& e) {
  if (e.rtmr == 0) {
    switch (e.type) {
      case kEvEfiPlatformFirmwareBlob2:
        return "the variable store (CFV) is not the image's firmware's: another OVMF ran (MR_TD "
               "says whether its code differs too)";
      case kEvEfiVariableDriverConfig:
        return "a Secure Boot variable differs from the image's firmware's (" + e.what +
               "): keys enrolled in the variable store that ran";
      case kEvEfiVariableBoot:
        return "OVMF's boot options differ (" + e.what +
               "): the host set another boot order (-boot, bootindex) or another OVMF ran";
      default:
        return "OVMF measured another " + EventTypeName(e.type) + " here (" + e.what +
               "): another OVMF build than the image's";
    }
  }
  const auto depends = [&](const char* what) {
    return std::find(e.depends_on.begin(), e.depends_on.end(), what) != e.depends_on.end();
  };
  if (e.type == kEvEfiBootServicesApplication) {
    std::string sizes;
    for (auto s : kAlternativeMemorySizes) sizes += (sizes.empty() ? "" : ", ") + std::string(s);
    return "another kernel: the digest is the image's kernel under neither header mode at any "
           "memory size tried (" +
           sizes +
           "), so OVMF loaded another kernel (KERNEL= replaced, another image) or, with the "
           "header QEMU patches, another initrd size";
  }
  if (depends("cmdline")) {
    return "the kernel command line: the load options' digest is not that of \"" + x.cmdline +
           "\"" + (x.initrd_size ? " + \" initrd=initrd\"" : std::string()) +
           ": the host passed another -append (the log holds only its digest)";
  }
  if (depends("initrd")) {
    return "another initrd: not the image's initramfs" +
           (x.initrd_size ? " (" + std::to_string(*x.initrd_size) + " bytes)" : std::string()) +
           ": INITRD= replaced, or another image";
  }
  return "OVMF measured another " + EventTypeName(e.type) +
         " here: another OVMF build than the image's";
}

std::string NoEventsCause(int reg) {
  if (reg == 2) {
    return "RTMR2 holds no events: the kernel's EFI stub measured neither the command line nor "
           "the initrd (Linux before 6.9, or a kernel not started through its EFI stub), so it "
           "is not the image's kernel";
  }
  return "RTMR1 holds no events: OVMF did not boot a kernel given to QEMU with -kernel";
}

// ---- helpers ----

std::vector<ExpectedEvent> EventsOf(const ExpectedVariant& v, int reg) {
  std::vector<ExpectedEvent> out;
  for (const auto& e : v.events) {
    if (e.rtmr == reg) out.push_back(e);
  }
  return out;
}

// RTMR1's events with the separator moved out of it (stable202411 -> older) or into it.
std::vector<ExpectedEvent> ToggleSeparator(std::vector<ExpectedEvent> r1) {
  auto it = std::find_if(r1.begin(), r1.end(), [](auto& e) { return e.type == kEvSeparator; });
  if (it != r1.end()) {
    r1.erase(it);
  } else if (r1.size() >= 2) {
    r1.insert(r1.begin() + 2, ExpectedFromMeasured(SeparatorEvent(), 1, {"ovmf event layout"}));
  }
  return r1;
}

// ---- per register ----

RegisterResult MrTdResult(const ExpectedLog& x, const ExpectedVariant& v, const ActualBoot& a,
                          std::vector<Finding>& findings) {
  RegisterResult r{"MR_TD", RegisterResult::State::kUnknown, Hex(v.mr_td), ""};
  if (!a.mr_td) return r;
  r.actual = Hex(*a.mr_td);
  if (*a.mr_td == v.mr_td) {
    r.state = RegisterResult::State::kMatch;
    return r;
  }
  r.state = RegisterResult::State::kDiffers;
  const PageOrder other =
      v.page_order == PageOrder::kSinglePass ? PageOrder::kTwoPass : PageOrder::kSinglePass;
  const Sha384Digest& other_value =
      other == PageOrder::kSinglePass ? x.mr_td_single_pass : x.mr_td_two_pass;
  std::string cause;
  if (*a.mr_td == other_value) {
    cause = "the page order: this is the image's firmware added " +
            std::string(PageOrderName(other)) + ", as " + HostOfPageOrder(other) +
            " does; the host is not " + v.host + " (" + HostOfPageOrder(v.page_order) + ")";
  } else {
    cause =
        "another firmware: MR_TD covers only the OVMF (TDVF) image, and this is the image's "
        "firmware in neither page order: the host ran another OVMF (OVMF= replaced), or the TD "
        "is not of this image";
  }
  findings.push_back({"MR_TD", std::nullopt, std::nullopt, r.expected, r.actual, cause});
  return r;
}

// A register known by value only (a quote, --rtmrN, or a measurements file without events):
// the causes come from replaying the expected events with one alternative or the separator's
// other register.
void DiagnoseValue(const ExpectedLog& x, const ExpectedVariant& v, int reg,
                   const Sha384Digest& actual, std::vector<Finding>& findings) {
  const Sha384Digest expected = reg == 0   ? v.rtmr0.value_or(Sha384Digest{})
                                : reg == 1 ? v.rtmr1
                                           : v.rtmr2;
  const Sha384Digest zero{};
  std::vector<std::string> causes;
  if (reg == 2 && actual == zero) causes.push_back(NoEventsCause(2));
  const std::vector<ExpectedEvent> base = EventsOf(v, reg);
  std::vector<std::pair<std::vector<ExpectedEvent>, std::string>> layouts = {{base, ""}};
  if (reg == 1 && !base.empty()) {
    const bool has_sep =
        std::any_of(base.begin(), base.end(), [](auto& e) { return e.type == kEvSeparator; });
    layouts.push_back(
        {ToggleSeparator(base), has_sep ? kSeparatorNotInRtmr1 : kSeparatorNowInRtmr1});
  }
  for (const auto& [events, layout_cause] : layouts) {
    if (!layout_cause.empty() && ReplayExpected(events, reg) == actual) {
      causes.push_back(layout_cause);
    }
    for (std::size_t i = 0; i < events.size(); ++i) {
      for (const auto& alt : events[i].alternatives) {
        std::vector<ExpectedEvent> changed = events;
        changed[i].digest = alt.digest;
        if (ReplayExpected(changed, reg) == actual) {
          causes.push_back(layout_cause.empty() ? alt.cause : alt.cause + "; and " + layout_cause);
        }
      }
    }
  }
  if (causes.empty() && reg == 0) {
    causes.push_back(
        "RTMR0 is not the image's for this host with the TD HOB of any memory size tried: the "
        "ACPI tables differ from those captured (another memory size, which changes them too, "
        "another QEMU version or VM shape: CPUs, devices), or the firmware; give the TD's event "
        "log (--eventlog) to see which event");
  } else if (causes.empty() && reg == 1 && base.empty()) {
    causes.push_back(
        "RTMR1 differs: another kernel, kernel header mode, memory size or OVMF; give the image's "
        "<name>-eventlog.json as --expected to try each");
  } else if (causes.empty() && reg == 1) {
    causes.push_back(
        "RTMR1 is the image's under no header mode, memory size or separator register tried: "
        "another kernel, or another OVMF boot path; give the TD's event log (--eventlog) to see "
        "which event differs");
  } else if (causes.empty()) {
    causes.push_back("the command line (\"" + x.cmdline +
                     "\") or the initramfs differs; give the TD's event log (--eventlog) to see "
                     "which");
  }
  for (const auto& c : causes) {
    findings.push_back(
        {RegisterName(reg), std::nullopt, std::nullopt, Hex(expected), Hex(actual), c});
  }
}

// Both sides' events, aligned: equal digests pair up; a separator on one side only is the
// layout; otherwise the two events at the same place differ.
void DiagnoseEvents(const ExpectedLog& x, const ExpectedVariant& v, int reg,
                    const std::vector<CcEvent>& log, std::vector<Finding>& findings) {
  const std::vector<ExpectedEvent> exp = EventsOf(v, reg);
  std::vector<const CcEvent*> act;
  for (const auto& e : log) {
    if (e.type != kEvNoAction && e.mr_index == static_cast<std::uint32_t>(reg) + 1) {
      act.push_back(&e);
    }
  }
  const std::string rn = RegisterName(reg);
  if (act.empty()) {
    if (!exp.empty())
      findings.push_back({rn, std::nullopt, std::nullopt, "", "", NoEventsCause(reg)});
    return;
  }
  auto digest_of = [](const CcEvent& e) {
    const tdxrt::Bytes* d = e.Sha384();
    return d ? tdxrt::ToHex(*d) : std::string();
  };
  std::size_t i = 0, j = 0;
  while (i < exp.size() && j < act.size()) {
    const ExpectedEvent& e = exp[i];
    const CcEvent& a = *act[j];
    const std::string ad = digest_of(a);
    if (!e.predicted) {
      // The host's event (TD HOB, ACPI tables): any digest, but the event must be there.
      if (a.type != e.type) {
        findings.push_back({rn, i + 1, a.index, "", ad,
                            "the log has " + EventTypeName(a.type) + " " + DescribeEventData(a) +
                                " where OVMF measures " + e.what + ": another OVMF build"});
      }
      ++i, ++j;
      continue;
    }
    const std::string ed = Hex(e.digest);
    if (ad == ed) {
      ++i, ++j;
      continue;
    }
    if (a.type == kEvSeparator && e.type != kEvSeparator) {
      findings.push_back({rn, std::nullopt, a.index, "", ad,
                          reg == 1   ? kSeparatorNowInRtmr1
                          : reg == 0 ? kSeparatorAlsoInRtmr0
                                     : "an EV_SEPARATOR the image's boot does not measure here"});
      ++j;
      continue;
    }
    if (e.type == kEvSeparator && a.type != kEvSeparator) {
      findings.push_back({rn, i + 1, std::nullopt, ed, "", kSeparatorNotInRtmr1});
      ++i;
      continue;
    }
    std::string cause;
    for (const auto& alt : e.alternatives) {
      if (Hex(alt.digest) == ad) cause = alt.cause;
    }
    if (cause.empty()) cause = GenericEventCause(x, e);
    if (a.type != e.type) {
      cause += " (the log has " + EventTypeName(a.type) + " where " + EventTypeName(e.type) +
               " was expected)";
    }
    findings.push_back({rn, i + 1, a.index, ed, ad, cause});
    ++i, ++j;
  }
  for (; i < exp.size(); ++i) {
    findings.push_back({rn, i + 1, std::nullopt, Hex(exp[i].digest), "",
                        "the log ends before " + exp[i].what +
                            ": the boot did not get that far, or the log was cut"});
  }
  for (; j < act.size(); ++j) {
    findings.push_back({rn, std::nullopt, act[j]->index, "", digest_of(*act[j]),
                        "an event the image's boot does not produce: " +
                            EventTypeName(act[j]->type) + " " + DescribeEventData(*act[j]) +
                            " (another boot path: a boot loader, a UKI, or another OVMF)"});
  }
}

// RTMR0: its value when every event is predicted (the TD HOB and a capture of the host's ACPI
// tables), else its events where the image decides them (a log is needed).
RegisterResult Rtmr0Result(const ExpectedLog& x, const ExpectedVariant& v, const ActualBoot& a,
                           std::vector<Finding>& findings) {
  RegisterResult r{"RTMR0", RegisterResult::State::kUnknown, v.rtmr0 ? Hex(*v.rtmr0) : "", ""};
  if (a.rtmr[0]) r.actual = Hex(*a.rtmr[0]);
  if (v.rtmr0 && a.rtmr[0]) {
    r.state =
        *v.rtmr0 == *a.rtmr[0] ? RegisterResult::State::kMatch : RegisterResult::State::kDiffers;
    if (r.state == RegisterResult::State::kMatch) return r;
    if (a.events) {
      DiagnoseEvents(x, v, 0, *a.events, findings);
    } else {
      DiagnoseValue(x, v, 0, *a.rtmr[0], findings);
    }
    return r;
  }
  if (!a.events || EventsOf(v, 0).empty()) return r;
  const std::size_t before = findings.size();
  DiagnoseEvents(x, v, 0, *a.events, findings);
  r.state = findings.size() == before ? RegisterResult::State::kMatchWherePredicted
                                      : RegisterResult::State::kDiffers;
  return r;
}

RegisterResult RtmrResult(const ExpectedLog& x, const ExpectedVariant& v, int reg,
                          const ActualBoot& a, std::vector<Finding>& findings) {
  const Sha384Digest& expected = reg == 1 ? v.rtmr1 : v.rtmr2;
  RegisterResult r{RegisterName(reg), RegisterResult::State::kUnknown, Hex(expected), ""};
  const auto& actual = a.rtmr[static_cast<std::size_t>(reg)];
  if (!actual) return r;
  r.actual = Hex(*actual);
  r.state = *actual == expected ? RegisterResult::State::kMatch : RegisterResult::State::kDiffers;
  if (r.state == RegisterResult::State::kMatch) return r;
  if (a.events && !v.events.empty()) {
    DiagnoseEvents(x, v, reg, *a.events, findings);
  } else {
    DiagnoseValue(x, v, reg, *actual, findings);
  }
  return r;
}

}  // namespace

Diagnosis Diagnose(const ExpectedLog& x, const ActualBoot& a) {
  Diagnosis d;
  if (a.events) {
    // The registers a CC log replays to (ReplayRtmrs); a quote given beside it must agree.
    CcEventLog log;
    log.events = *a.events;
    if (auto replay = ReplayRtmrs(log); replay.ok()) {
      for (std::size_t r = 0; r < 4; ++r) {
        if (a.rtmr[r] && *a.rtmr[r] != (*replay)[r]) {
          d.notes.push_back("the event log replays RTMR" + std::to_string(r) + " to " +
                            Hex((*replay)[r]) + ", the quote holds " + Hex(*a.rtmr[r]) +
                            ": the log is not this TD's (its events are diagnosed as they are)");
        }
      }
    } else {
      d.notes.push_back("the event log does not replay: " + replay.status().message());
    }
  }
  for (const auto& v : x.variants) {
    VariantDiagnosis vd;
    vd.host = v.host;
    vd.registers.push_back(MrTdResult(x, v, a, vd.findings));
    vd.registers.push_back(Rtmr0Result(x, v, a, vd.findings));
    for (int reg : {1, 2}) vd.registers.push_back(RtmrResult(x, v, reg, a, vd.findings));
    d.variants.push_back(std::move(vd));
  }
  auto score = [](const VariantDiagnosis& v) {
    int matched = 0;
    for (const auto& r : v.registers) matched += r.state == RegisterResult::State::kMatch;
    return std::make_pair(v.findings.size(), -matched);
  };
  for (std::size_t i = 1; i < d.variants.size(); ++i) {
    if (score(d.variants[i]) < score(d.variants[d.closest])) d.closest = i;
  }
  const VariantDiagnosis& best = d.variants[d.closest];
  d.match = best.findings.empty() && d.notes.empty() &&
            std::any_of(best.registers.begin(), best.registers.end(),
                        [](auto& r) { return r.state == RegisterResult::State::kMatch; });
  const RegisterResult& r0 = best.registers[1];
  if (r0.state == RegisterResult::State::kUnknown && a.rtmr[0]) {
    d.notes.push_back(
        std::string("RTMR0 is not compared: ") +
        (a.events ? "the image predicts no RTMR0 events for this host's OVMF (older than "
                    "edk2-stable202411)"
                  : "its value holds the host's TD HOB and ACPI tables; give the TD's event log "
                    "(--eventlog) to compare the events the image decides"));
  } else if (r0.state == RegisterResult::State::kMatchWherePredicted ||
             (r0.state == RegisterResult::State::kDiffers && r0.expected.empty())) {
    d.notes.push_back(
        "RTMR0: the events predicted were compared; the others (the ACPI tables without a "
        "capture of the host's, the TD HOB of a QEMU other than upstream >= 10.1) are the "
        "host's, so RTMR0's value is not");
  }
  if (!a.mr_td) d.notes.push_back("MR_TD is unknown: give --quote or --mrtd to compare it");
  return d;
}

namespace {

const char* StateName(RegisterResult::State s) {
  switch (s) {
    case RegisterResult::State::kMatch:
      return "matches";
    case RegisterResult::State::kMatchWherePredicted:
      return "matches where predicted";
    case RegisterResult::State::kDiffers:
      return "differs";
    case RegisterResult::State::kUnknown:
      break;
  }
  return "unknown";
}

std::string Where(const Finding& f) {
  std::string s = f.reg;
  if (f.expected_event) s += " event " + std::to_string(*f.expected_event);
  if (f.log_index)
    s += std::string(f.expected_event ? "," : "") + " log #" + std::to_string(*f.log_index);
  return s;
}

}  // namespace

std::string DiagnosisText(const Diagnosis& d, const ExpectedLog& x, const ActualBoot& a) {
  std::string t;
  t += "expected: image " + x.image + ", " + std::to_string(x.variants.size()) + " host(s), " +
       (x.has_events() ? "events" : "register values only") + " (" + x.source + " file)\n";
  t += "actual:   " + a.source + "\n";
  const VariantDiagnosis& best = d.variants[d.closest];
  t += (d.match ? "matches host: " : "closest host: ") + best.host + "\n";
  for (const auto& r : best.registers) {
    t += "  " + r.reg + std::string(6 - std::min<std::size_t>(r.reg.size(), 5), ' ') +
         StateName(r.state);
    if (r.state == RegisterResult::State::kDiffers && !r.expected.empty()) {
      t += "  expected " + r.expected.substr(0, 16) + "…  actual " + r.actual.substr(0, 16) + "…";
    }
    t += "\n";
  }
  if (!best.findings.empty()) {
    t += "divergences:\n";
    for (const auto& f : best.findings) {
      t += "  " + Where(f);
      if (!f.expected.empty() || !f.actual.empty()) {
        t += ": expected " +
             (f.expected.empty() ? std::string("nothing") : f.expected.substr(0, 16) + "…") +
             ", actual " +
             (f.actual.empty() ? std::string("nothing") : f.actual.substr(0, 16) + "…");
      }
      t += "\n    cause: " + f.cause + "\n";
    }
  }
  if (d.variants.size() > 1) {
    t += "other hosts:\n";
    for (std::size_t i = 0; i < d.variants.size(); ++i) {
      if (i == d.closest) continue;
      const auto& v = d.variants[i];
      std::string regs;
      for (const auto& r : v.registers) {
        if (r.state == RegisterResult::State::kDiffers) regs += (regs.empty() ? "" : ", ") + r.reg;
      }
      t += "  " + v.host + ": " +
           (v.findings.empty() ? std::string("matches")
                               : std::to_string(v.findings.size()) + " divergence(s) in " + regs) +
           "\n";
    }
  }
  for (const auto& n : d.notes) t += "note: " + n + "\n";
  t += d.match ? "result: match\n" : "result: no host of the image matches\n";
  return t;
}

ordered_json DiagnosisJson(const Diagnosis& d, const ExpectedLog& x, const ActualBoot& a) {
  ordered_json j;
  j["expected"] = {{"image", x.image},
                   {"file_kind", x.source},
                   {"hosts", x.variants.size()},
                   {"events", x.has_events()}};
  ordered_json act;
  act["source"] = a.source;
  if (a.mr_td) act["mr_td"] = Hex(*a.mr_td);
  for (std::size_t r = 0; r < 4; ++r) {
    if (a.rtmr[r]) act["rtmr" + std::to_string(r)] = Hex(*a.rtmr[r]);
  }
  if (a.events) act["events"] = a.events->size();
  j["actual"] = act;
  j["match"] = d.match;
  j["closest_host"] = d.variants[d.closest].host;
  j["hosts"] = ordered_json::array();
  for (const auto& v : d.variants) {
    ordered_json h;
    h["host"] = v.host;
    h["registers"] = ordered_json::array();
    for (const auto& r : v.registers) {
      ordered_json rj = {
          {"register", r.reg}, {"state", StateName(r.state)}, {"expected", r.expected}};
      if (!r.actual.empty()) rj["actual"] = r.actual;
      h["registers"].push_back(std::move(rj));
    }
    h["divergences"] = ordered_json::array();
    for (const auto& f : v.findings) {
      ordered_json fj = {{"register", f.reg}};
      if (f.expected_event) fj["expected_event"] = *f.expected_event;
      if (f.log_index) fj["log_index"] = *f.log_index;
      if (!f.expected.empty()) fj["expected"] = f.expected;
      if (!f.actual.empty()) fj["actual"] = f.actual;
      fj["cause"] = f.cause;
      h["divergences"].push_back(std::move(fj));
    }
    j["hosts"].push_back(std::move(h));
  }
  j["notes"] = d.notes;
  return j;
}

}  // namespace mrtd
