// Cursor error reporting.
#include "tdxrt/bytes.h"

namespace tdxrt {

Status Cursor::Truncated(std::string_view field, std::uint64_t need) const {
  return Status::Corrupt(std::string(field) + " at offset " + HexOffset(abs_pos()) +
                         " is truncated: needs " + std::to_string(need) + " bytes, " +
                         std::to_string(remaining()) + " left");
}

Result<ByteSpan> Cursor::Take(std::uint64_t n, std::string_view field) {
  if (n > remaining()) return Truncated(field, n);
  ByteSpan out = data_.subspan(pos_, static_cast<std::size_t>(n));
  pos_ += static_cast<std::size_t>(n);
  return out;
}

Status Cursor::Skip(std::uint64_t n, std::string_view field) {
  if (n > remaining()) return Truncated(field, n);
  pos_ += static_cast<std::size_t>(n);
  return Status::Ok();
}

}  // namespace tdxrt
