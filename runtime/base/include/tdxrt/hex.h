// Lowercase hex encoding and strict decoding (used for digests on command lines and in JSON), and
// base64 (RFC 4648, what guest agents hand quotes out as), strict too.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "tdxrt/bytes.h"

namespace tdxrt {

std::string ToHex(ByteSpan data);

// True when `text` is exactly `digits` lowercase hex digits (the form ToHex writes: how
// lock files and recipes spell a SHA-256).
bool IsLowerHex(std::string_view text, std::size_t digits);

// Decodes hex digits (either case). An optional "0x" prefix is accepted. Whitespace, odd length
// and non-hex characters are errors naming the position. If expected_len is non-zero, the decoded
// length must equal it.
Result<Bytes> FromHex(std::string_view text, std::size_t expected_len = 0);

// FromHex of exactly N bytes into an array (a SHA-384 digest, a TD measurement); same errors.
template <std::size_t N>
Result<std::array<std::uint8_t, N>> FromHexArray(std::string_view text) {
  Result<Bytes> b = FromHex(text, N);
  if (!b.ok()) return b.status();
  std::array<std::uint8_t, N> out{};
  std::copy(b->begin(), b->end(), out.begin());
  return out;
}

// Standard base64 with padding.
std::string ToBase64(ByteSpan data);
// Decodes base64: the standard or the URL-safe alphabet (not mixed), padding optional; no
// whitespace. Errors name the position of the first offending character.
Result<Bytes> FromBase64(std::string_view text);

}  // namespace tdxrt
