// mrtd-calc: offline TDX measurements (MR_TD, RTMR1, RTMR2, event log replay) and comparison
// with expected values. A thin command line over the mrtd library; all logic lives there.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "mrtd/acpi.h"
#include "mrtd/diagnose.h"
#include "mrtd/eventlog.h"
#include "mrtd/expected_log.h"
#include "mrtd/host_profile.h"
#include "mrtd/kernel.h"
#include "mrtd/mrtd.h"
#include "mrtd/rtmr.h"
#include "mrtd/rtmr0.h"
#include "mrtd/tdvf.h"
#include "tdx_version.h"
#include "tdxrt/cli.h"
#include "tdxrt/evidence.h"
#include "tdxrt/file.h"
#include "tdxrt/hex.h"
#include "tdxrt/json.h"
#include "tdxrt/run_main.h"
#include "tdxrt/text.h"

namespace {

using nlohmann::ordered_json;

enum class ExitCode : int { kOk = 0, kFailure = 1, kUsage = 2, kMismatch = 3 };

constexpr const char* kExitCodesHelp =
    "Exit codes:\n"
    "  0  success (and every --expect-* value matched)\n"
    "  1  failure: unreadable or malformed input\n"
    "  2  usage error\n"
    "  3  a measured value does not match any of its --expect-* values; diagnose: no host of\n"
    "     the image matches\n";

int Code(ExitCode c) { return static_cast<int>(c); }

int Fail(const std::string& msg) {
  std::fprintf(stderr, "mrtd-calc: error: %s\n", msg.c_str());
  return Code(ExitCode::kFailure);
}

int Usage(const std::string& msg) {
  std::fprintf(stderr, "mrtd-calc: usage error: %s\n", msg.c_str());
  return Code(ExitCode::kUsage);
}

std::string Hex(const tdxrt::Sha384Digest& d) { return tdxrt::ToHex(d); }

// --- inspect --------------------------------------------------------------------------------

int RunInspect(const std::string& path, bool json) {
  auto fw = tdxrt::ReadFile(path, 256ull << 20);
  if (!fw.ok()) return Fail(fw.status().message());
  auto md = mrtd::ParseTdvf(*fw);
  if (!md.ok()) return Fail(path + ": " + md.status().message());
  const char* locator =
      md->locator == mrtd::TdvfLocator::kGuidTable ? "guid-table" : "legacy-pointer";
  if (json) {
    ordered_json j;
    j["file"] = path;
    j["size"] = fw->size();
    j["locator"] = locator;
    j["descriptor_offset"] = md->descriptor_offset;
    j["version"] = md->version;
    j["sections"] = ordered_json::array();
    for (const auto& s : md->sections) {
      j["sections"].push_back({{"type", mrtd::SectionTypeName(s.type)},
                               {"gpa", tdxrt::HexOffset(s.gpa)},
                               {"memory_size", s.memory_size},
                               {"data_offset", s.data_offset},
                               {"raw_size", s.raw_size},
                               {"mr_extend", s.mr_extend()},
                               {"page_aug", s.page_aug()}});
    }
    j["warnings"] = md->warnings;
    std::cout << tdxrt::DumpJson(j) << "\n";
    return Code(ExitCode::kOk);
  }
  std::printf("%s: %zu bytes, TDVF metadata v%u at %s (%s), %zu sections\n", path.c_str(),
              fw->size(), md->version, tdxrt::HexOffset(md->descriptor_offset).c_str(), locator,
              md->sections.size());
  std::printf("%-3s %-13s %-12s %-12s %-22s %s\n", "#", "type", "gpa", "memory", "file range",
              "attributes");
  for (std::size_t i = 0; i < md->sections.size(); ++i) {
    const auto& s = md->sections[i];
    std::string range = s.raw_size == 0
                            ? "-"
                            : tdxrt::HexOffset(s.data_offset) + ".." +
                                  tdxrt::HexOffset(std::uint64_t{s.data_offset} + s.raw_size);
    std::string attrs;
    if (s.mr_extend()) attrs = "MR_EXTEND";
    if (s.page_aug()) attrs += attrs.empty() ? "PAGE_AUG" : " PAGE_AUG";
    if (attrs.empty()) attrs = "-";
    std::printf("%-3zu %-13s %-12s %-12s %-22s %s\n", i,
                std::string(mrtd::SectionTypeName(s.type)).c_str(), tdxrt::HexOffset(s.gpa).c_str(),
                tdxrt::HexOffset(s.memory_size).c_str(), range.c_str(), attrs.c_str());
  }
  for (const auto& w : md->warnings)
    std::fprintf(stderr, "mrtd-calc: warning: %s: %s\n", path.c_str(), w.c_str());
  return Code(ExitCode::kOk);
}

// --- host -----------------------------------------------------------------------------------

ordered_json HostJson(const mrtd::HostProfile& h) {
  return {{"name", h.name()},
          {"qemu", mrtd::QemuHostName(h.qemu)},
          {"ovmf", mrtd::EdkReleaseName(h.ovmf)},
          {"page_order", mrtd::PageOrderName(h.page_order)},
          {"kernel_header", mrtd::KernelHeaderModeName(h.kernel_header)},
          {"ovmf_layout", mrtd::OvmfEventLayoutName(h.ovmf_layout)},
          {"reasons", h.reasons}};
}

int RunHost(const std::string& spec, bool json) {
  auto h = mrtd::ParseHostProfile(spec);
  if (!h.ok()) return Usage(h.status().message());
  if (json) {
    std::cout << tdxrt::DumpJson(HostJson(*h)) << "\n";
    return Code(ExitCode::kOk);
  }
  std::cout << "host " << h->name() << ": --page-order " << mrtd::PageOrderName(h->page_order)
            << " --kernel-header " << mrtd::KernelHeaderModeName(h->kernel_header)
            << " --ovmf-layout " << mrtd::OvmfEventLayoutName(h->ovmf_layout) << "\n";
  for (const auto& r : h->reasons) std::cout << "  " << r << "\n";
  return Code(ExitCode::kOk);
}

// --- measure --------------------------------------------------------------------------------

struct MeasureOptions {
  std::string ovmf, kernel, initrd, memory, host, acpi;
  std::optional<std::string> cmdline;
  // Empty: not given (the host profile's, else the defaults single-pass, qemu-patched,
  // stable202411).
  std::string page_order, kernel_header, ovmf_layout;
  std::vector<std::string> expect_mrtd, expect_rtmr0, expect_rtmr1, expect_rtmr2;
};

struct Check {
  std::string reg;
  std::string actual;
  std::vector<std::string> expected;
  bool match = false;
};

// Normalises expected values (lowercase, 48 bytes); errors name the option.
std::optional<std::string> ParseExpected(const std::vector<std::string>& in, const char* opt,
                                         std::vector<std::string>& out) {
  for (const auto& v : in) {
    auto b = tdxrt::FromHex(v, 48);
    if (!b.ok()) return std::string(opt) + " " + v + ": " + b.status().message();
    out.push_back(tdxrt::ToHex(*b));
  }
  return std::nullopt;
}

// The three knobs from the host profile and the options: a knob given beside a profile must be
// the profile's. Returns a usage error, or fills `o` with every knob set.
std::optional<std::string> ResolveKnobs(MeasureOptions& o,
                                        const std::optional<mrtd::HostProfile>& host) {
  auto knob = [&](std::string& value, const char* option, std::string_view derived,
                  std::size_t reason, const char* fallback) -> std::optional<std::string> {
    if (!host) {
      if (value.empty()) value = fallback;
      return std::nullopt;
    }
    if (!value.empty() && value != derived) {
      return std::string(option) + " " + value + " contradicts --host " + host->name() + " (" +
             host->reasons[reason] + ")";
    }
    value = std::string(derived);
    return std::nullopt;
  };
  if (auto e = knob(o.page_order, "--page-order", host ? mrtd::PageOrderName(host->page_order) : "",
                    0, "single-pass"))
    return e;
  if (auto e = knob(o.kernel_header, "--kernel-header",
                    host ? mrtd::KernelHeaderModeName(host->kernel_header) : "", 1, "qemu-patched"))
    return e;
  return knob(o.ovmf_layout, "--ovmf-layout",
              host ? mrtd::OvmfEventLayoutName(host->ovmf_layout) : "", 2, "stable202411");
}

int RunMeasure(MeasureOptions o, bool json) {
  // Validate the request before touching any file.
  std::optional<mrtd::HostProfile> host;
  if (!o.host.empty()) {
    auto h = mrtd::ParseHostProfile(o.host);
    if (!h.ok()) return Usage("--host: " + h.status().message());
    host = std::move(h).value();
  }
  if (auto e = ResolveKnobs(o, host)) return Usage(*e);
  const bool both_orders = o.page_order == "both";
  auto order = mrtd::ParsePageOrder(o.page_order);
  if (!both_orders && !order) return Usage("--page-order must be single-pass, two-pass or both");
  auto header_mode = mrtd::ParseKernelHeaderMode(o.kernel_header);
  if (!header_mode) return Usage("--kernel-header must be qemu-patched or unmodified");
  auto layout = mrtd::ParseOvmfEventLayout(o.ovmf_layout);
  if (!layout) return Usage("--ovmf-layout must be stable202411 or pre-stable202411");
  std::vector<std::string> exp_mrtd, exp_rtmr0, exp_rtmr1, exp_rtmr2;
  if (auto e = ParseExpected(o.expect_mrtd, "--expect-mrtd", exp_mrtd)) return Usage(*e);
  if (auto e = ParseExpected(o.expect_rtmr0, "--expect-rtmr0", exp_rtmr0)) return Usage(*e);
  if (auto e = ParseExpected(o.expect_rtmr1, "--expect-rtmr1", exp_rtmr1)) return Usage(*e);
  if (auto e = ParseExpected(o.expect_rtmr2, "--expect-rtmr2", exp_rtmr2)) return Usage(*e);
  if (o.ovmf.empty() && o.kernel.empty() && o.initrd.empty() && !o.cmdline) {
    return Usage("nothing to measure: give --ovmf, --kernel, --initrd or --cmdline");
  }
  if (!exp_mrtd.empty() && o.ovmf.empty()) return Usage("--expect-mrtd needs --ovmf");
  if (!exp_mrtd.empty() && both_orders) {
    return Usage("--expect-mrtd needs the host's page order: --page-order single-pass or two-pass");
  }
  if (!exp_rtmr1.empty() && o.kernel.empty()) return Usage("--expect-rtmr1 needs --kernel");
  if (!exp_rtmr0.empty() && o.acpi.empty()) return Usage("--expect-rtmr0 needs --acpi");
  if (!o.acpi.empty()) {
    if (o.ovmf.empty() || o.memory.empty() || !host) {
      return Usage(
          "--acpi computes RTMR0, which needs --ovmf, --memory and --host (the TD HOB is the "
          "host QEMU's for the memory size)");
    }
    if (auto why = mrtd::WhyRtmr0Unknown(*host)) {
      return Usage("--acpi: RTMR0 cannot be computed " + *why);
    }
  }
  const bool want_rtmr2 = !o.kernel.empty() || !o.initrd.empty() || o.cmdline.has_value();
  std::optional<std::uint64_t> memory;
  if (!o.memory.empty()) {
    auto m = mrtd::ParseMemorySize(o.memory);
    if (!m.ok()) return Usage("--memory: " + m.status().message());
    memory = *m;
  }
  if (!o.kernel.empty() && !memory && !o.initrd.empty() &&
      *header_mode == mrtd::KernelHeaderMode::kQemuPatched) {
    return Usage(
        "RTMR1 depends on the guest memory size when an initrd is given: add --memory "
        "(QEMU -m syntax, e.g. 512M or 4G)");
  }

  ordered_json j;
  j["tool"] = std::string("mrtd-calc ") + TDX_VERSION;
  std::vector<Check> checks;
  std::string text;
  if (host) {
    j["host"] = HostJson(*host);
    text += "host " + host->name() + ":\n";
    for (const auto& r : host->reasons) text += "  " + r + "\n";
  }

  if (!o.ovmf.empty()) {
    auto fw_file = tdxrt::MappedFile::Open(o.ovmf, 256ull << 20);
    if (!fw_file.ok()) return Fail(fw_file.status().message());
    const tdxrt::ByteSpan fw = fw_file->bytes();
    auto md = mrtd::ParseTdvf(fw);
    if (!md.ok()) return Fail(o.ovmf + ": " + md.status().message());
    for (const auto& w : md->warnings)
      std::fprintf(stderr, "mrtd-calc: warning: %s: %s\n", o.ovmf.c_str(), w.c_str());
    const std::string single = Hex(mrtd::ComputeMrTd(fw, *md, mrtd::PageOrder::kSinglePass));
    const std::string two = Hex(mrtd::ComputeMrTd(fw, *md, mrtd::PageOrder::kTwoPass));
    j["firmware"] = {
        {"file", o.ovmf}, {"size", fw.size()}, {"sha256", tdxrt::ToHex(tdxrt::Sha256(fw))}};
    j["mr_td_by_page_order"] = {{"single-pass", single}, {"two-pass", two}};
    if (!both_orders) {
      j["page_order"] = o.page_order;
      j["mr_td"] = *order == mrtd::PageOrder::kSinglePass ? single : two;
    }
    if (both_orders || *order == mrtd::PageOrder::kSinglePass)
      text += "MR_TD (single-pass): " + single + "\n";
    if (both_orders || *order == mrtd::PageOrder::kTwoPass)
      text += "MR_TD (two-pass):    " + two + "\n";
    if (!exp_mrtd.empty())
      checks.push_back({"MR_TD (" + o.page_order + ")", j["mr_td"], exp_mrtd, false});
    if (!o.acpi.empty()) {
      auto bytes = tdxrt::ReadFile(o.acpi, 64ull << 20);
      if (!bytes.ok()) return Fail(bytes.status().message());
      auto capture = mrtd::ParseAcpiCapture(
          std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()), o.acpi);
      if (!capture.ok()) return Fail(capture.status().message());
      auto cap_mem = mrtd::ParseMemorySize(capture->memory);
      if (!cap_mem.ok() || *cap_mem != *memory) {
        return Fail(o.acpi + ": captured with MEMORY=" + capture->memory + ", not the --memory " +
                    o.memory + " (the ACPI tables follow the VM's shape)");
      }
      if (!mrtd::CapturedFrom(*capture, host->qemu)) {
        std::fprintf(stderr,
                     "mrtd-calc: warning: %s was captured from '%s', not host %s's QEMU: RTMR0 "
                     "holds that QEMU's tables\n",
                     o.acpi.c_str(), tdxrt::EscapeText(capture->qemu).c_str(),
                     host->name().c_str());
      }
      mrtd::Rtmr0Host h;
      h.td_hob_memory = o.memory;
      h.acpi = &*capture;
      auto events = mrtd::PredictRtmr0Events(fw, *md, h);
      if (!events.ok()) return Fail(o.ovmf + ": " + events.status().message());
      const std::string r0 = Hex(mrtd::ReplayExpected(*events, 0));
      text += "RTMR0:               " + r0 + "\n";
      ordered_json ev = ordered_json::array();
      for (const auto& e : *events) {
        ev.push_back({{"digest", Hex(e.digest)}, {"description", e.what}});
        text += "  " + Hex(e.digest) + "  " + tdxrt::EscapeText(e.what) + "\n";
      }
      j["rtmr0"] = r0;
      j["rtmr0_inputs"] = {{"memory", o.memory},
                           {"acpi", o.acpi},
                           {"acpi_qemu", capture->qemu},
                           {"acpi_cpus", capture->cpus},
                           {"acpi_accel", capture->accel}};
      j["rtmr0_events"] = ev;
      if (!exp_rtmr0.empty()) checks.push_back({"RTMR0", r0, exp_rtmr0, false});
    }
  }

