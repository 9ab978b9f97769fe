// Content-addressed cache (see include/tdximage/cache.h).
#include "tdximage/cache.h"

#include <cstdlib>
#include <system_error>

#include "tdxrt/file.h"
#include "tdxrt/hex.h"
#include "tdxrt/sha.h"

namespace tdximage {

namespace fs = std::filesystem;
using tdxrt::Result;
using tdxrt::Status;

fs::path Cache::DefaultDir() {
  if (const char* c = std::getenv("TDXIMAGE_CACHE"); c && *c) return c;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return fs::path(x) / "tdximage";
  if (const char* h = std::getenv("HOME"); h && *h) return fs::path(h) / ".cache" / "tdximage";
  return fs::path(".cache") / "tdximage";
}

fs::path Cache::PathFor(const std::string& sha) const { return dir_ / "sha256" / sha; }

bool Cache::Has(const std::string& sha) const {
  std::error_code ec;
  return fs::is_regular_file(PathFor(sha), ec);
}

Result<tdxrt::Bytes> Cache::Read(const std::string& sha, const std::string& what) const {
  const fs::path p = PathFor(sha);
  TDX_ASSIGN_OR_RETURN(tdxrt::Bytes data, tdxrt::ReadFile(p));
  const std::string got = tdxrt::ToHex(tdxrt::Sha256(data));
  if (got != sha) {
    std::error_code ec;
    fs::remove(p, ec);
    return Status::Mismatch(what + ": cached file " + p.string() + " has sha256 " + got +
                            ", expected " + sha +
                            "; the corrupted entry was removed, run again to fetch it anew");
  }
  return data;
}

Result<std::string> Cache::Insert(tdxrt::ByteSpan data, const std::optional<std::string>& expected,
                                  const std::string& what) const {
  const std::string sha = tdxrt::ToHex(tdxrt::Sha256(data));
  if (expected && *expected != sha) {
    return Status::Mismatch(what + ": content has sha256 " + sha + " (" +
                            std::to_string(data.size()) + " bytes), expected " + *expected +
                            "; not stored");
  }
  std::error_code ec;
  fs::create_directories(dir_ / "sha256", ec);
  if (ec) return Status::IoError((dir_ / "sha256").string() + ": " + ec.message());
  if (!Has(sha)) TDX_TRY(tdxrt::WriteFileAtomic(PathFor(sha), data, 0644));
  return sha;
}

namespace {
std::string IdentityKey(const std::string& identity) {
  return tdxrt::ToHex(tdxrt::Sha256(
      tdxrt::ByteSpan(reinterpret_cast<const std::uint8_t*>(identity.data()), identity.size())));
}
}  // namespace

tdxrt::Status Cache::RememberIdentity(const std::string& identity, const KnownSource& known) const {
  std::error_code ec;
  fs::create_directories(dir_ / "identity", ec);
  if (ec) return Status::IoError((dir_ / "identity").string() + ": " + ec.message());
  return tdxrt::WriteFileAtomic(dir_ / "identity" / IdentityKey(identity),
                                known.sha256 + " " + known.filename + "\n", 0644);
}

std::optional<Cache::KnownSource> Cache::LookupIdentity(const std::string& identity) const {
  auto b = tdxrt::ReadFile(dir_ / "identity" / IdentityKey(identity), 4096);
  if (!b.ok() || b->size() < 64) return std::nullopt;
  std::string text(b->begin(), b->end());
  while (!text.empty() && text.back() == '\n') text.pop_back();
  KnownSource k{text.substr(0, 64), text.size() > 65 ? text.substr(65) : ""};
  if (!Has(k.sha256)) return std::nullopt;
  return k;
}

tdxrt::Status Cache::PutDerived(const std::string& key, tdxrt::ByteSpan data) const {
  std::error_code ec;
  fs::create_directories(dir_ / "derived", ec);
  if (ec) return Status::IoError((dir_ / "derived").string() + ": " + ec.message());
  TDX_TRY(tdxrt::WriteFileAtomic(dir_ / "derived" / key, data, 0644));
  return tdxrt::WriteFileAtomic(dir_ / "derived" / (key + ".sha256"),
                                tdxrt::ToHex(tdxrt::Sha256(data)) + "\n", 0644);
}

std::optional<tdxrt::Bytes> Cache::GetDerived(const std::string& key) const {
  auto want = tdxrt::ReadFile(dir_ / "derived" / (key + ".sha256"), 1024);
  if (!want.ok() || want->size() < 64) return std::nullopt;
  auto data = tdxrt::ReadFile(dir_ / "derived" / key);
  if (!data.ok()) return std::nullopt;
  if (tdxrt::ToHex(tdxrt::Sha256(*data)) != std::string(want->begin(), want->begin() + 64)) {
    std::error_code ec;
    fs::remove(dir_ / "derived" / key, ec);
    fs::remove(dir_ / "derived" / (key + ".sha256"), ec);
    return std::nullopt;
  }
  return std::move(data).value();
}

Result<Cache::SeedReport> Cache::Seed(const fs::path& dir) const {
  SeedReport r;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Status::NotFound(dir.string() + ": not a directory");
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    TDX_ASSIGN_OR_RETURN(tdxrt::MappedFile f, tdxrt::MappedFile::Open(it->path()));
    const std::string sha = tdxrt::ToHex(tdxrt::Sha256(f.bytes()));
    if (Has(sha)) {
      ++r.already;
      continue;
    }
    TDX_TRY(Insert(f.bytes(), sha, it->path().string()).status());
    ++r.imported;
  }
  if (ec) return Status::IoError(dir.string() + ": " + ec.message());
  return r;
}

}  // namespace tdximage
