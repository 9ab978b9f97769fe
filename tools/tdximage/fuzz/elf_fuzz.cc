// libFuzzer target: ELF dynamic info, imported symbols and their versions, section lookup, .modinfo
// and settings declarations.
#include <cstddef>
#include <cstdint>

#include "tdximage/elf.h"
#include "tdxrt/guest_settings.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tdxrt::ByteSpan in(data, size);
  (void)tdximage::ReadElfDynamic(in);
  (void)tdximage::ReadElfImports(in);
  (void)tdximage::ReadModinfo(in);
  // Settings declarations: from the section, and the raw input as one.
  if (auto s = tdximage::ElfSection(in, tdxrt::kGuestSettingsSection); s.ok()) {
    (void)tdxrt::ParseGuestSettings(
        std::string_view(reinterpret_cast<const char*>(s->data()), s->size()));
  }
  (void)tdxrt::ParseGuestSettings(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
