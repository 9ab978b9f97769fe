// Link attestation (see zipnet/node/attestation.h).
#include "zipnet/node/attestation.h"

#include "tdxrt/dcap.h"
#include "tdxrt/evidence.h"
#include "tdxrt/hex.h"
#include "tdxrt/launch.h"
#include "tdxrt/policy.h"
#include "tdxrt/provider.h"
#include "tdxrt/rtmr.h"
#include "tdxrt/sim_tdx.h"

namespace zipnet::node {

namespace {

class Mock : public Attester {
 public:
  Result<Attestation> Attest(const std::array<std::uint8_t, 64>&) override {
    return Attestation{EvidenceKind::kMock, {}, {}};
  }
  std::string Describe() const override {
    return "mock (no quote: admitted only where this role is not judged, development)";
  }
  EvidenceKind kind() const override { return EvidenceKind::kMock; }
};

class Quoting : public Attester {
 public:
  Quoting(std::shared_ptr<tdxrt::QuoteProvider> p, std::function<Result<std::string>()> log,
          std::string what)
      : provider_(std::move(p)), read_log_(std::move(log)), what_(std::move(what)) {}
  Result<Attestation> Attest(const std::array<std::uint8_t, 64>& report_data) override {
    // The log first: an event extended between the two reads would be in the quote's RTMR3 and
    // not in the log, which the peer sees as a replay mismatch, never as a weaker check.
    TDX_ASSIGN_OR_RETURN(std::string log, read_log_());
    tdxrt::ReportData rd{};
    std::copy(report_data.begin(), report_data.end(), rd.begin());
    TDX_ASSIGN_OR_RETURN(Bytes quote, provider_->GetQuote(rd));
    return Attestation{EvidenceKind::kTdx, std::move(quote), std::move(log)};
  }
  std::string Describe() const override { return what_; }
  EvidenceKind kind() const override { return EvidenceKind::kTdx; }

 private:
  std::shared_ptr<tdxrt::QuoteProvider> provider_;
  std::function<Result<std::string>()> read_log_;
  std::string what_;
};

class Fixed : public Attester {
 public:
  Fixed(Bytes quote, std::string origin) : quote_(std::move(quote)), origin_(std::move(origin)) {}
  Result<Attestation> Attest(const std::array<std::uint8_t, 64>&) override {
    return Attestation{EvidenceKind::kTdx, quote_, {}};
  }
  std::string Describe() const override {
    return "the quote in " + origin_ + " on every link (a replay: it binds another session)";
  }
  EvidenceKind kind() const override { return EvidenceKind::kTdx; }

 private:
  Bytes quote_;
  std::string origin_;
};

Refusal Refuse(std::string reason, std::string detail) {
  return Refusal{std::move(reason), std::move(detail)};
}

}  // namespace

std::shared_ptr<Attester> MockAttester() { return std::make_shared<Mock>(); }

Result<std::shared_ptr<Attester>> SimulatedAttester(std::shared_ptr<const tdxrt::DevPki> pki,
                                                    tdxrt::TdReport identity,
                                                    const tdxrt::LaunchRecord& launch) {
  TDX_ASSIGN_OR_RETURN(tdxrt::RuntimeEvent event, tdxrt::LaunchEvent(launch));
  identity.rtmr[3] = tdxrt::ReplayRtmr3({event});
  const std::string log = tdxrt::RuntimeEventLine(event) + "\n";
  return QuoteAttester(
      std::make_shared<tdxrt::SimulatedTdxProvider>(std::move(pki), identity),
      [log]() -> Result<std::string> { return log; },
      "SIMULATED TDX quotes (development PKI, not Intel's)");
}

std::shared_ptr<Attester> FixedQuoteAttester(Bytes quote, std::string origin) {
  return std::make_shared<Fixed>(std::move(quote), std::move(origin));
}

std::shared_ptr<Attester> QuoteAttester(std::shared_ptr<tdxrt::QuoteProvider> provider,
                                        std::function<Result<std::string>()> read_log,
                                        std::string description) {
  return std::make_shared<Quoting>(std::move(provider), std::move(read_log),
                                   std::move(description));
}

std::variant<std::string, Refusal> PeerJudge::Judge(const Attestation& a,
                                                    const std::array<std::uint8_t, 64>& report_data,
                                                    std::int64_t now) const {
  // Passes, in order: what kind of evidence; the quote and its binding to this session; the
  // event log and its launch record; DCAP verification; the policy.
  if (a.kind == EvidenceKind::kMock) {
    return Refuse("mock",
                  "mock evidence (no quote); a " + req_.program + " must present a TDX quote");
  }
  auto evidence = tdxrt::ParseEvidence(a.quote);
  if (!evidence.ok()) return Refuse("evidence", "quote: " + evidence.status().message());
  if (evidence->kind != tdxrt::EvidenceKind::kTdxQuote) {
    return Refuse("evidence", "the quote is mock evidence, not a TDX quote");
  }
  if (!std::equal(report_data.begin(), report_data.end(), evidence->report.report_data.begin())) {
    return Refuse("binding", "the quote was not made for this connection (REPORTDATA " +
                                 tdxrt::ToHex(ByteSpan(evidence->report.report_data).first(8)) +
                                 "…, this session's " +
                                 tdxrt::ToHex(ByteSpan(report_data).first(8)) + "…)");
  }
  auto events = tdxrt::ParseRuntimeEventLog(a.event_log);
  if (!events.ok()) return Refuse("evidence", "RTMR3 event log: " + events.status().message());
  auto launch = tdxrt::FindLaunchRecord(*events);
  if (!launch.ok()) return Refuse("launch", launch.status().message());
  if (launch->program != req_.program) {
    return Refuse("launch", "the peer's launch record says it runs " + launch->program + ", not " +
                                req_.program);
  }
  if (!req_.verifier) {
    return Refuse("collateral",
                  "no DCAP collateral or PCCS is configured: no quote can be verified");
  }
  auto verifier = req_.verifier(*evidence->quote);
  if (!verifier.ok()) return Refuse("collateral", verifier.status().message());
  auto v = (*verifier)->Verify(*evidence->quote, now);
  if (auto* err = std::get_if<tdxrt::VerifyError>(&v)) {
    return Refuse("quote", "quote verification failed: " + tdxrt::FormatVerifyError(*err));
  }
  const tdxrt::Verdict& verdict = std::get<tdxrt::Verdict>(v);
  const tdxrt::Decision d = tdxrt::Evaluate(*req_.policy, *evidence, &verdict, &*events);
  if (d.admitted) return d.matched_set;
  std::string why;
  for (const auto& r : d.reasons) why += (why.empty() ? "" : "; ") + r;
  return Refuse("policy", "policy refused the evidence: " + why);
}

std::shared_ptr<const PeerJudge> PeerJudges::Shared(NodeRole role) const {
  switch (role) {
    case NodeRole::kServer:
      return server;
    case NodeRole::kClient:
      return client;
    case NodeRole::kAggregator:
      return aggregator;
    case NodeRole::kWatcher:
    case NodeRole::kOperator:
      return nullptr;
  }
  return nullptr;
}

}  // namespace zipnet::node
