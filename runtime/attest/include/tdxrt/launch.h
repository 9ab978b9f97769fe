// The launch record: what a program in a TD took from outside its measured image when it
// started, extended into RTMR3 as one runtime event (tdxrt/rtmr.h) before the program does
// anything else, so that a verifier sees — and a policy can pin — the settings the host chose.
// A TD's image fixes MRTD/RTMR1/RTMR2; the host still passes allowlisted settings at launch
// (payload.host_env): without this record they would change the TD's behaviour unseen.
//
// Event name "tdx-launch"; payload (canonical text, exactly one form per record):
//
//   tdx-launch v1
//   program <name>                  the program that extended it (zipnet-server, ...)
//   development <yes|no>            the image's measured settings make it a development image
//   host <NAME>=<value>             one line per setting taken from the host, sorted by NAME
//
// NAME is [A-Z_][A-Z0-9_]*; a value is any bytes but NUL and newline (the guest's /init reads
// host settings one per line). Parsing refuses anything but the canonical form, so a digest has
// one meaning. A development image (gating off, mock evidence admitted) says so here, measured:
// policies refuse it unless they allow development (policy.h, allow_development).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "tdxrt/rtmr.h"

namespace tdxrt {

inline constexpr std::string_view kLaunchEvent = "tdx-launch";

struct LaunchRecord {
  std::string program;
  bool development = false;
  std::map<std::string, std::string> host_settings;  // name -> value
  bool operator==(const LaunchRecord&) const = default;
};

// The canonical payload; an error names a malformed program name, setting name or value.
Result<std::string> SerializeLaunchRecord(const LaunchRecord& record);
Result<LaunchRecord> ParseLaunchRecord(std::string_view payload);
Result<RuntimeEvent> LaunchEvent(const LaunchRecord& record);

// The launch record of a log: exactly one tdx-launch event (none, or a second one extended
// later by whoever could, is an error saying so).
Result<LaunchRecord> FindLaunchRecord(const std::vector<RuntimeEvent>& events);

// The record a program makes at start: the settings named in `host_names` (TDX_HOST_SETTINGS,
// space-separated, as /init exported it) with their values from the environment.
Result<LaunchRecord> LaunchRecordFromEnvironment(std::string_view program, bool development,
                                                 std::string_view host_names);

}  // namespace tdxrt
