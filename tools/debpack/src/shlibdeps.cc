#include "debpack/shlibdeps.h"

#include <cxxabi.h>
#include <glob.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>

#include "tdxrt/file.h"

namespace debpack {
namespace {

namespace fs = std::filesystem;
using tdxrt::Result;
using tdxrt::Status;

// ---- versions ----

int Order(char c) {
  if (std::isdigit(static_cast<unsigned char>(c))) return 0;
  if (std::isalpha(static_cast<unsigned char>(c))) return c;
  if (c == '~') return -1;
  if (c != 0) return static_cast<unsigned char>(c) + 256;
  return 0;
}

int CompareFragment(const std::string& as, const std::string& bs) {
  const char* a = as.c_str();
  const char* b = bs.c_str();
  while (*a != 0 || *b != 0) {
    int first_diff = 0;
    while ((*a != 0 && !std::isdigit(static_cast<unsigned char>(*a))) ||
           (*b != 0 && !std::isdigit(static_cast<unsigned char>(*b)))) {
      const int ac = Order(*a), bc = Order(*b);
      if (ac != bc) return ac - bc;
      ++a;
      ++b;
    }
    while (*a == '0') ++a;
    while (*b == '0') ++b;
    while (std::isdigit(static_cast<unsigned char>(*a)) &&
           std::isdigit(static_cast<unsigned char>(*b))) {
      if (first_diff == 0) first_diff = *a - *b;
      ++a;
      ++b;
    }
    if (std::isdigit(static_cast<unsigned char>(*a))) return 1;
    if (std::isdigit(static_cast<unsigned char>(*b))) return -1;
    if (first_diff != 0) return first_diff;
  }
  return 0;
}

struct Version {
  unsigned long epoch = 0;
  std::string upstream, revision;
};

Version Split(const std::string& v) {
  Version out;
  std::string rest = v;
  const std::size_t colon = rest.find(':');
  if (colon != std::string::npos) {
    out.epoch = std::strtoul(rest.substr(0, colon).c_str(), nullptr, 10);
    rest = rest.substr(colon + 1);
  }
  const std::size_t dash = rest.rfind('-');
  if (dash != std::string::npos) {
    out.revision = rest.substr(dash + 1);
    rest = rest.substr(0, dash);
  }
  out.upstream = rest;
  return out;
}

// ---- symbols and shlibs files ----

struct SymbolEntry {
  std::string minver;
  int dep_id = 0;
};

struct Pattern {
  enum class Kind { kSymver, kCxx, kRegex } kind;
  std::string spec;  // a version name, a demangled "name@version", or a regex
  std::unique_ptr<std::regex> re;
  SymbolEntry entry;
};

struct SymbolsBlock {
  std::string soname;
  std::vector<std::string> deps;  // [0] the main dependency template, then "| " alternatives
  std::map<std::string, SymbolEntry> symbols;  // "name@version"
  std::vector<Pattern> patterns;
};

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// One symbol line (after its leading space): "[(tags)]name@ver minver [dep_id]".
Status ParseSymbolLine(const std::string& line, SymbolsBlock& block, const std::string& where) {
  std::string rest = line;
  std::vector<std::string> tags;
  if (!rest.empty() && rest[0] == '(') {
    const std::size_t close = rest.find(')');
    if (close == std::string::npos) return Status::Corrupt(where + ": unclosed tag list");
    std::stringstream ts(rest.substr(1, close - 1));
    for (std::string t; std::getline(ts, t, '|');) tags.push_back(t.substr(0, t.find('=')));
    rest = rest.substr(close + 1);
  }
  std::string name;
  if (!rest.empty() && rest[0] == '"') {
    const std::size_t close = rest.find('"', 1);
    if (close == std::string::npos) return Status::Corrupt(where + ": unclosed quote");
    name = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
  } else {
    const std::size_t space = rest.find(' ');
    name = rest.substr(0, space);
    rest = space == std::string::npos ? "" : rest.substr(space);
  }
  std::stringstream fields(rest);
  SymbolEntry e;
  if (!(fields >> e.minver)) return Status::Corrupt(where + ": no minimal version");
  if (!(fields >> e.dep_id)) e.dep_id = 0;
  if (e.dep_id < 0 || static_cast<std::size_t>(e.dep_id) >= block.deps.size()) {
    return Status::Corrupt(where + ": dependency " + std::to_string(e.dep_id) +
                           " is not declared for " + block.soname);
  }
  for (const std::string& t : tags) {
    if (t == "symver") {
      block.patterns.push_back({Pattern::Kind::kSymver, name, nullptr, e});
      return Status::Ok();
    }
    if (t == "c++") {
      block.patterns.push_back({Pattern::Kind::kCxx, name, nullptr, e});
      return Status::Ok();
    }
    if (t == "regex") {
      try {
        block.patterns.push_back(
            {Pattern::Kind::kRegex, name, std::make_unique<std::regex>(name), e});
      } catch (const std::regex_error&) {
        return Status::Corrupt(where + ": an invalid regex");
      }
      return Status::Ok();
    }
  }
  block.symbols[name] = e;
  return Status::Ok();
}

Result<std::vector<SymbolsBlock>> ReadSymbolsFile(const fs::path& path) {
  TDX_ASSIGN_OR_RETURN(const tdxrt::Bytes bytes, tdxrt::ReadFile(path, 64u << 20));
  std::stringstream in(std::string(bytes.begin(), bytes.end()));
  std::vector<SymbolsBlock> blocks;
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    const std::string where = path.string() + ":" + std::to_string(n);
    if (line.empty() || line[0] == '#' || line[0] == '*') continue;
    if (line[0] == ' ' || line[0] == '\t') {
      if (blocks.empty()) return Status::Corrupt(where + ": a symbol before any library line");
      TDX_TRY(ParseSymbolLine(Trim(line), blocks.back(), where));
    } else if (line[0] == '|') {
      if (blocks.empty()) return Status::Corrupt(where + ": an alternative before any library");
      blocks.back().deps.push_back(Trim(line.substr(1)));
    } else {
      const std::size_t space = line.find(' ');
      if (space == std::string::npos) return Status::Corrupt(where + ": no dependency template");
      SymbolsBlock b;
      b.soname = line.substr(0, space);
      b.deps.push_back(Trim(line.substr(space)));
      blocks.push_back(std::move(b));
    }
  }
  return blocks;
}

std::string Demangle(const std::string& name) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> d(
      abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status), std::free);
  return status == 0 && d != nullptr ? std::string(d.get()) : std::string();
}

