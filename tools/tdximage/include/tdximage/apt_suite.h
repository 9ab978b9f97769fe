// A private apt configuration for a Debian suite other than the machine's own (a Debian 13
// "trixie" recipe built on a Debian 12 machine), so that a recipe's `suite:` selects where its
// apt sources and build toolchain resolve without touching /etc/apt or /var/lib/apt.
//
// The archive is the machine's: the Debian archive URIs of its apt sources (one-line
// sources.list and deb822 .sources files) are reused with the recipe's suite — `URI SUITE` and
// `URI SUITE-updates` for an archive ending in /debian, `URI SUITE-security` for one ending in
// /debian-security — signed by Debian's archive keyring. The package lists live in the tdximage
// cache (<cache>/apt/<suite>/), fetched by `apt-get update` the first time and again when a
// pinned version is missing from them. What apt downloads is still checked against the lock.
//
// Every apt-get command of the build then runs with the configuration's options: an
// AptSuiteRunner wraps the command runner and adds them to each apt-get invocation.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tdximage/sources.h"
#include "tdxrt/status.h"

namespace tdximage {

struct DebianArchives {
  std::vector<std::string> main;      // URIs ending in /debian
  std::vector<std::string> security;  // URIs ending in /debian-security
};

// The Debian archives of apt source files (their text), one-line or deb822.
DebianArchives ParseDebianArchives(const std::vector<std::string>& source_files);
// ... of this machine's /etc/apt/sources.list and /etc/apt/sources.list.d/*.{list,sources}.
DebianArchives MachineDebianArchives();

// The sources.list text for `suite` from `archives` (deterministic).
std::string SuiteSourcesList(const DebianArchives& archives, const std::string& suite);

struct AptSuite {
  std::string suite;
  std::filesystem::path dir;         // <cache>/apt/<suite>
  std::vector<std::string> options;  // -o Dir::Etc::sourcelist=... etc.
};

// Prepares <cache_dir>/apt/<suite>: writes its sources.list and, unless `offline`, runs
// `apt-get update` with it when the lists are absent. Errors name the suite and apt's output.
tdxrt::Result<AptSuite> PrepareAptSuite(CommandRunner& runner,
                                        const std::filesystem::path& cache_dir,
                                        const std::string& suite, bool offline);

// Refreshes the suite's lists (apt-get update), e.g. when a pinned version is not in them.
tdxrt::Status UpdateAptSuite(CommandRunner& runner, const AptSuite& suite);

// Runs every apt-get command with the suite's options; other commands unchanged.
class AptSuiteRunner : public CommandRunner {
 public:
  AptSuiteRunner(CommandRunner& inner, AptSuite suite) : inner_(inner), suite_(std::move(suite)) {}
  tdxrt::Result<int> Run(const std::vector<std::string>& argv, const std::string& cwd,
                         std::string* output) override;

 private:
  CommandRunner& inner_;
  AptSuite suite_;
  bool refreshed_ = false;
};

}  // namespace tdximage
