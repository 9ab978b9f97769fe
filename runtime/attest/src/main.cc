// tdx-attest: show, verify (DCAP) and judge (measurement policy) TDX quotes, and get one inside a
// TD. A thin command line over the tdxrt attest library.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli_common.h"
#include "mrtd/eventlog.h"
#include "tdx_version.h"
#include "tdxrt/cli.h"
#include "tdxrt/dcap.h"
#include "tdxrt/evidence.h"
#include "tdxrt/file.h"
#include "tdxrt/hex.h"
#include "tdxrt/json.h"
#include "tdxrt/policy.h"
#include "tdxrt/provider.h"
#include "tdxrt/report_data.h"
#include "tdxrt/rtmr.h"
#include "tdxrt/run_main.h"
#include "tdxrt/sha.h"
#include "tdxrt/sim_tdx.h"
#include "tdxrt/text.h"
#include "tdxrt/verifier_source.h"

using namespace tdx_attest;  // NOLINT: the command files share cli_common.h

namespace {

using nlohmann::ordered_json;
using tdxrt::ToHex;

tdxrt::Result<tdxrt::Verifier> LoadVerifier(const std::string& collateral_path,
                                            const std::string& root_path) {
  TDX_ASSIGN_OR_RETURN(std::string root, tdxrt::ReadRootCa(root_path));
  return tdxrt::LoadVerifier(collateral_path, root);
}

tdxrt::Result<std::int64_t> VerificationTime(const std::string& at) {
  if (at.empty()) return static_cast<std::int64_t>(std::time(nullptr));
  return tdxrt::ParseRfc3339(at);
}

ordered_json ReportJson(const tdxrt::TdReport& r) {
  ordered_json j;
  j["tee_tcb_svn"] = ToHex(r.tee_tcb_svn);
  j["mr_seam"] = ToHex(r.mr_seam);
  j["mr_signer_seam"] = ToHex(r.mr_signer_seam);
  j["seam_attributes"] = ToHex(r.seam_attributes);
  j["td_attributes"] = ToHex(r.td_attributes);
  j["xfam"] = ToHex(r.xfam);
  j["mr_td"] = ToHex(r.mr_td);
  j["mr_config_id"] = ToHex(r.mr_config_id);
  j["mr_owner"] = ToHex(r.mr_owner);
  j["mr_owner_config"] = ToHex(r.mr_owner_config);
  for (std::size_t i = 0; i < 4; ++i) j["rtmr" + std::to_string(i)] = ToHex(r.rtmr[i]);
  j["report_data"] = ToHex(r.report_data);
  if (r.is_td15) {
    j["tee_tcb_svn2"] = ToHex(r.tee_tcb_svn2);
    j["mr_service_td"] = ToHex(r.mr_service_td);
  }
  return j;
}

// --- show ---------------------------------------------------------------------------------------

int RunShow(const std::string& path, bool json) {
  auto l = LoadEvidence(path);
  if (!l.ok()) return Fail(l.status().message());
  const tdxrt::Evidence& e = l->evidence;
  if (json) {
    ordered_json j;
    j["file"] = path;
    j["kind"] = e.kind == tdxrt::EvidenceKind::kMock ? "mock" : "tdx-quote";
    j["encoding"] = tdxrt::EvidenceEncodingName(l->encoding);
    j["development"] = e.quote && tdxrt::IsDevelopmentQuote(*e.quote);
    if (e.quote) {
      const tdxrt::Quote& q = *e.quote;
      j["version"] = q.header.version;
      j["body_type"] = q.body_type;
      j["attestation_key_type"] = q.header.attestation_key_type;
      j["tee_type"] = q.header.tee_type;
      j["qe_svn"] = q.header.qe_svn;
      j["pce_svn"] = q.header.pce_svn;
      j["qe_vendor_id"] = ToHex(q.header.qe_vendor_id);
      j["user_data"] = ToHex(q.header.user_data);
    }
    j["td_report"] = ReportJson(e.report);
    if (e.quote) {
      const tdxrt::Quote& q = *e.quote;
      ordered_json s;
      s["signature"] = ToHex(q.signature);
      s["attestation_key"] = ToHex(q.attestation_key);
      s["qe_report"] = {{"cpu_svn", ToHex(q.qe_report.cpu_svn)},
                        {"misc_select", q.qe_report.misc_select},
                        {"attributes", ToHex(q.qe_report.attributes)},
                        {"mr_enclave", ToHex(q.qe_report.mr_enclave)},
                        {"mr_signer", ToHex(q.qe_report.mr_signer)},
                        {"isv_prod_id", q.qe_report.isv_prod_id},
                        {"isv_svn", q.qe_report.isv_svn},
                        {"report_data", ToHex(q.qe_report.report_data)}};
      s["qe_report_signature"] = ToHex(q.qe_report_signature);
      s["qe_auth_data"] = ToHex(q.qe_auth_data);
      s["certification_data_type"] = q.pck_cert_type;
      std::string pem = q.pck_chain_pem;
      while (!pem.empty() && pem.back() == '\0') pem.pop_back();
      // The PEM text is the quote's bytes: escaped where it is not plain text (a forged quote
      // can carry anything there), so the JSON stays valid and every byte can be read back.
      std::string escaped;
      for (std::size_t pos = 0; pos <= pem.size();) {
        const std::size_t nl = std::min(pem.find('\n', pos), pem.size());
        escaped += tdxrt::EscapeText(std::string_view(pem).substr(pos, nl - pos));
        if (nl < pem.size()) escaped += '\n';
        pos = nl + 1;
      }
      s["pck_chain_pem"] = escaped;
      j["signature_data"] = s;
      j["padding_bytes"] = q.padding_size;
    }
    std::cout << tdxrt::DumpJson(j) << "\n";
    return Code(ExitCode::kOk);
  }
  const tdxrt::TdReport& r = e.report;
  if (e.kind == tdxrt::EvidenceKind::kMock) {
    std::printf("%s: MOCK EVIDENCE (not from TDX hardware; no signature)\n", path.c_str());
  } else {
    const tdxrt::Quote& q = *e.quote;
    if (tdxrt::IsDevelopmentQuote(q)) {
      std::printf(
          "%s: DEVELOPMENT QUOTE: signed by a development PKI (simulated TDX), not by Intel; "
          "not from TDX hardware\n",
          path.c_str());
    }
    std::printf(
        "%s: TDX quote v%u, TD report %s, %zu bytes (+%zu zero padding)%s\n", path.c_str(),
        q.header.version, r.is_td15 ? "1.5" : "1.0", l->bytes.size() - q.padding_size,
        q.padding_size,
        l->encoding == tdxrt::EvidenceEncoding::kBinary
            ? ""
            : (", read as " + std::string(tdxrt::EvidenceEncodingName(l->encoding)) + " text")
                  .c_str());
    std::printf("  qe_svn %u  pce_svn %u  qe_vendor_id %s\n", q.header.qe_svn, q.header.pce_svn,
                ToHex(q.header.qe_vendor_id).c_str());
  }
  auto line = [](const char* name, const std::string& hex) {
    std::printf("  %-15s %s\n", name, hex.c_str());
  };
  line("tee_tcb_svn", ToHex(r.tee_tcb_svn));
  line("mr_seam", ToHex(r.mr_seam));
  line("mr_signer_seam", ToHex(r.mr_signer_seam));
  line("seam_attributes", ToHex(r.seam_attributes));
  line("td_attributes", ToHex(r.td_attributes));
  line("xfam", ToHex(r.xfam));
  line("mr_td", ToHex(r.mr_td));
  line("mr_config_id", ToHex(r.mr_config_id));
  line("mr_owner", ToHex(r.mr_owner));
  line("mr_owner_config", ToHex(r.mr_owner_config));
  line("rtmr0", ToHex(r.rtmr[0]));
  line("rtmr1", ToHex(r.rtmr[1]));
  line("rtmr2", ToHex(r.rtmr[2]));
  line("rtmr3", ToHex(r.rtmr[3]));
  line("report_data", ToHex(r.report_data));
  if (r.is_td15) {
    line("tee_tcb_svn2", ToHex(r.tee_tcb_svn2));
    line("mr_service_td", ToHex(r.mr_service_td));
  }
  if (e.quote) {
    const tdxrt::Quote& q = *e.quote;
    line("qe mr_signer", ToHex(q.qe_report.mr_signer));
    std::printf("  %-15s isv_prod_id %u, isv_svn %u\n", "qe", q.qe_report.isv_prod_id,
                q.qe_report.isv_svn);
    const std::size_t certs = [&] {
      std::size_t n = 0, pos = 0;
      while ((pos = q.pck_chain_pem.find("-----BEGIN CERTIFICATE-----", pos)) !=
             std::string::npos) {
        ++n;
        ++pos;
      }
      return n;
    }();
    std::printf("  %-15s %zu certificates (PEM, %zu bytes)\n", "pck chain", certs,
                q.pck_chain_pem.size());
  }
  return Code(ExitCode::kOk);
}

// --- verify -------------------------------------------------------------------------------------

struct VerifyArgs {
  std::string quote, collateral, at, root;
  std::vector<std::string> accept;
};

ordered_json VerdictJson(const tdxrt::Verdict& v) {
  ordered_json j;
  j["status"] = tdxrt::TcbStatusName(v.status);
  j["advisory_ids"] = v.advisory_ids;
  j["platform_status"] = tdxrt::TcbStatusName(v.platform_status);
  j["tcb_date"] = tdxrt::FormatRfc3339(v.tcb_date);
  j["tdx_module"] = v.tdx_module_id;
  j["tdx_module_status"] =
      v.tdx_module_status ? std::string(tdxrt::TcbStatusName(*v.tdx_module_status)) : "";
  j["qe_status"] = tdxrt::TcbStatusName(v.qe_status);
  j["fmspc"] = ToHex(v.fmspc);
  j["td_debug"] = v.td_debug;
  j["verified_at"] = tdxrt::FormatRfc3339(v.verified_at);
  j["collateral_expires"] = tdxrt::FormatRfc3339(v.collateral_expires);
  return j;
}

void PrintVerdict(const tdxrt::Verdict& v) {
  std::printf("  tcb status      %s\n", std::string(tdxrt::TcbStatusName(v.status)).c_str());
  std::string ids;
  for (const auto& id : v.advisory_ids) ids += (ids.empty() ? "" : ", ") + id;
  std::printf("  advisories      %s\n", ids.empty() ? "none" : ids.c_str());
  std::printf("  tcb level       %s (%s)\n",
              std::string(tdxrt::TcbStatusName(v.platform_status)).c_str(),
              tdxrt::FormatRfc3339(v.tcb_date).c_str());
  if (!v.tdx_module_id.empty()) {
    std::printf(
        "  tdx module      %s %s\n", v.tdx_module_id.c_str(),
        v.tdx_module_status ? std::string(tdxrt::TcbStatusName(*v.tdx_module_status)).c_str() : "");
  }
  std::printf("  qe              %s\n", std::string(tdxrt::TcbStatusName(v.qe_status)).c_str());
  std::printf("  fmspc           %s\n", ToHex(v.fmspc).c_str());
  std::printf("  verified at     %s; collateral current until %s\n",
              tdxrt::FormatRfc3339(v.verified_at).c_str(),
              tdxrt::FormatRfc3339(v.collateral_expires).c_str());
  if (v.td_debug) std::printf("  WARNING: debug TD (TDATTRIBUTES.DEBUG set)\n");
}

int RunVerify(const VerifyArgs& a, bool json) {
  std::vector<tdxrt::TcbStatus> accept;
  for (const auto& s : a.accept) {
    auto st = tdxrt::ParseTcbStatus(s);
    if (!st.ok()) return Usage("--accept: " + st.status().message());
    accept.push_back(*st);
  }
  if (accept.empty()) accept.push_back(tdxrt::TcbStatus::kUpToDate);
  auto at = VerificationTime(a.at);
  if (!at.ok()) return Usage("--at: " + at.status().message());
  auto l = LoadEvidence(a.quote);
  if (!l.ok()) return Fail(l.status().message());
  if (l->evidence.kind == tdxrt::EvidenceKind::kMock) {
    if (json) {
      std::cout << tdxrt::DumpJson(ordered_json{{"file", a.quote},
                                                {"verified", false},
                                                {"check", "quote.format"},
                                                {"error", "mock evidence cannot be verified"}})
                << "\n";
    }
    std::fprintf(stderr,
                 "tdx-attest: rejected: %s is mock evidence (not from TDX hardware); there is "
                 "nothing to verify\n",
                 a.quote.c_str());
    return Code(ExitCode::kRejected);
  }
  auto v = LoadVerifier(a.collateral, a.root);
  if (!v.ok()) return Fail(v.status().message());
  auto r = v->Verify(*l->evidence.quote, *at);
  if (auto* err = std::get_if<tdxrt::VerifyError>(&r)) {
    if (json) {
      std::cout << tdxrt::DumpJson(ordered_json{{"file", a.quote},
                                                {"verified", false},
                                                {"check", tdxrt::CheckName(err->check)},
                                                {"error", err->status.message()}})
                << "\n";
    }
    std::fprintf(stderr, "tdx-attest: rejected: %s: %s\n", a.quote.c_str(),
                 tdxrt::FormatVerifyError(*err).c_str());
    return Code(ExitCode::kRejected);
  }
  const tdxrt::Verdict& verdict = std::get<tdxrt::Verdict>(r);
  const bool accepted = std::find(accept.begin(), accept.end(), verdict.status) != accept.end();
  if (json) {
    ordered_json j;
    j["file"] = a.quote;
    j["encoding"] = tdxrt::EvidenceEncodingName(l->encoding);
    j["development"] = tdxrt::IsDevelopmentQuote(*l->evidence.quote);
    j["verified"] = true;
    j["accepted"] = accepted;
    j["verdict"] = VerdictJson(verdict);
    std::cout << tdxrt::DumpJson(j) << "\n";
  } else {
    if (tdxrt::IsDevelopmentQuote(*l->evidence.quote)) {
      std::printf(
          "%s: DEVELOPMENT QUOTE (simulated TDX): every DCAP check passed against the "
          "development root given with --root-ca; this proves nothing about TDX hardware%s\n",
          a.quote.c_str(), ReadAs(*l).c_str());
    } else {
      std::printf("%s: genuine TDX quote (every DCAP check passed)%s\n", a.quote.c_str(),
                  ReadAs(*l).c_str());
    }
    PrintVerdict(verdict);
  }
  if (!accepted) {
    std::fprintf(stderr, "tdx-attest: TCB status %s is not accepted (--accept)\n",
                 std::string(tdxrt::TcbStatusName(verdict.status)).c_str());
    return Code(ExitCode::kStatusNotAccepted);
  }
  return Code(ExitCode::kOk);
}

// --- merge-policies -----------------------------------------------------------------------------

// A written policy's output, for merge-policies and policy-from-quote: without --out the policy
// itself on stdout; with --out written there atomically and `summary` printed. --json prints
// `j` instead, with the policy's text in "policy" when there is no --out.
int EmitPolicy(const std::string& text, const std::string& out, bool json, nlohmann::ordered_json j,
               const std::string& summary) {
  j["out"] = out.empty() ? nullptr : nlohmann::ordered_json(out);
  if (out.empty()) {
    if (!json) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      return Code(ExitCode::kOk);
    }
    j["policy"] = text;
  } else {
    auto st = tdxrt::WriteFileAtomic(out, std::string_view(text), 0644);
    if (!st.ok()) return Fail(st.message());
  }
  if (json) {
    std::printf("%s\n", tdxrt::DumpJson(j).c_str());
  } else {
    std::printf("%s\n", summary.c_str());
  }
  return Code(ExitCode::kOk);
}

