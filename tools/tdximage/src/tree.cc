// In-memory image tree (see include/tdximage/tree.h).
#include "tdximage/tree.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>

#include "archive_read.h"
#include "tdximage/archive.h"

namespace tdximage {

using tdxrt::Bytes;
using tdxrt::Result;
using tdxrt::Status;

std::string JoinTreePath(std::string_view base_dir, std::string_view rel) {
  std::vector<std::string> parts;
  auto push = [&](std::string_view p) {
    std::size_t start = 0;
    while (start <= p.size()) {
      std::size_t end = p.find('/', start);
      if (end == std::string_view::npos) end = p.size();
      std::string_view c = p.substr(start, end - start);
      if (c == "..") {
        if (!parts.empty()) parts.pop_back();
      } else if (!c.empty() && c != ".") {
        parts.emplace_back(c);
      }
      start = end + 1;
    }
  };
  if (rel.empty() || rel.front() != '/') push(base_dir);
  push(rel);
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out.push_back('/');
    out += p;
  }
  return out;
}

Status FileTree::Put(const std::string& path, TreeNode node) {
  if (path.empty()) {
    if (node.type == TreeNode::Type::kDirectory) return Status::Ok();  // the root
    return Status::InvalidArgument("cannot put a file at the image root");
  }
  // Implied parents.
  for (std::size_t pos = path.find('/'); pos != std::string::npos; pos = path.find('/', pos + 1)) {
    const std::string parent = path.substr(0, pos);
    auto it = nodes_.find(parent);
    if (it == nodes_.end()) {
      nodes_[parent] = TreeNode{TreeNode::Type::kDirectory, 0755, nullptr, "", "implied"};
    } else if (it->second.type != TreeNode::Type::kDirectory) {
      return Status::InvalidArgument("'" + path + "': parent '" + parent +
                                     "' is not a directory in the image");
    }
  }
  auto it = nodes_.find(path);
  if (it != nodes_.end()) {
    const bool was_dir = it->second.type == TreeNode::Type::kDirectory;
    const bool is_dir = node.type == TreeNode::Type::kDirectory;
    if (was_dir && is_dir) {
      it->second.mode = node.mode;
      return Status::Ok();
    }
    if (was_dir != is_dir) {
      return Status::InvalidArgument("'" + path + "': cannot replace a " +
                                     (was_dir ? "directory" : "file") + " with a " +
                                     (is_dir ? "directory" : "file or link"));
    }
    if (it->second.data) total_ -= it->second.data->size();
  }
  if (node.data) {
    if (total_ + node.data->size() > kMaxTotalSize) {
      return Status::InvalidArgument("image tree exceeds " + std::to_string(kMaxTotalSize) +
                                     " bytes at '" + path + "'");
    }
    total_ += node.data->size();
  }
  nodes_[path] = std::move(node);
  return Status::Ok();
}

Status FileTree::AddFile(std::string_view path, Bytes data, std::uint32_t mode,
                         std::string origin) {
  return AddFile(path, std::make_shared<const Bytes>(std::move(data)), mode, std::move(origin));
}

Status FileTree::AddFile(std::string_view path, std::shared_ptr<const Bytes> data,
                         std::uint32_t mode, std::string origin) {
  TDX_ASSIGN_OR_RETURN(
      std::string p, NormaliseArchivePath(path.empty() || path[0] != '/' ? path : path.substr(1)));
  return Put(p,
             TreeNode{TreeNode::Type::kFile, mode & 07777, std::move(data), "", std::move(origin)});
}

Status FileTree::AddDirectory(std::string_view path, std::uint32_t mode) {
  TDX_ASSIGN_OR_RETURN(
      std::string p, NormaliseArchivePath(path.empty() || path[0] != '/' ? path : path.substr(1)));
  return Put(p, TreeNode{TreeNode::Type::kDirectory, mode & 07777, nullptr, "", "directory"});
}

Status FileTree::AddSymlink(std::string_view path, std::string target, std::string origin) {
  TDX_ASSIGN_OR_RETURN(
      std::string p, NormaliseArchivePath(path.empty() || path[0] != '/' ? path : path.substr(1)));
  if (target.empty()) return Status::Corrupt("symlink '" + p + "' has an empty target");
  if (target.front() != '/') {
    // A relative target must stay inside the tree: the link's directory is `depth` levels deep
    // ("a/b/link" -> 2), and no prefix of the target may climb above the root.
    int depth = static_cast<int>(std::count(p.begin(), p.end(), '/'));
    std::size_t start = 0;
    while (start <= target.size()) {
      std::size_t end = target.find('/', start);
      if (end == std::string::npos) end = target.size();
      const std::string_view c = std::string_view(target).substr(start, end - start);
      if (c == "..") {
        if (--depth < 0)
          return Status::Corrupt("symlink '" + p + "' -> '" + target + "' escapes the tree");
      } else if (!c.empty() && c != ".") {
        ++depth;
      }
      start = end + 1;
    }
  }
  return Put(
      p, TreeNode{TreeNode::Type::kSymlink, 0777, nullptr, std::move(target), std::move(origin)});
}

