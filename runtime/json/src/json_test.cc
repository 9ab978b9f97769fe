// Strict JSON: duplicate keys and deep nesting refused with their place; dumping never throws.
#include "tdxrt/json.h"

#include <doctest/doctest.h>

using tdxrt::DumpJson;
using tdxrt::ParseJson;
using tdxrt::ParseOrderedJson;

TEST_CASE("a key given twice is refused, naming it and where") {
  auto r = ParseJson(R"({"allow_mock": true, "allow_mock": false})", "policy.json");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() ==
        "policy.json: duplicate key 'allow_mock' at /allow_mock (readers disagree on which one "
        "counts; keep one)");
  auto nested = ParseOrderedJson(
      R"({"sets": [{"name": "a"}, {"name": "b", "mr_td": "x", "name": "c"}]})", "p.json");
  REQUIRE_FALSE(nested.ok());
  CHECK(nested.status().message() ==
        "p.json: duplicate key 'name' at /sets/1/name (readers disagree on which one counts; "
        "keep one)");
  // The same key in two objects is not a duplicate.
  auto fine = ParseJson(R"({"a": {"k": 1}, "b": {"k": 2}, "c": [1, {"k": 3}]})", "x");
  REQUIRE(fine.ok());
  CHECK((*fine)["c"][1]["k"] == 3);
}

TEST_CASE("nesting deeper than the limit is refused") {
  std::string deep(100, '[');
  deep += std::string(100, ']');
  auto r = ParseJson(deep, "deep.json");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().rfind("deep.json: nesting deeper than 64 levels at /0/0/", 0) == 0);
  std::string ok(60, '[');
  ok += std::string(60, ']');
  CHECK(ParseJson(ok, "ok.json").ok());
}

TEST_CASE("syntax errors say where") {
  auto r = ParseJson("{\"a\": 1,", "broken.json");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().rfind("broken.json: invalid JSON: parse error at line 1, column 9",
                                   0) == 0);
  CHECK_FALSE(ParseJson("", "empty.json").ok());
  CHECK_FALSE(ParseJson("{} {}", "two.json").ok());
}

TEST_CASE("strings that are not UTF-8 are dumped, not thrown") {
  nlohmann::ordered_json j;
  j["cn"] = std::string("Intel \xff\xfe SGX");
  CHECK(DumpJson(j, -1) == "{\"cn\":\"Intel \xef\xbf\xbd\xef\xbf\xbd SGX\"}");
  CHECK_THROWS(j.dump());  // what DumpJson protects against
}
