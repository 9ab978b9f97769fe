// TCB appraisal and TD configuration rules of measurement policies (tcb:, td:), one rule at a
// time, on quotes that really verify (the test quote builder under its own root): each rule
// admits the quote as built and refuses it, naming the rule, once the rule or the quote is
// changed.
#include <doctest/doctest.h>

#include "quote_builder.h"
#include "tdxrt/hex.h"
#include "tdxrt/policy.h"

namespace tdxrt {
namespace {

struct Judged {
  Decision decision;
  std::string rule() const { return decision.failed_rule; }
  std::string reason() const { return decision.reasons.empty() ? "" : decision.reasons.front(); }
};

// Builds, verifies (DCAP) and evaluates `policy_yaml` + a set matching the builder's MRTD.
Judged Judge(testing::QuoteBuilder& b, const std::string& rules_yaml) {
  const auto built = b.Build();
  auto v = Verifier::Create(built.collateral, built.root_pem);
  REQUIRE(v.ok());
  auto r = v->Verify(built.quote, b.now);
  REQUIRE_MESSAGE(std::holds_alternative<Verdict>(r), FormatVerifyError(std::get<VerifyError>(r)));
  const std::string text = "version: 1\n" + rules_yaml + "sets:\n  - name: v1\n    mr_td: \"" +
                           ToHex(b.quote.report.mr_td) + "\"\n";
  auto p = ParsePolicy(text, "p.yaml");
  REQUIRE_MESSAGE(p.ok(), p.status().message());
  auto e = ParseEvidence(built.quote);
  REQUIRE(e.ok());
  return {Evaluate(*p, *e, &std::get<Verdict>(r))};
}

TEST_CASE("appraisal: the builder's quote passes every rule set to what it is") {
  testing::QuoteBuilder b;
  const std::string all =
      "tcb:\n"
      "  out_of_date_grace_days: 30\n"
      "  refuse_advisories: [INTEL-SA-00837]\n"
      "  accept_advisories: []\n"
      "  min_tee_tcb_svn: \"05010200000000000000000000000000\"\n"
      "  min_qe_isvsvn: 4\n"
      "  min_pcesvn: 11\n"
      "  min_tcb_evaluation_data_number: 17\n"
      "  max_collateral_age_days: 1\n"
      "  mr_seam: [\"" +
      std::string(96, '0') +
      "\"]\n"
      "  mr_signer_seam: [\"" +
      std::string(96, '0') +
      "\"]\n"
      "  ppid: [\"77777777777777777777777777777777\"]\n"
      "td:\n"
      "  attributes: {value: \"0000001000000000\", mask: \"ffffffffffffffff\"}\n"
      "  xfam: {value: \"e702060000000000\", mask: \"ffffffffffffffff\"}\n"
      "  sept_ve_disable: true\n";
  const Judged j = Judge(b, all);
  CHECK_MESSAGE(j.decision.admitted, j.reason());
  // And the policy round-trips through its YAML form.
  auto p = ParsePolicy(
      "version: 1\n" + all + "sets:\n  - {name: v1, mr_td: \"" + std::string(96, '1') + "\"}\n",
      "p.yaml");
  REQUIRE(p.ok());
  auto again = ParsePolicy(SerializePolicy(*p), "again.yaml");
  REQUIRE_MESSAGE(again.ok(), again.status().message());
  CHECK(again->tcb == p->tcb);
  CHECK(again->td == p->td);
}

TEST_CASE("appraisal rules one at a time") {
  testing::QuoteBuilder b;
  auto refused = [&](const std::string& rules, const std::string& rule, const std::string& why) {
    const Judged j = Judge(b, rules);
    CHECK_FALSE(j.decision.admitted);
    CHECK(j.rule() == rule);
    CHECK(j.reason() == rule + ": " + why);
  };
  refused("tcb:\n  min_tee_tcb_svn: \"05020000000000000000000000000000\"\n", "tcb.min_tee_tcb_svn",
          "TEE_TCB_SVN 05010200000000000000000000000000 is below "
          "05020000000000000000000000000000 at byte 1 (1 < 2)");
  refused("tcb:\n  min_qe_isvsvn: 5\n", "tcb.min_qe_isvsvn", "QE ISVSVN 4 is below 5");
  refused("tcb:\n  min_pcesvn: 12\n", "tcb.min_pcesvn", "PCESVN 11 (PCK certificate) is below 12");
  refused("tcb:\n  min_tcb_evaluation_data_number: 18\n", "tcb.min_tcb_evaluation_data_number",
          "the collateral's TCB evaluation data number 17 is below 18");
  b.tcb_info_issue_offset = -3 * 86400;
  refused("tcb:\n  max_collateral_age_days: 2\n", "tcb.max_collateral_age_days",
          "the TCB info was issued 2025-06-28T00:00:00Z, 3 days before the verification time "
          "(at most 2)");
  b.tcb_info_issue_offset = -86400;
  refused("tcb:\n  mr_seam: [\"" + std::string(96, 'a') + "\"]\n", "tcb.mr_seam",
          "MRSEAM 0000000000000000... is not an accepted TDX module");
  refused("tcb:\n  mr_signer_seam: [\"" + std::string(96, 'a') + "\"]\n", "tcb.mr_signer_seam",
          "MRSIGNERSEAM 0000000000000000... is not accepted");
  refused("tcb:\n  ppid: [\"" + std::string(32, '1') + "\"]\n", "tcb.ppid",
          "platform PPID 77777777777777777777777777777777 is not pinned");
  refused("td:\n  attributes: {value: \"0000000000000000\", mask: \"00000010ffffffff\"}\n",
          "td.attributes",
          "TDATTRIBUTES 0000001000000000 under mask 00000010ffffffff is 0000001000000000, not "
          "0000000000000000");
  refused("td:\n  xfam: {value: \"e700000000000000\", mask: \"ffff000000000000\"}\n", "td.xfam",
          "XFAM e702060000000000 under mask ffff000000000000 is e702000000000000, not "
          "e700000000000000");
  refused("td:\n  mr_service_td: \"" + std::string(96, '0') + "\"\n", "td.mr_service_td",
          "the quote carries a TD report 1.0, which has no MRSERVICETD");
  b.quote.report.td_attributes = {0, 0, 0, 0, 0, 0, 0, 0};
  refused("td:\n  sept_ve_disable: true\n", "td.sept_ve_disable",
          "TDATTRIBUTES 0000000000000000 lacks SEPT_VE_DISABLE (bit 28): the host could inject "
          "#VE on EPT violations into the TD");
}

TEST_CASE("appraisal: OutOfDate within and past a grace period, advisories refused or allowed") {
  testing::QuoteBuilder b;
  b.pce_svn = 5;  // matches the OutOfDate level of 2018-01-04 (INTEL-SA-00106, -00115)
  // Without a grace, the set's default [UpToDate] refuses it.
  Judged j = Judge(b, "");
  CHECK_FALSE(j.decision.admitted);
  CHECK(j.reason() == "set 'v1': TCB status OutOfDate is not accepted");
  // 2018-01-04 + 2800 days = 2025-08-05, after the verification time 2025-07-01: admitted.
  j = Judge(b, "tcb:\n  out_of_date_grace_days: 2800\n");
  CHECK_MESSAGE(j.decision.admitted, j.reason());
  j = Judge(b, "tcb:\n  out_of_date_grace_days: 2700\n");
  CHECK(j.rule() == "tcb.out_of_date_grace_days");
  CHECK(j.reason() ==
        "tcb.out_of_date_grace_days: TCB status OutOfDate at the level of 2018-01-04: the grace "
        "of 2700 days ended 2025-05-27");
  j = Judge(b, "tcb:\n  out_of_date_grace_days: 2800\n  refuse_advisories: [intel-sa-00115]\n");
  CHECK(j.reason() == "tcb.refuse_advisories: the platform is affected by INTEL-SA-00115");
  j = Judge(b, "tcb:\n  out_of_date_grace_days: 2800\n  accept_advisories: [INTEL-SA-00106]\n");
  CHECK(j.reason() == "tcb.accept_advisories: advisory INTEL-SA-00115 is not among the accepted");
  j = Judge(b,
            "tcb:\n  out_of_date_grace_days: 2800\n"
            "  accept_advisories: [INTEL-SA-00106, INTEL-SA-00115]\n");
  CHECK(j.decision.admitted);
}

TEST_CASE("appraisal rules: parse errors name the field") {
  auto err = [](const std::string& rules) {
    return ParsePolicy("version: 1\n" + rules + "sets:\n  - {name: v1, mr_td: \"" +
                           std::string(96, '1') + "\"}\n",
                       "p.yaml")
        .status()
        .message();
  };
  CHECK(err("tcb:\n  min_qe_isvsvn: -1\n") ==
        "p.yaml:3:18: error: 'min_qe_isvsvn' in 'tcb' must be an integer from 0 to 65535 "
        "(hint: an integer from 0 to 65535)");
  CHECK(err("tcb:\n  min_pcesvm: 3\n").find("did you mean 'min_pcesvn'") != std::string::npos);
  CHECK(err("tcb:\n  ppid: [\"12\"]\n") ==
        "p.yaml:3:10: error: 'ppid' in 'tcb': expected 32 hex digits (16 bytes), got 2 (hint: 32 "
        "hex digits)");
  CHECK(err("td:\n  xfam: {value: \"0100000000000000\", mask: \"0000000000000000\"}\n") ==
        "p.yaml:3:17: error: 'xfam' in 'td': value has bits outside the mask (byte 0) (hint: "
        "such a rule could never match)");
  CHECK(err("td:\n  attributes: {value: \"00\"}\n").find("needs both 'value' and 'mask'") !=
        std::string::npos);
}

TEST_CASE("merging policies requires the same rules") {
  auto p1 = ParsePolicy("version: 1\ntcb: {min_pcesvn: 11}\nsets:\n  - {name: a, mr_td: \"" +
                            std::string(96, '1') + "\"}\n",
                        "a.yaml");
  auto p2 = ParsePolicy(
      "version: 1\nsets:\n  - {name: b, mr_td: \"" + std::string(96, '2') + "\"}\n", "b.yaml");
  REQUIRE(p1.ok());
  REQUIRE(p2.ok());
  CHECK(MergePolicies({{"a.yaml", *p1}, {"b.yaml", *p2}}).status().message() ==
        "b.yaml: its tcb/td rules differ from a.yaml's; merged policies must agree on them");
}

}  // namespace
}  // namespace tdxrt

