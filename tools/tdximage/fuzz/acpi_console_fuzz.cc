// libFuzzer target: the console output of a capture-acpi boot (what the host's QEMU and the
// guest print), parsed into blobs.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tdximage/acpi_capture.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)tdximage::ParseCaptureConsole(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
