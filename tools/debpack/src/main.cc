// debpack: the project's Debian packages from staged trees (deb.h), and the library
// dependencies of ELF files computed as dpkg-shlibdeps does (shlibdeps.h). scripts/package runs
// it; it is a build tool, not shipped.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "debpack/deb.h"
#include "debpack/shlibdeps.h"
#include "tdxrt/cli.h"
#include "tdxrt/file.h"
#include "tdxrt/hex.h"
#include "tdxrt/json.h"
#include "tdxrt/run_main.h"
#include "tdxrt/sha.h"
#include "tdxrt/text.h"

namespace {

int Fail(const tdxrt::Status& s) {
  std::fprintf(stderr, "debpack: error: %s\n", tdxrt::EscapeText(s.message()).c_str());
  return 1;
}

int RunBuild(const debpack::DebRequest& base, const std::string& control_path,
             const std::string& out_dir, bool json) {
  debpack::DebRequest r = base;
  auto control = tdxrt::ReadFile(control_path, 1u << 20);
  if (!control.ok()) return Fail(control.status());
  r.control_template.assign(control->begin(), control->end());
  r.template_name = control_path;
  auto deb = debpack::BuildDeb(r);
  if (!deb.ok()) return Fail(deb.status());
  const std::filesystem::path path = std::filesystem::path(out_dir) / deb->FileName();
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (auto s = tdxrt::WriteFileAtomic(path, deb->bytes, 0644); !s.ok()) return Fail(s);
  const std::string sha = tdxrt::ToHex(tdxrt::Sha256(deb->bytes));
  if (json) {
    nlohmann::ordered_json j;
    j["file"] = path.string();
    j["package"] = deb->package;
    j["version"] = deb->version;
    j["architecture"] = deb->architecture;
    j["size"] = deb->bytes.size();
    j["sha256"] = sha;
    j["control"] = deb->control;
    std::cout << tdxrt::DumpJson(j) << "\n";
  } else {
    std::cout << path.string() << "\n  " << deb->bytes.size() << " bytes, sha256 " << sha << "\n";
    std::stringstream lines(deb->control);
    for (std::string line; std::getline(lines, line);) {
      std::cout << "  " << tdxrt::EscapeText(line) << "\n";
    }
  }
  return 0;
}

int RunDepends(const std::vector<std::string>& files, const debpack::ShlibsContext& ctx) {
  std::vector<debpack::Binary> binaries;
  for (const std::string& f : files) {
    auto bytes = tdxrt::ReadFile(f);
    if (!bytes.ok()) return Fail(bytes.status());
    auto b = debpack::ReadBinary(f, *bytes);
    if (!b.ok()) return Fail(b.status());
    binaries.push_back(std::move(*b));
  }
  auto deps = debpack::ComputeShlibsDepends(binaries, ctx);
  if (!deps.ok()) return Fail(deps.status());
  std::cout << "shlibs:Depends=" << *deps << "\n";
  return 0;
}

int Main(int argc, char** argv) {
  CLI::App app{
      "debpack: reproducible Debian packages of staged trees, with their library "
      "dependencies computed as dpkg-shlibdeps does"};
  app.require_subcommand(1);
  debpack::DebRequest request;
  std::string root, admindir = "/var/lib/dpkg";
  app.add_option("--root", root, "Where libraries and dpkg's database are looked up (default /)");
  app.add_option("--admindir", admindir, "dpkg's database, under --root");

  std::string staged, control, out = ".";
  bool json = false;
  auto* build = app.add_subcommand("build", "Build the .deb of a staged tree");
  build->add_option("tree", staged, "The staged tree (its files at their installed paths)")
      ->required();
  build->add_option("--control", control, "Control template (deb822; ${shlibs:Depends} filled)")
      ->required();
  build->add_option("--version", request.version, "Package version")->required();
  // reproducible-builds.org's variable, read by CLI11 as the option's (non-negative) default.
  build->add_option("--epoch", request.epoch, "Date of every member and file, seconds")
      ->envname("SOURCE_DATE_EPOCH")
      ->check(CLI::Range(std::int64_t{0}, std::numeric_limits<std::int64_t>::max()))
      ->required();
  build->add_option("--xz-level", request.xz_level, "xz preset of data.tar.xz (default 6)")
      ->check(CLI::Range(0, 9));
  build->add_option("-o,--out", out, "Directory the .deb is written to (default .)");
  build->add_flag("--json", json,
                  "Print the result as JSON (file, package, version, "
                  "architecture, size, sha256, control)");

  std::vector<std::string> files;
  auto* depends = app.add_subcommand(
      "depends", "Print shlibs:Depends of ELF files, as dpkg-shlibdeps -O prints it");
  depends->add_option("files", files, "ELF files")->required();

  if (auto code = tdxrt::ParseCommandLine(app, argc, argv, "debpack", 2)) return *code;
  request.shlibs.root = root.empty() ? "/" : root;
  request.shlibs.admindir = admindir;
  request.root = staged;
  if (*build) return RunBuild(request, control, out, json);
  return RunDepends(files, request.shlibs);
}

}  // namespace

int main(int argc, char** argv) {
  return tdxrt::RunMain("debpack", [&] { return Main(argc, argv); });
}