  std::optional<tdxrt::MappedFile> initrd_file;
  std::optional<tdxrt::ByteSpan> initrd;
  if (!o.initrd.empty()) {
    auto r = tdxrt::MappedFile::Open(o.initrd);
    if (!r.ok()) return Fail(r.status().message());
    initrd_file.emplace(std::move(r).value());
    initrd = initrd_file->bytes();
  }
  const std::string cmdline = o.cmdline.value_or("");

  if (!o.kernel.empty()) {
    auto k_file = tdxrt::MappedFile::Open(o.kernel, 1ull << 30);
    if (!k_file.ok()) return Fail(k_file.status().message());
    const tdxrt::ByteSpan k = k_file->bytes();
    mrtd::Rtmr1Inputs in;
    in.kernel = k;
    in.load.memory_size = memory.value_or(2ull << 30);  // unused without an initrd
    if (initrd) in.load.initrd_size = initrd->size();
    in.load.cmdline = cmdline;
    in.header_mode = *header_mode;
    in.layout = *layout;
    auto r1 = mrtd::ComputeRtmr1(in);
    if (!r1.ok()) return Fail(o.kernel + ": " + r1.status().message());
    ordered_json ev = ordered_json::array();
    text += "RTMR1:               " + Hex(r1->rtmr1) + "\n";
    for (const auto& e : r1->events) {
      ev.push_back({{"digest", Hex(e.digest)}, {"description", e.description}});
      text += "  " + Hex(e.digest) + "  " + e.description + "\n";
    }
    j["rtmr1"] = Hex(r1->rtmr1);
    j["rtmr1_inputs"] = {{"kernel", o.kernel},
                         {"kernel_sha256", tdxrt::ToHex(tdxrt::Sha256(k))},
                         {"kernel_header", o.kernel_header},
                         {"ovmf_layout", o.ovmf_layout}};
    if (memory) j["rtmr1_inputs"]["memory_bytes"] = *memory;
    if (r1->initrd_addr) j["rtmr1_inputs"]["initrd_addr"] = tdxrt::HexOffset(*r1->initrd_addr);
    j["rtmr1_events"] = ev;
    if (!exp_rtmr1.empty()) checks.push_back({"RTMR1", j["rtmr1"], exp_rtmr1, false});
  }

