// Expected event logs and diagnose: predicted events per host, the file format (round trip and
// corruptions with exact diagnoses), and diagnosis of synthetic logs and register values where
// one input was changed at a time, plus the real CC event log in ../shared/vectors.
#include "mrtd/diagnose.h"

#include <doctest/doctest.h>

#include <filesystem>

#include "mrtd/expected_log.h"
#include "mrtd/rtmr0.h"
#include "tdxrt/file.h"
#include "tdxrt/hex.h"
#include "tdxrt/json.h"
#include "test_builders.h"

using mrtd::testing::BuildEventLog;
using mrtd::testing::BuildFirmware;
using mrtd::testing::BuildPe;
using mrtd::testing::FwLayout;
using mrtd::testing::FwSection;
using mrtd::testing::LogEvent;
using mrtd::testing::Pattern;
using tdxrt::Bytes;

namespace {

struct Inputs {
  Bytes firmware, kernel, initrd;
  std::string cmdline = "console=ttyS0";
  std::string memory = "512M";

  Inputs() {
    std::vector<FwSection> secs = {
        {mrtd::TdvfSectionType::kBfv, 0xffff0000, 0x3000, mrtd::kAttrMrExtend, Pattern(0x3000, 1)},
        {mrtd::TdvfSectionType::kCfv, 0xfffe0000, 0x2000, 0, Pattern(0x2000, 2)},
        {mrtd::TdvfSectionType::kTempMem, 0x800000, 0x1000, 0, {}},
        {mrtd::TdvfSectionType::kTdHob, 0x809000, 0x2000, 0, {}},
    };
    firmware = BuildFirmware(secs, FwLayout::kGuidTable).image;
    kernel = BuildPe(mrtd::testing::MinimalBzImage(0x2000)).image;
    initrd = Pattern(0x12345, 7);
  }

