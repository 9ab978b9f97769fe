// Measurement policies and report_data binding.
#include "tdxrt/policy.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "quote_builder.h"
#include "tdxrt/file.h"
#include "tdxrt/hex.h"
#include "tdxrt/report_data.h"
#include "tdxrt/sha.h"

namespace tdxrt {
namespace {

std::string Hex48(std::uint8_t fill) { return std::string(96, "0123456789abcdef"[fill & 15]); }

Measurement M(std::uint8_t nibble) {
  Measurement m{};
  m.fill(static_cast<std::uint8_t>(nibble * 0x11));
  return m;
}

Evidence TdxEvidence(const Measurement& mr_td, const Measurement& rtmr1) {
  Evidence e;
  e.kind = EvidenceKind::kTdxQuote;
  e.report.mr_td = mr_td;
  e.report.rtmr[1] = rtmr1;
  return e;
}

MeasurementSet Set(std::string name, const Measurement& mr_td) {
  MeasurementSet s;
  s.name = std::move(name);
  s.mr_td = mr_td;
  return s;
}

TEST_CASE("policy parse errors are reported together with file:line:col") {
  auto p = ParsePolicy(R"(version: 1
alow_mock: true
sets:
  - name: a
    mr_td: "abc"
    tcb_status: [UpToDate, Fine]
  - name: a
    mr_td: ")" + Hex48(1) + R"("
    rtmr9: x
)",
                       "p.yaml");
  REQUIRE(!p.ok());
  CHECK(p.status().message() ==
        "p.yaml:2:1: error: unknown key 'alow_mock' in the policy (hint: did you mean "
        "'allow_mock'?)\n"
        "p.yaml:5:12: error: 'mr_td' in set 1: odd number of hex digits (3) (hint: 96 hex digits "
        "(SHA-384))\n"
        "p.yaml:6:28: error: 'Fine' is not a TCB status (hint: UpToDate, SWHardeningNeeded, "
        "ConfigurationNeeded, ConfigurationAndSWHardeningNeeded, OutOfDate, "
        "OutOfDateConfigurationNeeded, Revoked)\n"
        "p.yaml:7:11: error: set name 'a' is used twice (hint: the first is on line 4)\n"
        "p.yaml:9:5: error: unknown key 'rtmr9' in set 2 (hint: did you mean 'rtmr0'?)");
  CHECK(ParsePolicy("version: 1\nsets:\n  - name: \"a b\"\n    mr_td: \"" + Hex48(1) + "\"\n",
                    "n.yaml")
            .status()
            .message() ==
        "n.yaml:3:11: error: set name 'a b' in set 1 is not a plain name (hint: "
        "1-128 characters of A-Z a-z 0-9 . _ + -)");
  CHECK(ParsePolicy("version: 2\nsets: []\n", "q.yaml").status().message() ==
        "q.yaml:1:10: error: policy version 2 is not supported (hint: version: 1)\n"
        "q.yaml:2:7: error: the policy needs a non-empty list 'sets' (hint: each set has at "
        "least 'name' and 'mr_td')");
}

TEST_CASE("a policy that says allow_mock twice is refused, in YAML and in JSON") {
  // Red-team finding: `allow_mock: true` then `false` admitted mock evidence (yaml-cpp takes
  // the first) while jq, PyYAML and python read false.
  const std::string set = "sets:\n  - name: a\n    mr_td: \"" + Hex48(1) + "\"\n";
  auto y = ParsePolicy("version: 1\nallow_mock: true\nallow_mock: false\n" + set, "p.yaml");
  REQUIRE_FALSE(y.ok());
  CHECK(y.status().message() ==
        "p.yaml:3:1: error: duplicate key 'allow_mock' (first at line 2); readers disagree on "
        "which one counts (hint: keep one)");
  auto j = ParsePolicy(R"({"version": 1, "allow_mock": true, "allow_mock": false, "sets": [
    {"name": "a", "mr_td": ")" +
                           Hex48(1) + R"("}]})",
                       "p.json");
  REQUIRE_FALSE(j.ok());
  CHECK(j.status().message() ==
        "p.json:1:36: error: duplicate key 'allow_mock' (first at line 1); readers disagree on "
        "which one counts (hint: keep one)");
}

