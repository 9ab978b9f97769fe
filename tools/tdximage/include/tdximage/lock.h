// recipe.lock: pins every source of a recipe by sha256 and size (JSON, beside the recipe:
// recipes/debian/hello.yaml -> recipes/debian/hello.lock).
//
// Each entry also records the source's identity as the recipe stated it (URL + pin, apt package
// + version, file path). A lock is stale when a source was added, removed or changed since: the
// build refuses it, naming the source, unless told to ignore the lock.
//
//   {"lock_version": 1, "recipe": "<name>", "sources": {
//      "<name>": {"identity": "...", "sha256": "<hex>", "size": N, "filename": "...",
//                 "pool": "pool/main/..."}, ...},
//    "toolchain": {"request": ["dash", "g++", ...],
//                  "packages": [{"name": "libc6", "version": "2.36-9+deb12u14", "arch": "amd64",
//                                "sha256": "<hex>", "size": N, "pool": "pool/main/g/glibc/..."},
//                               ...]}}
//
// "pool" is a Debian package's path in its archive: Debian drops superseded versions from the
// live archive, so a rebuild a year later fetches the same bytes from a snapshot of it
// (tdximage build --archive URL), checked against the sha256 here. "toolchain" (recipes with a
// build section) pins the whole dependency closure of the requested packages, sorted by name.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tdximage/recipe.h"
#include "tdxrt/status.h"

namespace tdximage {

struct LockEntry {
  std::string identity;
  std::string sha256;
  std::uint64_t size = 0;
  std::string filename;  // the upstream file name (e.g. the .deb's), informative
  std::string pool;      // apt: the package's path in its archive ("pool/main/..."), if known
};

struct ToolchainPackage {
  std::string name, version, arch;
  std::string sha256;
  std::uint64_t size = 0;
  std::string pool;
  // The source-store view of this package (apt NAME VERSION, pinned by this entry).
  SourceSpec Spec() const;
  LockEntry Pin() const;
};

struct ToolchainLock {
  std::vector<std::string> request;        // the recipe's build.toolchain, as written
  std::vector<ToolchainPackage> packages;  // the closure, sorted by name
};

struct Lock {
  std::string recipe;
  std::map<std::string, LockEntry> sources;
  std::optional<ToolchainLock> toolchain;
};

std::string LockPathFor(const std::string& recipe_file);
tdxrt::Result<Lock> ParseLock(const std::string& text, const std::string& file);
tdxrt::Result<Lock> LoadLock(const std::string& file);
std::string SerializeLock(const Lock& lock);

// Ok when `lock` pins exactly the recipe's sources with their current identities; otherwise
// every difference, one per line.
tdxrt::Status CheckLockFresh(const Recipe& recipe, const Lock& lock);

}  // namespace tdximage
