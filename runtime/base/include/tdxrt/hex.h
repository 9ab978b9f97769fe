// Lowercase hex encoding and strict decoding (used for digests on command lines and in JSON).
#pragma once

#include <string>
#include <string_view>

#include "tdxrt/bytes.h"

namespace tdxrt {

std::string ToHex(ByteSpan data);

// Decodes hex digits (either case). An optional "0x" prefix is accepted. Whitespace, odd length
// and non-hex characters are errors naming the position. If expected_len is non-zero, the decoded
// length must equal it.
Result<Bytes> FromHex(std::string_view text, std::size_t expected_len = 0);

}  // namespace tdxrt
