// libFuzzer target for a server's registry file (zipnet/registry_file.h): any bytes are
// refused or decoded without a crash; what decodes re-encodes to the same bytes. The MAC key is
// fixed (32 bytes of 0x5a; the seed files carry MACs under it), so that mutations of a seed get
// past the layout checks to the MAC check, and the seeds themselves decode.
#include <cstdlib>

#include "zipnet/registry_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const zipnet::Secret32 key = [] {
    std::array<std::uint8_t, 32> k{};
    k.fill(0x5a);
    return zipnet::Secret32(k);
  }();
  const zipnet::ByteSpan in(data, size);
  auto f = zipnet::DecodeRegistry(in, key, 4096);
  if (!f.ok()) return 0;
  const zipnet::Bytes again = zipnet::EncodeRegistry(*f, key);
  if (again.size() != size || !std::equal(again.begin(), again.end(), in.begin())) std::abort();
  (void)zipnet::CheckRegistryBinding(f->binding, f->binding);
  return 0;
}