Status FileTree::AddTar(tdxrt::ByteSpan tar, std::string_view member_prefix, std::string_view dest,
                        std::string_view origin) {
  TDX_ASSIGN_OR_RETURN(std::string prefix, NormaliseArchivePath(member_prefix));
  const std::string dest_dir = JoinTreePath("", dest);  // recipe-given, validated absolute
  struct Deleter {
    void operator()(archive* a) const { archive_read_free(a); }
  };
  std::unique_ptr<archive, Deleter> a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  auto err = [&](const std::string& what) {
    const char* e = archive_error_string(a.get());
    return Status::Corrupt(std::string(origin) + ": " + what + (e ? std::string(": ") + e : ""));
  };
  if (archive_read_open_memory(a.get(), tar.data(), tar.size()) != ARCHIVE_OK)
    return err("cannot open tar");
  std::map<std::string, std::string> hardlinks;  // path -> target, resolved after the pass
  archive_entry* e = nullptr;
  for (;;) {
    const int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return err("bad tar header");
    const char* raw = archive_entry_pathname(e);
    auto name = NormaliseArchivePath(raw ? raw : "");
    if (!name.ok()) return name.status().WithContext(std::string(origin));
    std::string rel = *name;
    if (!prefix.empty()) {
      if (rel != prefix && rel.rfind(prefix + "/", 0) != 0) continue;
      rel = rel.size() == prefix.size() ? "" : rel.substr(prefix.size() + 1);
    }
    const std::string path = dest_dir.empty() ? rel : rel.empty() ? dest_dir : dest_dir + "/" + rel;
    const std::string from = std::string(origin) + ":" + *name;
    const auto perm = static_cast<std::uint32_t>(archive_entry_perm(e));
    if (const char* hl = archive_entry_hardlink(e)) {
      auto target = NormaliseArchivePath(hl);
      if (!target.ok()) return target.status().WithContext(std::string(origin));
      hardlinks[path] = *target;
      continue;
    }
    switch (archive_entry_filetype(e)) {
      case AE_IFDIR:
        TDX_TRY(AddDirectory(path, perm).WithContext(std::string(origin)));
        break;
      case AE_IFLNK: {
        const char* t = archive_entry_symlink(e);
        TDX_TRY(AddSymlink(path, t ? t : "", from).WithContext(std::string(origin)));
        break;
      }
      case AE_IFREG: {
        const auto size = static_cast<std::uint64_t>(archive_entry_size(e));
        auto data = ReadEntryData(a.get(), size, kMaxEntrySize,
                                  std::string(origin) + ": entry '" + *name + "'");
        if (!data.ok()) return data.status();
        TDX_TRY(
            AddFile(path, std::move(data).value(), perm, from).WithContext(std::string(origin)));
        break;
      }
      default:
        return Status::Corrupt(std::string(origin) + ": entry '" + *name +
                               "' is a device node, FIFO or socket: refused");
    }
  }
  for (const auto& [path, target_member] : hardlinks) {
    std::string target = target_member;
    if (!prefix.empty()) {
      if (target.rfind(prefix + "/", 0) != 0) {
        return Status::Corrupt(std::string(origin) + ": hard link '" + path + "' points outside '" +
                               prefix + "'");
      }
      target = target.substr(prefix.size() + 1);
    }
    const std::string full = dest_dir.empty() ? target : dest_dir + "/" + target;
    const TreeNode* t = Find(full);
    if (t == nullptr || t->type != TreeNode::Type::kFile) {
      return Status::Corrupt(std::string(origin) + ": hard link '" + path + "' to missing file '" +
                             target_member + "'");
    }
    TreeNode copy = *t;
    TDX_TRY(AddFile(path, copy.data, copy.mode, copy.origin));
  }
  return Status::Ok();
}

const TreeNode* FileTree::Find(std::string_view path) const {
  auto it = nodes_.find(JoinTreePath("", path));
  return it == nodes_.end() ? nullptr : &it->second;
}

}  // namespace tdximage
