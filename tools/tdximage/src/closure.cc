// ELF shared-library closure (see include/tdximage/closure.h).
#include "tdximage/closure.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "tdximage/elf.h"
#include "tdxrt/file.h"

namespace tdximage {

namespace fs = std::filesystem;
using tdxrt::Bytes;
using tdxrt::Result;
using tdxrt::Status;

Result<std::string> RootView::RealPath(const std::string& abs) const {
  std::string cur = "/" + JoinTreePath("", abs);
  for (int hops = 0; hops < 40; ++hops) {
    std::string prefix;  // resolved so far, "" = root
    bool changed = false;
    const std::string rel = cur.substr(1);
    std::size_t start = 0;
    while (!rel.empty() && start <= rel.size()) {
      std::size_t end = rel.find('/', start);
      if (end == std::string::npos) end = rel.size();
      const std::string here = prefix + "/" + rel.substr(start, end - start);
      const auto t = Type(here);
      if (!t) return Status::NotFound(abs + " is not on " + Describe() + " (missing " + here + ")");
      if (*t == TreeNode::Type::kSymlink) {
        TDX_ASSIGN_OR_RETURN(std::string target, ReadLink(here));
        const std::string rest = end < rel.size() ? rel.substr(end + 1) : "";
        cur =
            "/" + JoinTreePath(JoinTreePath(prefix.empty() ? "" : prefix.substr(1), target), rest);
        changed = true;
        break;
      }
      prefix = here;
      start = end + 1;
    }
    if (!changed) return cur;
  }
  return Status::Corrupt(abs + ": too many levels of symbolic links on " + Describe());
}

namespace {

class HostRootView final : public RootView {
 public:
  explicit HostRootView(std::string root) : root_(std::move(root)) {}
  std::string Describe() const override {
    return root_ == "/" ? "the build host" : "the host tree " + root_;
  }
  std::optional<TreeNode::Type> Type(const std::string& abs) const override {
    std::error_code ec;
    const auto st = fs::symlink_status(Host(abs), ec);
    if (ec || !fs::exists(st)) return std::nullopt;
    if (fs::is_symlink(st)) return TreeNode::Type::kSymlink;
    if (fs::is_directory(st)) return TreeNode::Type::kDirectory;
    return TreeNode::Type::kFile;
  }
  Result<std::string> ReadLink(const std::string& abs) const override {
    std::error_code ec;
    auto t = fs::read_symlink(Host(abs), ec);
    if (ec) return Status::IoError(abs + ": readlink: " + ec.message());
    return t.string();
  }
  Result<std::shared_ptr<const Bytes>> Read(const std::string& abs) const override {
    TDX_ASSIGN_OR_RETURN(Bytes b, tdxrt::ReadFile(Host(abs)));
    return std::make_shared<const Bytes>(std::move(b));
  }
  std::vector<std::string> List(const std::string& abs_dir) const override {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(Host(abs_dir), ec))
      out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  std::string Host(const std::string& abs) const { return root_ == "/" ? abs : root_ + abs; }
  std::string root_;
};

class TreeRootView final : public RootView {
 public:
  explicit TreeRootView(const FileTree& t) : t_(t) {}
  std::string Describe() const override { return "the image"; }
  std::optional<TreeNode::Type> Type(const std::string& abs) const override {
    if (JoinTreePath("", abs).empty()) return TreeNode::Type::kDirectory;
    const TreeNode* n = t_.Find(abs);
    if (!n) return std::nullopt;
    return n->type;
  }
  Result<std::string> ReadLink(const std::string& abs) const override {
    const TreeNode* n = t_.Find(abs);
    if (!n || n->type != TreeNode::Type::kSymlink)
      return Status::NotFound(abs + " is not a symlink in the image");
    return n->target;
  }
  Result<std::shared_ptr<const Bytes>> Read(const std::string& abs) const override {
    const TreeNode* n = t_.Find(abs);
    if (!n || n->type != TreeNode::Type::kFile)
      return Status::NotFound(abs + " is not a file in the image");
    return n->data;
  }
  std::vector<std::string> List(const std::string& abs_dir) const override {
    std::vector<std::string> out;
    const std::string d = JoinTreePath("", abs_dir);
    for (const auto& [path, node] : t_.nodes()) {
      if (path.size() > d.size() + 1 && path.compare(0, d.size(), d) == 0 &&
          path[d.size()] == '/' && path.find('/', d.size() + 1) == std::string::npos) {
        out.push_back(path.substr(d.size() + 1));
      }
    }
    return out;
  }

