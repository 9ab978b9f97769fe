// RTMR3 runtime events: digests (known answers computed independently with Python's hashlib),
// the log's corruptions with exact diagnoses, and Rtmr3Device against a fake sysfs tree whose
// "kernel" (an inotify thread) extends on every 48-byte write, as the tdx_guest driver does.
#include "tdxrt/rtmr.h"

#include <doctest/doctest.h>

#include <filesystem>

#include "fake_rtmr.h"
#include "tdx_test/support.h"
#include "tdxrt/file.h"
#include "tdxrt/hex.h"

namespace tdxrt {
namespace {

namespace fs = std::filesystem;

using tdx_test::TempDir;

RuntimeEvent Event(std::string name, const std::string& payload_hex) {
  return RuntimeEvent{std::move(name), FromHex(payload_hex).value()};
}

TEST_CASE("runtime event digests and RTMR3 replay (dstack's convention)") {
  const RuntimeEvent e = Event("compose-hash", "abcd");
  CHECK(ToHex(e.Digest()) ==
        "e910bac274d132c3c6c23ac10103947a0a07783a277d9aab6bb12db5749cdb296275a888328c43479a8be40268"
        "a72a62");
  CHECK(ToHex(ReplayRtmr3({e})) ==
        "b5b51cb4f4c263fecc4b6e63816087a071e7d2439380b46673af2d4a6c377c65feb98179848ca38c9fd637c550"
        "5a7a6f");
  CHECK(RuntimeEventLine(e) == "{\"imr\":3,\"event_type\":134217729,\"digest\":\"" +
                                   ToHex(e.Digest()) +
                                   "\",\"event\":\"compose-hash\",\"event_payload\":\"abcd\"}");
  auto parsed = ParseRuntimeEventLog(RuntimeEventLine(e) + "\n\n" +
                                     RuntimeEventLine(Event("key", "")) + "\n");
  REQUIRE(parsed.ok());
  REQUIRE(parsed->size() == 2);
  CHECK(parsed->at(1).name == "key");
  CHECK(CheckRtmr3Replay(*parsed, ReplayRtmr3(*parsed)).ok());
  Measurement wrong{};
  CHECK(CheckRtmr3Replay(*parsed, wrong).message() ==
        "RTMR3 replay mismatch: the 2 events of the log give " + ToHex(ReplayRtmr3(*parsed)) +
            ", the quote has " + std::string(96, '0'));
}

TEST_CASE("runtime event log corruptions are named by line") {
  const std::string good = RuntimeEventLine(Event("a", "01"));
  auto err = [&](const std::string& bad) {
    return ParseRuntimeEventLog(good + "\n" + bad + "\n").status().message();
  };
  CHECK(err("[1]") == "event log line 2: not a JSON object");
  std::string line = good;
  line.replace(line.find("\"imr\":3"), 7, "\"imr\":2");
  CHECK(err(line) == "event log line 2: 'imr' is not 3 (only RTMR3 events are runtime events)");
  line = good;
  line.replace(line.find("134217729"), 9, "1");
  CHECK(err(line) == "event log line 2: 'event_type' is not 134217729 (0x08000001)");
  line = good;
  line.replace(line.find("\"01\""), 4, "\"02\"");
  CHECK(err(line) == "event log line 2: digest " + ToHex(Event("a", "01").Digest()) +
                         " is not the digest of event 'a' and its payload (" +
                         ToHex(Event("a", "02").Digest()) + ")");
  line = good;
  line.replace(line.find("\"01\""), 4, "\"0g\"");
  CHECK(err(line) == "event log line 2: event_payload: invalid hex character 'g' at position 2");
  CHECK(err("{\"imr\":3,\"event_type\":134217729}") ==
        "event log line 2: 'event' is missing or not a string");
}

TEST_CASE("Rtmr3Device extends through the sysfs interface and keeps a replayable log") {
  TempDir t;
  FakeRtmr fake(t.path / "measurements");
  Rtmr3Device::Options o;
  o.measurements = t.path / "measurements";
  o.log = t.path / "run/events.jsonl";
  Rtmr3Device dev(o);
  auto first = dev.Extend(Event("config-digest", "00112233"));
  REQUIRE_MESSAGE(first.ok(), first.status().message());
  auto second = dev.Extend(Event("key-hash", "ff"));
  REQUIRE_MESSAGE(second.ok(), second.status().message());
  auto log = ReadFile(o.log);
  REQUIRE(log.ok());
  auto events = ParseRuntimeEventLog(std::string(log->begin(), log->end()));
  REQUIRE(events.ok());
  CHECK(events->size() == 2);
  CHECK(ReplayRtmr3(*events) == *second);
  CHECK(*dev.Read() == *second);
}

TEST_CASE("Rtmr3Device names a concurrent extender, says why when the interface is absent") {
  TempDir t;
  FakeRtmr fake(t.path / "measurements");
  fake.rogue = true;
  Rtmr3Device::Options o;
  o.measurements = t.path / "measurements";
  o.log = t.path / "events.jsonl";
  o.readback_wait = std::chrono::milliseconds(300);
  auto r = Rtmr3Device(o).Extend(Event("x", ""));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("another process extended RTMR3 at the same time") !=
        std::string::npos);

  Rtmr3Device::Options none;
  none.measurements = t.path / "absent";
  none.cpuinfo = t.path / "cpuinfo";
  REQUIRE(WriteFileAtomic(none.cpuinfo, std::string_view("flags : fpu tdx_guest\n"), 0644).ok());
  CHECK(Rtmr3Device(none).Read().status().message() ==
        "runtime measurements unavailable: " + (none.measurements / "rtmr3:sha384").string() +
            " does not exist: the kernel lacks TSM measurements (needs Linux >= 6.16 with the "
            "tdx_guest driver loaded)");
  none.cpuinfo = "/proc/cpuinfo";
  CHECK(Rtmr3Device(none).Read().status().message().rfind(
            "runtime measurements unavailable: not inside a TDX guest", 0) == 0);
}

}  // namespace
}  // namespace tdxrt
