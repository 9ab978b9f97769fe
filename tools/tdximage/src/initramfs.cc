// cpio newc writing and reading (see include/tdximage/initramfs.h).
#include "tdximage/initramfs.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <memory>
#include <set>

#include "tdximage/archive.h"

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
    case Compression::kNone:
      return "none";
  }
  return "none";
}

std::optional<Compression> ParseCompression(std::string_view name) {
  if (name == "zstd") return Compression::kZstd;
  if (name == "gzip") return Compression::kGzip;
  if (name == "none") return Compression::kNone;
  return std::nullopt;
}

std::string_view CompressionSuffix(Compression c) {
  switch (c) {
    case Compression::kZstd:
      return ".zst";
    case Compression::kGzip:
      return ".gz";
    case Compression::kNone:
      return "";
  }
  return "";
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
    case Compression::kNone:
      break;
  }
  archive_write_set_bytes_in_last_block(a.get(), 1);
  archive_write_set_bytes_per_block(a.get(), 0);  // write through: no block padding
  Sink sink;
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
  return std::move(sink.out);
}

Result<FileTree> ReadInitramfs(tdxrt::ByteSpan data) {
  struct Deleter {
    void operator()(archive* a) const { archive_read_free(a); }
  };
  std::unique_ptr<archive, Deleter> a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_cpio(a.get());
  auto err = [&](const std::string& what) {
    const char* e = archive_error_string(a.get());
    return Status::Corrupt("initramfs: " + what + (e ? std::string(": ") + e : ""));
  };
  if (archive_read_open_memory(a.get(), data.data(), data.size()) != ARCHIVE_OK)
    return err("not a cpio archive");
  FileTree tree;
  archive_entry* e = nullptr;
  for (;;) {
    const int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK) return err("bad cpio header");
    const char* raw = archive_entry_pathname(e);
    const std::string name = raw ? raw : "";
    if (name == "." || name.empty()) continue;
    const auto perm = static_cast<std::uint32_t>(archive_entry_perm(e));
    switch (archive_entry_filetype(e)) {
      case AE_IFDIR:
        TDX_TRY(tree.AddDirectory(name, perm));
        break;
      case AE_IFLNK: {
        const char* t = archive_entry_symlink(e);
        TDX_TRY(tree.AddSymlink(name, t ? t : "", "initramfs"));
        break;
      }
      case AE_IFREG: {
        const auto size = static_cast<std::uint64_t>(archive_entry_size(e));
        if (size > kMaxEntrySize) return err("entry '" + name + "' too large");
        Bytes d(static_cast<std::size_t>(size));
        std::size_t done = 0;
        while (done < d.size()) {
          const la_ssize_t n = archive_read_data(a.get(), d.data() + done, d.size() - done);
          if (n <= 0) return err("'" + name + "' is truncated");
          done += static_cast<std::size_t>(n);
        }
        TDX_TRY(tree.AddFile(name, std::move(d), perm, "initramfs"));
        break;
      }
      default:
        return err("entry '" + name + "' is not a file, directory or symlink");
    }
  }
  return tree;
}

}  // namespace tdximage
