// Evidence a peer presents: a real TDX quote, or mock evidence from the development provider.
//
// Mock evidence is deliberately not quote-shaped, so nothing that parses quotes can mistake
// it for one:
//
//   32 bytes  magic "TDXRT MOCK EVIDENCE - NOT TDX!!\n"
//   u16       version (1)
//   584 bytes TD report, laid out as in a v4 quote body (tdxrt/quote.h)
//
// It carries no signature: whoever can send bytes can forge it. Policies admit it only when
// they say allow_mock (development setups); a TDX-gated policy rejects it whatever it claims.
#pragma once

#include <optional>

#include "tdxrt/quote.h"

namespace tdxrt {

inline constexpr std::string_view kMockEvidenceMagic = "TDXRT MOCK EVIDENCE - NOT TDX!!\n";
inline constexpr std::size_t kMockEvidenceSize = 32 + 2 + kTdReport10Size;

enum class EvidenceKind { kTdxQuote, kMock };

struct Evidence {
  EvidenceKind kind = EvidenceKind::kTdxQuote;
  TdReport report;
  std::optional<Quote> quote;  // set for kTdxQuote
};

// Dispatches on the mock magic; everything else must parse as a quote.
Result<Evidence> ParseEvidence(ByteSpan data);

// How evidence reached us: guest agents (dstack's, go-tdx-guest's tools, ...) hand quotes out as
// hex or base64 text as often as binary.
enum class EvidenceEncoding { kBinary, kHex, kBase64 };
std::string_view EvidenceEncodingName(EvidenceEncoding encoding);

struct DecodedEvidence {
  Bytes bytes;  // the binary quote or mock evidence
  EvidenceEncoding encoding = EvidenceEncoding::kBinary;
};
// Binary when the bytes start like a quote (version 4 or 5, attestation key type 2) or mock
// evidence; otherwise text: surrounding whitespace and line breaks are dropped, then hex (an
// optional 0x prefix) or base64 (standard or URL-safe). Text that is neither is an error naming
// the first byte that is not hex nor base64, and what the binary reading saw.
Result<DecodedEvidence> DecodeEvidenceFile(ByteSpan file);
Bytes MakeMockEvidence(const TdReport& report);

}  // namespace tdxrt
