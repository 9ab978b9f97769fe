// Measurement policies: which images a verifier admits.
//
// A policy is a YAML (or JSON, a subset of YAML) file:
//
//   version: 1
//   allow_mock: false      # admit mock evidence (development only); default false
//   allow_debug: false     # admit debug TDs (TDATTRIBUTES.DEBUG); default false
//   allow_development: false  # admit TDs whose launch record says development (launch.h)
//   sets:                  # any set that matches admits: list old and new images in a rollout
//     - name: committee-1.4
//       mr_td: 4c7206f0...          # required, 96 hex digits
//       rtmr0: ...                  # optional, each of rtmr0..rtmr3
//       mr_config_id: ...           # optional
//       tcb_status: [UpToDate, SWHardeningNeeded]   # optional; default [UpToDate]
//       runtime_events:             # optional: events the RTMR3 log must hold (rtmr.h)
//         - {event: config-digest, digest: <96 hex>}
//       program: zipnet-server      # optional: the launch record's program (launch.h)
//       host_settings:              # optional: values the launch record must show; null:
//         ZIPNET_INSTANCE: zipnet   #   the host must not have set it
//   tcb:                   # optional: how the platform must be (every set), docs/attestation.md
//     out_of_date_grace_days: 30      # OutOfDate* admitted while tcbDate + grace >= time
//     refuse_advisories: [INTEL-SA-00837]
//     accept_advisories: [...]        # given: every advisory of the verdict must be listed
//     min_tee_tcb_svn: 03000000000000000000000000000000   # each of the 16 bytes >=
//     min_qe_isvsvn: 8
//     min_pcesvn: 11
//     min_tcb_evaluation_data_number: 17
//     max_collateral_age_days: 30     # verification time - TCB info issueDate
//     mr_seam: [hex96, ...]           # accepted TDX modules
//     mr_signer_seam: [hex96, ...]
//     ppid: [hex32, ...]              # platform pinning
//   td:                    # optional: how the TD must be configured
//     attributes: {value: hex16, mask: hex16}   # (TDATTRIBUTES & mask) == value
//     xfam: {value: hex16, mask: hex16}
//     sept_ve_disable: true           # TDATTRIBUTES bit 28 required
//     mr_service_td: hex96            # TD report 1.5 quotes; a 1.0 quote has none and fails
//
// Evaluation never admits what it could not check: a TDX quote must have been verified with
// collateral (an unverified quote is reported with the sets its measurements match, and
// rejected); mock evidence is rejected unless allow_mock, and then only its measurements are
// compared (it proves nothing). A TD's launch record (the tdx-launch event of its RTMR3 log) is
// judged when a log is given: a development image is refused unless allow_development, and
// sets that pin a program or host settings need the record. Errors in the file are reported all
// at once as file:line:col.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tdxrt/collateral.h"
#include "tdxrt/dcap.h"
#include "tdxrt/evidence.h"
#include "tdxrt/launch.h"
#include "tdxrt/rtmr.h"

