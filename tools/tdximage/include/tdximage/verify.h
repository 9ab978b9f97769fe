// Comparing a rebuilt image with a published one, and explaining every difference.
//
// Both sides are manifests (<name>-manifest.json): what the recipe, lock, inputs, initramfs
// files, outputs and measurements were. A mismatch report says which measurement differs and
// why: which locked input differs, which files inside the initramfs were added, removed or
// changed (with sizes and hashes), which outputs differ, and which assumption (memory, command
// line, host variant) changed.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tdximage/launcher.h"
#include "tdxrt/status.h"

namespace tdximage {

struct VerifyReport {
  bool match = true;
  std::vector<std::string> lines;  // human-readable findings, most important first
  nlohmann::ordered_json json;     // the same, structured
};

VerifyReport CompareManifests(const nlohmann::ordered_json& published,
                              const nlohmann::ordered_json& rebuilt);

// Parses a manifest and checks the shape CompareManifests and inspect rely on (objects and arrays
// where they belong, strings for hashes), naming the first field that is wrong.
tdxrt::Result<nlohmann::ordered_json> ParseManifest(const std::string& text,
                                                    const std::string& where);

// Loads the manifest of an artifact: an out/<name>/ directory, a *-manifest.json, or a
// self-extracting *-run-qemu.sh (whose payload is checked first). `launcher` receives the
// launcher's embedded files when the artifact is a launcher.
tdxrt::Result<nlohmann::ordered_json> LoadManifestOf(const std::string& artifact,
                                                     std::vector<LauncherFile>* launcher = nullptr);

}  // namespace tdximage
