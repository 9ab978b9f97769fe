#include "tdxrt/text.h"

#include <doctest/doctest.h>

TEST_CASE("untrusted text is escaped byte for byte") {
  using tdxrt::EscapeText;
  CHECK(EscapeText("Intel SGX PCK Certificate") == "Intel SGX PCK Certificate");
  CHECK(EscapeText(std::string("a\x1b[31mred\nline\\\xff\0", 17)) ==
        "a\\x1b[31mred\\x0aline\\\\\\xff\\x00");
  CHECK(tdxrt::IsPlainText("abc ~"));
  CHECK_FALSE(tdxrt::IsPlainText("tab\t"));
  CHECK_FALSE(tdxrt::IsPlainText("back\\slash"));
}
