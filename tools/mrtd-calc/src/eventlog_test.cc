// CC event log parsing and replay on builder-made logs (exact diagnoses for bad lengths) and on
// the real 64 KiB log from a TDX guest in ../shared/vectors/dstack/ccel.bin.
#include "mrtd/eventlog.h"

#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "tdxrt/file.h"
#include "tdxrt/hex.h"
#include "test_builders.h"

using mrtd::testing::BuildEventLog;
using mrtd::testing::LogEvent;
using tdxrt::Bytes;

namespace {
Bytes Text(const char* s) { return Bytes(s, s + std::strlen(s)); }

std::vector<LogEvent> Sample() {
  return {
      {1, 0x80000007, Text("Calling EFI Application from Boot Option"), {}},
      {2, 0x4, Bytes{0, 0, 0, 0}, {}},
      {3, 0x3, Text("not extended"), {}},
      {3, 0x6, Bytes{0xec, 0x22, 0x3b, 0x8f, 4, 0, 0, 0, 1, 2, 3, 4}, {}},
      {4, 0xd, Text("grub cmd"), {}},
  };
}

std::string LogError(const Bytes& b) {
  auto r = mrtd::ParseCcEventLog(b);
  if (!r.ok()) return r.status().message();
  auto rep = mrtd::ReplayRtmrs(*r);
  return rep.ok() ? "ok" : rep.status().message();
}
}  // namespace

TEST_CASE("builder log: parsed, padded end found, replayed like a manual extend chain") {
  auto log = BuildEventLog(Sample(), 4096, 0xff);
  auto p = mrtd::ParseCcEventLog(log.bytes);
  REQUIRE_MESSAGE(p.ok(), p.status().message());
  REQUIRE(p->events.size() == 5);
  CHECK(p->events[0].index == 1);
  CHECK(p->events[0].offset == log.offsets[0]);
  CHECK(p->used_bytes == log.offsets.back() + 4 + 4 + 4 + 2 + 32 + 2 + 48 + 4 + 8);
  CHECK(mrtd::DescribeEventData(p->events[0]) == "\"Calling EFI Application from Boot Option\"");
  CHECK(mrtd::DescribeEventData(p->events[1]) == "00000000");
  CHECK(mrtd::DescribeEventData(p->events[3]) == "Linux initrd");
  CHECK(mrtd::EventTypeName(0x80000003) == "EV_EFI_BOOT_SERVICES_APPLICATION");
  auto r = mrtd::ReplayRtmrs(*p);
  REQUIRE(r.ok());
  std::array<tdxrt::Sha384Digest, 4> want{};
  for (const auto& e : Sample()) {
    if (e.type == 3) continue;
    Bytes buf(want[e.mr_index - 1].begin(), want[e.mr_index - 1].end());
    auto d = tdxrt::Sha384(e.data);
    buf.insert(buf.end(), d.begin(), d.end());
    want[e.mr_index - 1] = tdxrt::Sha384(buf);
  }
  CHECK(*r == want);
  // Zero padding ends the log as well.
  auto zero = BuildEventLog(Sample(), 4096, 0x00);
  CHECK(mrtd::ParseCcEventLog(zero.bytes)->events.size() == 5);
}

