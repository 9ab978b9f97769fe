// Hex encoding/decoding, and offset formatting for diagnostics.
#include "tdxrt/hex.h"

#include <cstdio>

namespace tdxrt {

std::string HexOffset(std::uint64_t value) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(value));
  return buf;
}

std::string ToHex(ByteSpan data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (std::uint8_t b : data) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

namespace {
int Nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

Result<Bytes> FromHex(std::string_view text, std::size_t expected_len) {
  std::size_t skip = 0;
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) skip = 2;
  std::string_view digits = text.substr(skip);
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (Nibble(digits[i]) < 0) {
      return Status::InvalidArgument("invalid hex character '" + std::string(1, digits[i]) +
                                     "' at position " + std::to_string(i + skip + 1));
    }
  }
  if (digits.size() % 2 != 0) {
    return Status::InvalidArgument("odd number of hex digits (" + std::to_string(digits.size()) +
                                   ")");
  }
  if (expected_len != 0 && digits.size() != expected_len * 2) {
    return Status::InvalidArgument("expected " + std::to_string(expected_len * 2) +
                                   " hex digits (" + std::to_string(expected_len) +
                                   " bytes), got " + std::to_string(digits.size()));
  }
  Bytes out(digits.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<std::uint8_t>((Nibble(digits[2 * i]) << 4) | Nibble(digits[2 * i + 1]));
  }
  return out;
}

}  // namespace tdxrt