int RunMergePolicies(const std::vector<std::string>& files, const std::string& out, bool json) {
  std::vector<tdxrt::NamedPolicy> in;
  for (const auto& f : files) {
    auto p = tdxrt::LoadPolicy(f);
    if (!p.ok()) return Fail(p.status().message());
    in.push_back({f, std::move(p).value()});
  }
  auto merged = tdxrt::MergePolicies(in);
  if (!merged.ok()) return Fail(merged.status().message());
  std::string from;
  // File names go into a YAML comment: escaped, so no byte of one can end the comment line.
  for (const auto& f : files) from += (from.empty() ? "" : ", ") + tdxrt::EscapeText(f);
  const std::string text = tdxrt::SerializePolicy(
      *merged,
      "Measurement policy merged by tdx-attest from " + from +
          ".\nAny set admits: keep the old image's sets until every node runs the new one.");
  // --json: {"out" (null without --out), "policies", "sets", and "policy" without --out}.
  nlohmann::ordered_json j;
  j["out"] = nullptr;  // first among the fields; EmitPolicy sets it
  j["policies"] = files;
  j["sets"] = nlohmann::ordered_json::array();
  for (const auto& s : merged->sets) j["sets"].push_back(s.name);
  return EmitPolicy(text, out, json, std::move(j),
                    out + ": " + std::to_string(merged->sets.size()) + " sets from " +
                        std::to_string(files.size()) + " policies");
}

