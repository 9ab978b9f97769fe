// cpio newc writing and reading (see include/tdximage/initramfs.h).
#include "tdximage/initramfs.h"

#include <archive.h>
#include <archive_entry.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <set>

#include "tdximage/archive.h"
#include "tdximage/deflate.h"
#include "tdxrt/hex.h"

namespace tdximage {

using tdxrt::Bytes;
using tdxrt::Result;
using tdxrt::Status;

std::string_view CompressionName(Compression c) {
  switch (c) {
    case Compression::kZstd:
      return "zstd";
    case Compression::kGzip:
      return "gzip";
    case Compression::kStableGzip:
      return "stable-gzip";
    case Compression::kNone:
      return "none";
  }
  return "none";
}

std::optional<Compression> ParseCompression(std::string_view name) {
  if (name == "zstd") return Compression::kZstd;
  if (name == "gzip") return Compression::kGzip;
  if (name == "stable-gzip") return Compression::kStableGzip;
  if (name == "none") return Compression::kNone;
  return std::nullopt;
}

std::string_view CompressionSuffix(Compression c) {
  switch (c) {
    case Compression::kZstd:
      return ".zst";
    case Compression::kGzip:
    case Compression::kStableGzip:
      return ".gz";
    case Compression::kNone:
      return "";
  }
  return "";
}

std::string CompressorVersion(Compression c) {
  switch (c) {
    case Compression::kZstd:
      return std::string("libzstd ") + ZSTD_versionString();
    case Compression::kGzip:
      return std::string("zlib ") + archive_zlib_version();
    case Compression::kStableGzip:
      return "tdximage stable-gzip 1";
    case Compression::kNone:
      return "none";
  }
  return "none";
}

std::uint32_t NormalisedMode(const TreeNode& n) {
  switch (n.type) {
    case TreeNode::Type::kDirectory:
      return 0755;
    case TreeNode::Type::kSymlink:
      return 0777;
    case TreeNode::Type::kFile:
      return (n.mode & 0111) ? 0755 : 0644;
  }
  return 0644;
}

namespace {
struct WriterDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

// Accumulates libarchive's output in memory (no fixed-size buffer to overflow).
struct Sink {
  Bytes out;
  static la_ssize_t Write(archive*, void* self, const void* buf, size_t n) {
    auto* s = static_cast<Sink*>(self);
    const auto* b = static_cast<const std::uint8_t*>(buf);
    s->out.insert(s->out.end(), b, b + n);
    return static_cast<la_ssize_t>(n);
  }
};
}  // namespace

Result<Bytes> WriteInitramfs(const FileTree& tree, const InitramfsOptions& opt) {
  // The sink must outlive the archive: freeing an archive flushes into its sink, also on the
  // early-return error paths below (destruction runs in reverse declaration order).
  Sink sink;
  std::unique_ptr<archive, WriterDeleter> a(archive_write_new());
  auto fail = [&](const std::string& what) {
    const char* e = archive_error_string(a.get());
    return Status::IoError("initramfs: " + what + (e ? std::string(": ") + e : ""));
  };
  if (archive_write_set_format_cpio_newc(a.get()) != ARCHIVE_OK) return fail("cpio newc format");
  const std::string level = std::to_string(opt.level);
  switch (opt.compression) {
    case Compression::kZstd:
      if (archive_write_add_filter_zstd(a.get()) != ARCHIVE_OK) return fail("zstd filter");
      if (archive_write_set_filter_option(a.get(), "zstd", "compression-level", level.c_str()) !=
          ARCHIVE_OK) {
        return fail("zstd level " + level);
      }
      break;
    case Compression::kGzip:
      if (archive_write_add_filter_gzip(a.get()) != ARCHIVE_OK) return fail("gzip filter");
      if (archive_write_set_filter_option(a.get(), "gzip", "compression-level", level.c_str()) !=
          ARCHIVE_OK) {
        return fail("gzip level " + level);
      }
      if (archive_write_set_filter_option(a.get(), "gzip", "timestamp", nullptr) != ARCHIVE_OK) {
        return fail("gzip without timestamp");
      }
      break;
    case Compression::kStableGzip:  // compressed below, by our own encoder
    case Compression::kNone:
      break;
  }
  archive_write_set_bytes_in_last_block(a.get(), 1);
  archive_write_set_bytes_per_block(a.get(), 0);  // write through: no block padding
  if (archive_write_open(a.get(), &sink, nullptr, &Sink::Write, nullptr) != ARCHIVE_OK)
    return fail("open");
  const std::set<std::string> explicit_modes(opt.explicit_modes.begin(), opt.explicit_modes.end());
  std::int64_t ino = 0;
  // std::map orders "a" < "a/b" < "a0": parents always precede children.
  for (const auto& [path, node] : tree.nodes()) {
    std::unique_ptr<archive_entry, EntryDeleter> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), path.c_str());
    archive_entry_set_uid(e.get(), 0);
    archive_entry_set_gid(e.get(), 0);
    archive_entry_set_mtime(e.get(), opt.mtime, 0);
    archive_entry_set_ino64(e.get(), ++ino);
    archive_entry_set_dev(e.get(), 0);
    const std::uint32_t mode = explicit_modes.count(path) ? node.mode : NormalisedMode(node);
    switch (node.type) {
      case TreeNode::Type::kDirectory:
        archive_entry_set_filetype(e.get(), AE_IFDIR);
        archive_entry_set_nlink(e.get(), 2);
        archive_entry_set_size(e.get(), 0);
        break;
      case TreeNode::Type::kSymlink:
        archive_entry_set_filetype(e.get(), AE_IFLNK);
        archive_entry_set_symlink(e.get(), node.target.c_str());
        archive_entry_set_nlink(e.get(), 1);
        archive_entry_set_size(e.get(), static_cast<la_int64_t>(node.target.size()));
        break;
      case TreeNode::Type::kFile:
        archive_entry_set_filetype(e.get(), AE_IFREG);
        archive_entry_set_nlink(e.get(), 1);
        archive_entry_set_size(e.get(), static_cast<la_int64_t>(node.data->size()));
        break;
    }
    archive_entry_set_perm(e.get(), mode);
    if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK)
      return fail("header of '" + path + "'");
    if (node.type == TreeNode::Type::kFile && !node.data->empty()) {
      if (archive_write_data(a.get(), node.data->data(), node.data->size()) !=
          static_cast<la_ssize_t>(node.data->size())) {
        return fail("data of '" + path + "'");
      }
    }
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) return fail("close");
  if (opt.compression == Compression::kStableGzip) return StableGzip(sink.out);
  return std::move(sink.out);
}

