// report_data binding: what a TD puts in its quote's 64-byte REPORTDATA so that the quote
// vouches for something (a TLS key, a zipnet round key, a nonce) and for nothing else.
//
//   report_data = SHA-512( u32le(len(label)) || label || for each field: u32le(len) || field )
//
// The domain label separates uses ("zipnet/committee-admission/v1" can never be confused with
// another protocol's binding). Every element is length-prefixed, so moving bytes between
// adjacent fields changes the digest; a plain label || fields concatenation would not.
#pragma once

#include <span>
#include <string_view>

#include "tdxrt/quote.h"

namespace tdxrt {

ReportData BindReportData(std::string_view label, std::span<const ByteSpan> fields);

// Ok when `actual` equals BindReportData(label, fields); otherwise a Mismatch naming both
// values.
Status CheckReportData(const ReportData& actual, std::string_view label,
                       std::span<const ByteSpan> fields);

}  // namespace tdxrt
