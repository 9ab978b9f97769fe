#include "tdxrt/bytes.h"

#include <doctest/doctest.h>

using tdxrt::Cursor;

TEST_CASE("LoadLe reads little endian and refuses out-of-bounds") {
  const std::uint8_t d[] = {0x01, 0x02, 0x03, 0x04, 0x05};
  CHECK(tdxrt::LoadLe<std::uint32_t>(d, 0) == 0x04030201u);
  CHECK(tdxrt::LoadLe<std::uint32_t>(d, 1) == 0x05040302u);
  CHECK_FALSE(tdxrt::LoadLe<std::uint32_t>(d, 2).has_value());
  CHECK_FALSE(tdxrt::LoadLe<std::uint16_t>(d, SIZE_MAX).has_value());
}

TEST_CASE("InBounds is overflow safe") {
  CHECK(tdxrt::InBounds(10, 0, 10));
  CHECK(tdxrt::InBounds(10, 10, 0));
  CHECK_FALSE(tdxrt::InBounds(10, 11, 0));
  CHECK_FALSE(tdxrt::InBounds(10, 2, UINT64_MAX));
  CHECK_FALSE(tdxrt::InBounds(10, UINT64_MAX, 2));
}

TEST_CASE("Cursor reports truncation with field name and absolute offset") {
  const std::uint8_t d[] = {1, 0, 0, 0, 2, 0};
  Cursor c(d, 0x100);
  auto a = c.U32("first");
  REQUIRE(a.ok());
  CHECK(*a == 1u);
  auto b = c.U32("second");
  REQUIRE_FALSE(b.ok());
  CHECK(b.status().message() == "second at offset 0x104 is truncated: needs 4 bytes, 2 left");
  auto t = c.Take(3, "blob");
  CHECK(t.status().message() == "blob at offset 0x104 is truncated: needs 3 bytes, 2 left");
}

TEST_CASE("StoreLe and AppendLe are little endian") {
  std::uint8_t d[4] = {};
  tdxrt::StoreLe<std::uint32_t>(d, 0, 0xa1b2c3d4u);
  CHECK(d[0] == 0xd4);
  CHECK(d[3] == 0xa1);
  tdxrt::Bytes out;
  tdxrt::AppendLe<std::uint16_t>(out, 0x1234);
  CHECK(out == tdxrt::Bytes{0x34, 0x12});
}
