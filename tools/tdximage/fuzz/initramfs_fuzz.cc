// libFuzzer target: reading a (compressed) cpio initramfs into a tree, then writing it back.
#include <cstddef>
#include <cstdint>

#include "tdximage/initramfs.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto tree = tdximage::ReadInitramfs(tdxrt::ByteSpan(data, size));
  if (tree.ok() && tree->total_file_bytes() < (1u << 20)) {
    tdximage::InitramfsOptions o;
    o.compression = tdximage::Compression::kNone;
    (void)tdximage::WriteInitramfs(*tree, o);
  }
  return 0;
}
