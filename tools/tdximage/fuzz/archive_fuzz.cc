// libFuzzer target: .deb and tar reading through libarchive with our path checks.
#include <cstddef>
#include <cstdint>

#include "tdximage/archive.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tdxrt::ByteSpan in(data, size);
  auto tar = tdximage::DebDataTar(in);
  if (tar.ok()) (void)tdximage::ListTar(*tar);
  auto entries = tdximage::ListTar(in);
  if (entries.ok() && !entries->empty())
    (void)tdximage::ReadTarMember(in, entries->front().path, 1 << 20);
  return 0;
}
