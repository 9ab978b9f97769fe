// A zipnet program's attestation set-up (see attest_setup.h).
#include "attest_setup.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "tdxrt/dcap.h"
#include "tdxrt/evidence.h"
#include "tdxrt/file.h"
#include "tdxrt/launch.h"
#include "tdxrt/policy.h"
#include "tdxrt/provider.h"
#include "tdxrt/rtmr.h"
#include "tdxrt/sim_tdx.h"
#include "tdxrt/text.h"
#include "tdxrt/verifier_source.h"
#include "zipnet/node/common.h"

namespace zipnet::node {

namespace {

const char* NameOf(Program p) {
  switch (p) {
    case Program::kServer:
      return "zipnet-server";
    case Program::kAggregator:
      return "zipnet-aggregator";
    case Program::kClient:
      return "zipnet-client";
    case Program::kOperator:
      return "zipnet-operator";
  }
  return "?";
}

std::string Text(const Bytes& b) { return std::string(b.begin(), b.end()); }

// A policy setting's value: inline YAML/JSON (a host passes it at launch as one line, "{...}")
// or the path of a policy file.
Result<tdxrt::Policy> PolicyValue(const std::string& value, const std::string& setting) {
  if (!value.empty() && value.front() == '{') return tdxrt::ParsePolicy(value, setting);
  return tdxrt::LoadPolicy(value);  // its errors name the file
}

// A PCCS answers while a peer waits for its Hello to be judged: fewer, shorter attempts than a
// command line's (a peer refused for "collateral" may retry; a good fetch is cached).
constexpr std::chrono::seconds kPccsTimeout{10};
constexpr int kPccsAttempts = 2;

Result<VerifierSource> MakeVerifierSource(const AttestFlags& f) {
  tdxrt::VerifierConfig c;
  c.collateral = f.collateral;
  c.collateral_name = "ZIPNET_TDX_COLLATERAL";
  c.pccs_url = f.pccs_url;
  c.pccs_ca_file = f.pccs_ca_file;
  c.root_ca_file = f.root_ca;
  c.pccs_timeout = kPccsTimeout;
  c.pccs_attempts = kPccsAttempts;
  return tdxrt::MakeVerifierSource(c);
}

Result<std::shared_ptr<Attester>> MakeAttester(const AttestFlags& f, const AttestContext& ctx,
                                               spdlog::logger& log) {
  std::string mode = f.evidence;
  if (mode == "auto") {
    // The tdx_guest CPU flag, not configfs-tsm (whose module loads in any guest): inside a TD a
    // failing quote is an error, never a silent fall-back to mock evidence.
    mode = tdxrt::InsideTdxGuest() ? "tdx" : "mock";
  }
  if (mode == "mock") return MockAttester();
  // The launch record's development marker: a server with gating off admits mock evidence; a
  // client, aggregator or operator without a committee policy judges no server.
  const bool development =
      ctx.program == Program::kServer ? !ctx.gating : f.committee_policy.empty();
  const char* host = std::getenv("TDX_HOST_SETTINGS");
  TDX_ASSIGN_OR_RETURN(
      tdxrt::LaunchRecord record,
      tdxrt::LaunchRecordFromEnvironment(NameOf(ctx.program), development, host ? host : ""));
  if (mode == "tdx") {
    const tdxrt::Rtmr3Device::Options o;
    TDX_TRY(RecordLaunch(record, o, log));
    return QuoteAttester(
        std::make_shared<tdxrt::ConfigfsTsmProvider>(),
        [path = o.log]() -> Result<std::string> {
          TDX_ASSIGN_OR_RETURN(Bytes text, tdxrt::ReadFile(path));
          return Text(text);
        },
        "TDX quotes from configfs-tsm, RTMR3 log " + o.log.string());
  }
  // Simulated TDX: the development PKI's quotes claiming the image's measurements (which the
  // host states: nothing here is evidence of anything, see tdxrt/sim_tdx.h), with RTMR3 the
  // replay of this program's launch record.
  if (f.sim_seed.empty())
    return Status::InvalidArgument("simulated evidence needs --sim-seed (or ZIPNET_SIM_SEED)");
  if (f.sim_measurements.empty()) {
    return Status::InvalidArgument(
        "simulated evidence needs --sim-measurements (or ZIPNET_SIM_MEASUREMENTS)");
  }
  auto pki = tdxrt::DevPki::FromSeed(f.sim_seed);
  if (!pki.ok()) return pki.status().WithContext("ZIPNET_SIM_SEED");
  tdxrt::TdReport identity = tdxrt::DevPki::DefaultReport();
  if (Status st = tdxrt::ClaimImageMeasurements(f.sim_measurements, identity); !st.ok()) {
    return st.WithContext("ZIPNET_SIM_MEASUREMENTS");
  }
  return SimulatedAttester(std::make_shared<const tdxrt::DevPki>(std::move(pki).value()), identity,
                           record);
}

// Settings every member of a committee must run with alike: a peer whose launch record shows
// another value (or the host's value where this server's image set its own) is refused.
constexpr const char* kCommitteeWideSettings[] = {"ZIPNET_INSTANCE", "ZIPNET_UNIVERSE",
                                                  "ZIPNET_ROUND_PERIOD_MS", "ZIPNET_FOLD_MS",
                                                  "ZIPNET_ROUND_DEADLINE_MS"};

// A committee server admits peers running its own image (MRTD, RTMR1, RTMR2 of its own quote:
// the same build, memory size and command line; with ZIPNET_COMMITTEE_SAME_HOST its RTMR0 too:
// the same host QEMU, memory, CPUs and devices) with its own committee-wide settings, and, for
// a rollout, the sets of ZIPNET_COMMITTEE_POLICY.
Result<tdxrt::Policy> CommitteePolicyOfServer(Attester& attester, const AttestFlags& f) {
  tdxrt::Policy p;
  if (!f.committee_policy.empty()) {
    TDX_ASSIGN_OR_RETURN(p, PolicyValue(f.committee_policy, "ZIPNET_COMMITTEE_POLICY"));
  }
  TDX_ASSIGN_OR_RETURN(Attestation own, attester.Attest({}));
  TDX_ASSIGN_OR_RETURN(tdxrt::Evidence e, tdxrt::ParseEvidence(own.quote));
  TDX_ASSIGN_OR_RETURN(auto events, tdxrt::ParseRuntimeEventLog(own.event_log));
  TDX_ASSIGN_OR_RETURN(tdxrt::LaunchRecord launch, tdxrt::FindLaunchRecord(events));
  tdxrt::LearnedSetOptions o;
  o.name = "this-server-image";
  // RTMR0 only when the image asks for identical hosts: peers on other hosts (memory, CPUs,
  // QEMU) differ there.
  o.rtmrs = f.committee_same_host ? std::vector<int>{0, 1, 2} : std::vector<int>{1, 2};
  o.launch = &launch;
  o.settings.assign(std::begin(kCommitteeWideSettings), std::end(kCommitteeWideSettings));
  p.sets.insert(p.sets.begin(), tdxrt::MeasurementSetOf(e.report, o));
  return p;
}

}  // namespace

Status RecordLaunch(const tdxrt::LaunchRecord& record, const tdxrt::Rtmr3Device::Options& o,
                    spdlog::logger& log) {
  std::error_code ec;
  if (std::filesystem::exists(o.log, ec)) {
    auto events = tdxrt::ReadRuntimeEventLog(o.log);
    if (!events.ok()) return events.status();
    const bool recorded = std::any_of(events->begin(), events->end(),
                                      [](const auto& e) { return e.name == tdxrt::kLaunchEvent; });
    if (recorded) {
      auto found = tdxrt::FindLaunchRecord(*events);
      if (!found.ok()) return found.status().WithContext(o.log.string());
      if (!(*found == record)) {
        return Status::Mismatch(
            o.log.string() + ": RTMR3 already holds another launch record (this TD's first " +
            "start ran " + found->program + " with other settings from the host): this start " +
            "would run with settings its quotes do not show");
      }
      log.info("launch record already in RTMR3 (extended at this TD's first start)");
      return Status::Ok();
    }
  }
  TDX_ASSIGN_OR_RETURN(tdxrt::RuntimeEvent event, tdxrt::LaunchEvent(record));
  TDX_TRY(tdxrt::Rtmr3Device(o).Extend(event).status());
  log.info("launch record extended into RTMR3 (event {})", std::string(tdxrt::kLaunchEvent));
  return Status::Ok();
}

void AddAttestFlags(CLI::App& app, AttestFlags& f, Program program) {
  app.add_option("--evidence", f.evidence,
                 "What this node presents on every link: tdx (configfs-tsm quotes), simulated "
                 "(development PKI), mock (development), or auto (tdx inside a TD, else mock)")
      ->envname("ZIPNET_EVIDENCE")
      ->check(CLI::IsMember({"auto", "tdx", "mock", "simulated"}))
      ->capture_default_str();
  app.add_option("--sim-seed", f.sim_seed, "Simulated evidence: the development PKI's seed")
      ->envname("ZIPNET_SIM_SEED");
  app.add_option("--sim-measurements", f.sim_measurements,
                 "Simulated evidence: the image's measurements (its <name>-measurements.json, or "
                 "\"mr_td=HEX rtmr1=HEX rtmr2=HEX\")")
      ->envname("ZIPNET_SIM_MEASUREMENTS");
  if (program != Program::kServer) {
    // A server's collateral option is --collateral (with its client policy).
    app.add_option("--collateral", f.collateral,
                   "DCAP collateral JSON: peers' quotes are verified with it")
        ->envname("ZIPNET_TDX_COLLATERAL");
  }
  app.add_option("--pccs", f.pccs_url,
                 "PCS or PCCS URL the collateral of each peer's platform is fetched from (and "
                 "cached), instead of one collateral; what it serves is verified against the root")
      ->envname("ZIPNET_PCCS_URL");
  app.add_option("--pccs-ca-file", f.pccs_ca_file,
                 "PEM file of the CAs the PCCS's HTTPS certificate must chain to (default: the "
                 "system's)")
      ->envname("ZIPNET_PCCS_CA_FILE");
  app.add_option("--root-ca", f.root_ca,
                 "PEM file of the root quotes must chain to (default: Intel's SGX Root CA; a "
                 "development PKI's for simulated TDX)")
      ->envname("ZIPNET_TDX_ROOT_CA");
  app.add_option("--committee-policy", f.committee_policy,
                 program == Program::kServer
                     ? "Other server images peer servers may run besides this one's (a rollout)"
                     : "Measurement policy committee servers must satisfy (a file, or inline "
                       "{...}); without it servers are not judged (development)")
      ->envname("ZIPNET_COMMITTEE_POLICY");
  if (program == Program::kServer) {
    app.add_flag("--committee-same-host", f.committee_same_host,
                 "Peer servers must also show this server's RTMR0 (a committee of identical TDs on "
                 "identical hosts: the same QEMU, memory, CPUs and devices)")
        ->envname("ZIPNET_COMMITTEE_SAME_HOST");
  }
  if (program != Program::kAggregator) {
    app.add_option("--aggregator-policy", f.aggregator_policy,
                   "Measurement policy the aggregator must satisfy (optional: it is not trusted "
                   "for anonymity)")
        ->envname("ZIPNET_AGGREGATOR_POLICY");
  }
  if (program == Program::kClient) {
    app.add_flag("--strict-attestation", f.strict,
                 "End with Attestation(\"...\") when a committee server's attestation is "
                 "refused, instead of treating it as absent (ConnectTimeout)")
        ->envname("ZIPNET_STRICT_ATTESTATION");
  }
}

bool SetUpAttestation(const std::string& tool, const AttestFlags& f, const AttestContext& ctx,
                      NodeCommon& common) {
  auto log = Logger(ctx.program == Program::kServer       ? "zipnet_server"
                    : ctx.program == Program::kAggregator ? "zipnet_aggregator"
                    : ctx.program == Program::kOperator   ? "zipnet_operator"
                                                          : "zipnet_client");
  auto fail = [&](const std::string& what, const Status& st) {
    std::fprintf(stderr, "%s: error: %s%s\n", tool.c_str(),
                 what.empty() ? "" : (what + ": ").c_str(), st.message().c_str());
    return false;
  };
  // Passes: the evidence this node presents (the launch record first); the verifier; the
  // judge of each peer role.
  auto attester = MakeAttester(f, ctx, *log);
  if (!attester.ok()) return fail("evidence", attester.status());
  common.attester = *attester;
  log->info("evidence: {}", (*attester)->Describe());
  auto verifier = MakeVerifierSource(f);
  if (!verifier.ok()) return fail("", verifier.status());
  if (!f.pccs_url.empty())
    log->info("collateral: fetched from {} for each peer platform, then cached",
              tdxrt::EscapeText(f.pccs_url));
  auto judge = [&](const tdxrt::Policy& p, const char* program) {
    return std::make_shared<const PeerJudge>(
        PeerRequirement{std::make_shared<const tdxrt::Policy>(p), program, *verifier});
  };
  auto policy = [&](const std::string& value, const std::string& setting,
                    std::optional<tdxrt::Policy>& out) {
    if (value.empty()) return true;
    auto p = PolicyValue(value, setting);
    if (!p.ok()) return fail(setting, p.status());
    out = std::move(p).value();
    return true;
  };
  std::optional<tdxrt::Policy> committee, aggregator, clients;
  if (!policy(f.aggregator_policy, "ZIPNET_AGGREGATOR_POLICY", aggregator)) return false;
  if (aggregator) common.judges.aggregator = judge(*aggregator, "zipnet-aggregator");
  if (ctx.program == Program::kServer) {
    if (ctx.gating) {
      if (!policy(ctx.client_policy, "ZIPNET_TDX_POLICY", clients)) return false;
      common.judges.client = judge(*clients, "zipnet-client");
      if ((*attester)->kind() == EvidenceKind::kMock) {
        return fail("", Status::InvalidArgument(
                            "TDX gating is on but this server presents mock evidence: peer "
                            "servers and clients could not tell it from any other host's "
                            "(ZIPNET_EVIDENCE=tdx, or simulated for development)"));
      }
      auto own = CommitteePolicyOfServer(**attester, f);
      if (!own.ok()) return fail("committee policy", own.status());
      common.judges.server = judge(*own, "zipnet-server");
    }
  } else if (!policy(f.committee_policy, "ZIPNET_COMMITTEE_POLICY", committee)) {
    return false;
  } else if (committee) {
    common.judges.server = judge(*committee, "zipnet-server");
  }
  if (!common.judges.server) {
    log->warn("committee servers are not judged: {}",
              ctx.program == Program::kServer ? "TDX gating is off (development)"
                                              : "no ZIPNET_COMMITTEE_POLICY (development)");
  }
  if (!*verifier && (common.judges.server || common.judges.client || common.judges.aggregator)) {
    log->warn(
        "no ZIPNET_TDX_COLLATERAL or ZIPNET_PCCS_URL: quotes cannot be verified, so no peer will "
        "be admitted");
  }
  return true;
}

}  // namespace zipnet::node