namespace tdxrt {
namespace {

TEST_CASE("runtime events: the log must replay to RTMR3, sets pin event digests") {
  testing::QuoteBuilder b;
  const std::vector<RuntimeEvent> log = {{"config-digest", {1, 2, 3}}, {"key-hash", {4}}};
  b.quote.report.rtmr[3] = ReplayRtmr3(log);
  const auto built = b.Build();
  auto v = Verifier::Create(built.collateral, built.root_pem);
  REQUIRE(v.ok());
  const Verdict verdict = std::get<Verdict>(v->Verify(built.quote, b.now));
  const Evidence e = ParseEvidence(built.quote).value();
  auto policy = [&](const std::string& pins) {
    return ParsePolicy("version: 1\nsets:\n  - name: v1\n    mr_td: \"" +
                           ToHex(b.quote.report.mr_td) + "\"\n" + pins,
                       "p.yaml")
        .value();
  };
  const std::string pin_config = "    runtime_events:\n      - {event: config-digest, digest: \"" +
                                 ToHex(log[0].Digest()) + "\"}\n";
  CHECK(Evaluate(policy(pin_config), e, &verdict, &log).admitted);
  // Without the log, a pinning set cannot admit; a set without pins still can.
  Decision d = Evaluate(policy(pin_config), e, &verdict);
  CHECK(d.reasons.back() == "set 'v1': it pins runtime events and no RTMR3 event log was given");
  CHECK(Evaluate(policy(""), e, &verdict).admitted);
  // A log that does not replay to the quote's RTMR3 is refused whatever the sets say.
  const std::vector<RuntimeEvent> shorter = {log[0]};
  d = Evaluate(policy(""), e, &verdict, &shorter);
  CHECK(d.failed_rule == "rtmr3.replay");
  CHECK(d.reasons[0] == "rtmr3.replay: RTMR3 replay mismatch: the 1 events of the log give " +
                            ToHex(ReplayRtmr3(shorter)) + ", the quote has " +
                            ToHex(b.quote.report.rtmr[3]));
  // A pinned digest that the log's event does not have, and an event the log lacks.
  Measurement other{};
  other.fill(0xee);
  d = Evaluate(policy("    runtime_events:\n      - {event: config-digest, digest: \"" +
                      ToHex(other) + "\"}\n"),
               e, &verdict, &log);
  CHECK(d.reasons.back() ==
        "set 'v1': runtime event 'config-digest' has no entry with digest "
        "eeeeeeeeeeeeeeee...");
  d = Evaluate(
      policy("    runtime_events:\n      - {event: app-id, digest: \"" + ToHex(other) + "\"}\n"), e,
      &verdict, &log);
  CHECK(d.reasons.back() == "set 'v1': runtime event 'app-id' is not in the log");
  // The pins survive the YAML round trip.
  auto again = ParsePolicy(SerializePolicy(policy(pin_config)), "again.yaml");
  REQUIRE(again.ok());
  CHECK(again->sets[0].runtime_events == policy(pin_config).sets[0].runtime_events);
}

}  // namespace
}  // namespace tdxrt