  mrtd::BootInputs Boot() const {
    mrtd::BootInputs b;
    b.image = "demo";
    b.firmware = firmware;
    b.kernel = kernel;
    b.initrd = tdxrt::ByteSpan(initrd);
    b.cmdline = cmdline;
    b.memory = memory;
    return b;
  }
};

mrtd::VariantSpec Spec(const char* host, mrtd::PageOrder o, mrtd::KernelHeaderMode h,
                       mrtd::OvmfEventLayout l) {
  return {host, {}, o, h, l};
}

const mrtd::VariantSpec kPatchedOld =
    Spec("old", mrtd::PageOrder::kSinglePass, mrtd::KernelHeaderMode::kQemuPatched,
         mrtd::OvmfEventLayout::kPreStable202411);
const mrtd::VariantSpec kUnmodifiedNew =
    Spec("new", mrtd::PageOrder::kSinglePass, mrtd::KernelHeaderMode::kUnmodified,
         mrtd::OvmfEventLayout::kStable202411);

mrtd::ExpectedLog Predict(const Inputs& in, std::vector<mrtd::VariantSpec> specs) {
  auto log = mrtd::PredictEventLog(in.Boot(), specs);
  REQUIRE_MESSAGE(log.ok(), log.status().message());
  return *log;
}

// A CC event log with the events a variant predicts (the host's RTMR0 events, which are not
// predicted, with made-up data and digests).
Bytes LogOf(const mrtd::ExpectedVariant& v) {
  std::vector<LogEvent> ev;
  for (const auto& e : v.events) {
    ev.push_back({static_cast<std::uint32_t>(e.rtmr + 1), e.type, e.data.value_or(Bytes(8, 0)),
                  Bytes(e.digest.begin(), e.digest.end())});
  }
  return BuildEventLog(ev, 0x2000).bytes;
}

mrtd::ActualBoot FromLog(const Bytes& bytes) {
  auto log = mrtd::ParseCcEventLog(bytes);
  REQUIRE_MESSAGE(log.ok(), log.status().message());
  auto r = mrtd::ReplayRtmrs(*log);
  REQUIRE(r.ok());
  mrtd::ActualBoot a;
  a.source = "test log";
  for (std::size_t i = 0; i < 4; ++i) a.rtmr[i] = (*r)[i];
  a.events = log->events;
  return a;
}

mrtd::ActualBoot FromValues(const mrtd::ExpectedVariant& v) {
  mrtd::ActualBoot a;
  a.source = "test values";
  a.mr_td = v.mr_td;
  a.rtmr[1] = v.rtmr1;
  a.rtmr[2] = v.rtmr2;
  return a;
}

// The closest variant's findings, as "where: cause" lines.
std::vector<std::string> Findings(const mrtd::Diagnosis& d) {
  std::vector<std::string> out;
  for (const auto& f : d.variants[d.closest].findings) {
    std::string w = f.reg;
    if (f.expected_event) w += " #" + std::to_string(*f.expected_event);
    out.push_back(w + ": " + f.cause);
  }
  return out;
}

bool StartsWith(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

std::vector<mrtd::ExpectedEvent> Reg(const mrtd::ExpectedVariant& v, int rtmr) {
  std::vector<mrtd::ExpectedEvent> out;
  for (const auto& e : v.events) {
    if (e.rtmr == rtmr) out.push_back(e);
  }
  return out;
}

std::string ParseError(const nlohmann::ordered_json& j) {
  auto r = mrtd::ParseExpectedLog(tdxrt::DumpJson(j), "x.json");
  return r.ok() ? "ok" : r.status().message();
}

}  // namespace

TEST_CASE("expected log: events per host, kernel alternatives grouped by digest") {
  Inputs in;
  const mrtd::ExpectedLog log = Predict(in, {kPatchedOld, kUnmodifiedNew});
  REQUIRE(log.variants.size() == 2);
  const auto& old_v = log.variants[0];
  const auto& new_v = log.variants[1];
  // RTMR0 only for OVMF >= stable202411; RTMR1: kernel, actions (and the separator); RTMR2:
  // cmdline, initrd.
  CHECK(Reg(old_v, 0).empty());
  CHECK(Reg(new_v, 0).size() == 13);
  const auto old = Reg(old_v, 1), nw = Reg(new_v, 1);
  CHECK(old.size() == 4);
  CHECK(nw.size() == 5);
  CHECK(Reg(old_v, 2).size() == 2);
  CHECK(mrtd::ReplayExpected(old_v.events, 1) == old_v.rtmr1);
  CHECK(mrtd::ReplayExpected(new_v.events, 2) == new_v.rtmr2);
  CHECK(old_v.rtmr2 == new_v.rtmr2);
  CHECK(old[0].type == mrtd::kEvEfiBootServicesApplication);
  // Patched at 512M: the unmodified header, then memory sizes grouped by digest (2G and up
  // share q35's 2 GiB of low RAM, so the initrd lands at the same address).
  std::vector<std::string> causes;
  for (const auto& a : old[0].alternatives) causes.push_back(a.cause.substr(0, 60));
  CHECK(causes ==
        std::vector<std::string>{"the kernel header mode: the host measured the kernel as buil",
                                 "the memory size: QEMU placed the initrd for MEMORY=256M, not",
                                 "the memory size: QEMU placed the initrd for MEMORY=1G, not t",
                                 "the memory size: QEMU placed the initrd for MEMORY=2G, 4G or"});
  CHECK(old[0].alternatives[0].digest == nw[0].digest);
  // Unmodified: the patched header at the image's memory first.
  REQUIRE(nw[0].alternatives.size() == 4);
  CHECK(nw[0].alternatives[0].digest == old[0].digest);
  CHECK(nw[0].alternatives[0].cause.find("at the image's MEMORY=512M") != std::string::npos);
  // Predictable data is carried: the action texts and the separator's four zero bytes.
  REQUIRE(nw[2].data.has_value());
  CHECK(*nw[2].data == Bytes(4, 0));
}

TEST_CASE("expected log file: round trip, and every corruption named by its field") {
  Inputs in;
  const mrtd::ExpectedLog log = Predict(in, {kPatchedOld, kUnmodifiedNew});
  const nlohmann::ordered_json j = mrtd::ExpectedLogJson(log);
  auto back = mrtd::ParseExpectedLog(tdxrt::DumpJson(j), "x.json");
  REQUIRE_MESSAGE(back.ok(), back.status().message());
  CHECK(mrtd::ExpectedLogJson(*back) == j);
  CHECK(back->has_events());

  auto mutate = [&](auto f) {
    nlohmann::ordered_json c = j;
    f(c);
    return ParseError(c);
  };
  CHECK(mutate([](auto& c) { c["eventlog_version"] = 2; }) ==
        "x.json: eventlog_version: unsupported (this mrtd-calc reads version 1)");
  CHECK(mutate([](auto& c) { c.erase("hosts"); }) == "x.json: hosts: missing");
  CHECK(mutate([](auto& c) { c["hosts"] = nlohmann::ordered_json::array(); }) ==
        "x.json: hosts: empty");
  CHECK(mutate([](auto& c) { c["hosts"][1]["rtmr1"] = "zz"; }) ==
        "x.json: hosts[1].rtmr1: not 96 hex digits (invalid hex character 'z' at position 1)");
  CHECK(mutate([](auto& c) { c["hosts"][0]["events"][5]["register"] = "RTMR3"; }) ==
        "x.json: hosts[0].events[5].register: 'RTMR3' is not RTMR0, RTMR1 or RTMR2");
  CHECK(mutate([](auto& c) { c["hosts"][0]["events"][0]["type_value"] = -1; }) ==
        "x.json: hosts[0].events[0].type_value: not a 32-bit unsigned number");
  CHECK(mutate([](auto& c) { c["hosts"][0]["page_order"] = "three-pass"; }) ==
        "x.json: hosts[0].page_order: 'three-pass' is not single-pass or two-pass");
  CHECK(mutate([](auto& c) { c["hosts"][0]["events"][0]["alternatives"][0].erase("cause"); }) ==
        "x.json: hosts[0].events[0].alternatives[0].cause: missing");
  CHECK(mutate([](auto& c) {
          c["hosts"][0]["events"][1]["data"] = "0g";
        }).rfind("x.json: hosts[0].events[1].data: not hex", 0) == 0);
  // An event changed without its register: refused, naming the register and its replay.
  const std::string replay =
      mutate([](auto& c) { c["hosts"][0]["events"][4]["digest"] = std::string(96, 'a'); });
  CHECK(StartsWith(replay, "x.json: hosts[0].rtmr2: its events replay to "));
  CHECK(mutate([](auto& c) { c["hosts"][1]["mr_td"] = c["mr_td"]["two-pass"]; }) ==
        "x.json: hosts[1].mr_td: is not the file's mr_td.single-pass");
  CHECK(mutate([](auto& c) {
          for (int i = 0; i < 33; ++i) c["hosts"].push_back(c["hosts"][0]);
        }) == "x.json: hosts: 35 entries, more than 32");
  // hosts[1] (stable202411) starts with RTMR0's TD HOB event, which is the host's.
  CHECK(mutate([](auto& c) { c["hosts"][1]["events"][0]["digest"] = std::string(96, 'a'); }) ==
        "x.json: hosts[1].events[0].digest: given for an event that is not predicted");
  CHECK(mutate([](auto& c) { c["hosts"][1]["events"][13]["predicted"] = false; }) ==
        "x.json: hosts[1].events[13].predicted: only RTMR0 events may be left unpredicted");
  CHECK(mutate([](auto& c) { c["hosts"][1]["events"][0]["predicted"] = "no"; }) ==
        "x.json: hosts[1].events[0].predicted: is not true or false");
  CHECK(ParseError(nlohmann::ordered_json::array()) == "x.json: (top level): is not an object");
  CHECK(ParseError({{"a", 1}}) ==
        "x.json: (top level): neither an expected event log (eventlog_version) nor a "
        "measurements file (mr_td, rtmr1)");
  auto dup = mrtd::ParseExpectedLog(R"({"eventlog_version": 1, "eventlog_version": 1})", "x.json");
  CHECK_FALSE(dup.ok());
}

TEST_CASE("diagnose: a log of the image's own boot matches its host") {
  Inputs in;
  const mrtd::ExpectedLog log = Predict(in, {kPatchedOld, kUnmodifiedNew});
  for (std::size_t v = 0; v < 2; ++v) {
    mrtd::ActualBoot a = FromLog(LogOf(log.variants[v]));
    a.mr_td = log.variants[v].mr_td;
    const mrtd::Diagnosis d = mrtd::Diagnose(log, a);
    CHECK(d.match);
    CHECK(d.closest == v);
    CHECK(Findings(d).empty());
  }
}

TEST_CASE("diagnose: one input changed at a time, in an event log") {
  Inputs in;
  const mrtd::ExpectedLog expected = Predict(in, {kPatchedOld});
  auto diagnose_changed = [&](Inputs changed, mrtd::VariantSpec spec) {
    const mrtd::ExpectedLog actual = Predict(changed, {spec});
    const mrtd::Diagnosis d = mrtd::Diagnose(expected, FromLog(LogOf(actual.variants[0])));
    CHECK_FALSE(d.match);
    return Findings(d);
  };
  {
    Inputs c = in;
    c.memory = "1G";
    const auto f = diagnose_changed(c, kPatchedOld);
    REQUIRE(f.size() == 1);
    CHECK(f[0] ==
          "RTMR1 #1: the memory size: QEMU placed the initrd for MEMORY=1G, not the 512M the image "
          "was measured for");
  }
  {
    Inputs c = in;
    c.memory = "3G";  // not among the sizes tried, but the same low RAM as 2G
    const auto f = diagnose_changed(c, kPatchedOld);
    REQUIRE(f.size() == 1);
    CHECK(StartsWith(f[0],
                     "RTMR1 #1: the memory size: QEMU placed the initrd for MEMORY=2G, 4G or 8G"));
  }
  {
    mrtd::VariantSpec s = kPatchedOld;
    s.kernel_header = mrtd::KernelHeaderMode::kUnmodified;
    const auto f = diagnose_changed(in, s);
    REQUIRE(f.size() == 1);
    CHECK(StartsWith(f[0],
                     "RTMR1 #1: the kernel header mode: the host measured the kernel as built"));
  }
  {
    mrtd::VariantSpec s = kPatchedOld;
    s.ovmf_layout = mrtd::OvmfEventLayout::kStable202411;
    const auto f = diagnose_changed(in, s);
    REQUIRE(f.size() == 1);
    CHECK(StartsWith(
        f[0],
        "RTMR1: the separator's register: OVMF measured the ReadyToBoot separator into RTMR1"));
  }
  {
    Inputs c = in;
    c.cmdline = "console=ttyS0 quiet";  // same length class? no: the patched header also moves
    const auto f = diagnose_changed(c, kPatchedOld);
    REQUIRE(f.size() == 1);  // the cmdline pointer does not depend on its length: only RTMR2
    CHECK(f[0] ==
          "RTMR2 #1: the kernel command line: the load options' digest is not that of "
          "\"console=ttyS0\" + \" initrd=initrd\": the host passed another -append (the log holds "
          "only its digest)");
  }
  {
    Inputs c = in;
    c.initrd[100] ^= 1;  // same size: only RTMR2's initrd event
    const auto f = diagnose_changed(c, kPatchedOld);
    REQUIRE(f.size() == 1);
    CHECK(f[0] ==
          "RTMR2 #2: another initrd: not the image's initramfs (74565 bytes): INITRD= replaced, or "
          "another image");
  }
  {
    Inputs c = in;
    c.kernel = BuildPe(mrtd::testing::MinimalBzImage(0x3000)).image;
    const auto f = diagnose_changed(c, kPatchedOld);
    REQUIRE(f.size() == 1);
    CHECK(StartsWith(f[0],
                     "RTMR1 #1: another kernel: the digest is the image's kernel under neither "
                     "header mode at any memory size tried (256M, 512M, 1G, 2G, 4G, 8G)"));
  }
  {
    // A kernel whose stub measures nothing: RTMR2 empty.
    const mrtd::ExpectedLog actual = Predict(in, {kPatchedOld});
    mrtd::ExpectedVariant v = actual.variants[0];
    std::erase_if(v.events, [](auto& e) { return e.rtmr == 2; });
    const auto f = Findings(mrtd::Diagnose(expected, FromLog(LogOf(v))));
    REQUIRE(f.size() == 1);
    CHECK(StartsWith(f[0], "RTMR2: RTMR2 holds no events: the kernel's EFI stub measured neither"));
  }
  {
    // An extra event at the end of RTMR1 (a boot loader started another image).
    mrtd::ExpectedVariant v = expected.variants[0];
    mrtd::ExpectedEvent extra = v.events[0];
    extra.digest[0] ^= 1;
    v.events.insert(v.events.begin() + 4, extra);
    const auto f = Findings(mrtd::Diagnose(expected, FromLog(LogOf(v))));
    REQUIRE(f.size() == 1);
    CHECK(StartsWith(
        f[0],
        "RTMR1: an event the image's boot does not produce: EV_EFI_BOOT_SERVICES_APPLICATION"));
  }
}

TEST_CASE("diagnose: register values only (a quote): MR_TD page order, and causes by replay") {
  Inputs in;
  const mrtd::ExpectedLog expected = Predict(in, {kPatchedOld});
  const auto& v = expected.variants[0];
  {
    mrtd::ActualBoot a = FromValues(v);
    CHECK(mrtd::Diagnose(expected, a).match);
    a.mr_td = expected.mr_td_two_pass;
    const auto f = Findings(mrtd::Diagnose(expected, a));
    REQUIRE(f.size() == 1);
    CHECK(f[0] ==
          "MR_TD: the page order: this is the image's firmware added two-pass, as Canonical's QEMU "
          "8.2 TDX build (KVM TDX v19) does; the host is not old (upstream KVM with QEMU >= 10.1)");
    a.mr_td->at(0) ^= 1;
    CHECK(StartsWith(Findings(mrtd::Diagnose(expected, a))[0], "MR_TD: another firmware"));
  }
  {
    Inputs c = in;
    c.memory = "256M";
    mrtd::VariantSpec s = kPatchedOld;
    s.ovmf_layout = mrtd::OvmfEventLayout::kStable202411;  // and a newer OVMF
    const auto f = Findings(mrtd::Diagnose(expected, FromValues(Predict(c, {s}).variants[0])));
    REQUIRE(f.size() == 1);
    CHECK(
        f[0] ==
        std::string("RTMR1: the memory size: QEMU placed the initrd for MEMORY=256M, not the 512M "
                    "the image was measured for; and ") +
            "the separator's register: OVMF measured the ReadyToBoot separator into RTMR1, as "
            "edk2-stable202411 and later do; the image was measured for an older OVMF "
            "(pre-stable202411), so the OVMF that ran is newer than that, or the image's OVMF "
            "release (recipe) is wrong");
  }
  {
    mrtd::ActualBoot a = FromValues(v);
    a.rtmr[2] = tdxrt::Sha384Digest{};
    const auto f = Findings(mrtd::Diagnose(expected, a));
    REQUIRE(f.size() == 1);
    CHECK(StartsWith(f[0], "RTMR2: RTMR2 holds no events"));
  }
}

TEST_CASE("diagnose: the closest of several hosts, and a log that is not the quote's") {
  Inputs in;
  const mrtd::ExpectedLog expected = Predict(in, {kPatchedOld, kUnmodifiedNew});
  mrtd::ActualBoot a = FromValues(expected.variants[1]);
  mrtd::Diagnosis d = mrtd::Diagnose(expected, a);
  CHECK(d.match);
  CHECK(d.variants[d.closest].host == "new");
  CHECK(d.variants[0].findings.size() == 1);  // RTMR1: header mode and separator at once
  // A log that does not replay to the quote's registers is named, and nothing matches.
  mrtd::ActualBoot b = FromLog(LogOf(expected.variants[0]));
  b.rtmr[1] = expected.variants[1].rtmr1;
  d = mrtd::Diagnose(expected, b);
  CHECK_FALSE(d.match);
  REQUIRE(!d.notes.empty());
  CHECK(StartsWith(d.notes[0], "the event log replays RTMR1 to "));
}

TEST_CASE("diagnose: the real CC event log (shared/vectors/dstack/ccel.bin)") {
  const auto bytes = mrtd::testing::SharedFile("vectors/dstack/ccel.bin");
  if (!bytes) return;
  Inputs in;
  // dstack's log: stable202411 layout (separator in RTMR1), its own kernel, RTMR2 empty; RTMR0
  // has every event the image decides as predicted, except the variable store (this test's
  // firmware is a builder's, not an OVMF: cli.boot_debian13 checks Debian 13's OVMF.fd, whose
  // variable store is dstack's byte for byte).
  for (const auto& spec : {kPatchedOld, kUnmodifiedNew}) {
    const mrtd::ExpectedLog expected = Predict(in, {spec});
    const auto f = Findings(mrtd::Diagnose(expected, FromLog(*bytes)));
    std::vector<std::string> want;
    if (spec.ovmf_layout == mrtd::OvmfEventLayout::kStable202411) {
      want.push_back("RTMR0 #2: the variable store (CFV) is not the image's firmware's");
    }
    want.push_back("RTMR1 #1: another kernel");
    if (spec.ovmf_layout == mrtd::OvmfEventLayout::kPreStable202411) {
      want.push_back("RTMR1: the separator's register: OVMF measured the ReadyToBoot separator");
    }
    want.push_back("RTMR2: RTMR2 holds no events");
    REQUIRE(f.size() == want.size());
    for (std::size_t i = 0; i < f.size(); ++i) CHECK(StartsWith(f[i], want[i]));
  }
}

TEST_CASE(
    "RTMR0: every predicted event but the variable store is the real log's, data and digest") {
  const auto bytes = mrtd::testing::SharedFile("vectors/dstack/ccel.bin");
  if (!bytes) return;
  auto log = mrtd::ParseCcEventLog(*bytes);
  REQUIRE(log.ok());
  std::vector<const mrtd::CcEvent*> real;
  for (const auto& e : log->events) {
    if (e.mr_index == 1) real.push_back(&e);
  }
  Inputs in;
  auto md = mrtd::ParseTdvf(in.firmware);
  REQUIRE(md.ok());
  auto predicted = mrtd::PredictRtmr0Events(in.firmware, *md);
  REQUIRE_MESSAGE(predicted.ok(), predicted.status().message());
  REQUIRE(predicted->size() == real.size());  // 13
  int compared = 0;
  for (std::size_t i = 0; i < real.size(); ++i) {
    const mrtd::ExpectedEvent& p = (*predicted)[i];
    CAPTURE(i);
    CHECK(p.type == real[i]->type);
    if (!p.predicted || p.type == mrtd::kEvEfiPlatformFirmwareBlob2) continue;
    REQUIRE(p.data.has_value());
    CHECK(tdxrt::ToHex(*p.data) == tdxrt::ToHex(real[i]->data));
    CHECK(tdxrt::ToHex(p.digest) == tdxrt::ToHex(*real[i]->Sha384()));
    ++compared;
  }
  CHECK(compared == 8);  // SecureBoot, PK, KEK, db, dbx, separator, BootOrder, Boot0000
  // The variable store's event: same description, base and length layout (the digest is the
  // firmware's own).
  const mrtd::ExpectedEvent& cfv = (*predicted)[1];
  CHECK(cfv.data->size() == real[1]->data.size());
  CHECK(std::equal(cfv.data->begin(), cfv.data->begin() + 42, real[1]->data.begin()));
}