// An RTMR3 event log when a path is given (nullopt otherwise); errors name the file.
tdxrt::Result<std::optional<std::vector<tdxrt::RuntimeEvent>>> OptionalEventLog(
    const std::string& path) {
  if (path.empty()) return std::optional<std::vector<tdxrt::RuntimeEvent>>();
  TDX_ASSIGN_OR_RETURN(auto events, tdxrt::ReadRuntimeEventLog(path));
  return std::optional<std::vector<tdxrt::RuntimeEvent>>(std::move(events));
}

// --- policy-from-quote --------------------------------------------------------------------------

struct LearnArgs {
  std::string quote, event_log, ccel, name = "reference", out;
  std::vector<int> rtmrs = {0, 1, 2};
};

// The firmware's event log (CCEL) of the reference boot, for the policy's comment: it must replay
// to the quote's RTMR0-2 (else it is another TD's), and each pinned RTMR's events are listed so
// a reviewer sees what the value stands for. A pinned RTMR2 without events pins no command line
// or initrd (a kernel whose EFI stub measures nothing): said on stderr and in the comment.
tdxrt::Result<std::string> DescribeCcelForPolicy(const std::string& path,
                                                 const tdxrt::TdReport& report,
                                                 const std::vector<int>& pinned) {
  TDX_ASSIGN_OR_RETURN(mrtd::CcEventLogFile file, mrtd::ReadCcEventLogFile(path));
  const mrtd::CcEventLog* log = &file.log;
  const std::array<tdxrt::Sha384Digest, 4>* replay = &file.rtmrs;
  const tdxrt::Bytes& data = file.bytes;
  for (std::size_t r = 0; r < 3; ++r) {
    if (!std::equal((*replay)[r].begin(), (*replay)[r].end(), report.rtmr[r].begin())) {
      return tdxrt::Status::InvalidArgument(path + ": replays RTMR" + std::to_string(r) + " to " +
                                            ToHex((*replay)[r]) + ", the quote holds " +
                                            ToHex(report.rtmr[r]) + ": not this TD's event log");
    }
  }
  std::string text = "\nThe firmware's event log " + tdxrt::EscapeText(path) + " (sha256 " +
                     ToHex(tdxrt::Sha256(data)) +
                     ") replays to the quote's RTMR0-2; the pinned "
                     "registers hold:";
  for (const int r : pinned) {
    if (r < 0 || r > 2) continue;
    const auto events = mrtd::DescribeRegisterEvents(*log, static_cast<std::uint32_t>(r) + 1);
    text += "\n  RTMR" + std::to_string(r) + ": " + std::to_string(events.size()) + " events";
    for (const auto& e : events) text += "\n    " + tdxrt::EscapeText(e);
    if (r == 2 && events.empty()) {
      const std::string warn =
          "RTMR2 holds no events: the kernel's EFI stub measured neither its command line nor "
          "its initrd, so pinning RTMR2 pins neither";
      std::fprintf(stderr, "tdx-attest: warning: %s\n", warn.c_str());
      text += "\n    (" + warn + ")";
    }
  }
  return text;
}