  if (want_rtmr2) {
    auto r2 = mrtd::ComputeRtmr2(cmdline,
                                 initrd ? std::optional<tdxrt::ByteSpan>(*initrd) : std::nullopt);
    text += "RTMR2:               " + Hex(r2.rtmr2) + "\n";
    ordered_json ev = ordered_json::array();
    for (const auto& e : r2.events) {
      ev.push_back({{"digest", Hex(e.digest)}, {"description", e.description}});
      text += "  " + Hex(e.digest) + "  " + e.description + "\n";
    }
    j["rtmr2"] = Hex(r2.rtmr2);
    j["rtmr2_inputs"] = {{"cmdline", cmdline}};
    if (initrd) {
      j["rtmr2_inputs"]["initrd"] = o.initrd;
      j["rtmr2_inputs"]["initrd_size"] = initrd->size();
    }
    j["rtmr2_events"] = ev;
    if (!exp_rtmr2.empty()) checks.push_back({"RTMR2", j["rtmr2"], exp_rtmr2, false});
  }

  bool all_match = true;
  ordered_json jc = ordered_json::array();
  for (auto& c : checks) {
    for (const auto& e : c.expected) c.match |= (e == c.actual);
    all_match &= c.match;
    jc.push_back(
        {{"register", c.reg}, {"actual", c.actual}, {"expected", c.expected}, {"match", c.match}});
    if (c.match) {
      text += "check: " + c.reg + " matches an expected value\n";
    } else {
      std::string list;
      for (const auto& e : c.expected) list += (list.empty() ? "" : ", ") + e;
      std::fprintf(stderr, "mrtd-calc: mismatch: %s is %s; expected %s%s\n", c.reg.c_str(),
                   c.actual.c_str(), c.expected.size() > 1 ? "one of " : "", list.c_str());
    }
  }
  if (!checks.empty()) {
    j["checks"] = jc;
    j["match"] = all_match;
  }
  if (json) {
    std::cout << tdxrt::DumpJson(j) << "\n";
  } else {
    std::cout << text;
  }
  return Code(all_match ? ExitCode::kOk : ExitCode::kMismatch);
}

