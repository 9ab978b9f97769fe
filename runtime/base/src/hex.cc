// Hex and base64 encoding/decoding, and offset formatting for diagnostics.
#include "tdxrt/hex.h"

#include <algorithm>
#include <cstdio>

namespace tdxrt {

std::string HexOffset(std::uint64_t value) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(value));
  return buf;
}

bool IsLowerHex(std::string_view text, std::size_t digits) {
  return text.size() == digits &&
         text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
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

namespace {
constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int Sextet(char c, bool url) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == (url ? '-' : '+')) return 62;
  if (c == (url ? '_' : '/')) return 63;
  return -1;
}
}  // namespace

std::string ToBase64(ByteSpan data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < data.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, data.size() - i);
    std::uint32_t v = static_cast<std::uint32_t>(data[i]) << 16;
    if (n > 1) v |= static_cast<std::uint32_t>(data[i + 1]) << 8;
    if (n > 2) v |= data[i + 2];
    for (std::size_t k = 0; k < 4; ++k) {
      out.push_back(k <= n ? kBase64[(v >> (18 - 6 * k)) & 63] : '=');
    }
  }
  return out;
}

Result<Bytes> FromBase64(std::string_view text) {
  std::size_t len = text.size();
  std::size_t pad = 0;
  while (len > 0 && text[len - 1] == '=' && pad < 2) {
    --len;
    ++pad;
  }
  const bool url = text.substr(0, len).find_first_of("-_") != std::string_view::npos;
  for (std::size_t i = 0; i < len; ++i) {
    if (Sextet(text[i], url) < 0) {
      return Status::InvalidArgument("invalid base64 character '" + std::string(1, text[i]) +
                                     "' at position " + std::to_string(i + 1));
    }
  }
  if (len % 4 == 1 || (pad > 0 && (len + pad) % 4 != 0)) {
    return Status::InvalidArgument("base64 text of " + std::to_string(text.size()) +
                                   " characters has a truncated final group");
  }
  Bytes out;
  out.reserve(len / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < len; ++i) {
    acc = (acc << 6) | static_cast<std::uint32_t>(Sextet(text[i], url));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>(acc >> bits));
    }
  }
  // Leftover bits must be zero: otherwise two texts would decode to the same bytes.
  if ((acc & ((1u << bits) - 1)) != 0) {
    return Status::InvalidArgument("base64 text has non-zero bits after its last byte");
  }
  return out;
}

}  // namespace tdxrt