// The policy a reference boot shows (tdxrt::LearnMeasurementSet).
int RunPolicyFromQuote(const LearnArgs& a, bool json) {
  auto l = LoadEvidence(a.quote);
  if (!l.ok()) return Fail(l.status().message());
  auto log = OptionalEventLog(a.event_log);
  if (!log.ok()) return Fail(log.status().message());
  const std::optional<std::vector<tdxrt::RuntimeEvent>>& events = *log;
  tdxrt::LearnedSetOptions o;
  o.name = a.name;
  o.rtmrs = a.rtmrs;
  auto set = tdxrt::LearnMeasurementSet(l->evidence, events ? &*events : nullptr, o);
  if (!set.ok()) {
    return Fail((events ? a.quote + " with " + a.event_log : a.quote) + ": " +
                set.status().message());
  }
  std::string firmware_log;
  if (!a.ccel.empty()) {
    auto lines = DescribeCcelForPolicy(a.ccel, l->evidence.report, a.rtmrs);
    if (!lines.ok()) return Fail(lines.status().message());
    firmware_log = *lines;
  }
  tdxrt::Policy p;
  p.sets.push_back(*set);
  std::string rtmrs;
  for (const int i : a.rtmrs) rtmrs += ", RTMR" + std::to_string(i);
  std::string shown = "MR_TD" + rtmrs;
  if (set->program) shown += ", the program and host settings of its launch record";
  if (!set->runtime_events.empty()) {
    const std::size_t n = set->runtime_events.size();
    shown += ", " + std::to_string(n) + (n == 1 ? " RTMR3 event" : " RTMR3 events");
  }
  if (!events) shown += " (no RTMR3 log: any program, any host settings)";
  const std::string text = tdxrt::SerializePolicy(
      p, "Measurement policy learned by tdx-attest from the quote " + tdxrt::EscapeText(a.quote) +
             " (sha256 " + ToHex(tdxrt::Sha256(l->bytes)) + "): " + shown +
             ".\nRTMR0 depends on the host's VM shape (memory, CPUs, QEMU): learn it on each "
             "kind of host, or leave it out (--rtmr 1 --rtmr 2)." +
             firmware_log);
  // --json: {"out" (null without --out), "set", "pins", and "policy" (its text) without --out}.
  nlohmann::ordered_json j;
  j["out"] = nullptr;  // first among the fields; EmitPolicy sets it
  j["set"] = a.name;
  j["pins"] = shown;
  return EmitPolicy(text, a.out, json, std::move(j), a.out + ": set '" + a.name + "': " + shown);
}

