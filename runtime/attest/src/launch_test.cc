// The launch record (tdx-launch RTMR3 event) and the policy rules that read it.
#include "tdxrt/launch.h"

#include <doctest/doctest.h>

#include <cstdlib>

#include "quote_builder.h"
#include "tdxrt/dcap.h"
#include "tdxrt/hex.h"
#include "tdxrt/policy.h"

namespace tdxrt {
namespace {

std::string Text(const RuntimeEvent& e) { return std::string(e.payload.begin(), e.payload.end()); }

TEST_CASE("launch record: canonical text, round trip, one form per record") {
  LaunchRecord r{"zipnet-server", false, {{"ZIPNET_LISTEN", "0.0.0.0:7801"}, {"ZIPNET_A", ""}}};
  auto e = LaunchEvent(r);
  REQUIRE(e.ok());
  CHECK(e->name == "tdx-launch");
  CHECK(Text(*e) ==
        "tdx-launch v1\nprogram zipnet-server\ndevelopment no\nhost ZIPNET_A=\n"
        "host ZIPNET_LISTEN=0.0.0.0:7801\n");
  CHECK(ParseLaunchRecord(Text(*e)).value() == r);
  r.development = true;
  r.host_settings["ZIPNET_X"] = "a=b c\t\"'\\ \xff";
  CHECK(ParseLaunchRecord(SerializeLaunchRecord(r).value()).value() == r);

  CHECK(SerializeLaunchRecord({"zipnet server", false, {}}).status().message() ==
        "launch record: program name 'zipnet server' is not 1-128 characters of A-Z a-z 0-9 - _ .");
  CHECK(SerializeLaunchRecord({"p", false, {{"lower", "x"}}}).status().message() ==
        "launch record: setting name 'lower' is not [A-Z_][A-Z0-9_]*");
  CHECK(SerializeLaunchRecord({"p", false, {{"A", "two\nlines"}}}).status().message() ==
        "launch record: the value of A holds a newline or NUL byte");
}

TEST_CASE("launch record corruptions are named by line") {
  const std::string head = "tdx-launch v1\nprogram p\ndevelopment no\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "tdx-launch event, line 1: the record ends before its header"},
      {"tdx-launch v2\n", "tdx-launch event, line 1: not 'tdx-launch v1'"},
      {"tdx-launch v1", "tdx-launch event, line 1: does not end with a newline"},
      {"tdx-launch v1\n", "tdx-launch event, line 2: the record ends before its program line"},
      {"tdx-launch v1\nprogram a b\n", "tdx-launch event, line 2: not 'program <name>'"},
      {"tdx-launch v1\nprogram p\n",
       "tdx-launch event, line 3: the record ends before its development line"},
      {"tdx-launch v1\nprogram p\ndevelopment maybe\n",
       "tdx-launch event, line 3: not 'development yes' or 'development no'"},
      {head + "guest A=1\n", "tdx-launch event, line 4: not 'host NAME=value'"},
      {head + "host a=1\n",
       "tdx-launch event, line 4: not 'host NAME=value' with NAME of [A-Z_][A-Z0-9_]*"},
      {head + "host A\n",
       "tdx-launch event, line 4: not 'host NAME=value' with NAME of [A-Z_][A-Z0-9_]*"},
      {head + "host B=1\nhost A=2\n",
       "tdx-launch event, line 5: A is out of order (settings are sorted by name)"},
      {head + "host A=1\nhost A=2\n", "tdx-launch event, line 5: A appears twice"},
      {head + std::string("host A=\0\n", 9), "tdx-launch event, line 4: the value of A holds NUL"},
      {head + "host A=1", "tdx-launch event, line 4: does not end with a newline"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.first);
    CHECK(ParseLaunchRecord(c.first).status().message() == c.second);
  }
}

TEST_CASE("a log has exactly one launch record, the environment gives the host's settings") {
  const RuntimeEvent launch = LaunchEvent({"p", false, {}}).value();
  const RuntimeEvent other{"app", {1}};
  CHECK(FindLaunchRecord({other}).status().message() ==
        "the RTMR3 log has no tdx-launch event (what the TD took from the host at launch is "
        "unknown)");
  CHECK(FindLaunchRecord({other, launch}).value().program == "p");
  CHECK(FindLaunchRecord({launch, other, launch}).status().message() ==
        "the RTMR3 log has a second tdx-launch event (event 3, the first is event 1)");

  ::setenv("TDXRT_LAUNCH_TEST_A", "from the host", 1);
  ::unsetenv("TDXRT_LAUNCH_TEST_B");
  auto r = LaunchRecordFromEnvironment("p", true, " TDXRT_LAUNCH_TEST_A  TDXRT_LAUNCH_TEST_B ");
  REQUIRE(r.ok());
  CHECK(r->development);
  CHECK(r->host_settings ==
        std::map<std::string, std::string>{{"TDXRT_LAUNCH_TEST_A", "from the host"},
                                           {"TDXRT_LAUNCH_TEST_B", ""}});
  CHECK(LaunchRecordFromEnvironment("p", false, "A b").status().message() ==
        "TDX_HOST_SETTINGS names 'b', not a setting name");
  ::setenv("TDXRT_LAUNCH_TEST_A", "two\nlines", 1);
  CHECK(LaunchRecordFromEnvironment("p", false, "TDXRT_LAUNCH_TEST_A").status().message() ==
        "launch record: the value of TDXRT_LAUNCH_TEST_A holds a newline or NUL byte");
  ::unsetenv("TDXRT_LAUNCH_TEST_A");
}

TEST_CASE("policies read the launch record: program, host settings, development images") {
  testing::QuoteBuilder b;
  auto verified = [&](const std::vector<RuntimeEvent>& log) {
    b.quote.report.rtmr[3] = ReplayRtmr3(log);
    const auto built = b.Build();
    auto v = Verifier::Create(built.collateral, built.root_pem);
    REQUIRE(v.ok());
    return std::make_pair(ParseEvidence(built.quote).value(),
                          std::get<Verdict>(v->Verify(built.quote, b.now)));
  };
  auto policy = [&](const std::string& top, const std::string& pins) {
    auto p = ParsePolicy("version: 1\n" + top + "sets:\n  - name: v1\n    mr_td: \"" +
                             ToHex(b.quote.report.mr_td) + "\"\n" + pins,
                         "p.yaml");
    REQUIRE(p.ok());
    return *p;
  };
  const std::string pins =
      "    program: zipnet-server\n    host_settings:\n      ZIPNET_INSTANCE: zipnet\n"
      "      ZIPNET_TDX_POLICY: null\n";
  const std::vector<RuntimeEvent> log = {
      LaunchEvent({"zipnet-server", false, {{"ZIPNET_INSTANCE", "zipnet"}}}).value()};
  auto [e, verdict] = verified(log);
  CHECK(Evaluate(policy("", pins), e, &verdict, &log).admitted);
  Decision d = Evaluate(policy("", pins), e, &verdict);
  CHECK(d.reasons.back() == "set 'v1': it pins the launch record and no RTMR3 event log was given");

  const std::vector<std::pair<LaunchRecord, std::string>> refusals = {
      {{"zipnet-client", false, {{"ZIPNET_INSTANCE", "zipnet"}}},
       "set 'v1': the launch record's program is zipnet-client, not zipnet-server"},
      {{"zipnet-server", false, {{"ZIPNET_INSTANCE", "other"}}},
       "set 'v1': the host set ZIPNET_INSTANCE to 'other', not 'zipnet'"},
      {{"zipnet-server", false, {}},
       "set 'v1': the host did not set ZIPNET_INSTANCE (pinned to 'zipnet')"},
      {{"zipnet-server", false, {{"ZIPNET_INSTANCE", "zipnet"}, {"ZIPNET_TDX_POLICY", "/x"}}},
       "set 'v1': the host set ZIPNET_TDX_POLICY (to '/x'), which it pins unset"},
  };
  for (const auto& refusal : refusals) {
    const std::vector<RuntimeEvent> l = {LaunchEvent(refusal.first).value()};
    const auto checked = verified(l);
    d = Evaluate(policy("", pins), checked.first, &checked.second, &l);
    CHECK(!d.admitted);
    CHECK(d.reasons.back() == refusal.second);
  }

  // A development image is refused by every policy that does not allow development, pins or not.
  const std::vector<RuntimeEvent> dev = {
      LaunchEvent({"zipnet-server", true, {{"ZIPNET_INSTANCE", "zipnet"}}}).value()};
  auto [e3, v3] = verified(dev);
  d = Evaluate(policy("", ""), e3, &v3, &dev);
  CHECK(!d.admitted);
  CHECK(d.failed_rule == "launch.development");
  CHECK(d.reasons[0] ==
        "launch.development: the TD's launch record says it runs a development image (TDX gating "
        "off or mock evidence admitted); this policy does not allow development");
  CHECK(Evaluate(policy("allow_development: true\n", pins), e3, &v3, &dev).admitted);

  // Round trip, parse errors and merging.
  const Policy p = policy("allow_development: true\n",
                          pins + "      ZIPNET_X: \"a \\\"quoted\\\" \\\\ value\\t\"\n");
  auto again = ParsePolicy(SerializePolicy(p), "again.yaml");
  REQUIRE(again.ok());
  CHECK(again->allow_development);
  CHECK(again->sets[0].program == p.sets[0].program);
  CHECK(again->sets[0].host_settings == p.sets[0].host_settings);
  CHECK(p.sets[0].host_settings.at("ZIPNET_X") ==
        std::optional<std::string>("a \"quoted\" \\ value\t"));
  CHECK(MergePolicies({{"a.yaml", p}, {"b.yaml", policy("", "")}}).status().message() ==
        "b.yaml: allow_mock/allow_debug/allow_development differ from a.yaml's; merged policies "
        "must agree on them");
  auto bad = ParsePolicy("version: 1\nsets:\n  - name: v1\n    mr_td: \"" + std::string(96, '1') +
                             "\"\n    program: \"a b\"\n    host_settings: {lower: x, A: [1]}\n",
                         "bad.yaml");
  CHECK(bad.status().message() ==
        "bad.yaml:5:14: error: program 'a b' in set 1 is not a plain name (hint: 1-128 characters "
        "of A-Z a-z 0-9 - _ .)\n"
        "bad.yaml:6:21: error: host setting name 'lower' in set 1 is not [A-Z_][A-Z0-9_]*\n"
        "bad.yaml:6:34: error: the value of host setting A in set 1 must be a string or null");
}

TEST_CASE("a policy learned from a reference boot admits it, and only what it shows") {
  testing::QuoteBuilder b;
  const RuntimeEvent compose{"compose-hash", {0xab, 0xcd}};
  const std::vector<RuntimeEvent> log = {
      LaunchEvent({"zipnet-server", false, {{"ZIPNET_INSTANCE", "zipnet"}}}).value(), compose};
  b.quote.report.rtmr[0] = Measurement{};
  b.quote.report.rtmr[0][0] = 0x40;
  b.quote.report.rtmr[3] = ReplayRtmr3(log);
  const auto built = b.Build();
  auto v = Verifier::Create(built.collateral, built.root_pem);
  REQUIRE(v.ok());
  const Evidence e = ParseEvidence(built.quote).value();
  const Verdict verdict = std::get<Verdict>(v->Verify(built.quote, b.now));

  LearnedSetOptions o;
  o.name = "reference";
  auto set = LearnMeasurementSet(e, &log, o);
  REQUIRE_MESSAGE(set.ok(), set.status().message());
  CHECK(set->mr_td == e.report.mr_td);
  for (std::size_t i = 0; i < 3; ++i) CHECK(set->rtmr[i] == e.report.rtmr[i]);
  CHECK_FALSE(set->rtmr[3].has_value());
  CHECK(set->program == std::optional<std::string>("zipnet-server"));
  CHECK(set->host_settings.at("ZIPNET_INSTANCE") == std::optional<std::string>("zipnet"));
  REQUIRE(set->runtime_events.size() == 1);
  CHECK(set->runtime_events[0].event == "compose-hash");
  CHECK(set->runtime_events[0].digest == compose.Digest());
  Policy p;
  p.sets.push_back(*set);
  // Through its text, as tdx-attest writes it.
  const Policy learned = ParsePolicy(SerializePolicy(p), "learned.yaml").value();
  CHECK(Evaluate(learned, e, &verdict, &log).admitted);
  // The same boot with another host setting, or another RTMR0 (another VM shape), is refused.
  const std::vector<RuntimeEvent> other = {
      LaunchEvent({"zipnet-server", false, {{"ZIPNET_INSTANCE", "other"}}}).value(), compose};
  b.quote.report.rtmr[3] = ReplayRtmr3(other);
  auto built2 = b.Build();
  const Evidence e2 = ParseEvidence(built2.quote).value();
  const Verdict verdict2 = std::get<Verdict>(
      Verifier::Create(built2.collateral, built2.root_pem).value().Verify(built2.quote, b.now));
  CHECK_FALSE(Evaluate(learned, e2, &verdict2, &other).admitted);
  b.quote.report.rtmr[3] = ReplayRtmr3(log);
  b.quote.report.rtmr[0][0] = 0x41;
  auto built3 = b.Build();
  const Evidence e3 = ParseEvidence(built3.quote).value();
  const Verdict verdict3 = std::get<Verdict>(
      Verifier::Create(built3.collateral, built3.root_pem).value().Verify(built3.quote, b.now));
  CHECK_FALSE(Evaluate(learned, e3, &verdict3, &log).admitted);
  // Without RTMR0 it admits that one.
  o.rtmrs = {1, 2};
  Policy without0;
  without0.sets.push_back(LearnMeasurementSet(e, &log, o).value());
  CHECK(Evaluate(without0, e3, &verdict3, &log).admitted);

  // Refusals, each named.
  CHECK(LearnMeasurementSet(e, &other, o).status().message().rfind("RTMR3 ", 0) == 0);
  o.rtmrs = {3};
  CHECK(LearnMeasurementSet(e, nullptr, o).status().message() ==
        "RTMR3 cannot be pinned from a quote (0, 1 or 2; RTMR3 through its event log)");
  o.rtmrs = {0, 1, 2};
  const std::vector<RuntimeEvent> dev = {LaunchEvent({"zipnet-server", true, {}}).value()};
  b.quote.report.rtmr[3] = ReplayRtmr3(dev);
  const Evidence e4 = ParseEvidence(b.Build().quote).value();
  CHECK(LearnMeasurementSet(e4, &dev, o).status().message() ==
        "the launch record says development (zipnet-server): a policy admitting it must say "
        "allow_development; learn from a production build");
  b.quote.report.td_attributes[0] |= 1;
  const Evidence debug = ParseEvidence(b.Build().quote).value();
  CHECK(LearnMeasurementSet(debug, nullptr, o)
            .status()
            .message()
            .rfind("the quote is from a debug TD (TDATTRIBUTES.DEBUG)", 0) == 0);
}

}  // namespace
}  // namespace tdxrt
