// libFuzzer target: CC event log parsing, replay and event descriptions.
#include <cstddef>
#include <cstdint>

#include "mrtd/eventlog.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto log = mrtd::ParseCcEventLog(tdxrt::ByteSpan(data, size));
  if (log.ok()) {
    (void)mrtd::ReplayRtmrs(*log);
    for (const auto& e : log->events) (void)mrtd::DescribeEventData(e);
  }
  return 0;
}
