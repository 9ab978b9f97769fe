// Content-addressed source cache. Only verified content enters it: bytes are hashed, written to
// a temporary file beside their final name and renamed into place. Reads re-verify the hash, and
// an entry whose bytes no longer match its name (disk corruption, tampering) is deleted and
// reported, naming what it was for.
//
// Location: $TDXIMAGE_CACHE, else $XDG_CACHE_HOME/tdximage, else ~/.cache/tdximage.
// Layout: <dir>/sha256/<64 hex digits>; <dir>/identity/<sha256 of identity> holds a content hash;
// <dir>/derived/<key> and <key>.sha256 hold derived content and its hash.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "tdxrt/bytes.h"
#include "tdxrt/status.h"

namespace tdximage {

class Cache {
 public:
  static std::filesystem::path DefaultDir();
  explicit Cache(std::filesystem::path dir) : dir_(std::move(dir)) {}

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path PathFor(const std::string& sha256) const;
  bool Has(const std::string& sha256) const;

  // Reads an entry and checks its hash; `what` names the source for messages. A corrupted entry
  // is removed and reported as an error.
  tdxrt::Result<tdxrt::Bytes> Read(const std::string& sha256, const std::string& what) const;

  // Stores `data` (verifying it against `expected_sha256` when given) and returns its sha256.
  tdxrt::Result<std::string> Insert(tdxrt::ByteSpan data,
                                    const std::optional<std::string>& expected_sha256,
                                    const std::string& what) const;

  // Remembers which content a source identity ("apt ovmf 2022.11-6+deb12u2") resolved to, so a
  // later lock can work offline. Only a hint: content is always re-verified by hash on read.
  struct KnownSource {
    std::string sha256;
    std::string filename;  // upstream file name, informative
  };
  tdxrt::Status RememberIdentity(const std::string& identity, const KnownSource& known) const;
  std::optional<KnownSource> LookupIdentity(const std::string& identity) const;

  // Derived content (e.g. a package's decompressed data.tar), keyed by the sha256 of what it
  // was derived from plus a label. Stored with its own sha256 and verified on read: a mismatch
  // drops the entry and reads as absent, so callers simply derive again.
  tdxrt::Status PutDerived(const std::string& key, tdxrt::ByteSpan data) const;
  std::optional<tdxrt::Bytes> GetDerived(const std::string& key) const;

  struct SeedReport {
    int imported = 0;
    int already = 0;
  };
  // Imports every regular file under `dir` (recursively) by content hash.
  tdxrt::Result<SeedReport> Seed(const std::filesystem::path& dir) const;

 private:
  std::filesystem::path dir_;
};

}  // namespace tdximage