const SymbolEntry* Lookup(const SymbolsBlock& b, const tdximage::ElfImport& s) {
  const std::string version = s.version.empty() ? "Base" : s.version;
  const auto it = b.symbols.find(s.name + "@" + version);
  if (it != b.symbols.end()) return &it->second;
  std::string demangled;
  for (const Pattern& p : b.patterns) {
    switch (p.kind) {
      case Pattern::Kind::kSymver:
        if (!s.version.empty() && p.spec == s.version) return &p.entry;
        break;
      case Pattern::Kind::kCxx:
        if (demangled.empty()) demangled = Demangle(s.name);
        if (!demangled.empty() && p.spec == demangled + "@" + version) return &p.entry;
        break;
      case Pattern::Kind::kRegex:
        if (std::regex_search(s.name + "@" + version, *p.re)) return &p.entry;
        break;
    }
  }
  return nullptr;
}

// "libfoo.so.1" -> ("libfoo", "1"); "libfoo-1.2.so" -> ("libfoo-1.2", "").
std::pair<std::string, std::string> ShlibsKey(const std::string& soname) {
  const std::size_t so = soname.find(".so.");
  if (so != std::string::npos) return {soname.substr(0, so), soname.substr(so + 4)};
  if (soname.size() > 3 && soname.ends_with(".so")) {
    return {soname.substr(0, soname.size() - 3), ""};
  }
  return {soname, ""};
}

Result<std::string> ShlibsDependency(const fs::path& path, const std::string& soname) {
  TDX_ASSIGN_OR_RETURN(const tdxrt::Bytes bytes, tdxrt::ReadFile(path, 16u << 20));
  std::stringstream in(std::string(bytes.begin(), bytes.end()));
  const auto [lib, ver] = ShlibsKey(soname);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::stringstream f(line);
    std::string first, second;
    f >> first;
    if (first.ends_with(":")) {
      if (first != "deb:") continue;  // udeb: lines
      f >> first;
    }
    f >> second;
    if (first == lib && second == ver) {
      std::string dep;
      std::getline(f, dep);
      return Trim(dep);
    }
  }
  return Status::NotFound(path.string() + " has no entry for " + soname);
}

