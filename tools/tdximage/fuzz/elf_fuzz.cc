// libFuzzer target: ELF dynamic info, section lookup and .modinfo parsing.
#include <cstddef>
#include <cstdint>

#include "tdximage/elf.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tdxrt::ByteSpan in(data, size);
  (void)tdximage::ReadElfDynamic(in);
  (void)tdximage::ReadModinfo(in);
  return 0;
}
