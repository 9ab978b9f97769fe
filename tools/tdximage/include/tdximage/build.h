// tdximage build: from a parsed recipe and its lock to out/<name>/, reproducibly.
//
// Passes (each reported as a progress line): sources (cache or fetch, verified against the
// lock), kernel and OVMF extraction, root file system, files, kernel modules (closure, load
// order), binaries (ELF closure), /init, initramfs (cpio newc, compressed), measurements (MR_TD
// both page orders, RTMR1, RTMR2 via mrtd), outputs and manifest. All outputs are written into a
// temporary directory beside out/<name> and renamed into place only when complete.
//
// Outputs: <name>-initramfs.cpio.zst|gz, <name>-vmlinuz, <name>-ovmf.fd, <name>-mrtd.hex
// (single-pass), <name>-rtmr1.hex, <name>-rtmr2.hex, <name>-measurements.json,
// <name>-manifest.json, <name>-run-qemu.sh (self-extracting), <name>-launch-tdx.sh (runs the
// unpacked files), <name>-SHA256SUMS (every output; the manifest cannot list the launchers,
// which carry it).
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "tdximage/cache.h"
#include "tdximage/hermetic.h"
#include "tdximage/host_settings.h"
#include "tdximage/lock.h"
#include "tdximage/recipe.h"
#include "tdximage/sources.h"
#include "tdximage/tree.h"

namespace tdximage {

struct BuildOptions {
  std::string out_root = "out";  // outputs in out_root/<name>/
  std::int64_t source_date_epoch = 0;
  std::string tool_version;                     // recorded in the manifest and /init
  std::string host_root = "/";                  // where host binaries are read from
  std::function<void(const std::string&)> log;  // progress lines
  // Where decompressed package trees are kept between builds (keyed by the package's sha256);
  // none: decompress every time.
  const Cache* derived_cache = nullptr;
  // The recipe's build section, already run (hermetic.h): its files go into the image and its
  // buildinfo into the manifest. Required when the recipe has a build section.
  const HermeticResult* built = nullptr;
};

struct BuildResult {
  std::string out_dir;
  nlohmann::ordered_json manifest;
  nlohmann::ordered_json measurements;
  std::map<std::string, double> seconds;  // per pass, for benchmarks
  std::uint64_t initramfs_size = 0, initramfs_uncompressed_files = 0, launcher_size = 0;
};

// The sources' bytes, fetched and verified, keyed by source name.
using SourceSet = std::map<std::string, FetchedSource>;

// Fetches every source of `recipe` (pinned by `lock` when given).
tdxrt::Result<SourceSet> FetchSources(const Recipe& recipe, const Lock* lock, SourceStore& store,
                                      const std::function<void(const std::string&)>& log);

// Assembles the image tree (everything but the measurements); exposed for tests and inspect.
struct AssembledImage {
  FileTree tree;
  tdxrt::Bytes kernel, ovmf;
  std::vector<std::string> modules;  // load order (paths in the tree)
  std::vector<std::string> explicit_modes;
  // The settings declarations of the image's programs (host_settings.h).
  std::vector<DeclaredSettings> declared_settings;
  // Decompressed package trees for BuildOptions::derived_cache, stored only once the build has
  // succeeded (a failed build leaves nothing in the cache): cache key -> bytes.
  std::vector<std::pair<std::string, std::shared_ptr<const tdxrt::Bytes>>> derived;
};
tdxrt::Result<AssembledImage> AssembleImage(const Recipe& recipe, const SourceSet& sources,
                                            const BuildOptions& options);

tdxrt::Result<BuildResult> BuildImage(const Recipe& recipe, const Lock* lock,
                                      const std::string& lock_text, const SourceSet& sources,
                                      const BuildOptions& options);

}  // namespace tdximage