// ---- libraries and their packages ----

std::vector<std::string> LdSoConfDirs(const fs::path& root, const fs::path& conf, int depth) {
  std::vector<std::string> dirs;
  std::ifstream in(root / conf.relative_path());
  for (std::string line; depth < 4 && std::getline(in, line);) {
    line = Trim(line.substr(0, line.find('#')));
    if (line.starts_with("include ")) {
      const std::string pattern = (root / fs::path(Trim(line.substr(8))).relative_path()).string();
      glob_t g{};
      if (glob(pattern.c_str(), 0, nullptr, &g) == 0) {
        std::vector<std::string> files(g.gl_pathv, g.gl_pathv + g.gl_pathc);
        for (const std::string& f : files) {
          const fs::path rel = "/" / fs::path(f).lexically_relative(root);
          for (const std::string& d : LdSoConfDirs(root, rel, depth + 1)) dirs.push_back(d);
        }
      }
      globfree(&g);
    } else if (line.starts_with("/")) {
      dirs.push_back(line);
    }
  }
  return dirs;
}

std::vector<std::string> SearchDirs(const fs::path& root, const std::string& triplet,
                                    const std::vector<std::string>& runpath) {
  std::vector<std::string> dirs;
  for (const std::string& r : runpath) {
    if (r.find("$ORIGIN") == std::string::npos) dirs.push_back(r);
  }
  dirs.push_back("/lib/" + triplet);
  dirs.push_back("/usr/lib/" + triplet);
  for (const std::string& d : LdSoConfDirs(root, "/etc/ld.so.conf", 0)) dirs.push_back(d);
  for (const char* d : {"/lib", "/usr/lib", "/lib64", "/usr/lib64"}) dirs.push_back(d);
  return dirs;
}

// The paths dpkg may list a library under: as found, resolved, each with and without /usr.
std::vector<std::string> ListedAs(const fs::path& root, const std::string& path) {
  std::vector<std::string> out = {path};
  std::error_code ec;
  const fs::path real = fs::canonical(root / fs::path(path).relative_path(), ec);
  if (!ec) out.push_back("/" + real.lexically_relative(fs::canonical(root, ec)).string());
  const std::size_t n = out.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (out[i].starts_with("/usr/")) {
      out.push_back(out[i].substr(4));
    } else {
      out.push_back("/usr" + out[i]);
    }
  }
  return out;
}

struct Library {
  std::string soname, path, package, info_stem;  // info_stem: "libc6:amd64"
};

// Which installed package lists each of `paths` (scanning <admindir>/info/*.list once).
Result<std::map<std::string, std::string>> Owners(const fs::path& infodir,
                                                  const std::set<std::string>& paths) {
  std::map<std::string, std::string> owner;
  std::error_code ec;
  std::vector<fs::path> lists;
  for (const auto& e : fs::directory_iterator(infodir, ec)) {
    if (e.path().extension() == ".list") lists.push_back(e.path());
  }
  if (ec)
    return Status::IoError("cannot read dpkg's database " + infodir.string() + ": " + ec.message());
  std::sort(lists.begin(), lists.end());
  for (const fs::path& l : lists) {
    std::ifstream in(l);
    for (std::string line; std::getline(in, line);) {
      if (paths.count(line) != 0 && owner.count(line) == 0) owner[line] = l.stem().string();
    }
  }
  return owner;
}

