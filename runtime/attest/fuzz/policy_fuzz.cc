// libFuzzer target: measurement policy parsing (YAML/JSON), and a re-parse of what serializes.
#include <cstdlib>
#include <string>

#include "tdxrt/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto p = tdxrt::ParsePolicy(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
  if (p.ok() && !tdxrt::ParsePolicy(tdxrt::SerializePolicy(*p), "again").ok()) std::abort();
  return 0;
}
