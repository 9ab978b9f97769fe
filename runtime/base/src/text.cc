// Escaping of untrusted text (see include/tdxrt/text.h).
#include "tdxrt/text.h"

namespace tdxrt {

namespace {
bool Plain(unsigned char c) { return c >= 0x20 && c < 0x7f && c != '\\'; }
}  // namespace

std::string EscapeText(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (Plain(c)) {
      out.push_back(ch);
    } else if (c == '\\') {
      out += "\\\\";
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

bool IsPlainText(std::string_view text) {
  for (const char ch : text) {
    if (!Plain(static_cast<unsigned char>(ch))) return false;
  }
  return true;
}

}  // namespace tdxrt
