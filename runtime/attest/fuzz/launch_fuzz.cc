// libFuzzer target: tdx-launch records (tdxrt/launch.h), which verifiers read from a TD's RTMR3
// log. A record that parses is canonical: serializing it gives back the same bytes.
#include <cstdlib>
#include <string>

#include "tdxrt/launch.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto record = tdxrt::ParseLaunchRecord(text);
  if (record.ok()) {
    auto again = tdxrt::SerializeLaunchRecord(*record);
    if (!again.ok() || *again != text) std::abort();
  }
  return 0;
}
