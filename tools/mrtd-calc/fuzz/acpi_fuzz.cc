// libFuzzer target: ACPI capture files (mrtd-calc measure --acpi, tdximage recipes'
// measure.acpi) and the table-loader commands inside them; the raw input is also tried as a
// loader on its own.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mrtd/acpi.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)mrtd::TableLoaderAllocations(tdxrt::ByteSpan(data, size));
  auto c = mrtd::ParseAcpiCapture(std::string_view(reinterpret_cast<const char*>(data), size),
                                  "fuzz.json");
  if (c.ok()) {
    (void)mrtd::AcpiEvents(*c);
    (void)mrtd::AcpiCaptureJson(*c);
  }
  return 0;
}
