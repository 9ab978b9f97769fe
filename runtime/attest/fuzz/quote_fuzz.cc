// libFuzzer target: evidence parsing (TDX quotes and mock evidence). A quote that parses must
// serialize back to the input minus its zero padding: anything else means a field was skipped
// or misread. The same bytes also go through the text decoding (hex/base64 files): whatever it
// decodes must parse or fail cleanly.
#include <algorithm>
#include <cstdlib>

#include "tdxrt/evidence.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tdxrt::ByteSpan in(data, size);
  auto e = tdxrt::ParseEvidence(in);
  if (e.ok() && e->quote) {
    tdxrt::Bytes again = tdxrt::SerializeQuote(*e->quote);
    if (again.size() + e->quote->padding_size != size ||
        !std::equal(again.begin(), again.end(), in.begin())) {
      std::abort();
    }
  }
  auto decoded = tdxrt::DecodeEvidenceFile(in);
  if (decoded.ok()) {
    if (decoded->encoding == tdxrt::EvidenceEncoding::kBinary &&
        !std::equal(decoded->bytes.begin(), decoded->bytes.end(), in.begin(), in.end())) {
      std::abort();
    }
    (void)tdxrt::ParseEvidence(decoded->bytes);
  }
  return 0;
}
