// Evidence parsing: TDX quotes and mock evidence (layout in tdxrt/evidence.h).
#include "tdxrt/evidence.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include "tdxrt/hex.h"

namespace tdxrt {

Result<Evidence> ParseEvidence(ByteSpan data) {
  Evidence e;
  const std::string_view head(reinterpret_cast<const char*>(data.data()),
                              std::min(data.size(), kMockEvidenceMagic.size()));
  if (head == kMockEvidenceMagic) {
    e.kind = EvidenceKind::kMock;
    if (data.size() != kMockEvidenceSize) {
      return Status::Corrupt("mock evidence is " + std::to_string(data.size()) +
                             " bytes, expected " + std::to_string(kMockEvidenceSize));
    }
    const auto version = LoadLe<std::uint16_t>(data, 32);
    if (version != 1) {
      return Status::Unsupported("mock evidence version " + std::to_string(*version) +
                                 " at offset 0x20 is not supported (1)");
    }
    TDX_ASSIGN_OR_RETURN(e.report, ParseTdReportBody(data.subspan(34), 34, false));
    return e;
  }
  TDX_ASSIGN_OR_RETURN(Quote q, ParseQuote(data));
  e.report = q.report;
  e.quote = std::move(q);
  return e;
}

Bytes MakeMockEvidence(const TdReport& report) {
  Bytes out(kMockEvidenceMagic.begin(), kMockEvidenceMagic.end());
  AppendLe<std::uint16_t>(out, 1);
  TdReport r = report;
  r.is_td15 = false;
  const Bytes body = SerializeTdReport(r);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

std::string_view EvidenceEncodingName(EvidenceEncoding encoding) {
  switch (encoding) {
    case EvidenceEncoding::kBinary:
      return "binary";
    case EvidenceEncoding::kHex:
      return "hex";
    case EvidenceEncoding::kBase64:
      return "base64";
  }
  return "?";
}

namespace {

bool LooksBinary(ByteSpan data) {
  const std::string_view head(reinterpret_cast<const char*>(data.data()),
                              std::min(data.size(), kMockEvidenceMagic.size()));
  if (head == kMockEvidenceMagic) return true;
  const auto version = LoadLe<std::uint16_t>(data, 0);
  const auto key_type = LoadLe<std::uint16_t>(data, 2);
  return version && key_type && (*version == kQuoteVersion4 || *version == kQuoteVersion5) &&
         *key_type == kAttestationKeyEcdsaP256;
}

bool IsSpace(std::uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

Result<DecodedEvidence> DecodeEvidenceFile(ByteSpan file) {
  if (LooksBinary(file))
    return DecodedEvidence{Bytes(file.begin(), file.end()), EvidenceEncoding::kBinary};
  // Text: one token, possibly wrapped over lines (base64 tools wrap at 64 or 76 columns);
  // blanks are allowed only at the ends of lines, so prose is never taken for base64.
  std::string text;
  std::optional<std::size_t> bad;  // first byte that no text form allows
  for (std::size_t line = 0; line < file.size();) {
    std::size_t end = line;
    while (end < file.size() && file[end] != '\n') ++end;
    std::size_t a = line, b = end;
    while (a < b && IsSpace(file[a])) ++a;
    while (b > a && IsSpace(file[b - 1])) --b;
    for (std::size_t i = a; i < b; ++i) {
      const char c = static_cast<char>(file[i]);
      const bool allowed = std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' ||
                           c == '-' || c == '_' || c == '=';
      if (!allowed && !bad) bad = i;
      text.push_back(c);
    }
    line = end + 1;
  }
  const std::string what_binary =
      file.size() < 4
          ? "too short for a quote (" + std::to_string(file.size()) + " bytes)"
          : "as binary it would be quote version " +
                std::to_string(*LoadLe<std::uint16_t>(file, 0)) + ", attestation key type " +
                std::to_string(*LoadLe<std::uint16_t>(file, 2));
  if (text.empty()) {
    return Status::Corrupt(file.empty() ? "empty file: no quote"
                                        : "no quote: the file holds only whitespace");
  }
  if (bad) {
    return Status::Corrupt("not a quote: byte " + HexOffset(file[*bad]) + " at offset " +
                           HexOffset(*bad) + " is neither hex nor base64 text, and " + what_binary);
  }
  auto hex = FromHex(text);
  if (hex.ok()) return DecodedEvidence{std::move(hex).value(), EvidenceEncoding::kHex};
  const bool hex_digits_only =
      text.find_first_not_of("0123456789abcdefABCDEF", text.rfind("0x", 0) == 0 ? 2 : 0) ==
      std::string::npos;
  if (hex_digits_only) return hex.status().WithContext("hex text");
  auto b64 = FromBase64(text);
  if (b64.ok()) return DecodedEvidence{std::move(b64).value(), EvidenceEncoding::kBase64};
  return b64.status().WithContext("base64 text");
}

}  // namespace tdxrt
