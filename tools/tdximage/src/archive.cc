// libarchive-based reading of .deb and tar archives (see include/tdximage/archive.h).
#include "tdximage/archive.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <memory>
#include <new>

#include "archive_read.h"
#include "tdxrt/hex.h"

namespace tdximage {

int OpenArchiveToBytes(archive* a, tdxrt::Bytes* out) {
  auto write = +[](archive*, void* self, const void* buf, size_t n) -> la_ssize_t {
    auto* o = static_cast<tdxrt::Bytes*>(self);
    o->insert(o->end(), static_cast<const std::uint8_t*>(buf),
              static_cast<const std::uint8_t*>(buf) + n);
    return static_cast<la_ssize_t>(n);
  };
  return archive_write_open(a, out, nullptr, write, nullptr);
}

using tdxrt::Bytes;
using tdxrt::ByteSpan;
using tdxrt::Result;
using tdxrt::Status;

namespace {

struct ReaderDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
using Reader = std::unique_ptr<archive, ReaderDeleter>;

enum class Kind { kAr, kTar };

// libarchive may have no error string (NULL): never hand that to std::string.
Status ArchiveError(archive* a, std::string_view what) {
  const char* e = archive_error_string(a);
  return Status::Corrupt(std::string(what) + ": " + (e ? e : "unreadable archive"));
}

Result<Reader> Open(ByteSpan data, Kind kind, std::string_view what) {
  Reader a(archive_read_new());
  if (!a) return Status::IoError("libarchive: out of memory");
  archive_read_support_filter_all(a.get());
  if (kind == Kind::kAr) {
    archive_read_support_format_ar(a.get());
  } else {
    archive_read_support_format_tar(a.get());
    archive_read_support_format_gnutar(a.get());
  }
  if (archive_read_open_memory(a.get(), data.data(), data.size()) != ARCHIVE_OK) {
    return ArchiveError(a.get(), what);
  }
  return a;
}

constexpr std::size_t kChunk = 1 << 20;

std::string OutOfMemory(const std::string& what, std::size_t have) {
  return what + ": out of memory after " + std::to_string(have) + " bytes";
}

}  // namespace

std::uint64_t UnpackLimit(std::uint64_t packed) {
  constexpr std::uint64_t kFloor = 64ull << 20, kCeiling = 4ull << 30;
  if (packed > kCeiling / 32) return kCeiling;
  return std::clamp<std::uint64_t>(packed * 32, kFloor, kCeiling);
}

Result<Bytes> ReadEntryData(archive* a, std::uint64_t size, std::uint64_t max_size,
                            const std::string& what) {
  if (size > max_size) {
    return Status::Corrupt(what + ": entry of " + std::to_string(size) +
                           " bytes exceeds the limit of " + std::to_string(max_size));
  }
  Bytes out;
  try {
    // Grow with the data, a chunk at a time: the header's size is a claim, not a promise.
    while (out.size() < size) {
      const std::size_t done = out.size();
      out.resize(done + static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, size - done)));
      std::size_t got = done;
      while (got < out.size()) {
        const la_ssize_t n = archive_read_data(a, out.data() + got, out.size() - got);
        if (n < 0) return ArchiveError(a, what);
        if (n == 0) {
          return Status::Corrupt(what + ": truncated: " + std::to_string(got) + " of " +
                                 std::to_string(size) + " bytes");
        }
        got += static_cast<std::size_t>(n);
      }
    }
  } catch (const std::bad_alloc&) {
    return Status::IoError(OutOfMemory(what, out.size()));
  }
  return out;
}

Result<std::string> NormaliseArchivePath(std::string_view raw) {
  std::string_view p = raw;
  while (p.substr(0, 2) == "./") p.remove_prefix(2);
  if (p == ".") p = "";
  if (!p.empty() && p.front() == '/') {
    return Status::Corrupt("archive entry '" + std::string(raw) + "' has an absolute path");
  }
  while (!p.empty() && p.back() == '/') p.remove_suffix(1);
  if (p.empty()) return std::string();
  std::string out;
  std::size_t start = 0;
  while (start <= p.size()) {
    std::size_t end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    std::string_view comp = p.substr(start, end - start);
    if (comp == "..") {
      return Status::Corrupt("archive entry '" + std::string(raw) + "' escapes the tree ('..')");
    }
    if (!comp.empty() && comp != ".") {
      if (!out.empty()) out.push_back('/');
      out.append(comp);
    }
    start = end + 1;
  }
  return out;
}

Result<Bytes> DebDataTar(ByteSpan deb) {
  TDX_ASSIGN_OR_RETURN(Reader a, Open(deb, Kind::kAr, ".deb"));
  archive_entry* e = nullptr;
  bool saw_binary = false;
  for (;;) {
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK) return ArchiveError(a.get(), ".deb");
    const std::string name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
    if (name == "debian-binary") saw_binary = true;
    if (name.rfind("data.tar", 0) == 0) {
      if (!saw_binary)
        return Status::Corrupt(".deb: data.tar before debian-binary: not a Debian package");
      return ReadEntryData(a.get(), static_cast<std::uint64_t>(archive_entry_size(e)),
                           kMaxEntrySize, ".deb member " + name);
    }
  }
  return Status::Corrupt(".deb: no data.tar member (truncated or not a Debian package)");
}

bool LooksLikeTar(ByteSpan data) {
  auto a = Open(data, Kind::kTar, "tar");
  if (!a.ok()) return false;
  archive_entry* e = nullptr;
  const int r = archive_read_next_header(a->get(), &e);
  return r == ARCHIVE_OK || r == ARCHIVE_WARN;
}

