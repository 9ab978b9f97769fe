// tdximage: reproducible TDX guest images from pinned YAML recipes. A thin command line over
// the tdximage library: lock, build, cache seeding, and in-process package extraction.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "tdx_version.h"
#include "tdximage/archive.h"
#include "tdximage/build.h"
#include "tdximage/cache.h"
#include "tdximage/lock.h"
#include "tdximage/recipe.h"
#include "tdximage/sources.h"
#include "tdxrt/file.h"
#include "tdxrt/hex.h"
#include "tdxrt/sha.h"

namespace {

using namespace tdximage;  // NOLINT(google-build-using-namespace): a thin main over one library

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

int Usage(const std::string& msg) {
  std::fprintf(stderr, "tdximage: usage error: %s\n", msg.c_str());
  return static_cast<int>(ExitCode::kUsage);
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

std::string ToolVersion() {
  return std::string("tdximage ") + TDX_VERSION + " (git " + TDX_GIT_REVISION + ")";
}

struct Common {
  std::string cache_dir;
  bool offline = false;
  bool quiet = false;
  bool json = false;
};

std::function<void(const std::string&)> Logger(const Common& c) {
  if (c.quiet) return {};
  return [](const std::string& m) { std::fprintf(stderr, "tdximage: %s\n", m.c_str()); };
}

SourceOptions MakeSourceOptions(const Common& c) {
  SourceOptions o;
  o.offline = c.offline;
  o.log = Logger(c);
  if (!c.quiet && ::isatty(2)) {
    o.progress = [](std::uint64_t done, std::uint64_t total) {
      if (total > 0) {
        const int width = 30;
        const int fill =
            static_cast<int>(width * static_cast<double>(done) / static_cast<double>(total));
        std::fprintf(stderr, "\r  [%-*s] %6.1f / %6.1f MiB", width,
                     std::string(static_cast<std::size_t>(fill), '#').c_str(),
                     static_cast<double>(done) / 1048576.0, static_cast<double>(total) / 1048576.0);
        if (done >= total) std::fprintf(stderr, "\n");
      }
    };
  }
  return o;
}

Cache MakeCache(const Common& c) {
  return Cache(c.cache_dir.empty() ? Cache::DefaultDir() : std::filesystem::path(c.cache_dir));
}

int RunLock(const std::string& recipe_file, const Common& c) {
  auto recipe = LoadRecipe(recipe_file);
  if (!recipe.ok()) return Fail(recipe.status().message());
  Cache cache = MakeCache(c);
  auto runner = MakePosixCommandRunner();
  auto http = MakeCurlFetcher();
  SourceStore store(cache, *runner, *http, MakeSourceOptions(c));
  Lock lock;
  lock.recipe = recipe->name;
  for (const auto& s : recipe->sources) {
    auto got = store.Get(s, nullptr, recipe->dir);
    if (!got.ok()) return Fail(got.status().message());
    lock.sources[s.name] = LockEntry{s.Identity(), got->sha256, got->size, got->filename};
  }
  const std::string path = LockPathFor(recipe_file);
  if (auto st = tdxrt::WriteFileAtomic(path, SerializeLock(lock)); !st.ok())
    return Fail(st.message());
  if (!c.quiet)
    std::fprintf(stderr, "tdximage: wrote %s (%zu sources pinned)\n", path.c_str(),
                 lock.sources.size());
  return static_cast<int>(ExitCode::kOk);
}

int RunBuild(const std::string& recipe_file, const std::string& out_root, bool no_lock,
             bool no_derived, const Common& c) {
  auto recipe = LoadRecipe(recipe_file);
  if (!recipe.ok()) return Fail(recipe.status().message());
  const std::string lock_path = LockPathFor(recipe_file);
  std::optional<Lock> lock;
  std::string lock_text;
  if (!no_lock) {
    auto text = tdxrt::ReadFile(lock_path, 1 << 20);
    if (!text.ok()) {
      return Fail(recipe_file + " is not locked: " + text.status().message() +
                  " (hint: run 'tdximage lock " + recipe_file +
                  "', or build with --no-lock to use only the recipe's own pins)");
    }
    lock_text.assign(text->begin(), text->end());
    auto l = ParseLock(lock_text, lock_path);
    if (!l.ok()) return Fail(l.status().message());
    if (auto st = CheckLockFresh(*recipe, *l); !st.ok())
      return Fail(lock_path + " is stale:\n" + st.message());
    lock = std::move(l).value();
  } else if (!c.quiet) {
    std::fprintf(stderr,
                 "tdximage: warning: --no-lock: apt and file sources are not pinned; this build is "
                 "not reproducible by others\n");
  }
  Cache cache = MakeCache(c);
  auto runner = MakePosixCommandRunner();
  auto http = MakeCurlFetcher();
  SourceStore store(cache, *runner, *http, MakeSourceOptions(c));
  auto log = Logger(c);
  auto sources = FetchSources(*recipe, lock ? &*lock : nullptr, store, log);
  if (!sources.ok()) return Fail(sources.status().message());
  BuildOptions o;
  o.out_root = out_root;
  o.tool_version = ToolVersion();
  o.log = log;
  if (!no_derived) o.derived_cache = &cache;
  if (const char* sde = std::getenv("SOURCE_DATE_EPOCH"); sde && *sde) {
    char* end = nullptr;
    const long long v = std::strtoll(sde, &end, 10);
    if (*end != '\0' || v < 0)
      return Usage(std::string("SOURCE_DATE_EPOCH '") + sde + "' is not a non-negative integer");
    o.source_date_epoch = v;
  }
  auto built = BuildImage(*recipe, lock ? &*lock : nullptr, lock_text, *sources, o);
  if (!built.ok()) return Fail(built.status().message());
  if (c.json) {
    nlohmann::ordered_json j = {{"out_dir", built->out_dir},
                                {"measurements", built->measurements},
                                {"outputs", built->manifest["outputs"]}};
    std::cout << j.dump(2) << "\n";
  } else {
    const auto& m = built->measurements;
    std::printf("built %s in %s\n", recipe->name.c_str(), built->out_dir.c_str());
    std::printf("MR_TD (single-pass): %s\n", m["mr_td"]["single-pass"].get<std::string>().c_str());
    std::printf("MR_TD (two-pass):    %s\n", m["mr_td"]["two-pass"].get<std::string>().c_str());
    std::printf("RTMR1:               %s  (memory %s, %s header, %s)\n",
                m["rtmr1"].get<std::string>().c_str(), recipe->memory.c_str(),
                recipe->kernel_header.c_str(), recipe->ovmf_layout.c_str());
    std::printf("RTMR2:               %s\n", m["rtmr2"].get<std::string>().c_str());
    for (const auto& out : built->manifest["outputs"]) {
      std::printf("  %s/%s\n", built->out_dir.c_str(), out["file"].get<std::string>().c_str());
    }
    for (const char* f : {"-manifest.json", "-run-qemu.sh", "-launch-tdx.sh", "-SHA256SUMS"}) {
      std::printf("  %s/%s%s\n", built->out_dir.c_str(), recipe->name.c_str(), f);
    }
  }
  return static_cast<int>(ExitCode::kOk);
}

int RunCacheSeed(const std::string& dir, const Common& c) {
  Cache cache = MakeCache(c);
  auto r = cache.Seed(dir);
  if (!r.ok()) return Fail(r.status().message());
  if (!c.quiet) {
    std::fprintf(stderr, "tdximage: seeded %s from %s: %d imported, %d already present\n",
                 cache.dir().c_str(), dir.c_str(), r->imported, r->already);
  }
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

  Common common;
  app.add_option("--cache", common.cache_dir,
                 "Source cache directory (default $TDXIMAGE_CACHE, $XDG_CACHE_HOME/tdximage)");
  app.add_flag("--offline", common.offline,
               "Never touch the network: every source must be in the cache");
  app.add_flag("-q,--quiet", common.quiet, "No progress lines");
  app.add_flag("--json", common.json, "Print the result as JSON");

  std::string lock_recipe;
  auto* lock = app.add_subcommand(
      "lock", "Resolve every source of a recipe and pin it (sha256, size) in <recipe>.lock");
  lock->add_option("recipe", lock_recipe, "Recipe file (YAML)")->required();
  lock->fallthrough();

  std::string build_recipe, out_root = "out";
  bool no_lock = false;
  auto* build = app.add_subcommand("build", "Build the image of a locked recipe into OUT/<name>/");
  build->add_option("recipe", build_recipe, "Recipe file (YAML)")->required();
  build->add_option("-o,--out", out_root, "Output root (default out)");
  build->add_flag("--no-lock", no_lock,
                  "Build without a lock (apt and file sources unpinned; not reproducible)");
  bool no_derived = false;
  build->add_flag(
      "--no-derived-cache", no_derived,
      "Decompress every package anew instead of reusing decompressed trees from the "
      "cache (those are checked against a hash kept in the cache, not against the lock)");
  build->fallthrough();

  auto* cache_cmd = app.add_subcommand("cache", "Manage the source cache");
  std::string seed_dir;
  auto* seed =
      cache_cmd->add_subcommand("seed", "Import every file of DIR into the cache by content hash");
  seed->add_option("dir", seed_dir, "Directory of source files (e.g. ../shared/sources)")
      ->required();
  seed->fallthrough();
  auto* cache_dir_cmd = cache_cmd->add_subcommand("dir", "Print the cache directory");
  cache_dir_cmd->fallthrough();
  cache_cmd->require_subcommand(1);
  cache_cmd->fallthrough();

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
  if (lock->parsed()) return RunLock(lock_recipe, common);
  if (build->parsed()) return RunBuild(build_recipe, out_root, no_lock, no_derived, common);
  if (seed->parsed()) return RunCacheSeed(seed_dir, common);
  if (cache_dir_cmd->parsed()) {
    std::printf("%s\n", MakeCache(common).dir().c_str());
    return 0;
  }
  if (extract->parsed()) return RunExtract(archive, member, out);
  if (list->parsed()) return RunList(list_archive);
  return static_cast<int>(ExitCode::kUsage);
}
