// libFuzzer target: what verify and inspect read from someone else's artifacts: a launcher's
// header and payload, and a manifest (shape checks, then the comparison).
#include <cstddef>
#include <cstdint>
#include <string>

#include "tdximage/launcher.h"
#include "tdximage/verify.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)tdximage::ReadLauncherPayload(tdxrt::ByteSpan(data, size));
  auto m = tdximage::ParseManifest(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
  if (m.ok()) (void)tdximage::CompareManifests(*m, *m);
  return 0;
}
