// libFuzzer target: a DER certificate through the PCK SGX extension reader (the DER walker in
// pki.cc reads attacker-supplied bytes from the quote's PCK certificate).
#include <string_view>

#include "../src/pki.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto cert =
      tdxrt::pki::ParseCertificate(std::string_view(reinterpret_cast<const char*>(data), size));
  if (cert.ok()) (void)tdxrt::pki::ParsePckExtension(cert->get());
  return 0;
}