 private:
  const FileTree& t_;
};

std::string Trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

// glibc: /etc/ld.so.conf with "include <glob>" lines (only "<dir>/*<suffix>" globs, as used).
void ReadLdSoConf(const RootView& v, const std::string& file, std::vector<std::string>& dirs,
                  int depth) {
  if (depth > 8) return;
  auto data = v.Read(file);
  if (!data.ok()) return;
  std::istringstream in(std::string((*data)->begin(), (*data)->end()));
  std::string line;
  while (std::getline(in, line)) {
    line = Trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    if (line.rfind("include ", 0) == 0) {
      const std::string pat = Trim(line.substr(8));
      const auto star = pat.find('*');
      const auto slash = pat.rfind('/', star);
      if (star == std::string::npos || slash == std::string::npos) {
        ReadLdSoConf(v, pat, dirs, depth + 1);
        continue;
      }
      const std::string dir = pat.substr(0, slash), suffix = pat.substr(star + 1);
      for (const auto& name : v.List(dir)) {
        if (name.size() >= suffix.size() &&
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
          ReadLdSoConf(v, dir + "/" + name, dirs, depth + 1);
        }
      }
    } else if (line[0] == '/') {
      dirs.push_back(line);
    }
  }
}

std::string Dirname(const std::string& p) {
  const auto s = p.rfind('/');
  return s == 0 || s == std::string::npos ? "/" : p.substr(0, s);
}

std::vector<std::string> ExpandOrigin(const std::vector<std::string>& in,
                                      const std::string& origin) {
  std::vector<std::string> out;
  for (std::string d : in) {
    for (const char* tok : {"${ORIGIN}", "$ORIGIN"}) {
      for (auto pos = d.find(tok); pos != std::string::npos; pos = d.find(tok))
        d.replace(pos, std::strlen(tok), origin);
    }
    out.push_back(d);
  }
  return out;
}

}  // namespace

std::unique_ptr<RootView> MakeHostRootView(std::string root) {
  return std::make_unique<HostRootView>(std::move(root));
}
std::unique_ptr<RootView> MakeTreeRootView(const FileTree& tree) {
  return std::make_unique<TreeRootView>(tree);
}

Result<std::vector<ClosureFile>> ElfClosure(const RootView& v, const std::string& binary) {
  const std::string what = binary + " (on " + v.Describe() + ")";
  TDX_ASSIGN_OR_RETURN(std::string real, v.RealPath(binary));
  TDX_ASSIGN_OR_RETURN(auto data, v.Read(real));
  auto info = ReadElfDynamic(*data);
  if (!info.ok()) return info.status().WithContext(what);
  std::vector<ClosureFile> out;
  if (info->is_static()) return out;
  if (info->machine != 62)
    return Status::Unsupported(what + ": ELF machine " + std::to_string(info->machine) +
                               " is not x86_64");
  std::vector<std::string> system_dirs;
  const bool musl = info->interpreter && info->interpreter->find("ld-musl") != std::string::npos;
  if (musl) {
    if (auto p = v.Read("/etc/ld-musl-x86_64.path"); p.ok()) {
      std::string text((*p)->begin(), (*p)->end());
      for (char& c : text)
        if (c == ':' || c == '\n') c = ' ';
      std::istringstream in(text);
      for (std::string d; in >> d;) system_dirs.push_back(d);
    } else {
      system_dirs = {"/lib", "/usr/local/lib", "/usr/lib"};
    }
  } else {
    ReadLdSoConf(v, "/etc/ld.so.conf", system_dirs, 0);
    for (const char* d : {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64",
                          "/usr/lib64", "/lib", "/usr/lib"}) {
      system_dirs.emplace_back(d);
    }
  }
  std::set<std::string> placed;
  auto add = [&](const std::string& image_path,
                 const std::string& found) -> Result<std::shared_ptr<const Bytes>> {
    TDX_ASSIGN_OR_RETURN(std::string rp, v.RealPath(found));
    TDX_ASSIGN_OR_RETURN(auto bytes, v.Read(rp));
    if (placed.insert(image_path).second) out.push_back({image_path, bytes, rp});
    return bytes;
  };
  if (info->interpreter) {
    auto r = add(*info->interpreter, *info->interpreter);
    if (!r.ok()) return r.status().WithContext(what + ": interpreter");
  }
  struct Pending {
    std::string soname, needed_by, origin;
    std::vector<std::string> rpath, runpath, exe_rpath;
  };
  std::deque<Pending> queue;
  const std::vector<std::string> exe_rpath =
      info->runpath.empty() ? info->rpath : std::vector<std::string>{};
  for (const auto& n : info->needed)
    queue.push_back({n, binary, Dirname(real), info->rpath, info->runpath, exe_rpath});
  std::set<std::string> seen;
  while (!queue.empty()) {
    Pending p = std::move(queue.front());
    queue.pop_front();
    if (!seen.insert(p.soname).second) continue;
    std::vector<std::string> dirs;
    if (p.soname.find('/') == std::string::npos) {
      if (p.runpath.empty()) {
        for (const auto& d : ExpandOrigin(p.rpath, p.origin)) dirs.push_back(d);
        for (const auto& d : ExpandOrigin(p.exe_rpath, Dirname(real))) dirs.push_back(d);
      }
      for (const auto& d : ExpandOrigin(p.runpath, p.origin)) dirs.push_back(d);
      dirs.insert(dirs.end(), system_dirs.begin(), system_dirs.end());
    }
    std::optional<std::string> found;
    if (p.soname.find('/') != std::string::npos) {
      if (v.Type(p.soname)) found = p.soname;
    } else {
      for (const auto& d : dirs) {
        const std::string cand =
            (d.size() > 1 && d.back() == '/' ? d.substr(0, d.size() - 1) : d) + "/" + p.soname;
        auto t = v.Type(cand);
        if (!t) continue;
        auto rp = v.RealPath(cand);
        if (!rp.ok()) continue;
        auto bytes = v.Read(*rp);
        if (!bytes.ok()) continue;
        auto li = ReadElfDynamic(**bytes);
        if (!li.ok() || li->machine != 62)
          continue;  // wrong architecture: keep searching, like ld.so
        found = cand;
        break;
      }
    }
    if (!found) {
      std::string searched;
      for (const auto& d : dirs) searched += (searched.empty() ? "" : ":") + d;
      return Status::NotFound(what + ": library " + p.soname + " (needed by " + p.needed_by +
                              ") not found on " + v.Describe() + " in " + searched);
    }
    TDX_ASSIGN_OR_RETURN(auto bytes, add(*found, *found));
    auto li = ReadElfDynamic(*bytes);
    if (!li.ok()) return li.status().WithContext(*found);
    TDX_ASSIGN_OR_RETURN(std::string rp, v.RealPath(*found));
    for (const auto& n : li->needed)
      queue.push_back({n, *found, Dirname(rp), li->rpath, li->runpath, p.exe_rpath});
  }
  return out;
}

}  // namespace tdximage