namespace {
// Reads cpio newc records (the initramfs format; "070701", or "070702" with a checksum that the
// kernel ignores too) from `raw`, checking every header field against the bytes that remain.
// We parse this ourselves rather than through libarchive: libarchive's reader allocates what a
// header claims (a name size, a link count) before checking it, so a 1 KiB input could make it
// ask for gigabytes (found by fuzz/initramfs_fuzz.cc).
//   header: magic[6] ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor
//           namesize check (13 x 8 hex digits), name (NUL-terminated, padded to 4), data (padded).
tdxrt::Status ParseNewc(tdxrt::ByteSpan raw, FileTree& tree) {
  std::size_t off = 0;
  auto field = [&](std::size_t i) -> std::optional<std::uint32_t> {
    std::uint32_t v = 0;
    for (std::size_t k = 0; k < 8; ++k) {
      const char c = static_cast<char>(raw[off + 6 + i * 8 + k]);
      const int d = (c >= '0' && c <= '9')   ? c - '0'
                    : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                    : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                             : -1;
      if (d < 0) return std::nullopt;
      v = (v << 4) | static_cast<std::uint32_t>(d);
    }
    return v;
  };
  for (;;) {
    const std::string at = "initramfs: cpio entry at " + tdxrt::HexOffset(off);
    if (!tdxrt::InBounds(raw.size(), off, 110))
      return Status::Corrupt(at + ": header truncated (no TRAILER!!!)");
    if (std::memcmp(raw.data() + off, "07070", 5) != 0 ||
        (raw[off + 5] != '1' && raw[off + 5] != '2')) {
      return Status::Corrupt(at + ": not a cpio newc header (magic 070701/070702)");
    }
    std::uint32_t f[13];
    for (std::size_t i = 0; i < 13; ++i) {
      auto v = field(i);
      if (!v)
        return Status::Corrupt(at + ": header field " + std::to_string(i) + " is not hexadecimal");
      f[i] = *v;
    }
    const std::uint32_t mode = f[1], filesize = f[6], namesize = f[11];
    if (namesize == 0 || namesize > 4096) {
      return Status::Corrupt(at + ": name size " + std::to_string(namesize) +
                             " is out of range (1..4096)");
    }
    const std::size_t name_end = off + 110 + namesize;
    if (name_end > raw.size())
      return Status::Corrupt(at + ": name runs past the end of the archive");
    if (raw[name_end - 1] != 0) return Status::Corrupt(at + ": name is not NUL-terminated");
    const std::string name(reinterpret_cast<const char*>(raw.data() + off + 110), namesize - 1);
    const std::size_t data = (name_end + 3) & ~std::size_t{3};
    if (!tdxrt::InBounds(raw.size(), data, filesize)) {
      return Status::Corrupt(at + " ('" + name + "'): " + std::to_string(filesize) +
                             " bytes of data run past the end");
    }
    if (name == "TRAILER!!!") return tdxrt::Status::Ok();
    const tdxrt::ByteSpan content = raw.subspan(data, filesize);
    const std::uint32_t perm = mode & 07777;
    tdxrt::Status st;
    if (name == "." || name.empty()) {
      st = tdxrt::Status::Ok();
    } else {
      switch (mode & 0170000) {
        case 0040000:
          st = tree.AddDirectory(name, perm);
          break;
        case 0120000:
          st = tree.AddSymlink(name, std::string(content.begin(), content.end()), "initramfs");
          break;
        case 0100000:
          st = tree.AddFile(name, Bytes(content.begin(), content.end()), perm, "initramfs");
          break;
        default:
          st = Status::Corrupt(at + " ('" + name + "'): mode " + tdxrt::HexOffset(mode) +
                               " is not a file, directory or symlink");
      }
    }
    if (!st.ok()) return st.WithContext(at);
    off = (data + filesize + 3) & ~std::size_t{3};
  }
}
}  // namespace

Result<FileTree> ReadInitramfs(tdxrt::ByteSpan compressed) {
  // At most UnpackLimit (<= FileTree::kMaxTotalSize): an initramfs from elsewhere may be a bomb.
  TDX_ASSIGN_OR_RETURN(Bytes cpio, Decompress(compressed));
  FileTree tree;
  TDX_TRY(ParseNewc(cpio, tree));
  return tree;
}

}  // namespace tdximage
