// report_data binding: what a TD puts in its quote's 64-byte REPORTDATA so that the quote
// vouches for something (a TLS key, a zipnet bundle's keys, a nonce) and for nothing else.
//
//   report_data = SHA-512(label || field_1 || ... || field_n)
//
// exactly as the issue and zipnet-protocol.md specify (zipnet: "zipnet/bundle/v1" || instance_id
// || ed25519_pub || x25519_pub). Field boundaries are not encoded, so every use must give its
// fields fixed sizes (all of zipnet's are 32 bytes): with variable-size fields, bytes could move
// from one field to the next without changing the digest. The domain label separates uses.
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
