// libFuzzer target: expected event log / measurements files (mrtd-calc diagnose --expected), and
// a diagnosis of the parsed expectation against register values.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mrtd/diagnose.h"
#include "mrtd/expected_log.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto log = mrtd::ParseExpectedLog(std::string_view(reinterpret_cast<const char*>(data), size),
                                    "fuzz.json");
  if (log.ok() && !log->variants.empty()) {
    mrtd::ActualBoot a;
    a.source = "fuzz";
    a.mr_td = log->mr_td_two_pass;
    a.rtmr[1] = log->variants.front().rtmr2;
    a.rtmr[2] = tdxrt::Sha384Digest{};
    const mrtd::Diagnosis d = mrtd::Diagnose(*log, a);
    (void)mrtd::DiagnosisText(d, *log, a);
    (void)mrtd::ExpectedLogJson(*log);
  }
  return 0;
}
