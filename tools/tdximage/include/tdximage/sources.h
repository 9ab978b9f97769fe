// Getting a recipe's sources: from the cache by pinned hash, or fetched and verified.
//
// Side effects go through seams so the logic is tested in-process:
//   CommandRunner runs `apt-get download` (the only external command: apt verifies packages
//   against the archive's signed indices and needs no reimplementation here);
//   HttpFetcher downloads URL sources (libcurl; a progress bar on a terminal).
// With --offline neither is used: every source must already be in the cache (see
// `tdximage cache seed`). Content that fails its pin never enters the cache.
//
// Files on this machine are read only where the builder allows: `file:` sources must resolve
// (symlinks followed, checked on the file actually opened) to a regular file inside the
// recipe's directory or a --file-root tree, with no hidden component below that root (.git
// holds credentials in CI checkouts); `input:` sources are the paths the builder names with
// --input. Devices, pipes and /proc files are refused, sizes are bounded (by the lock's pin).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tdximage/cache.h"
#include "tdximage/lock.h"
#include "tdximage/recipe.h"

namespace tdximage {

class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  // Runs argv[0] (searched in PATH) in `cwd`; returns its exit code; stdout+stderr in `output`.
  virtual tdxrt::Result<int> Run(const std::vector<std::string>& argv, const std::string& cwd,
                                 std::string* output) = 0;
};
std::unique_ptr<CommandRunner> MakePosixCommandRunner();

class HttpFetcher {
 public:
  virtual ~HttpFetcher() = default;
  // Downloads `url` into memory. `progress(done, total)` may be called (total 0 if unknown).
  virtual tdxrt::Result<tdxrt::Bytes> Fetch(
      const std::string& url,
      const std::function<void(std::uint64_t, std::uint64_t)>& progress) = 0;
};
std::unique_ptr<HttpFetcher> MakeCurlFetcher();

struct FetchedSource {
  std::string sha256;
  std::uint64_t size = 0;
  std::string filename;
  std::shared_ptr<const tdxrt::Bytes> data;
};

struct SourceOptions {
  bool offline = false;
  // Base URLs of Debian archives (or snapshots of them) to fetch pinned packages from by their
  // locked pool path, in order, instead of apt-get download; the bytes must match the lock.
  std::vector<std::string> archives;
  // Directory trees `file:` sources may read besides the recipe's own directory.
  std::vector<std::string> file_roots;
  // Files supplied for `input:` sources, by source name.
  std::map<std::string, std::string> inputs;
  // Called with one progress line per event ("fetching ...", "cached ...").
  std::function<void(const std::string&)> log;
  std::function<void(std::uint64_t, std::uint64_t)> progress;
};

// A Debian package as apt resolves it: what `apt-get --print-uris` says about it.
struct AptPackage {
  std::string name, version, arch;
  std::string pool;      // path in the archive, "pool/main/g/glibc/libc6_2.36-9_amd64.deb"
  std::string filename;  // as apt names the downloaded file
  std::uint64_t size = 0;
};

// Parses one line of `apt-get --print-uris` output ('URI' FILENAME SIZE HASH).
tdxrt::Result<AptPackage> ParseAptUriLine(const std::string& line);

// The full dependency closure of `packages` ("name" or "name=version") as apt would install it
// on an empty system (no dpkg status, no recommends), from this machine's apt indices. Sorted by
// name. Nothing is installed or downloaded.
tdxrt::Result<std::vector<AptPackage>> ResolveAptClosure(CommandRunner& runner,
                                                         const std::vector<std::string>& packages);

// Where one exact package version lives in the archive (apt-get download --print-uris).
tdxrt::Result<AptPackage> ResolveAptPackage(CommandRunner& runner, const std::string& name,
                                            const std::string& version);

class SourceStore {
 public:
  SourceStore(const Cache& cache, CommandRunner& runner, HttpFetcher& http, SourceOptions options)
      : cache_(cache), runner_(runner), http_(http), options_(std::move(options)) {}

  // The bytes of `spec`, checked against `pin` when given (a lock entry) and otherwise against
  // the recipe's own pin (URL sources). `recipe_dir` resolves relative file sources.
  tdxrt::Result<FetchedSource> Get(const SourceSpec& spec, const LockEntry* pin,
                                   const std::string& recipe_dir);

  // Puts every listed apt package (spec + optional pin) into the cache with one apt-get download
  // (or from the --archive URLs), each verified against its pin; packages already cached are not
  // fetched. Returns each package's sha256 by identity. Get() then reads them from the cache.
  // The cached bytes of a pinned package (after FetchAptBatch), re-verified; quiet.
  tdxrt::Result<tdxrt::Bytes> ReadPinned(const SourceSpec& spec, const LockEntry& pin) const {
    return cache_.Read(pin.sha256, "source '" + spec.name + "' (" + spec.Identity() + ")");
  }

  struct AptWant {
    SourceSpec spec;
    std::optional<LockEntry> pin;
  };
  tdxrt::Result<std::map<std::string, std::string>> FetchAptBatch(
      const std::vector<AptWant>& wanted);

 private:
  tdxrt::Result<tdxrt::Bytes> Download(const SourceSpec& spec, const LockEntry* pin,
                                       std::string* filename);
  tdxrt::Result<tdxrt::Bytes> FromArchives(const SourceSpec& spec, const LockEntry& pin);
  tdxrt::Result<FetchedSource> ReadLocal(const SourceSpec& spec, const LockEntry* pin,
                                         const std::string& recipe_dir);
  const Cache& cache_;
  CommandRunner& runner_;
  HttpFetcher& http_;
  SourceOptions options_;
};

}  // namespace tdximage