TEST_CASE("policy round trip and rollouts: any matching set admits") {
  Policy p;
  MeasurementSet old_set = Set("v1", M(1));
  old_set.rtmr[1] = M(2);
  MeasurementSet new_set = Set("v2", M(3));
  new_set.tcb_status = {TcbStatus::kUpToDate, TcbStatus::kSwHardeningNeeded};
  p.sets = {old_set, new_set};
  auto again = ParsePolicy(SerializePolicy(p, "test policy\nsecond line"), "x.yaml");
  REQUIRE_MESSAGE(again.ok(), again.status().message());
  REQUIRE(again->sets.size() == 2);
  CHECK(again->sets[0].rtmr[1] == M(2));
  CHECK(again->sets[1].tcb_status.size() == 2);

  Verdict up;
  Verdict hardening;
  hardening.status = TcbStatus::kSwHardeningNeeded;
  auto d = Evaluate(*again, TdxEvidence(M(1), M(2)), &up);
  CHECK(d.admitted);
  CHECK(d.matched_set == "v1");
  d = Evaluate(*again, TdxEvidence(M(3), M(9)), &hardening);
  CHECK(d.admitted);
  CHECK(d.matched_set == "v2");
  d = Evaluate(*again, TdxEvidence(M(1), M(2)), &hardening);
  CHECK(!d.admitted);
  CHECK(d.reasons ==
        std::vector<std::string>{"set 'v1': TCB status SWHardeningNeeded is not accepted",
                                 "set 'v2': MRTD 1111111111111111... is not 3333333333333333..."});
  d = Evaluate(*again, TdxEvidence(M(1), M(4)), &up);
  CHECK(!d.admitted);
  CHECK(d.reasons[0] == "set 'v1': RTMR1 4444444444444444... is not 2222222222222222...");
}

TEST_CASE("merging policies for a rotation: order kept, duplicates dropped, names kept apart") {
  Policy a;
  a.sets = {Set("img", M(1)), Set("img-two-pass", M(2))};
  Policy b;
  b.sets = {Set("img", M(3)), Set("img-two-pass", M(2)), Set("other", M(4))};
  auto m = MergePolicies({{"dir/v1-policy.yaml", a}, {"dir/v2-policy.yaml", b}});
  REQUIRE_MESSAGE(m.ok(), m.status().message());
  std::vector<std::string> names;
  for (const auto& s : m->sets) names.push_back(s.name);
  CHECK(names == std::vector<std::string>{"img", "img-two-pass", "img+v2-policy.yaml", "other"});
  CHECK(m->sets[2].mr_td == M(3));
  // Both images are admitted by the merged policy, and it survives a round trip.
  auto again = ParsePolicy(SerializePolicy(*m), "merged.yaml");
  REQUIRE_MESSAGE(again.ok(), again.status().message());
  Verdict up;
  CHECK(Evaluate(*again, TdxEvidence(M(1), M(0)), &up).matched_set == "img");
  CHECK(Evaluate(*again, TdxEvidence(M(3), M(0)), &up).matched_set == "img+v2-policy.yaml");

  Policy mock = b;
  mock.allow_mock = true;
  auto bad = MergePolicies({{"a.yaml", a}, {"b.yaml", mock}});
  CHECK(bad.status().message() ==
        "b.yaml: allow_mock/allow_debug/allow_development differ from a.yaml's; merged policies "
        "must agree on them");
  Policy c;
  c.sets = {Set("img", M(5))};
  bad = MergePolicies({{"x/p.yaml", a}, {"y/p.yaml", b}, {"z/p.yaml", c}});
  CHECK(bad.status().message() ==
        "z/p.yaml: set 'img' differs from a set of the same name and file name");
  CHECK(MergePolicies({}).status().message() == "no policy to merge");
}

