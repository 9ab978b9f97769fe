// libFuzzer target: RTMR3 runtime event logs (tdxrt/rtmr.h), which verifiers receive from TDs.
// Whatever parses must serialize back to lines that parse to the same events.
#include <cstdlib>
#include <string>

#include "tdxrt/rtmr.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto events =
      tdxrt::ParseRuntimeEventLog(std::string_view(reinterpret_cast<const char*>(data), size));
  if (events.ok()) {
    std::string again;
    for (const auto& e : *events) again += tdxrt::RuntimeEventLine(e) + "\n";
    auto reparsed = tdxrt::ParseRuntimeEventLog(again);
    if (!reparsed.ok() || tdxrt::ReplayRtmr3(*reparsed) != tdxrt::ReplayRtmr3(*events)) {
      std::abort();
    }
  }
  return 0;
}