namespace tdxrt {

// A runtime event a set requires in the TD's RTMR3 log (tdxrt/rtmr.h), by name and digest.
struct PinnedEvent {
  std::string event;
  Measurement digest{};
  bool operator==(const PinnedEvent&) const = default;
};

struct MeasurementSet {
  std::string name;
  std::vector<PinnedEvent> runtime_events;  // need an event log that replays to RTMR3
  Measurement mr_td{};
  std::array<std::optional<Measurement>, 4> rtmr;
  std::optional<Measurement> mr_config_id;
  std::vector<TcbStatus> tcb_status = {TcbStatus::kUpToDate};
  std::optional<std::string> program;  // the launch record's program
  // Host settings the launch record must show with these values (nullopt: must be absent).
  std::map<std::string, std::optional<std::string>> host_settings;
  int line = 0;
};

// A value compared under a mask: (actual & mask) == value.
struct Masked8 {
  std::array<std::uint8_t, 8> value{};
  std::array<std::uint8_t, 8> mask{};
  bool operator==(const Masked8&) const = default;
};

// Platform appraisal (`tcb:`): every rule optional; an absent rule does not constrain.
struct TcbRules {
  std::optional<std::int64_t> out_of_date_grace_days;
  std::vector<std::string> refuse_advisories;
  std::optional<std::vector<std::string>> accept_advisories;
  std::optional<std::array<std::uint8_t, 16>> min_tee_tcb_svn;
  std::optional<std::uint16_t> min_qe_isvsvn;
  std::optional<std::uint16_t> min_pcesvn;
  std::optional<int> min_tcb_evaluation_data_number;
  std::optional<std::int64_t> max_collateral_age_days;
  std::vector<Measurement> mr_seam;
  std::vector<Measurement> mr_signer_seam;
  std::vector<std::array<std::uint8_t, 16>> ppid;
  bool operator==(const TcbRules&) const = default;
};

// TD configuration (`td:`).
struct TdRules {
  std::optional<Masked8> attributes;
  std::optional<Masked8> xfam;
  bool sept_ve_disable = false;
  std::optional<Measurement> mr_service_td;
  bool operator==(const TdRules&) const = default;
};

struct Policy {
  bool allow_mock = false;
  bool allow_debug = false;
  bool allow_development = false;
  TcbRules tcb;
  TdRules td;
  std::vector<MeasurementSet> sets;
};

Result<Policy> ParsePolicy(const std::string& text, const std::string& file);
// Reads (at most 4 MiB) and parses a policy file; errors name the file.
Result<Policy> LoadPolicy(const std::string& file);
// YAML text of a policy (what `tdximage build` writes next to an image).
std::string SerializePolicy(const Policy& policy, const std::string& comment = "");

// The set a TD's evidence shows (a policy learned from a reference boot, or a committee of
// identical images): its MR_TD and the RTMRs listed in `rtmrs`; with a launch record, its
// program and host settings — those named in `settings` (a name the record lacks is pinned
// absent), or every one it shows when `settings` is empty.
struct LearnedSetOptions {
  std::string name;
  std::vector<int> rtmrs = {0, 1, 2};
  const LaunchRecord* launch = nullptr;
  std::vector<std::string> settings;
};
MeasurementSet MeasurementSetOf(const TdReport& report, const LearnedSetOptions& options);

// The set a reference boot's quote shows (tdx-attest policy-from-quote): MeasurementSetOf, and
// with its RTMR3 log (which must replay to the quote's RTMR3) the launch record's program and
// host settings and every other event pinned (runtime_events). Refused, with the reason: mock
// evidence, a debug TD, a log that does not replay, a development launch record — what a policy
// would refuse anyway. `options.launch` is ignored (the log's is used).
Result<MeasurementSet> LearnMeasurementSet(const Evidence& evidence,
                                           const std::vector<RuntimeEvent>* log,
                                           LearnedSetOptions options);

// One policy admitting what any of `policies` admits (a rotation: the old and the new image).
// Sets keep their order; a set equal to an earlier one (same measurements and TCB statuses) is
// dropped; a different set whose name is taken is renamed "<name>+<its file name>". allow_mock,
// allow_debug, allow_development, tcb and td must agree across the inputs (an error names the
// files that differ).
struct NamedPolicy {
  std::string file;
  Policy policy;
};
Result<Policy> MergePolicies(const std::vector<NamedPolicy>& policies);

struct Decision {
  bool admitted = false;
  // The tcb.* or td.* rule that refused the quote (reasons then has its explanation).
  std::string failed_rule;
  std::string matched_set;           // when admitted
  bool mock = false;                 // admitted mock evidence (allow_mock)
  std::vector<std::string> reasons;  // why not (one line per set, or one overall reason)
  std::vector<std::string> measurement_matches;  // sets whose measurements match
};

// `verdict` is the DCAP result for a TDX quote, or nullptr when it was not verified. Rules are
// judged at verdict->verified_at.
// `events`: the TD's RTMR3 event log when one was given; it must replay to the quote's RTMR3
// (rule rtmr3.replay), and sets that pin runtime events look them up in it.
Decision Evaluate(const Policy& policy, const Evidence& evidence, const Verdict* verdict,
                  const std::vector<RuntimeEvent>* events = nullptr);

}  // namespace tdxrt
