// Kernel module dependency closure from .modinfo (see include/tdximage/modules.h).
#include "tdximage/modules.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "tdximage/archive.h"
#include "tdximage/elf.h"

namespace tdximage {

using tdxrt::Result;
using tdxrt::Status;

std::string NormaliseModuleName(std::string_view name) {
  std::string n(name);
  std::replace(n.begin(), n.end(), '-', '_');
  return n;
}

Result<tdxrt::Bytes> DecompressModule(tdxrt::ByteSpan packed) {
  return Decompress(packed, std::min<std::uint64_t>(256ull << 20, UnpackLimit(packed.size())));
}

Result<std::string> KernelModulesVersion(const FileTree& tree) {
  std::set<std::string> versions;
  const std::string prefix = "lib/modules/";
  for (const auto& [path, node] : tree.nodes()) {
    if (path.rfind(prefix, 0) != 0) continue;
    const std::string rest = path.substr(prefix.size());
    const auto slash = rest.find('/');
    if (slash == std::string::npos && node.type == TreeNode::Type::kDirectory)
      versions.insert(rest);
  }
  if (versions.empty())
    return Status::NotFound(
        "no lib/modules/<version>/ (or usr/lib/modules/<version>/) directory in the modules "
        "source");
  if (versions.size() > 1) {
    std::string list;
    for (const auto& v : versions) list += (list.empty() ? "" : ", ") + v;
    return Status::InvalidArgument("several kernel versions under lib/modules/: " + list);
  }
  return *versions.begin();
}

namespace {
std::string ModuleNameOf(const std::string& path) {
  std::string base = path.substr(path.rfind('/') + 1);
  for (const char* ext : {".ko.xz", ".ko.zst", ".ko.gz", ".ko"}) {
    const std::string e(ext);
    if (base.size() > e.size() && base.compare(base.size() - e.size(), e.size(), e) == 0) {
      return NormaliseModuleName(base.substr(0, base.size() - e.size()));
    }
  }
  return "";
}
}  // namespace

Result<std::vector<KernelModule>> ModuleClosure(const FileTree& tree, const std::string& version,
                                                const std::vector<std::string>& wanted) {
  const std::string root = "lib/modules/" + version + "/";
  std::map<std::string, std::string> index;  // name -> path
  for (const auto& [path, node] : tree.nodes()) {
    if (path.rfind(root, 0) != 0 || node.type != TreeNode::Type::kFile) continue;
    const std::string name = ModuleNameOf(path);
    if (!name.empty()) index.emplace(name, path);
  }
  std::set<std::string> builtin;
  if (const TreeNode* b = tree.Find(root + "modules.builtin"); b && b->data) {
    std::string text(b->data->begin(), b->data->end());
    std::size_t start = 0;
    while (start < text.size()) {
      std::size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      const std::string n = ModuleNameOf(text.substr(start, end - start));
      if (!n.empty()) builtin.insert(n);
      start = end + 1;
    }
  }
  std::vector<KernelModule> order;
  std::map<std::string, int> state;  // 1 = visiting, 2 = done
  std::function<tdxrt::Status(const std::string&, const std::string&)> visit =
      [&](const std::string& name, const std::string& needed_by) -> tdxrt::Status {
    if (state[name] == 2) return tdxrt::Status::Ok();
    if (state[name] == 1) return Status::Corrupt("module dependency cycle through '" + name + "'");
    if (builtin.count(name)) {
      state[name] = 2;
      return tdxrt::Status::Ok();
    }
    auto it = index.find(name);
    if (it == index.end()) {
      std::string hint;
      for (const auto& [n, p] : index) {
        if (n.find(name) != std::string::npos || name.find(n) != std::string::npos)
          hint += (hint.empty() ? "" : ", ") + n;
        if (hint.size() > 80) break;
      }
      return Status::NotFound("kernel module '" + name + "'" +
                              (needed_by.empty() ? "" : " (needed by '" + needed_by + "')") +
                              " is not in " + root +
                              (hint.empty() ? "" : " (similar: " + hint + ")"));
    }
    state[name] = 1;
    const TreeNode* node = tree.Find(it->second);
    auto raw = DecompressModule(*node->data);
    if (!raw.ok()) return raw.status().WithContext(it->second);
    auto info = ReadModinfo(*raw);
    if (!info.ok()) return info.status().WithContext(it->second);
    KernelModule m{name, it->second, {}};
    for (const auto& [k, v] : *info) {
      if (k != "depends" || v.empty()) continue;
      std::size_t start = 0;
      while (start <= v.size()) {
        std::size_t end = v.find(',', start);
        if (end == std::string::npos) end = v.size();
        if (end > start) m.depends.push_back(NormaliseModuleName(v.substr(start, end - start)));
        start = end + 1;
      }
    }
    for (const auto& d : m.depends) TDX_TRY(visit(d, name));
    state[name] = 2;
    order.push_back(std::move(m));
    return tdxrt::Status::Ok();
  };
  for (const auto& w : wanted) TDX_TRY(visit(NormaliseModuleName(w), ""));
  return order;
}

}  // namespace tdximage