Result<std::vector<Library>> FindLibraries(const std::vector<Binary>& binaries,
                                           const ShlibsContext& ctx) {
  std::vector<Library> libs;
  std::map<std::string, std::vector<std::string>> candidates;  // soname -> listed-as paths
  for (const Binary& bin : binaries) {
    const tdximage::ElfDynamicInfo& elf = bin.dynamic;
    TDX_ASSIGN_OR_RETURN(const std::string triplet, MultiarchTriplet(elf.machine));
    std::vector<std::string> search = elf.runpath.empty() ? elf.rpath : elf.runpath;
    const std::vector<std::string> dirs = SearchDirs(ctx.root, triplet, search);
    for (const std::string& soname : elf.needed) {
      if (candidates.count(soname) != 0) continue;
      std::string found;
      for (const std::string& d : dirs) {
        const fs::path p = ctx.root / fs::path(d).relative_path() / soname;
        std::error_code ec;
        if (!fs::exists(p, ec)) continue;
        // Mapped, not copied: only its header and dynamic section are read.
        auto lib = tdxrt::MappedFile::Open(p);
        if (!lib.ok() || !tdximage::IsElf(lib->bytes())) continue;
        auto deps = tdximage::ReadElfDynamic(lib->bytes());
        if (!deps.ok() || deps->machine != elf.machine) continue;  // another architecture's
        found = d + "/" + soname;
        break;
      }
      if (found.empty()) {
        std::string searched;
        for (const std::string& d : dirs) searched += (searched.empty() ? "" : ", ") + d;
        return Status::NotFound(bin.file + " needs " + soname +
                                ", which is on none of the library paths (" + searched + ")");
      }
      candidates[soname] = ListedAs(ctx.root, found);
      libs.push_back({soname, found, "", ""});
    }
  }
  std::set<std::string> all;
  for (const auto& [soname, paths] : candidates) all.insert(paths.begin(), paths.end());
  TDX_ASSIGN_OR_RETURN(const auto owner,
                       Owners(ctx.root / ctx.admindir.relative_path() / "info", all));
  for (Library& lib : libs) {
    for (const std::string& p : candidates[lib.soname]) {
      const auto it = owner.find(p);
      if (it == owner.end()) continue;
      lib.info_stem = it->second;
      lib.package = it->second.substr(0, it->second.find(':'));
      break;
    }
    if (lib.package.empty()) {
      return Status::NotFound(lib.path + " (" + lib.soname +
                              ") belongs to no installed package: no dependency can name it");
    }
  }
  return libs;
}

// dependency template ("libc6 #MINVER#", "libfoo1 (>= 1.2)") -> highest version required.
class Requirements {
 public:
  void Require(const std::string& dep, const std::string& given) {
    // "0" is a symbols file's "any version": no version constraint.
    const std::string minver = given == "0" ? "" : given;
    auto [it, inserted] = deps_.try_emplace(dep, minver);
    if (!inserted &&
        (it->second.empty() || (!minver.empty() && CompareVersions(minver, it->second) > 0))) {
      it->second = minver;
    }
  }
  std::string Render() const {
    std::map<std::string, std::string> by_package;  // package -> rendered
    std::map<std::string, std::string> best;        // package -> version
    for (const auto& [dep, minver] : deps_) {
      std::string rendered = dep;
      const std::size_t at = rendered.find("#MINVER#");
      if (at != std::string::npos) {
        rendered.replace(at, 8, minver.empty() ? "" : "(>= " + minver + ")");
      }
      rendered = Trim(rendered);
      const std::string package = rendered.substr(0, rendered.find_first_of(" (|"));
      const auto b = best.find(package);
      if (b == best.end() || (!minver.empty() && CompareVersions(minver, b->second) > 0)) {
        best[package] = minver;
        by_package[package] = rendered;
      }
    }
    std::string out;
    for (const auto& [package, rendered] : by_package) {
      out += (out.empty() ? "" : ", ") + rendered;
    }
    return out;
  }

 private:
  std::map<std::string, std::string> deps_;
};

void RequireFromSymbols(const Library& lib, const SymbolsBlock& block,
                        const std::vector<Binary>& binaries,
                        const std::vector<const SymbolsBlock*>& blocks_in_order,
                        Requirements& req) {
  // The library's smallest version first: an unversioned dependency is not enough, the
  // library may not always have been in its package.
  std::string smallest;
  for (const auto& [name, e] : block.symbols) {
    if (e.dep_id != 0) continue;
    if (smallest.empty() || CompareVersions(e.minver, smallest) < 0) smallest = e.minver;
  }
  req.Require(block.deps[0], smallest);
  for (const Binary& bin : binaries) {
    const std::vector<std::string>& needed = bin.dynamic.needed;
    if (std::find(needed.begin(), needed.end(), lib.soname) == needed.end()) continue;
    for (const tdximage::ElfImport& s : bin.imports) {
      if (!s.library.empty() && s.library != lib.soname) continue;
      const SymbolEntry* e = Lookup(block, s);
      if (e == nullptr) continue;
      if (s.library.empty()) {
        // Unversioned: it binds to the first needed library whose symbols file has it.
        bool earlier = false;
        for (const SymbolsBlock* other : blocks_in_order) {
          if (other == &block) break;
          if (std::find(needed.begin(), needed.end(), other->soname) != needed.end() &&
              Lookup(*other, s) != nullptr) {
            earlier = true;
            break;
          }
        }
        if (earlier) continue;
      }
      req.Require(block.deps[static_cast<std::size_t>(e->dep_id)], e->minver);
    }
  }
}

}  // namespace

