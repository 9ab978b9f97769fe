// recipe.lock: pins every source of a recipe by sha256 and size (JSON, beside the recipe:
// recipes/debian/hello.yaml -> recipes/debian/hello.lock).
//
// Each entry also records the source's identity as the recipe stated it (URL + pin, apt package
// + version, file path). A lock is stale when a source was added, removed or changed since: the
// build refuses it, naming the source, unless told to ignore the lock.
//
//   {"lock_version": 1, "recipe": "<name>", "sources": {
//      "<name>": {"identity": "...", "sha256": "<hex>", "size": N, "filename": "..."}, ...}}
#pragma once

#include <map>
#include <string>

#include "tdximage/recipe.h"
#include "tdxrt/status.h"

namespace tdximage {

struct LockEntry {
  std::string identity;
  std::string sha256;
  std::uint64_t size = 0;
  std::string filename;  // the upstream file name (e.g. the .deb's), informative
};

struct Lock {
  std::string recipe;
  std::map<std::string, LockEntry> sources;
};

std::string LockPathFor(const std::string& recipe_file);
tdxrt::Result<Lock> ParseLock(const std::string& text, const std::string& file);
tdxrt::Result<Lock> LoadLock(const std::string& file);
std::string SerializeLock(const Lock& lock);

// Ok when `lock` pins exactly the recipe's sources with their current identities; otherwise
// every difference, one per line.
tdxrt::Status CheckLockFresh(const Recipe& recipe, const Lock& lock);

}  // namespace tdximage