// --- check --------------------------------------------------------------------------------------

struct CheckArgs {
  std::string quote, policy, collateral, at, root, event_log;
  std::string expect_report_data;
  std::string bind_label;
  std::vector<std::string> bind_fields;
};

int RunCheck(const CheckArgs& a, bool json) {
  auto l = LoadEvidence(a.quote);
  if (!l.ok()) return Fail(l.status().message());
  auto policy = tdxrt::LoadPolicy(a.policy);
  if (!policy.ok()) return Fail(policy.status().message());

  auto log = OptionalEventLog(a.event_log);
  if (!log.ok()) return Fail(log.status().message());
  const std::optional<std::vector<tdxrt::RuntimeEvent>>& events = *log;

  // report_data binding, if asked for.
  std::optional<std::string> binding_error;
  if (!a.expect_report_data.empty()) {
    auto rd = tdxrt::FromHex(a.expect_report_data, 64);
    if (!rd.ok()) return Usage("--expect-report-data: " + rd.status().message());
    if (!std::equal(rd->begin(), rd->end(), l->evidence.report.report_data.begin())) {
      binding_error =
          "report_data " + ToHex(l->evidence.report.report_data) + " is not " + ToHex(*rd);
    }
  } else if (!a.bind_label.empty()) {
    std::vector<tdxrt::Bytes> fields;
    for (const auto& f : a.bind_fields) {
      auto b = tdxrt::FromHex(f);
      if (!b.ok()) return Usage("--field: " + b.status().message());
      fields.push_back(std::move(b).value());
    }
    std::vector<tdxrt::ByteSpan> spans(fields.begin(), fields.end());
    tdxrt::Status st = tdxrt::CheckReportData(l->evidence.report.report_data, a.bind_label, spans);
    if (!st.ok()) binding_error = st.message();
  }

  std::optional<tdxrt::Verdict> verdict;
  std::optional<tdxrt::VerifyError> verify_error;
  if (!a.collateral.empty() && l->evidence.kind == tdxrt::EvidenceKind::kTdxQuote) {
    auto at = VerificationTime(a.at);
    if (!at.ok()) return Usage("--at: " + at.status().message());
    auto v = LoadVerifier(a.collateral, a.root);
    if (!v.ok()) return Fail(v.status().message());
    auto r = v->Verify(*l->evidence.quote, *at);
    if (auto* err = std::get_if<tdxrt::VerifyError>(&r)) {
      verify_error = *err;
    } else {
      verdict = std::get<tdxrt::Verdict>(r);
    }
  }
  tdxrt::Decision d;
  if (verify_error) {
    d.reasons.push_back("DCAP verification failed: " + tdxrt::FormatVerifyError(*verify_error));
  } else {
    d = tdxrt::Evaluate(*policy, l->evidence, verdict ? &*verdict : nullptr,
                        events ? &*events : nullptr);
  }
  if (binding_error) {
    d.admitted = false;
    d.reasons.insert(d.reasons.begin(), "report_data binding: " + *binding_error);
  }
  if (json) {
    ordered_json j;
    j["file"] = a.quote;
    j["policy"] = a.policy;
    j["kind"] = l->evidence.kind == tdxrt::EvidenceKind::kMock ? "mock" : "tdx-quote";
    j["encoding"] = tdxrt::EvidenceEncodingName(l->encoding);
    j["verified"] = verdict.has_value();
    if (verdict) j["verdict"] = VerdictJson(*verdict);
    j["admitted"] = d.admitted;
    j["matched_set"] = d.matched_set;
    j["failed_rule"] = d.failed_rule;
    j["measurement_matches"] = d.measurement_matches;
    j["reasons"] = d.reasons;
    std::cout << tdxrt::DumpJson(j) << "\n";
  } else if (d.admitted) {
    std::printf(
        "%s%s: admitted by set '%s' of %s%s\n", a.quote.c_str(), ReadAs(*l).c_str(),
        d.matched_set.c_str(), a.policy.c_str(),
        d.mock ? " (MOCK evidence: not from TDX hardware, allowed by allow_mock)"
               : (" (TCB " + std::string(tdxrt::TcbStatusName(verdict->status)) + ")").c_str());
  } else {
    std::printf("%s%s: NOT admitted by %s\n", a.quote.c_str(), ReadAs(*l).c_str(),
                a.policy.c_str());
    for (const auto& r : d.reasons) std::printf("  %s\n", r.c_str());
    if (!d.measurement_matches.empty()) {
      std::string sets;
      for (const auto& s : d.measurement_matches) sets += (sets.empty() ? "" : ", ") + s;
      std::printf("  (measurements match: %s)\n", sets.c_str());
    }
  }
  return Code(d.admitted ? ExitCode::kOk : ExitCode::kRejected);
}