Result<Binary> ReadBinary(std::string file, tdxrt::ByteSpan bytes) {
  Binary b;
  auto dynamic = tdximage::ReadElfDynamic(bytes);
  if (!dynamic.ok()) return dynamic.status().WithContext(file);
  auto imports = tdximage::ReadElfImports(bytes);
  if (!imports.ok()) return imports.status().WithContext(file);
  b.file = std::move(file);
  b.dynamic = std::move(*dynamic);
  b.imports = std::move(*imports);
  return b;
}

Result<std::string> MultiarchTriplet(std::uint16_t machine) {
  if (machine == 62) return std::string("x86_64-linux-gnu");
  if (machine == 183) return std::string("aarch64-linux-gnu");
  return Status::Unsupported("ELF machine " + std::to_string(machine) +
                             " (only x86-64 and AArch64 are packaged)");
}

Result<std::string> DebianArchitecture(std::uint16_t machine) {
  if (machine == 62) return std::string("amd64");
  if (machine == 183) return std::string("arm64");
  return Status::Unsupported("ELF machine " + std::to_string(machine) +
                             " (only x86-64 and AArch64 are packaged)");
}

int CompareVersions(const std::string& a, const std::string& b) {
  const Version va = Split(a), vb = Split(b);
  if (va.epoch != vb.epoch) return va.epoch < vb.epoch ? -1 : 1;
  const int u = CompareFragment(va.upstream, vb.upstream);
  if (u != 0) return u;
  return CompareFragment(va.revision, vb.revision);
}

Result<std::string> ComputeShlibsDepends(const std::vector<Binary>& binaries,
                                         const ShlibsContext& ctx) {
  TDX_ASSIGN_OR_RETURN(const std::vector<Library> libs, FindLibraries(binaries, ctx));
  const fs::path info = ctx.root / ctx.admindir.relative_path() / "info";
  // Each library's symbols block (or none), in the binaries' DT_NEEDED order.
  std::vector<std::vector<SymbolsBlock>> files;
  files.reserve(libs.size());
  std::vector<const SymbolsBlock*> blocks(libs.size(), nullptr);
  for (std::size_t i = 0; i < libs.size(); ++i) {
    const fs::path symbols = info / (libs[i].info_stem + ".symbols");
    std::error_code ec;
    files.emplace_back();
    if (!fs::exists(symbols, ec)) continue;
    TDX_ASSIGN_OR_RETURN(files.back(), ReadSymbolsFile(symbols));
    for (const SymbolsBlock& b : files.back()) {
      if (b.soname == libs[i].soname) blocks[i] = &b;
    }
  }
  std::vector<const SymbolsBlock*> in_order;
  for (const SymbolsBlock* b : blocks) {
    if (b != nullptr) in_order.push_back(b);
  }
  Requirements req;
  for (std::size_t i = 0; i < libs.size(); ++i) {
    if (blocks[i] != nullptr) {
      RequireFromSymbols(libs[i], *blocks[i], binaries, in_order, req);
      continue;
    }
    const fs::path shlibs = info / (libs[i].info_stem + ".shlibs");
    auto dep = ShlibsDependency(shlibs, libs[i].soname);
    if (!dep.ok()) {
      return Status::NotFound("no dependency information for " + libs[i].soname + " (" +
                              libs[i].path + ", package " + libs[i].package +
                              "): neither a symbols file nor a shlibs entry (" +
                              dep.status().message() + ")");
    }
    req.Require(*dep, "");
  }
  return req.Render();
}

}  // namespace debpack
