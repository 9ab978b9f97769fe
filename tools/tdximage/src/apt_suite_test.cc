// Private apt configurations for another Debian suite: the machine's archives read from both
// source formats, the suite's sources.list, and the runner that adds the options to apt-get
// only, refreshing the lists once when a pinned version is missing.
#include "tdximage/apt_suite.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tdxrt/file.h"

using tdximage::AptSuite;
using tdximage::AptSuiteRunner;
using tdximage::CommandRunner;

namespace {

class ScriptedRunner final : public CommandRunner {
 public:
  std::vector<std::vector<std::string>> calls;
  std::vector<int> codes;  // per call; 0 after the list runs out
  std::vector<std::string> outputs;
  tdxrt::Result<int> Run(const std::vector<std::string>& argv, const std::string&,
                         std::string* out) override {
    const std::size_t i = calls.size();
    calls.push_back(argv);
    if (out) *out = i < outputs.size() ? outputs[i] : "";
    return i < codes.size() ? codes[i] : 0;
  }
};

}  // namespace

TEST_CASE("the machine's Debian archives from one-line and deb822 sources") {
  const std::string one_line =
      "# comment\n"
      "deb http://archive.example/debian bookworm main\n"
      "deb-src http://archive.example/debian bookworm main\n"
      "deb [arch=amd64 signed-by=/k.gpg] http://archive.example/debian-security/ bookworm-security "
      "main\n"
      "deb http://other.example/ubuntu noble main\n";
  const std::string deb822 =
      "Types: deb\n"
      "URIs: http://mirror.example/debian\n"
      "Suites: bookworm bookworm-updates\n"
      "Components: main\n"
      "\n"
      "Types: deb\n"
      "URIs: http://mirror.example/debian-security\n"
      "Suites: bookworm-security\n"
      "\n"
      "Types: deb\n"
      "URIs: http://disabled.example/debian\n"
      "Enabled: no\n";
  const auto a = tdximage::ParseDebianArchives({one_line, deb822});
  CHECK(a.main ==
        std::vector<std::string>{"http://archive.example/debian", "http://mirror.example/debian"});
  CHECK(a.security == std::vector<std::string>{"http://archive.example/debian-security",
                                               "http://mirror.example/debian-security"});
  tdximage::DebianArchives one;
  one.main = {"http://mirror.example/debian"};
  one.security = {"http://mirror.example/debian-security"};
  CHECK(tdximage::SuiteSourcesList(one, "trixie") ==
        "# tdximage: Debian trixie from this machine's archives\n"
        "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
        "http://mirror.example/debian trixie main\n"
        "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
        "http://mirror.example/debian trixie-updates main\n"
        "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
        "http://mirror.example/debian-security trixie-security main\n");
}

TEST_CASE("AptSuiteRunner: apt-get gets the suite's options, a missing version refreshes once") {
  AptSuite suite;
  suite.suite = "trixie";
  auto dir = tdxrt::MakeTempDir("apt-suite-test-");  // where the update's lock file goes
  REQUIRE(dir.ok());
  suite.dir = *dir;
  suite.options = {"-o", "Dir::Etc::sourcelist=/s.list"};
  ScriptedRunner inner;
  AptSuiteRunner runner(inner, suite);
  std::string out;
  REQUIRE(runner.Run({"apt-get", "download", "-q", "p=1"}, "/tmp", &out).ok());
  CHECK(inner.calls.back() == std::vector<std::string>{"apt-get", "-o",
                                                       "Dir::Etc::sourcelist=/s.list", "download",
                                                       "-q", "p=1"});
  REQUIRE(runner.Run({"cmake", "--version"}, "/tmp", &out).ok());
  CHECK(inner.calls.back() == std::vector<std::string>{"cmake", "--version"});
  // Not in the lists: apt-get update with the same options, then the command again.
  inner.calls.clear();
  inner.codes = {100, 0, 0};
  inner.outputs = {"E: Version '2' for 'p' was not found\n", "", "done"};
  auto rc = runner.Run({"apt-get", "download", "p=2"}, "/tmp", &out);
  REQUIRE(rc.ok());
  CHECK(*rc == 0);
  CHECK(out == "done");
  REQUIRE(inner.calls.size() == 3);
  CHECK(inner.calls[1] ==
        std::vector<std::string>{"apt-get", "update", "-qq", "-o", "Dir::Etc::sourcelist=/s.list"});
  // Only once per runner: a version still missing is apt's error, returned as it is.
  inner.calls.clear();
  inner.codes = {100};
  inner.outputs = {"E: Version '3' for 'p' was not found\n"};
  rc = runner.Run({"apt-get", "download", "p=3"}, "/tmp", &out);
  REQUIRE(rc.ok());
  CHECK(*rc == 100);
  CHECK(inner.calls.size() == 1);
  CHECK(out.find("was not found") != std::string::npos);
  std::filesystem::remove_all(*dir);
}
