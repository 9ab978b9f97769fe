// A recipe's build section, run hermetically: the programs an image carries compiled from a
// digested source tree in a build root made only of locked Debian packages (build_root.h).
//
// Passes: read the source (the files git tracks, or a pinned tarball) and digest it; derive the
// build key from (locked toolchain, source digest, commands, environment, outputs); serve the
// outputs from the cache under that key, or else fetch the toolchain packages (verified against
// the lock), assemble and write the build root, run the commands isolated, read the outputs and
// resolve their shared-library closure in the build root's packages (never on the host), and
// cache the result. The buildinfo (manifest "build") records everything the key covers.
//
// Source digest ("tdximage-tree-v1"): sha256 over one line per file, sorted by path,
// "<F|L> <mode, 4 octal digits> <sha256 of content | symlink target> <path>\n", so the same
// files give the same digest whether they come from a git work tree, a tarball or a copy.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tdximage/cache.h"
#include "tdximage/lock.h"
#include "tdximage/recipe.h"
#include "tdximage/sources.h"
#include "tdximage/tree.h"

namespace tdximage {

// The digest above, over the files and symlinks of `tree` (directories are implied).
std::string TreeDigest(const FileTree& tree);

// The build key: sha256 of the build description (the manifest's "build" without outputs) less
// source.what, so that the same tree read from another path (a copy of the recipe, an auditor's
// checkout elsewhere) is the same key, while anything that decides the outputs' bytes is not.
std::string BuildKey(nlohmann::ordered_json description);

struct BuildSourceTree {
  FileTree files;  // relative to /build/src
  std::string digest;
  std::size_t count = 0;
  std::string description;  // "git ../.. [CMakeLists.txt cmake runtime zipnet-core]"
};

// Reads the build section's source. `git` sources run `git ls-files` in the recipe's own work
// tree (or one under a --file-root) and read the listed files as they are in the work tree.
tdxrt::Result<BuildSourceTree> ReadBuildSource(const Recipe& recipe,
                                               const std::map<std::string, FetchedSource>& sources,
                                               const std::vector<std::string>& file_roots,
                                               CommandRunner& runner);

struct BuiltFile {
  std::string path;  // outputs: where the build left it in the build root; libraries: ""
  std::string to;    // absolute path in the image; "" for an output built but not installed
  std::vector<std::string> needed_by;  // libraries: the outputs (paths) that load them
  std::shared_ptr<const tdxrt::Bytes> data;
  std::uint32_t mode = 0755;
  std::string origin;  // "build:/build/out/x" or "toolchain libc6:lib/x86_64-linux-gnu/libc.so.6"
};

struct HermeticOptions {
  std::int64_t source_date_epoch = 0;
  const Cache* output_cache = nullptr;  // null: always build (--no-derived-cache, verify)
  std::vector<std::string> file_roots;
  std::function<void(const std::string&)> log;
  std::function<void(const std::string&)> build_output;  // each line the commands print
};

struct HermeticResult {
  // What goes into the image: the outputs with a `to`, then the libraries they load.
  std::vector<BuiltFile> files;
  nlohmann::ordered_json buildinfo;  // the manifest's "build"
  bool from_cache = false;
  std::uint64_t root_bytes = 0;  // size of the build root's files (0 when served from cache)
  std::map<std::string, double> seconds;
};

// `tdximage lock`: resolves the build toolchain's closure with apt (offline: the previous lock's
// closure, if the request is unchanged) and pins every package of it by the bytes fetched.
// Versions the previous lock pinned keep their pins and are checked against them.
tdxrt::Result<ToolchainLock> LockBuildToolchain(const Recipe& recipe, const Lock* previous,
                                                CommandRunner& runner, SourceStore& store,
                                                bool offline);

tdxrt::Result<HermeticResult> RunBuildSection(const Recipe& recipe, const Lock& lock,
                                              const std::map<std::string, FetchedSource>& sources,
                                              SourceStore& store, CommandRunner& runner,
                                              const HermeticOptions& options);

}  // namespace tdximage
