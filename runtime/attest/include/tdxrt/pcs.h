// Intel PCS API v4 shapes of TDX collateral, shared by the PCCS client (pccs_client.h) and the
// PCCS server (`tdx-attest pccs-serve`):
//
//   GET {base}/tdx/certification/v4/tcb?fmspc=HEX      {"tcbInfo":{...},"signature":"hex"}
//       header TCB-Info-Issuer-Chain (PCS; PCCS may send SGX-TCB-Info-Issuer-Chain)
//   GET {base}/tdx/certification/v4/qe/identity        {"enclaveIdentity":{...},"signature":"hex"}
//       header SGX-Enclave-Identity-Issuer-Chain
//   GET {base}/sgx/certification/v4/pckcrl?ca=platform|processor&encoding=der     DER CRL
//       header SGX-PCK-CRL-Issuer-Chain
//   GET {base}/sgx/certification/v4/rootcacrl          the root CA CRL (PCCS: hex text of DER)
//
// Issuer-chain headers carry PEM percent-encoded (RFC 3986). The signatures cover the exact text
// of the tcbInfo / enclaveIdentity member as sent, so that text is cut out of the body byte for
// byte (never re-serialized). Everything here parses untrusted network bytes: bounds-checked,
// errors name the member or header, fuzzed by fuzz/pcs_fuzz.cc.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "tdxrt/bytes.h"
#include "tdxrt/quote.h"

namespace tdxrt {

// Which Intel CA issued the PCK certificate, and so which PCK CRL covers it.
enum class PckCa { kPlatform, kProcessor };
std::string_view PckCaName(PckCa ca);  // "platform", "processor"
Result<PckCa> ParsePckCa(std::string_view name);

inline constexpr std::string_view kTcbInfoChainHeader = "TCB-Info-Issuer-Chain";
inline constexpr std::string_view kTcbInfoChainHeaderSgx = "SGX-TCB-Info-Issuer-Chain";
inline constexpr std::string_view kQeIdentityChainHeader = "SGX-Enclave-Identity-Issuer-Chain";
inline constexpr std::string_view kPckCrlChainHeader = "SGX-PCK-CRL-Issuer-Chain";

// Paths below the base URL.
std::string PcsTcbPath(const std::array<std::uint8_t, 6>& fmspc);  // FMSPC in upper-case hex
std::string PcsQeIdentityPath();
std::string PcsPckCrlPath(PckCa ca);
std::string PcsRootCaCrlPath();

// Percent-decoding of an issuer-chain header into PEM; errors name the header and offset.
Result<std::string> DecodeIssuerChainHeader(std::string_view value, std::string_view header);
// Percent-encoding of PEM for such a header (unreserved characters kept).
std::string EncodeIssuerChainHeader(std::string_view pem);

struct SignedPcsBody {
  std::string signed_text;  // the member's value exactly as in the body
  std::array<std::uint8_t, 64> signature{};
};
// A body {"<member>": {...}, "signature": "<128 hex>"}: one JSON object, no other members,
// no duplicates.
Result<SignedPcsBody> ParseSignedPcsBody(std::string_view body, std::string_view member);
std::string MakeSignedPcsBody(std::string_view member, std::string_view signed_text,
                              const std::array<std::uint8_t, 64>& signature);

// A CRL response body: DER, PEM, or hex text of the DER (what PCCS serves at rootcacrl).
// Returns DER; does not check the CRL's contents (the verifier does).
Result<Bytes> DecodeCrlBody(ByteSpan body);

// FMSPC and PCK CA of a quote's PCK certificate: what its collateral is keyed by.
struct PckIdentity {
  std::array<std::uint8_t, 6> fmspc{};
  PckCa ca = PckCa::kProcessor;
};
Result<PckIdentity> PckIdentityOf(const Quote& quote);

}  // namespace tdxrt