// --- eventlog -------------------------------------------------------------------------------

int RunEventLog(const std::string& path, bool json) {
  auto file = mrtd::ReadCcEventLogFile(path);
  if (!file.ok()) return Fail(file.status().message());
  const mrtd::CcEventLog* log = &file->log;
  const std::array<tdxrt::Sha384Digest, 4>* rtmr = &file->rtmrs;
  auto reg = [](const mrtd::CcEvent& e) -> std::string {
    if (e.type == mrtd::kEvNoAction) return "-";
    if (e.mr_index >= 1 && e.mr_index <= 4) return "RTMR" + std::to_string(e.mr_index - 1);
    return "MR" + std::to_string(e.mr_index);
  };
  if (json) {
    ordered_json j;
    j["file"] = path;
    j["used_bytes"] = log->used_bytes;
    j["algorithms"] = ordered_json::array();
    for (auto [id, sz] : log->algorithms)
      j["algorithms"].push_back({{"id", id}, {"digest_size", sz}});
    j["events"] = ordered_json::array();
    for (const auto& e : log->events) {
      const tdxrt::Bytes* d = e.Sha384();
      j["events"].push_back({{"index", e.index},
                             {"offset", e.offset},
                             {"mr_index", e.mr_index},
                             {"register", reg(e)},
                             {"type", mrtd::EventTypeName(e.type)},
                             {"type_value", e.type},
                             {"sha384", d ? tdxrt::ToHex(*d) : ""},
                             {"data_size", e.data.size()},
                             {"description", mrtd::DescribeEventData(e)}});
    }
    for (int i = 0; i < 4; ++i)
      j["rtmr" + std::to_string(i)] = Hex((*rtmr)[static_cast<std::size_t>(i)]);
    std::cout << tdxrt::DumpJson(j) << "\n";
    return Code(ExitCode::kOk);
  }
  std::printf("%s: %zu events after the Spec ID header, %llu bytes used\n", path.c_str(),
              log->events.size(), static_cast<unsigned long long>(log->used_bytes));
  std::printf("%-3s %-7s %-6s %-34s %-96s %s\n", "#", "offset", "reg", "type", "sha384", "data");
  for (const auto& e : log->events) {
    const tdxrt::Bytes* d = e.Sha384();
    std::printf("%-3zu %-7s %-6s %-34s %-96s %s\n", e.index, tdxrt::HexOffset(e.offset).c_str(),
                reg(e).c_str(), mrtd::EventTypeName(e.type).c_str(),
                d ? tdxrt::ToHex(*d).c_str() : "-", mrtd::DescribeEventData(e).c_str());
  }
  for (int i = 0; i < 4; ++i) {
    std::printf("RTMR%d: %s\n", i, Hex((*rtmr)[static_cast<std::size_t>(i)]).c_str());
  }
  return Code(ExitCode::kOk);
}