// --- quote / report-data ------------------------------------------------------------------------

struct QuoteArgs {
  std::string report_data, out;
  ProviderArgs provider;
};

int RunQuote(const QuoteArgs& a, bool json) {
  auto rd = tdxrt::FromHex(a.report_data, 64);
  if (!rd.ok()) return Usage("--report-data: " + rd.status().message());
  tdxrt::ReportData report_data{};
  std::copy(rd->begin(), rd->end(), report_data.begin());
  auto provider = MakeProvider(a.provider);
  if (!provider.ok()) return ProviderFailure(provider.status());
  auto q = (*provider)->GetQuote(report_data);
  if (!q.ok()) return Fail((*provider)->Name() + ": " + q.status().message());
  tdxrt::Status st = tdxrt::WriteFileAtomic(a.out, *q, 0644);
  if (!st.ok()) return Fail(st.message());
  if (json) {
    nlohmann::ordered_json j;
    j["out"] = a.out;
    j["size"] = q->size();
    j["evidence"] = ProviderWhat(a.provider);
    j["sha256"] = ToHex(tdxrt::Sha256(*q));
    std::printf("%s\n", tdxrt::DumpJson(j).c_str());
  }
  std::fprintf(stderr, "tdx-attest: wrote %zu bytes of %s to %s\n", q->size(),
               ProviderWhat(a.provider).c_str(), a.out.c_str());
  return Code(ExitCode::kOk);
}

