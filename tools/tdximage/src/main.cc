// tdximage: reproducible TDX guest images. This first cut offers the package primitives the
// image build rests on: listing and extracting files from Debian packages and tarballs
// in-process (no ar, tar or dpkg-deb on the data path).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <string>

#include "tdx_version.h"
#include "tdximage/archive.h"
#include "tdxrt/file.h"
#include "tdxrt/hex.h"
#include "tdxrt/sha.h"

namespace {

enum class ExitCode : int { kOk = 0, kFailure = 1, kUsage = 2 };

constexpr const char* kExitCodesHelp =
    "Exit codes:\n"
    "  0  success\n"
    "  1  failure: unreadable, malformed or missing input\n"
    "  2  usage error\n";

int Fail(const std::string& msg) {
  std::fprintf(stderr, "tdximage: error: %s\n", msg.c_str());
  return static_cast<int>(ExitCode::kFailure);
}

bool IsDeb(const std::string& path) {
  return path.size() > 4 && path.substr(path.size() - 4) == ".deb";
}

// The tar stream of a package or tarball argument.
tdxrt::Result<tdxrt::Bytes> TarOf(const std::string& path) {
  TDX_ASSIGN_OR_RETURN(tdxrt::Bytes data, tdxrt::ReadFile(path));
  if (!IsDeb(path)) return data;
  auto tar = tdximage::DebDataTar(data);
  if (!tar.ok()) return tar.status().WithContext(path);
  return tar;
}

int RunExtract(const std::string& archive, const std::string& member, const std::string& out) {
  auto tar = TarOf(archive);
  if (!tar.ok()) return Fail(tar.status().message());
  auto data = tdximage::ReadTarMember(*tar, member);
  if (!data.ok()) return Fail(archive + ": " + data.status().message());
  if (auto s = tdxrt::WriteFileAtomic(out, *data, 0644); !s.ok()) return Fail(s.message());
  std::printf("%s  %s (%zu bytes from %s)\n", tdxrt::ToHex(tdxrt::Sha256(*data)).c_str(),
              out.c_str(), data->size(), archive.c_str());
  return static_cast<int>(ExitCode::kOk);
}

int RunList(const std::string& archive) {
  auto tar = TarOf(archive);
  if (!tar.ok()) return Fail(tar.status().message());
  auto entries = tdximage::ListTar(*tar);
  if (!entries.ok()) return Fail(archive + ": " + entries.status().message());
  for (const auto& e : *entries) {
    const char t = e.type == tdximage::EntryType::kDirectory  ? 'd'
                   : e.type == tdximage::EntryType::kSymlink  ? 'l'
                   : e.type == tdximage::EntryType::kHardlink ? 'h'
                   : e.type == tdximage::EntryType::kFile     ? '-'
                                                              : '?';
    std::printf("%c%04o %12llu %s%s%s\n", t, e.mode, static_cast<unsigned long long>(e.size),
                e.path.c_str(), e.link_target.empty() ? "" : " -> ", e.link_target.c_str());
  }
  return static_cast<int>(ExitCode::kOk);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tdximage: build, measure and verify reproducible TDX guest images"};
  app.set_version_flag("--version",
                       std::string("tdximage ") + TDX_VERSION + " (git " + TDX_GIT_REVISION + ")");
  app.footer(kExitCodesHelp);
  app.require_subcommand(1);

  std::string archive, member, out;
  auto* extract =
      app.add_subcommand("extract", "Extract one file from a .deb or tarball, in-process");
  extract->add_option("archive", archive, "Debian package (.deb) or tarball")->required();
  extract->add_option("member", member, "Path inside the package (e.g. usr/share/ovmf/OVMF.fd)")
      ->required();
  extract->add_option("-o,--output", out, "Output file (written atomically)")->required();

  std::string list_archive;
  auto* list = app.add_subcommand("list", "List the files of a .deb or tarball");
  list->add_option("archive", list_archive, "Debian package (.deb) or tarball")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return 0;
  } catch (const CLI::CallForVersion&) {
    std::cout << app.version() << "\n";
    return 0;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "tdximage: usage error: %s\nRun 'tdximage --help' for usage.\n", e.what());
    return static_cast<int>(ExitCode::kUsage);
  }
  if (extract->parsed()) return RunExtract(archive, member, out);
  if (list->parsed()) return RunList(list_archive);
  return static_cast<int>(ExitCode::kUsage);
}