// --- diagnose -------------------------------------------------------------------------------

struct DiagnoseOptions {
  std::string expected, eventlog, quote, mrtd;
  std::vector<std::string> rtmr;  // --rtmr0..2, indexed by register ("" when not given)
};

std::optional<std::string> HexArg(const std::string& flag, const std::string& value,
                                  std::optional<tdxrt::Sha384Digest>& out) {
  if (value.empty()) return std::nullopt;
  auto d = tdxrt::FromHexArray<48>(value);
  if (!d.ok()) return flag + ": " + d.status().message();
  out = *d;
  return std::nullopt;
}

int RunDiagnose(const DiagnoseOptions& o, bool json) {
  const bool by_hand = !o.mrtd.empty() || std::any_of(o.rtmr.begin(), o.rtmr.end(),
                                                      [](auto& r) { return !r.empty(); });
  if (o.eventlog.empty() && o.quote.empty() && !by_hand) {
    return Usage(
        "nothing to diagnose: give --eventlog, --quote or register values (--mrtd, --rtmr1, ...)");
  }
  if (!o.quote.empty() && by_hand) {
    return Usage("--quote gives MR_TD and the RTMRs: --mrtd/--rtmrN beside it would contradict it");
  }
  if (!o.eventlog.empty() &&
      std::any_of(o.rtmr.begin(), o.rtmr.end(), [](auto& r) { return !r.empty(); })) {
    return Usage(
        "--eventlog gives the RTMRs: --rtmrN beside it would contradict it (--mrtd may be given)");
  }
  auto text = tdxrt::ReadFile(o.expected, 16ull << 20);
  if (!text.ok()) return Fail(text.status().message());
  auto expected = mrtd::ParseExpectedLog(
      std::string_view(reinterpret_cast<const char*>(text->data()), text->size()), o.expected);
  if (!expected.ok()) return Fail(expected.status().message());

  mrtd::ActualBoot actual;
  std::vector<std::string> sources;
  if (auto e = HexArg("--mrtd", o.mrtd, actual.mr_td)) return Usage(*e);
  for (std::size_t r = 0; r < o.rtmr.size(); ++r) {
    if (auto e = HexArg("--rtmr" + std::to_string(r), o.rtmr[r], actual.rtmr[r])) return Usage(*e);
  }
  if (by_hand) sources.push_back("register values given on the command line");
  if (!o.quote.empty()) {
    // Binary, hex or base64, as tdx-attest reads quotes; mock evidence is read too, and said.
    auto file = tdxrt::ReadFile(o.quote, 1 << 20);
    if (!file.ok()) return Fail(file.status().message());
    auto decoded = tdxrt::DecodeEvidenceFile(*file);
    if (!decoded.ok()) return Fail(o.quote + ": " + decoded.status().message());
    auto evidence = tdxrt::ParseEvidence(decoded->bytes);
    if (!evidence.ok()) return Fail(o.quote + ": " + evidence.status().message());
    actual.mr_td = evidence->report.mr_td;
    for (std::size_t r = 0; r < 4; ++r) actual.rtmr[r] = evidence->report.rtmr[r];
    sources.push_back(evidence->kind == tdxrt::EvidenceKind::kTdxQuote
                          ? "quote " + o.quote
                          : "mock evidence " + o.quote + " (not from TDX hardware)");
  }
  if (!o.eventlog.empty()) {
    auto file = mrtd::ReadCcEventLogFile(o.eventlog);
    if (!file.ok()) return Fail(file.status().message());
    const mrtd::CcEventLog* log = &file->log;
    const std::array<tdxrt::Sha384Digest, 4>* rtmrs = &file->rtmrs;
    // A quote's registers stay what they are: Diagnose notes a log that does not replay to them.
    for (std::size_t r = 0; r < 4; ++r) {
      if (!actual.rtmr[r]) actual.rtmr[r] = (*rtmrs)[r];
    }
    actual.events = log->events;
    sources.push_back("event log " + o.eventlog + " (" + std::to_string(log->events.size()) +
                      " events)");
  }
  for (const auto& s : sources) actual.source += (actual.source.empty() ? "" : " + ") + s;
  const mrtd::Diagnosis d = mrtd::Diagnose(*expected, actual);
  if (json) {
    std::cout << tdxrt::DumpJson(mrtd::DiagnosisJson(d, *expected, actual)) << "\n";
  } else {
    std::cout << mrtd::DiagnosisText(d, *expected, actual);
  }
  return Code(d.match ? ExitCode::kOk : ExitCode::kMismatch);
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{
      "mrtd-calc: compute TDX measurements (MR_TD, RTMR1, RTMR2) offline, replay CC "
      "event logs, and compare with expected values"};
  app.footer(kExitCodesHelp);
  app.require_subcommand(1);
  bool json = false;
  app.add_flag("--json", json, "Print JSON (stable field names, lowercase hex)");

  std::string inspect_path;
  auto* inspect = app.add_subcommand("inspect", "List the TDVF sections of an OVMF/TDVF firmware");
  inspect->add_option("--ovmf", inspect_path, "Firmware file (OVMF.fd)")->required();
  inspect->fallthrough();

  MeasureOptions mo;
  auto* measure =
      app.add_subcommand("measure", "Compute MR_TD, RTMR1 and RTMR2 from the given inputs");
  measure->add_option("--ovmf", mo.ovmf, "Firmware file: MR_TD");
  measure->add_option("--host", mo.host,
                      "The host, instead of the three knobs below: qemu=VERSION (10.1, 10.2, "
                      "canonical-8.2),ovmf=RELEASE (the image's OVMF: stable202502 or 2025.02)");
  measure->add_option("--page-order", mo.page_order,
                      "single-pass (upstream KVM >= 6.16 + QEMU >= 10.1, default), two-pass "
                      "(KVM TDX v19 + QEMU 8.2, Canonical 24.04) or both");
  measure->add_option("--kernel", mo.kernel, "bzImage given to QEMU -kernel: RTMR1");
  measure->add_option("--initrd", mo.initrd,
                      "initrd given to QEMU -initrd: RTMR1 placement, RTMR2");
  measure->add_option("--memory", mo.memory, "Guest memory, QEMU -m syntax (512M, 4G, plain MiB)");
  measure->add_option("--cmdline", mo.cmdline, "Kernel command line (QEMU -append): RTMR2");
  measure->add_option("--kernel-header", mo.kernel_header,
                      "qemu-patched (QEMU rewrites the setup header, default) or unmodified "
                      "(QEMU >= 10.2; or QEMU >= 10.0 with OVMF >= stable202502, which loads "
                      "etc/boot/kernel): see --host");
  measure->add_option("--ovmf-layout", mo.ovmf_layout,
                      "RTMR1 event layout: stable202411 (edk2-stable202411 and later: separator "
                      "in RTMR1, default) or pre-stable202411 (separator in RTMR0)");
  measure->add_option("--expect-mrtd", mo.expect_mrtd, "Accepted MR_TD (repeatable)");
  measure->add_option("--acpi", mo.acpi,
                      "A capture of the host's ACPI tables (tdximage capture-acpi): with --ovmf, "
                      "--memory and --host, RTMR0");
  measure->add_option("--expect-rtmr0", mo.expect_rtmr0, "Accepted RTMR0 (repeatable)");
  measure->add_option("--expect-rtmr1", mo.expect_rtmr1, "Accepted RTMR1 (repeatable)");
  measure->add_option("--expect-rtmr2", mo.expect_rtmr2, "Accepted RTMR2 (repeatable)");
  measure->fallthrough();

  std::string host_spec;
  auto* host = app.add_subcommand(
      "host", "Which page order, kernel header and OVMF layout a host gives, and why");
  host->add_option("spec", host_spec, "qemu=VERSION,ovmf=RELEASE, e.g. qemu=10.1,ovmf=2025.02")
      ->required();
  host->fallthrough();

  std::string log_path;
  auto* eventlog = app.add_subcommand("eventlog", "List and replay a CC event log (CCEL)");
  eventlog
      ->add_option("file", log_path, "Event log file (e.g. /sys/firmware/acpi/tables/data/CCEL)")
      ->required();
  eventlog->fallthrough();

  DiagnoseOptions dg;
  dg.rtmr.resize(3);
  auto* diagnose = app.add_subcommand(
      "diagnose",
      "Explain why a TD's event log or quote does not match an image: each divergence with its "
      "likely cause (host QEMU, OVMF release, kernel header, memory size, cmdline, initrd)");
  diagnose
      ->add_option("--expected", dg.expected,
                   "The image's <name>-eventlog.json (event by event) or <name>-measurements.json "
                   "(register values)")
      ->required();
  diagnose->add_option("--eventlog", dg.eventlog,
                       "The TD's CC event log (/sys/firmware/acpi/tables/data/CCEL)");
  diagnose->add_option("--quote", dg.quote, "The TD's quote (MR_TD and RTMRs)");
  diagnose->add_option("--mrtd", dg.mrtd, "MR_TD (96 hex digits)");
  for (int r = 0; r < 3; ++r) {
    diagnose->add_option("--rtmr" + std::to_string(r), dg.rtmr[static_cast<std::size_t>(r)],
                         "RTMR" + std::to_string(r) + " (96 hex digits)");
  }
  diagnose->fallthrough();

  if (auto code = tdxrt::ParseCommandLine(app, argc, argv, "mrtd-calc", Code(ExitCode::kUsage)))
    return *code;
  if (inspect->parsed()) return RunInspect(inspect_path, json);
  if (measure->parsed()) return RunMeasure(mo, json);
  if (host->parsed()) return RunHost(host_spec, json);
  if (eventlog->parsed()) return RunEventLog(log_path, json);
  if (diagnose->parsed()) return RunDiagnose(dg, json);
  return Usage("no subcommand");
}

int main(int argc, char** argv) {
  return tdxrt::RunMain("mrtd-calc", [&] { return Main(argc, argv); });
}