int RunReportData(const std::string& label, const std::vector<std::string>& fields_hex, bool json) {
  std::vector<tdxrt::Bytes> fields;
  for (const auto& f : fields_hex) {
    auto b = tdxrt::FromHex(f);
    if (!b.ok()) return Usage("--field: " + b.status().message());
    fields.push_back(std::move(b).value());
  }
  std::vector<tdxrt::ByteSpan> spans(fields.begin(), fields.end());
  const std::string hex = ToHex(tdxrt::BindReportData(label, spans));
  if (json) {
    nlohmann::ordered_json j;
    j["label"] = label;
    j["fields"] = fields_hex;
    j["report_data"] = hex;
    std::printf("%s\n", tdxrt::DumpJson(j).c_str());
  } else {
    std::printf("%s\n", hex.c_str());
  }
  return Code(ExitCode::kOk);
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{
      "tdx-attest: show, verify (Intel DCAP, offline) and judge (measurement policy) TDX "
      "quotes; get a quote inside a TD"};
  app.footer(kExitCodesHelp);
  app.require_subcommand(1);
  bool json = false;
  app.add_flag("--json", json, "Print JSON (stable field names, lowercase hex)");

  std::string show_path;
  auto* show = app.add_subcommand("show", "Print every field of a quote (or mock evidence)");
  show->add_option("quote", show_path, "Quote file")->required();
  show->fallthrough();

  VerifyArgs va;
  auto* verify = app.add_subcommand(
      "verify", "Verify a quote with Intel PCS collateral (DCAP) and print its TCB status");
  verify->add_option("quote", va.quote, "Quote file")->required();
  verify->add_option("--collateral", va.collateral, "Collateral JSON (dcap-qvl / PCCS shape)")
      ->required();
  verify->add_option("--at", va.at, "Verification time, RFC 3339 (default: now)");
  verify->add_option("--accept", va.accept,
                     "TCB statuses that count as success (repeatable; default UpToDate)");
  verify->add_option("--root-ca", va.root,
                     "Trust this root CA (PEM) instead of the shipped Intel SGX Root CA");
  verify->fallthrough();

  CheckArgs ca;
  auto* check = app.add_subcommand(
      "check", "Decide with a measurement policy (verifying first when --collateral is given)");
  check->add_option("quote", ca.quote, "Quote or mock evidence file")->required();
  check->add_option("--policy", ca.policy, "Policy file (YAML or JSON)")->required();
  check->add_option("--collateral", ca.collateral,
                    "Collateral JSON; without it a TDX quote is never admitted");
  check->add_option("--at", ca.at, "Verification time, RFC 3339 (default: now)");
  check->add_option("--root-ca", ca.root, "Trust this root CA (PEM) instead of Intel's");
  check->add_option("--expect-report-data", ca.expect_report_data,
                    "Required REPORTDATA (128 hex digits)");
  check->add_option("--bind", ca.bind_label,
                    "Required REPORTDATA is the binding of this label over the --field values");
  check->add_option("--field", ca.bind_fields, "A bound field, hex (repeatable, in order)");
  check->add_option("--event-log", ca.event_log,
                    "The TD's RTMR3 event log: must replay to the quote's RTMR3");
  check->fallthrough();

  std::vector<std::string> merge_files;
  std::string merge_out;
  auto* merge = app.add_subcommand(
      "merge-policies",
      "One policy admitting what any of the given policies admits (rotations: old + new image)");
  merge->add_option("policy", merge_files, "Policy files, oldest first")->required();
  merge->add_option("--out", merge_out, "Write here (atomically) instead of stdout");
  merge->fallthrough();

  LearnArgs la;
  auto* learn = app.add_subcommand(
      "policy-from-quote", "Write the policy a reference boot's quote (and RTMR3 log) shows");
  learn->add_option("quote", la.quote, "Quote file (binary, hex or base64)")->required();
  learn->add_option("--event-log", la.event_log,
                    "The TD's RTMR3 event log: pins its launch record's program and host settings");
  learn->add_option("--ccel", la.ccel,
                    "The TD's firmware event log (/sys/firmware/acpi/tables/data/CCEL): checked "
                    "against the quote's RTMR0-2, its events listed in the policy's comment");
  learn->add_option("--name", la.name, "The set's name")->capture_default_str();
  learn->add_option("--rtmr", la.rtmrs, "RTMRs to pin (repeatable; default 0, 1 and 2)");
  learn->add_option("--out", la.out, "Write here (atomically) instead of stdout");
  learn->fallthrough();

  QuoteArgs qa;
  auto* quote = app.add_subcommand("quote", "Get a quote for REPORTDATA inside a TD");
  quote->add_option("--report-data", qa.report_data, "REPORTDATA, 128 hex digits")->required();
  quote->add_option("--out", qa.out, "Output file (written atomically)")->required();
  AddProviderOptions(quote, qa.provider);
  quote->fallthrough();

  std::string label;
  std::vector<std::string> fields;
  auto* rd = app.add_subcommand(
      "report-data", "Print SHA-512(label, fields) as bound into REPORTDATA (report_data.h)");
  rd->add_option("--label", label, "Domain label")->required();
  rd->add_option("--field", fields, "Field, hex (repeatable, in order)");
  rd->fallthrough();

  std::vector<Runner> runners;
  AddCollateralCommands(app, runners);
  AddRtmrCommands(app, runners);
  AddRatlsCommands(app, runners);

  if (auto code = tdxrt::ParseCommandLine(app, argc, argv, "tdx-attest", Code(ExitCode::kUsage)))
    return *code;
  for (const Runner& run : runners) {
    if (auto code = run(json)) return *code;
  }
  if (show->parsed()) return RunShow(show_path, json);
  if (verify->parsed()) return RunVerify(va, json);
  if (check->parsed()) return RunCheck(ca, json);
  if (merge->parsed()) return RunMergePolicies(merge_files, merge_out, json);
  if (learn->parsed()) return RunPolicyFromQuote(la, json);
  if (quote->parsed()) return RunQuote(qa, json);
  if (rd->parsed()) return RunReportData(label, fields, json);
  return Usage("no subcommand");
}

int main(int argc, char** argv) {
  return tdxrt::RunMain("tdx-attest", [&] { return Main(argc, argv); });
}
