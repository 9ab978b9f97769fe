// libFuzzer target: quote parsing, and re-serialization of whatever parses (which must give
// back the input minus its zero padding).
#include <cstdlib>

#include "tdxrt/quote.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tdxrt::ByteSpan in(data, size);
  auto q = tdxrt::ParseQuote(in);
  if (q.ok()) {
    tdxrt::Bytes again = tdxrt::SerializeQuote(*q);
    if (again.size() + q->padding_size != size ||
        !std::equal(again.begin(), again.end(), in.begin())) {
      // A parse that does not round-trip means a field was skipped or misread.
      std::abort();
    }
  }
  return 0;
}