TEST_CASE("LoadPolicy reads a policy file (at most 4 MiB) and names the file in errors") {
  const auto dir = std::filesystem::temp_directory_path() / "tdxrt_load_policy_test";
  std::filesystem::create_directories(dir);
  Policy p;
  p.sets = {Set("v1", M(1))};
  const std::string ok = (dir / "ok.yaml").string();
  REQUIRE(WriteFileAtomic(ok, std::string_view(SerializePolicy(p))).ok());
  auto loaded = LoadPolicy(ok);
  REQUIRE_MESSAGE(loaded.ok(), loaded.status().message());
  CHECK(loaded->sets[0].name == "v1");
  const std::string bad = (dir / "bad.yaml").string();
  REQUIRE(WriteFileAtomic(bad, std::string_view("version: 2\n")).ok());
  CHECK(LoadPolicy(bad).status().message().rfind(bad + ":1:", 0) == 0);
  const std::string big = (dir / "big.yaml").string();
  REQUIRE(WriteFileAtomic(big, std::string_view(std::string((4 << 20) + 1, '#'))).ok());
  CHECK(LoadPolicy(big).status().message().find(big) != std::string::npos);
  CHECK_FALSE(LoadPolicy(big).ok());
  CHECK(LoadPolicy((dir / "absent.yaml").string()).status().message().find("absent.yaml") !=
        std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("unverified quotes, debug TDs and mock evidence are rejected") {
  Policy p;
  p.sets = {Set("v1", M(1))};
  Evidence e = TdxEvidence(M(1), M(0));
  auto d = Evaluate(p, e, nullptr);
  CHECK(!d.admitted);
  CHECK(d.measurement_matches == std::vector<std::string>{"v1"});
  CHECK(d.reasons[0] ==
        "the quote was not verified (no collateral): measurements alone prove nothing");

  Verdict up;
  e.report.td_attributes[0] = 1;
  d = Evaluate(p, e, &up);
  CHECK(!d.admitted);
  CHECK(d.reasons[0] == "the TD is a debug TD (TDATTRIBUTES.DEBUG): its memory is not private");
  p.allow_debug = true;
  CHECK(Evaluate(p, e, &up).admitted);

  Evidence mock = TdxEvidence(M(1), M(0));
  mock.kind = EvidenceKind::kMock;
  d = Evaluate(p, mock, &up);  // even with a verdict passed in by mistake
  CHECK(!d.admitted);
  CHECK(d.reasons[0] ==
        "mock evidence (not from TDX hardware): this policy admits only verified TDX quotes");
  p.allow_mock = true;
  d = Evaluate(p, mock, nullptr);
  CHECK(d.admitted);
  CHECK(d.mock);
}

TEST_CASE("report_data binding") {
  const Bytes key = {1, 2, 3};
  const Bytes nonce = {4};
  const std::vector<ByteSpan> fields = {key, nonce};
  const ReportData rd = BindReportData("zipnet/test/v1", fields);
  CHECK(CheckReportData(rd, "zipnet/test/v1", fields).ok());
  // Field boundaries are not encoded (the specified form): uses must fix their field sizes.
  const Bytes a = {1, 2}, b = {3, 4};
  const std::vector<ByteSpan> shifted = {a, b};
  CHECK(BindReportData("zipnet/test/v1", shifted) == rd);
  CHECK(BindReportData("zipnet/other/v1", fields) != rd);
  auto st = CheckReportData(rd, "zipnet/other/v1", fields);
  REQUIRE(!st.ok());
  CHECK(st.message().rfind("report_data " + ToHex(rd) +
                               " is not the binding of \"zipnet/other/v1\" over 2 field(s), ",
                           0) == 0);
  // Known answers: SHA-512 of the concatenation, computed here with the hash alone.
  const std::vector<ByteSpan> none;
  CHECK(ToHex(BindReportData("abc", none)) == ToHex(Sha512(Bytes{'a', 'b', 'c'})));
  Bytes instance(32, 0x11), ed(32, 0x22), x(32, 0x33);
  Bytes all = {};
  const std::string label = "zipnet/bundle/v1";
  all.insert(all.end(), label.begin(), label.end());
  for (const Bytes* f : {&instance, &ed, &x}) all.insert(all.end(), f->begin(), f->end());
  const std::vector<ByteSpan> bundle = {instance, ed, x};
  CHECK(ToHex(BindReportData(label, bundle)) == ToHex(Sha512(all)));
}

}  // namespace
}  // namespace tdxrt
