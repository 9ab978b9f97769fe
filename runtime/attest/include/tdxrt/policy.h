// Measurement policies: which images a verifier admits.
//
// A policy is a YAML (or JSON, a subset of YAML) file:
//
//   version: 1
//   allow_mock: false      # admit mock evidence (development only); default false
//   allow_debug: false     # admit debug TDs (TDATTRIBUTES.DEBUG); default false
//   sets:                  # any set that matches admits: list old and new images in a rollout
//     - name: committee-1.4
//       mr_td: 4c7206f0...          # required, 96 hex digits
//       rtmr0: ...                  # optional, each of rtmr0..rtmr3
//       mr_config_id: ...           # optional
//       tcb_status: [UpToDate, SWHardeningNeeded]   # optional; default [UpToDate]
//
// Evaluation never admits what it could not check: a TDX quote must have been verified with
// collateral (an unverified quote is reported with the sets its measurements match, and
// rejected); mock evidence is rejected unless allow_mock, and then only its measurements are
// compared (it proves nothing). Errors in the file are reported all at once as file:line:col.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tdxrt/collateral.h"
#include "tdxrt/dcap.h"
#include "tdxrt/evidence.h"

namespace tdxrt {

struct MeasurementSet {
  std::string name;
  Measurement mr_td{};
  std::array<std::optional<Measurement>, 4> rtmr;
  std::optional<Measurement> mr_config_id;
  std::vector<TcbStatus> tcb_status = {TcbStatus::kUpToDate};
  int line = 0;
};

struct Policy {
  bool allow_mock = false;
  bool allow_debug = false;
  std::vector<MeasurementSet> sets;
};

Result<Policy> ParsePolicy(const std::string& text, const std::string& file);
// Reads (at most 4 MiB) and parses a policy file; errors name the file.
Result<Policy> LoadPolicy(const std::string& file);
// YAML text of a policy (what `tdximage build` writes next to an image).
std::string SerializePolicy(const Policy& policy, const std::string& comment = "");

// One policy admitting what any of `policies` admits (a rotation: the old and the new image).
// Sets keep their order; a set equal to an earlier one (same measurements and TCB statuses) is
// dropped; a different set whose name is taken is renamed "<name>+<its file name>". allow_mock and
// allow_debug must agree across the inputs (an error names the files that differ).
struct NamedPolicy {
  std::string file;
  Policy policy;
};
Result<Policy> MergePolicies(const std::vector<NamedPolicy>& policies);

struct Decision {
  bool admitted = false;
  std::string matched_set;           // when admitted
  bool mock = false;                 // admitted mock evidence (allow_mock)
  std::vector<std::string> reasons;  // why not (one line per set, or one overall reason)
  std::vector<std::string> measurement_matches;  // sets whose measurements match
};

// `verdict` is the DCAP result for a TDX quote, or nullptr when it was not verified.
Decision Evaluate(const Policy& policy, const Evidence& evidence, const Verdict* verdict);

}  // namespace tdxrt
