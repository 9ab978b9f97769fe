#include "tdxrt/hex.h"

#include <doctest/doctest.h>

#include "tdxrt/sha.h"

TEST_CASE("hex round trip and strict errors") {
  const tdxrt::Bytes b = {0x00, 0xab, 0xff};
  CHECK(tdxrt::ToHex(b) == "00abff");
  CHECK(*tdxrt::FromHex("00ABff") == b);
  CHECK(*tdxrt::FromHex("0x00abff") == b);
  CHECK(tdxrt::FromHex("00ag").status().message() == "invalid hex character 'g' at position 4");
  CHECK(tdxrt::FromHex("abc").status().message() == "odd number of hex digits (3)");
  CHECK(tdxrt::FromHex("abcd", 3).status().message() == "expected 6 hex digits (3 bytes), got 4");
}

TEST_CASE("SHA-384 known answer (FIPS 180-2 'abc')") {
  const std::uint8_t abc[] = {'a', 'b', 'c'};
  CHECK(tdxrt::ToHex(tdxrt::Sha384(abc)) ==
        "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
        "8086072ba1e7cc2358baeca134c825a7");
  tdxrt::Sha384Hasher h;
  h.Update(tdxrt::ByteSpan(abc, 1));
  h.Update(tdxrt::ByteSpan(abc + 1, 2));
  CHECK(h.Final() == tdxrt::Sha384(abc));
}
