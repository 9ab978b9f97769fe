// Evidence parsing: TDX quotes and mock evidence (layout in tdxrt/evidence.h).
#include "tdxrt/evidence.h"

#include <algorithm>

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

}  // namespace tdxrt
