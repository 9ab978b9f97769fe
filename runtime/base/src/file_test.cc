#include "tdxrt/file.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace fs = std::filesystem;

TEST_CASE("WriteFileAtomic then ReadFile, with limits and clear errors") {
  fs::path dir = fs::temp_directory_path() / ("tdxrt_file_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::path p = dir / "out.bin";
  REQUIRE(tdxrt::WriteFileAtomic(p, std::string_view("hello"), 0600).ok());
  CHECK((fs::status(p).permissions() & fs::perms::all) ==
        (fs::perms::owner_read | fs::perms::owner_write));
  auto r = tdxrt::ReadFile(p);
  REQUIRE(r.ok());
  CHECK(std::string(r->begin(), r->end()) == "hello");
  // Only the output remains: no temporary files left behind.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++entries;
  CHECK(entries == 1);

  auto big = tdxrt::ReadFile(p, 4);
  REQUIRE_FALSE(big.ok());
  CHECK(big.status().message() == p.string() + ": file is 5 bytes, more than the limit of 4");
  auto missing = tdxrt::ReadFile(dir / "nope");
  CHECK(missing.status().message() ==
        (dir / "nope").string() + ": cannot open: No such file or directory");
  auto m = tdxrt::MappedFile::Open(p);
  REQUIRE(m.ok());
  CHECK(std::string(m->bytes().begin(), m->bytes().end()) == "hello");
  auto moved = std::move(m).value();
  CHECK(moved.size() == 5);
  CHECK(tdxrt::MappedFile::Open(p, 4).status().message() ==
        p.string() + ": file is 5 bytes, more than the limit of 4");
  REQUIRE(tdxrt::WriteFileAtomic(dir / "empty", std::string_view("")).ok());
  CHECK(tdxrt::MappedFile::Open(dir / "empty")->size() == 0);
  auto bad = tdxrt::WriteFileAtomic(dir / "no-such-dir" / "x", std::string_view("x"));
  CHECK_FALSE(bad.ok());
  fs::remove_all(dir);
}

TEST_CASE("MakeTempDir: a new private directory every time, under TMPDIR") {
  auto a = tdxrt::MakeTempDir("tdxrt-test-");
  auto b = tdxrt::MakeTempDir("tdxrt-test-");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(*a != *b);
  CHECK(a->parent_path() == fs::temp_directory_path());
  CHECK(a->filename().string().rfind("tdxrt-test-", 0) == 0);
  CHECK((fs::status(*a).permissions() & fs::perms::all) == fs::perms::owner_all);
  fs::remove_all(*a);
  fs::remove_all(*b);
}
