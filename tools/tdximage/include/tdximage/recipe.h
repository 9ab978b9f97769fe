// Recipes: what an image is made of, in YAML (reference and full example: docs/recipe.md).
//
// Parsing never stops at the first problem: every error is collected with file:line:column, the
// offending key and a hint, and all are reported together. Nothing in a recipe is fetched or
// read here; this is the pure data model plus validation.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mrtd/host_profile.h"
#include "tdxrt/status.h"

namespace tdximage {

struct SourceSpec {
  // kInput: a file the builder supplies at build time (tdximage build --input NAME=PATH), e.g.
  // the client policy a committee image carries; not pinned by the lock (the manifest records
  // its sha256), so one recipe serves every release of what it depends on.
  enum class Kind { kUrl, kApt, kFile, kInput };
  std::string name;
  Kind kind = Kind::kFile;
  std::string url;               // kUrl
  std::string sha256;            // kUrl: pin (lowercase hex); empty = pinned by the lock only
  std::string package, version;  // kApt: exact Debian package and version
  // kFile: relative to the recipe's directory; must resolve (symlinks followed) to a regular,
  // non-hidden file inside it or inside a --file-root tree (sources.h).
  std::string path;
  int line = 0;             // for diagnostics
  std::string description;  // kInput: what the builder must supply
  // Canonical one-line description; the lock records it to detect stale pins.
  std::string Identity() const;
};

// A member (or a subtree, for rootfs) of a source.
struct SourceRef {
  std::string source;
  std::string path;  // member path inside the package/tarball ("" = whole source)
  int line = 0;
};

struct FileSpec {
  std::optional<SourceRef> from;       // a file of a source (whole file source when path is "")
  std::optional<std::string> content;  // or literal content
  std::string to;                      // absolute path in the image
  std::optional<std::uint32_t> mode;
  int line = 0;
};

struct RootfsSpec {
  SourceRef from;  // a tarball or package; path = subtree prefix ("" = everything)
  std::string to = "/";
};

struct BinarySpec {
  enum class From { kHost, kImage };
  From from = From::kHost;
  // On the host (kHost; may start with ${NAME}, taken from the build's environment, e.g.
  // ${ZIPNET_BIN}/zipnet-client) or in the image (kImage).
  std::string path;
  std::string to;  // destination in the image (kHost; defaults to path)
  int line = 0;
};

// How the image's own programs are made from source (docs/recipe.md, "build"): in a build root
// assembled from exact Debian packages (the toolchain; the lock pins their whole dependency
// closure), isolated from the host, with a fixed environment. Built files and their shared
// libraries (from the build root, never the host) go into the image.
struct BuildSpec {
  // apt package names ("name" or "name=version"); the build root holds exactly the closure of
  // these, nothing Essential is implied (list dash for /bin/sh).
  std::vector<std::string> toolchain;
  // The source, copied to /build/src: the files git tracks in the work tree at `git_dir`
  // (relative to the recipe's directory; the tree that holds the recipe), limited to `paths`
  // (files or directories; all when empty); or the members of a recipe source (a tarball pinned
  // by sha256) under `from->path`.
  std::string git_dir;
  std::vector<std::string> paths;
  std::optional<SourceRef> from;
  std::vector<std::string> commands;  // each run as /bin/sh -euc COMMAND in /build/src
  struct Output {
    std::string path;  // absolute, in the build root (e.g. /build/out/zipnet-core/zipnet-client)
    // Absolute, in the image; empty: built and cached but not installed (recipes that share one
    // build section, like the zipnet client and server, list the same outputs and so share one
    // compile; each installs its own).
    std::string to;
    std::uint32_t mode = 0755;
    int line = 0;
  };
  std::vector<Output> outputs;
  int line = 0;
};

struct Recipe {
  std::string file;  // path of the recipe, as given
  std::string dir;   // its directory
  std::string name;
  std::string base;  // alpine | ubuntu | debian
  // The Debian suite its apt sources and build toolchain come from ("trixie"), through a
  // private apt configuration of this machine's archive (apt_suite.h); empty: the machine's
  // own apt configuration.
  std::string suite;
  std::vector<SourceSpec> sources;  // in recipe order
  SourceRef kernel;
  SourceRef ovmf;
  std::vector<RootfsSpec> rootfs;
  std::optional<std::string> modules_source;
  std::vector<std::string> modules;
  std::vector<FileSpec> files;
  std::vector<BinarySpec> binaries;
  std::optional<BuildSpec> build;
  std::string payload_command;
  std::vector<std::string> payload_args;
  std::vector<std::pair<std::string, std::string>> payload_env;
  // Variables the launcher may pass from its environment to the payload (exact names, see
  // host_settings.h); /init exports only these. Not measured: they reach the guest through
  // QEMU's fw_cfg, not the kernel command line. Marks: zero-based line and column of each.
  std::vector<std::string> payload_host_env;
  std::vector<std::pair<int, int>> payload_host_env_marks;
  std::string cmdline;
  std::string memory = "512M";
  int cpus = 1;
  std::string compression = "zstd";
  int compression_level = 19;
  // measure: the knobs (experts), or the hosts the image targets, each with the knobs it
  // derives from its QEMU and the OVMF's edk2 release (measure.hosts, measure.ovmf_release or
  // the ovmf apt package's version). With hosts the build computes one variant per host and the
  // policy admits exactly those.
  std::string kernel_header = "qemu-patched";
  std::string ovmf_layout = "stable202411";
  std::vector<mrtd::HostProfile> hosts;
  // measure.acpi: a host's captured ACPI tables (tdximage capture-acpi), by host profile name
  // (HostProfile::name()) -> the source (a file or an input) holding the capture. With it the
  // build knows that host's RTMR0.
  std::map<std::string, std::string> acpi_sources;

  const SourceSpec* FindSource(const std::string& name) const;
};

// Parses and validates `text` (the content of `file`). The error lists every problem, one per
// line, as "file:line:column: error: message (hint: ...)".
tdxrt::Result<Recipe> ParseRecipe(const std::string& text, const std::string& file);

tdxrt::Result<Recipe> LoadRecipe(const std::string& file);

}  // namespace tdximage
