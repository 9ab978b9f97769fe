// libFuzzer target: PCS/PCCS responses (tdxrt/pcs.h), the bytes a collateral fetch takes from
// the network: signed bodies (the member must be cut out exactly: whatever parses must come back
// from MakeSignedPcsBody the same), issuer-chain headers, CRL bodies.
#include <cstdlib>
#include <string_view>

#include "tdxrt/pcs.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (std::string_view member : {"tcbInfo", "enclaveIdentity"}) {
    auto body = tdxrt::ParseSignedPcsBody(text, member);
    if (body.ok()) {
      if (text.find(body->signed_text) == std::string_view::npos) std::abort();
      auto again = tdxrt::ParseSignedPcsBody(
          tdxrt::MakeSignedPcsBody(member, body->signed_text, body->signature), member);
      if (!again.ok() || again->signed_text != body->signed_text ||
          again->signature != body->signature) {
        std::abort();
      }
    }
  }
  (void)tdxrt::DecodeIssuerChainHeader(text, "TCB-Info-Issuer-Chain");
  (void)tdxrt::DecodeCrlBody(tdxrt::ByteSpan(data, size));
  return 0;
}