TEST_CASE("event logs with bad lengths get exact diagnoses") {
  auto log = BuildEventLog(Sample(), 0);
  const std::size_t e2 = log.offsets[2];  // the third PCR_EVENT2 record (index 3)
  const std::string at = tdxrt::HexOffset(e2);
  auto with = [&](auto mutate) {
    Bytes b = log.bytes;
    mutate(b);
    return LogError(b);
  };
  const std::size_t size_field = e2 + 12 + 2 + 32 + 2 + 48;
  const std::size_t left = log.bytes.size() - (size_field + 4);
  CHECK(with([&](Bytes& b) { tdxrt::StoreLe<std::uint32_t>(b, size_field, 0x7fffffff); }) ==
        "event 3 at " + at + ": event data size 2147483647 at " + tdxrt::HexOffset(size_field) +
            " runs past end of log (" + std::to_string(left) + " bytes left)");
  CHECK(with([&](Bytes& b) { tdxrt::StoreLe<std::uint32_t>(b, e2 + 8, 0); }) ==
        "event 3 at " + at + ": digest count 0 is out of range (1..2)");
  CHECK(with([&](Bytes& b) { tdxrt::StoreLe<std::uint32_t>(b, e2 + 8, 3); }) ==
        "event 3 at " + at + ": digest count 3 is out of range (1..2)");
  CHECK(with([&](Bytes& b) { tdxrt::StoreLe<std::uint16_t>(b, e2 + 12, 0x0012); }) ==
        "event 3 at " + at + ": digest algorithm 0x12 at " + tdxrt::HexOffset(e2 + 12) +
            " is not declared in the Spec ID event");
  CHECK(with([&](Bytes& b) { b.resize(e2 + 30); }) == "event 3 at " + at + ": digest at offset " +
                                                          tdxrt::HexOffset(e2 + 14) +
                                                          " is truncated: needs 32 bytes, 16 left");
  CHECK(with([&](Bytes& b) { tdxrt::StoreLe<std::uint32_t>(b, log.offsets[3], 7); }) ==
        "event 4 at " + tdxrt::HexOffset(log.offsets[3]) +
            ": MR index 7 cannot be extended (RTMRs are 1..4)");
  // EV_NO_ACTION events are never extended, whatever their index says.
  CHECK(with([&](Bytes& b) { tdxrt::StoreLe<std::uint32_t>(b, e2, 7); }) == "ok");
  CHECK(with([&](Bytes& b) { tdxrt::StoreLe<std::uint32_t>(b, 4, 1); }) ==
        "event 0 at 0x0: type 0x1 is not EV_NO_ACTION: not a crypto-agile event log");
  CHECK(with([&](Bytes& b) { b[0x20] = 'X'; }) ==
        "event 0 at 0x0: no \"Spec ID Event03\" signature at 0x20");
  CHECK(with([&](Bytes& b) { tdxrt::StoreLe<std::uint32_t>(b, 0x20 + 24, 0); }) ==
        "event 0 (Spec ID): algorithm count 0 is out of range (1..16)");
  CHECK(with([&](Bytes& b) { tdxrt::StoreLe<std::uint16_t>(b, 0x20 + 28 + 4, 0x000d); }) ==
        "event log has no SHA-384 digests (Spec ID event)");
  CHECK(LogError(Bytes{}) ==
        "event 0 (Spec ID): MR index at offset 0x0 is truncated: needs 4 bytes, 0 left");
  // Every truncation is either a clean error or a shorter valid log; never a crash.
  for (std::size_t len = 0; len <= log.bytes.size(); ++len) {
    Bytes b(log.bytes.begin(), log.bytes.begin() + static_cast<long>(len));
    auto r = mrtd::ParseCcEventLog(b);
    if (r.ok()) CHECK(r->used_bytes <= len);
  }
}

TEST_CASE("real CC event log from a TDX guest (shared/vectors/dstack/ccel.bin)") {
  const auto bytes = mrtd::testing::SharedFile("vectors/dstack/ccel.bin");
  if (!bytes) return;
  CHECK(bytes->size() == 65536);
  auto log = mrtd::ParseCcEventLog(*bytes);
  REQUIRE_MESSAGE(log.ok(), log.status().message());
  CHECK(log->events.size() == 18);
  CHECK(log->used_bytes == 1933);
  CHECK(mrtd::EventTypeName(log->events[11].type) == "EV_EFI_BOOT_SERVICES_APPLICATION");
  CHECK(mrtd::DescribeEventData(log->events[17]) == "\"Exit Boot Services Returned with Success\"");
  auto r = mrtd::ReplayRtmrs(*log);
  REQUIRE(r.ok());
  // Frozen replay of this vector (a regression pin: parsing or replay changes show up here).
  CHECK(tdxrt::ToHex((*r)[0]) ==
        "274c2344116db7c663470693b5ba62b8621eac28cb41d2f816ddf188f9f423f9"
        "00a1c44d32386fd3c993dc814e62af9d");
  CHECK(tdxrt::ToHex((*r)[1]) ==
        "bdcf4ee0f7fdfe7c73fbb19ded73193aee23a6726b86d3b282ea097cf4c9ed7a"
        "0db21b5c1ccd513e410d90e310836b26");
  CHECK((*r)[2] == tdxrt::Sha384Digest{});
  CHECK((*r)[3] == tdxrt::Sha384Digest{});
  // The RTMR1 events of this log follow the stable202411 layout our RTMR1 model emits.
  CHECK(tdxrt::ToHex(*log->events[14].Sha384()) ==
        "77a0dab2312b4e1e57a84d865a21e5b2ee8d677a21012ada819d0a98988078d3"
        "d740f6346bfe0abaa938ca20439a8d71");
  CHECK(log->events[15].type == 0x4);
  CHECK(log->events[15].mr_index == 2);
}