Result<std::vector<ArchiveEntry>> ListTar(ByteSpan tar) {
  TDX_ASSIGN_OR_RETURN(Reader a, Open(tar, Kind::kTar, "tar"));
  std::vector<ArchiveEntry> out;
  archive_entry* e = nullptr;
  for (;;) {
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return ArchiveError(a.get(), "tar");
    ArchiveEntry ent;
    const char* raw = archive_entry_pathname(e);
    TDX_ASSIGN_OR_RETURN(ent.path, NormaliseArchivePath(raw ? raw : ""));
    ent.mode = static_cast<std::uint32_t>(archive_entry_perm(e));
    ent.size = static_cast<std::uint64_t>(archive_entry_size(e));
    switch (archive_entry_filetype(e)) {
      case AE_IFREG:
        ent.type = EntryType::kFile;
        break;
      case AE_IFDIR:
        ent.type = EntryType::kDirectory;
        break;
      case AE_IFLNK:
        ent.type = EntryType::kSymlink;
        break;
      default:
        ent.type = EntryType::kOther;
        break;
    }
    if (archive_entry_hardlink(e) != nullptr) {
      ent.type = EntryType::kHardlink;
      ent.link_target = archive_entry_hardlink(e);
    } else if (archive_entry_symlink(e) != nullptr) {
      ent.link_target = archive_entry_symlink(e);
    }
    out.push_back(std::move(ent));
  }
  return out;
}

Result<Bytes> ReadTarMember(ByteSpan tar, std::string_view path, std::uint64_t max_size) {
  TDX_ASSIGN_OR_RETURN(std::string want, NormaliseArchivePath(path));
  TDX_ASSIGN_OR_RETURN(Reader a, Open(tar, Kind::kTar, "tar"));
  archive_entry* e = nullptr;
  for (;;) {
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return ArchiveError(a.get(), "tar");
    const char* raw = archive_entry_pathname(e);
    auto name = NormaliseArchivePath(raw ? raw : "");
    if (!name.ok() || *name != want) continue;
    if (archive_entry_filetype(e) == AE_IFLNK) {
      const char* target = archive_entry_symlink(e);
      return Status::InvalidArgument("tar entry '" + want + "' is a symlink to '" +
                                     (target ? target : "") + "'");
    }
    if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) != nullptr) {
      return Status::InvalidArgument("tar entry '" + want + "' is not a regular file");
    }
    return ReadEntryData(a.get(), static_cast<std::uint64_t>(archive_entry_size(e)), max_size,
                         "tar entry '" + want + "'");
  }
  return Status::NotFound("no entry '" + want + "' in the archive");
}

Result<Bytes> Decompress(ByteSpan data, std::uint64_t max_size) {
  if (max_size == 0) max_size = UnpackLimit(data.size());
  Reader a(archive_read_new());
  if (!a) return Status::IoError("libarchive: out of memory");
  archive_read_support_filter_all(a.get());
  archive_read_support_format_raw(a.get());
  if (archive_read_open_memory(a.get(), data.data(), data.size()) != ARCHIVE_OK) {
    return ArchiveError(a.get(), "decompress");
  }
  archive_entry* e = nullptr;
  if (archive_read_next_header(a.get(), &e) != ARCHIVE_OK)
    return ArchiveError(a.get(), "decompress");
  Bytes out;
  try {
    std::uint8_t buf[1 << 16];
    for (;;) {
      const la_ssize_t n = archive_read_data(a.get(), buf, sizeof buf);
      if (n < 0) return ArchiveError(a.get(), "decompress");
      if (n == 0) break;
      if (out.size() + static_cast<std::size_t>(n) > max_size) {
        return Status::Corrupt("decompress: " + std::to_string(data.size()) +
                               " bytes unpack to more than " + std::to_string(max_size) +
                               " (a decompression bomb?)");
      }
      out.insert(out.end(), buf, buf + n);
    }
  } catch (const std::bad_alloc&) {
    return Status::IoError(OutOfMemory("decompress", out.size()));
  }
  return out;
}

Result<std::vector<TarFile>> ReadTarFiles(ByteSpan tar, std::uint64_t max_total,
                                          std::uint64_t max_entry) {
  if (max_total == 0) max_total = UnpackLimit(tar.size());
  TDX_ASSIGN_OR_RETURN(Reader a, Open(tar, Kind::kTar, "tar"));
  std::vector<TarFile> out;
  std::uint64_t total = 0;
  archive_entry* e = nullptr;
  for (;;) {
    const int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return ArchiveError(a.get(), "tar");
    const char* raw = archive_entry_pathname(e);
    TDX_ASSIGN_OR_RETURN(std::string path, NormaliseArchivePath(raw ? raw : ""));
    if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) != nullptr) continue;
    const auto size = static_cast<std::uint64_t>(std::max<la_int64_t>(archive_entry_size(e), 0));
    if (size > max_total - total) {
      return Status::Corrupt("tar entry '" + path + "' of " + std::to_string(size) +
                             " bytes: the files would unpack to more than " +
                             std::to_string(max_total) + " bytes (" + std::to_string(tar.size()) +
                             " packed; a decompression bomb?)");
    }
    TDX_ASSIGN_OR_RETURN(Bytes data,
                         ReadEntryData(a.get(), size, max_entry, "tar entry '" + path + "'"));
    total += size;
    out.push_back({std::move(path), std::move(data)});
  }
  return out;
}

Result<Bytes> ReadDebMember(ByteSpan deb, std::string_view path, std::uint64_t max_size) {
  TDX_ASSIGN_OR_RETURN(Bytes data, DebDataTar(deb));
  return ReadTarMember(data, path, max_size);
}

}  // namespace tdximage
