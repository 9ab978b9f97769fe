// report_data binding (see tdxrt/report_data.h).
#include "tdxrt/report_data.h"

#include "tdxrt/hex.h"
#include "tdxrt/sha.h"

namespace tdxrt {
ReportData BindReportData(std::string_view label, std::span<const ByteSpan> fields) {
  Hasher h(Hasher::Algorithm::kSha512);
  h.Update(ByteSpan(reinterpret_cast<const std::uint8_t*>(label.data()), label.size()));
  for (ByteSpan f : fields) h.Update(f);
  const Bytes d = h.Final();
  ReportData out{};
  std::copy(d.begin(), d.end(), out.begin());
  return out;
}

Status CheckReportData(const ReportData& actual, std::string_view label,
                       std::span<const ByteSpan> fields) {
  const ReportData expected = BindReportData(label, fields);
  if (expected == actual) return Status::Ok();
  return Status::Mismatch("report_data " + ToHex(actual) + " is not the binding of \"" +
                          std::string(label) + "\" over " + std::to_string(fields.size()) +
                          " field(s), " + ToHex(expected));
}

}  // namespace tdxrt
