// Attestation on every zipnet link (zipnet-protocol.md, "Attestation on every link"): each side
// of a connection puts in its Hello evidence made for that TLS session — a quote whose
// REPORTDATA is LinkReportData(the session's exporter value, its role, instance, keys) and its
// RTMR3 event log, whose launch record (tdxrt/launch.h) says which program runs and what it took
// from the host — and each side judges the other's by the peer's role before anything else.
// A quote copied from another connection binds another session and is refused; a peer refused
// is treated as absent (its connection closed, the refusal logged and counted), never as a
// fallback to something weaker.
//
// Attester: what this node presents (a TD's quotes, simulated TDX quotes, or mock evidence).
// PeerJudge: how the peers of one role are judged — the measurement policy (tdxrt/policy.h),
// DCAP verification with the current collateral, the launch record's program.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "zipnet/node_wire.h"

namespace tdxrt {
struct Policy;
class Verifier;
struct Quote;
class QuoteProvider;
class DevPki;
struct TdReport;
struct LaunchRecord;
}  // namespace tdxrt

namespace zipnet::node {

class Attester {
 public:
  virtual ~Attester() = default;
  // Evidence carrying `report_data` (and the current RTMR3 log).
  virtual Result<Attestation> Attest(const std::array<std::uint8_t, 64>& report_data) = 0;
  // For the start-up log line: "TDX quotes from configfs-tsm", "mock (development)", ...
  virtual std::string Describe() const = 0;
  virtual EvidenceKind kind() const = 0;
};

// No quote: admitted only by peers that do not judge this role (development).
std::shared_ptr<Attester> MockAttester();

// Quotes from `provider` (configfs-tsm in a TD, or simulated TDX) with the RTMR3 log that
// `read_log` returns at each call (the log file the TD keeps, or a simulation's own text).
std::shared_ptr<Attester> QuoteAttester(std::shared_ptr<tdxrt::QuoteProvider> provider,
                                        std::function<Result<std::string>()> read_log,
                                        std::string description);

// Simulated TDX (development, tdxrt/sim_tdx.h): quotes of the development PKI `pki` claiming
// `identity`'s measurements, with RTMR3 and the log those of the one event `launch`.
Result<std::shared_ptr<Attester>> SimulatedAttester(std::shared_ptr<const tdxrt::DevPki> pki,
                                                    tdxrt::TdReport identity,
                                                    const tdxrt::LaunchRecord& launch);

// The same quote on every link, whatever the session (a replay, as a host holding a copy of
// a TD's quote would try): judging peers refuse it (binding). Tests and demonstrations.
std::shared_ptr<Attester> FixedQuoteAttester(Bytes quote, std::string origin);

// The verifier for a quote (its platform's collateral, which may be fetched or refreshed between
// calls), or why there is none: tdxrt::VerifierSource (tdxrt/dcap.h), which
// tdxrt::MakeVerifierSource makes from a collateral file or a PCCS URL.
using VerifierSource =
    std::function<Result<std::shared_ptr<const tdxrt::Verifier>>(const tdxrt::Quote&)>;

struct PeerRequirement {
  std::shared_ptr<const tdxrt::Policy> policy;  // required
  std::string program;                          // the launch record's program, e.g. zipnet-server
  VerifierSource verifier;                      // none: no TDX quote can be admitted
};

struct Refusal {
  // A short class for metrics labels: mock, evidence, binding, launch, collateral, quote,
  // policy.
  std::string reason;
  std::string detail;  // one line saying why
};

class PeerJudge {
 public:
  explicit PeerJudge(PeerRequirement requirement) : req_(std::move(requirement)) {}
  // The name of the policy set that admitted the peer, or why it is refused. `now`: Unix time.
  std::variant<std::string, Refusal> Judge(const Attestation& attestation,
                                           const std::array<std::uint8_t, 64>& report_data,
                                           std::int64_t now) const;
  const PeerRequirement& requirement() const { return req_; }

 private:
  PeerRequirement req_;
};

// How a node judges its peers, by role; a role without a judge is not judged (watchers, the
// operator, and every role in a development deployment).
struct PeerJudges {
  std::shared_ptr<const PeerJudge> server;
  std::shared_ptr<const PeerJudge> client;
  std::shared_ptr<const PeerJudge> aggregator;
  // Shared: the judge is used off the loop, where it must outlive the call.
  std::shared_ptr<const PeerJudge> Shared(NodeRole role) const;
};

}  // namespace zipnet::node
