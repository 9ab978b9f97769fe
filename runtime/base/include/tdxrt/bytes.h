// Bounds-checked, fixed-endian reading of untrusted bytes.
//
// Every parser in the project reads through these: no struct casts, no raw pointer arithmetic.
// LoadLe*() are random-access loads that return nullopt past the end; Cursor reads a stream
// front to back and reports truncation with the field name and the absolute offset, which is
// what the user needs to find the problem in a hex dump.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tdxrt/status.h"

namespace tdxrt {

using Bytes = std::vector<std::uint8_t>;

// The bytes of a string, as they are.
inline Bytes BytesOf(std::string_view s) { return Bytes(s.begin(), s.end()); }
using ByteSpan = std::span<const std::uint8_t>;

// "0x1ff000" style formatting used in every diagnostic.
std::string HexOffset(std::uint64_t value);

// True when [offset, offset + length) lies inside a buffer of `size` bytes (overflow-safe).
constexpr bool InBounds(std::uint64_t size, std::uint64_t offset, std::uint64_t length) {
  return offset <= size && length <= size - offset;
}

template <typename T>
std::optional<T> LoadLe(ByteSpan data, std::size_t offset) {
  if (!InBounds(data.size(), offset, sizeof(T))) return std::nullopt;
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    v = static_cast<T>(v | (static_cast<T>(data[offset + i]) << (8 * i)));
  }
  return v;
}

template <typename T>
void StoreLe(std::span<std::uint8_t> data, std::size_t offset, T value) {
  // REQUIRES: InBounds(data.size(), offset, sizeof(T)); callers check before patching.
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    data[offset + i] = static_cast<std::uint8_t>(value >> (8 * i));
  }
}

template <typename T>
void AppendLe(Bytes& out, T value) {
  for (std::size_t i = 0; i < sizeof(T); ++i)
    out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

// Sequential reader. Offsets in messages are absolute: base_offset + position.
class Cursor {
 public:
  explicit Cursor(ByteSpan data, std::uint64_t base_offset = 0) : data_(data), base_(base_offset) {}

  std::size_t pos() const { return pos_; }
  std::uint64_t abs_pos() const { return base_ + pos_; }
  std::size_t remaining() const { return data_.size() - pos_; }
  bool empty() const { return pos_ == data_.size(); }
  ByteSpan rest() const { return data_.subspan(pos_); }

  Result<std::uint8_t> U8(std::string_view field) { return Read<std::uint8_t>(field); }
  Result<std::uint16_t> U16(std::string_view field) { return Read<std::uint16_t>(field); }
  Result<std::uint32_t> U32(std::string_view field) { return Read<std::uint32_t>(field); }
  Result<std::uint64_t> U64(std::string_view field) { return Read<std::uint64_t>(field); }
  Result<ByteSpan> Take(std::uint64_t n, std::string_view field);
  Status Skip(std::uint64_t n, std::string_view field);

 private:
  Status Truncated(std::string_view field, std::uint64_t need) const;
  template <typename T>
  Result<T> Read(std::string_view field) {
    auto v = LoadLe<T>(data_, pos_);
    if (!v) return Truncated(field, sizeof(T));
    pos_ += sizeof(T);
    return *v;
  }

  ByteSpan data_;
  std::uint64_t base_;
  std::size_t pos_ = 0;
};

}  // namespace tdxrt
