// libFuzzer target: PE/COFF parsing and Authenticode hashing.
#include <cstddef>
#include <cstdint>

#include "mrtd/pe.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)mrtd::AuthenticodeSha384(tdxrt::ByteSpan(data, size));
  return 0;
}
