// libFuzzer target: collateral JSON, TCB info and QE identity parsing, and a Verifier built
// from whatever parses (PEM chains, CRLs). Input: the collateral JSON text.
#include <string>

#include "tdxrt/collateral.h"
#include "tdxrt/dcap.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto c = tdxrt::ParseCollateralJson(text);
  (void)tdxrt::ParseTcbInfo(text);
  (void)tdxrt::ParseQeIdentity(text);
  if (c.ok()) (void)tdxrt::Verifier::Create(*c);
  return 0;
}
