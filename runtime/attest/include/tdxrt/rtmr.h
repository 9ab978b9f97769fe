// RTMR3 runtime measurements: a TD extends RTMR3 with events of its own (a configuration
// digest, a key's hash) and keeps a replayable log; verifiers replay the log against the quote's
// RTMR3, and policies pin event digests.
//
// Events follow dstack's convention so that logs are readable by both tools:
//   digest = SHA-384( le32(0x08000001) || ":" || name || ":" || payload )
//   RTMR3' = SHA-384( RTMR3 || digest ),  RTMR3 starts as 48 zero bytes
// The log is JSON lines, one event each, with dstack's field names:
//   {"imr":3,"event_type":134217729,"digest":"<96 hex>","event":"<name>","event_payload":"<hex>"}
// The digest is recomputed on reading; a line whose digest does not match its name and payload is
// an error naming the line (the log is untrusted input: it comes from the TD over the network).
//
// The kernel interface (Linux >= 6.16, tdx_guest driver with TSM measurements):
// /sys/class/misc/tdx_guest/measurements/rtmr3:sha384 — reading gives the 48-byte value, writing
// 48 bytes at offset 0 extends it. Rtmr3Device writes the log line first (flushed to disk), then
// extends, then reads back and requires SHA-384(old || digest): another extender in between is
// detected and named. When the interface is absent the error says why (not a TDX guest; a kernel
// without TSM measurements). Tests run it against a fake tree, as the configfs-tsm provider.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "tdxrt/quote.h"

namespace tdxrt {

inline constexpr std::uint32_t kRuntimeEventType = 0x08000001;

struct RuntimeEvent {
  std::string name;
  Bytes payload;
  Measurement Digest() const;
};

Measurement ExtendRtmr(const Measurement& value, const Measurement& digest);
Measurement ReplayRtmr3(const std::vector<RuntimeEvent>& events);

std::string RuntimeEventLine(const RuntimeEvent& event);  // one JSON line, no newline
// Parses a log; errors name the line number. Blank lines are skipped. At most 65536 events.
Result<std::vector<RuntimeEvent>> ParseRuntimeEventLog(std::string_view text);
// The log in a file (at most 64 MiB); errors name the file.
Result<std::vector<RuntimeEvent>> ReadRuntimeEventLog(const std::filesystem::path& path);

// The log replays to `rtmr3`; otherwise the error gives both values and the event count.
Status CheckRtmr3Replay(const std::vector<RuntimeEvent>& events, const Measurement& rtmr3);

class Rtmr3Device {
 public:
  struct Options {
    std::filesystem::path measurements = "/sys/class/misc/tdx_guest/measurements";
    std::filesystem::path log = "/run/tdxrt/runtime-events.jsonl";
    std::filesystem::path cpuinfo = "/proc/cpuinfo";
    // Emulations of the interface may update the value a moment after the write.
    std::chrono::milliseconds readback_wait{2000};
  };
  Rtmr3Device() : Rtmr3Device(Options{}) {}
  explicit Rtmr3Device(Options options) : options_(std::move(options)) {}

  Result<Measurement> Read() const;
  // Logs, extends and checks; returns the new RTMR3.
  Result<Measurement> Extend(const RuntimeEvent& event) const;

 private:
  Status Diagnose() const;
  std::filesystem::path File() const { return options_.measurements / "rtmr3:sha384"; }
  Options options_;
};

}  // namespace tdxrt
