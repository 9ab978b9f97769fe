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

TEST_CASE("IsLowerHex: exactly N lowercase hex digits, as ToHex writes them") {
  CHECK(tdxrt::IsLowerHex("00abff", 6));
  CHECK(tdxrt::IsLowerHex(std::string(64, 'f'), 64));
  CHECK_FALSE(tdxrt::IsLowerHex("00ABff", 6));  // uppercase is another spelling
  CHECK_FALSE(tdxrt::IsLowerHex("00abf", 6));
  CHECK_FALSE(tdxrt::IsLowerHex("00abff0", 6));
  CHECK_FALSE(tdxrt::IsLowerHex("0xabff", 6));
  CHECK_FALSE(tdxrt::IsLowerHex("00ab f", 6));
  CHECK(tdxrt::IsLowerHex("", 0));
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

TEST_CASE("base64 round trip (RFC 4648 vectors) and strict errors") {
  const char* plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  const char* enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  for (int i = 0; i < 7; ++i) {
    const std::string p = plain[i];
    const tdxrt::Bytes b(p.begin(), p.end());
    CHECK(tdxrt::ToBase64(b) == enc[i]);
    CHECK(*tdxrt::FromBase64(enc[i]) == b);
  }
  CHECK(*tdxrt::FromBase64("Zm9vYg") == tdxrt::Bytes{'f', 'o', 'o', 'b'});  // no padding
  CHECK(*tdxrt::FromBase64("-_8") == tdxrt::Bytes{0xfb, 0xff});             // URL-safe
  CHECK(tdxrt::FromBase64("Zm9v!").status().message() ==
        "invalid base64 character '!' at position 5");
  CHECK(tdxrt::FromBase64("Zm9vY").status().message() ==
        "base64 text of 5 characters has a truncated final group");
  CHECK(tdxrt::FromBase64("Zh==").status().message() ==
        "base64 text has non-zero bits after its last byte");
  CHECK(tdxrt::FromBase64("a+b-").status().message() ==
        "invalid base64 character '+' at position 2");  // alphabets are not mixed
}
