// Strict YAML: what yaml-cpp accepts silently but readers disagree on is refused with its place.
#include "tdxrt/yaml_diagnostics.h"

#include <doctest/doctest.h>

namespace {
std::string Errors(const std::string& text) {
  tdxrt::YamlDiagnostics d("p.yaml");
  d.Load(text);
  return d.Joined();
}
}  // namespace

TEST_CASE("a key given twice is refused at its second place") {
  CHECK(Errors("version: 1\nallow_mock: true\nallow_mock: false\n") ==
        "p.yaml:3:1: error: duplicate key 'allow_mock' (first at line 2); readers disagree on "
        "which one counts (hint: keep one)");
  // JSON is YAML: the same holds for a JSON policy, and nested maps are checked too.
  CHECK(Errors("{\"sets\": [{\"name\": \"a\", \"name\": \"b\"}]}") ==
        "p.yaml:1:25: error: duplicate key 'name' (first at line 1); readers disagree on which "
        "one counts (hint: keep one)");
  // The same key in different maps, and equal values, are fine.
  CHECK(Errors("a: {k: 1}\nb: {k: 1}\nc: [k, k]\n").empty());
}

TEST_CASE("aliases, complex keys and second documents are refused") {
  CHECK(Errors("a: &x [1, 2]\nb: *x\n") ==
        "p.yaml:2:4: error: YAML aliases (*name) are not allowed (hint: write the value out where "
        "it is used)");
  CHECK(Errors("? [a, b]\n: 1\n") ==
        "p.yaml:1:3: error: a key must be a plain value, not a map or a list");
  CHECK(Errors("a: 1\n---\nb: 2\n") ==
        "p.yaml:2:1: error: a second YAML document ('---') (hint: one document per file)");
  CHECK(Errors("a: [1\n").rfind("p.yaml:", 0) == 0);
}
