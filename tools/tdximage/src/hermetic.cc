// Hermetic build sections (see include/tdximage/hermetic.h).
#include "tdximage/hermetic.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <set>

#include "tdximage/build_root.h"
#include "tdximage/closure.h"
#include "tdximage/elf.h"
#include "tdxrt/file.h"
#include "tdxrt/hex.h"
#include "tdxrt/json.h"
#include "tdxrt/sha.h"

namespace tdximage {

namespace fs = std::filesystem;
using nlohmann::ordered_json;
using tdxrt::Bytes;
using tdxrt::Result;
using tdxrt::Status;

namespace {

constexpr std::uint64_t kMaxSourceFile = 64ull << 20;
constexpr std::uint64_t kMaxOutput = 1ull << 30;

tdxrt::ByteSpan Span(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

double Since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string Joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& x : v) out += (out.empty() ? "" : " ") + x;
  return out;
}

// `inner` is `outer` or below it.
bool Within(const fs::path& inner, const fs::path& outer) {
  const fs::path rel = inner.lexically_relative(outer);
  return !rel.empty() && *rel.begin() != "..";
}

Result<BuildSourceTree> ReadGitSource(const Recipe& r, const BuildSpec& b,
                                      const std::vector<std::string>& file_roots,
                                      CommandRunner& runner) {
  const std::string where = r.file + ":" + std::to_string(b.line) + ": build source";
  std::error_code ec;
  const fs::path dir = fs::canonical(fs::path(r.dir) / b.git_dir, ec);
  if (ec) return Status::NotFound(where + ": git " + b.git_dir + ": " + ec.message());
  // Only the work tree that holds the recipe, or one under a --file-root: a recipe must not
  // compile (and so publish) another tree of this machine.
  const fs::path recipe_dir = fs::canonical(r.dir, ec);
  bool allowed = !ec && Within(recipe_dir, dir);
  for (const auto& root : file_roots) {
    const fs::path c = fs::canonical(root, ec);
    if (!ec && Within(dir, c)) allowed = true;
  }
  if (!allowed) {
    return Status::InvalidArgument(where + ": git " + dir.string() +
                                   " neither holds the recipe nor lies under a --file-root");
  }
  // Only the index is read: no fsmonitor command a repository's configuration might name runs.
  std::vector<std::string> argv = {
      "git", "-c", "core.fsmonitor=false", "-C", dir.string(), "ls-files", "-z", "--cached", "--"};
  argv.insert(argv.end(), b.paths.begin(), b.paths.end());
  std::string out;
  TDX_ASSIGN_OR_RETURN(int rc, runner.Run(argv, dir.string(), &out));
  if (rc != 0) {
    return Status::IoError(where + ": git ls-files in " + dir.string() + " failed (exit " +
                           std::to_string(rc) + "): " + out +
                           "(hint: the source must be a git work tree; or use a tarball source)");
  }
  BuildSourceTree t;
  t.description = "git " + b.git_dir + (b.paths.empty() ? "" : " [" + Joined(b.paths) + "]");
  std::set<std::string> seen;
  std::size_t start = 0;
  const int dirfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) return Status::IoError(dir.string() + ": " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{dirfd};
  while (start < out.size()) {
    std::size_t end = out.find('\0', start);
    if (end == std::string::npos) end = out.size();
    const std::string path = out.substr(start, end - start);
    start = end + 1;
    if (path.empty() || !seen.insert(path).second) continue;  // unmerged entries repeat
    struct stat st {};
    if (::fstatat(dirfd, path.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return Status::NotFound(where + ": tracked file " + path + " is missing from the work tree " +
                              dir.string());
    }
    if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<std::size_t>(st.st_size) + 1, '\0');
      const ssize_t n = ::readlinkat(dirfd, path.c_str(), target.data(), target.size());
      if (n < 0) return Status::IoError(where + ": " + path + ": " + std::strerror(errno));
      target.resize(static_cast<std::size_t>(n));
      TDX_TRY(t.files.AddSymlink(path, target, "source"));
    } else if (S_ISREG(st.st_mode)) {
      const int fd = ::openat(dirfd, path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
      if (fd < 0) return Status::IoError(where + ": " + path + ": " + std::strerror(errno));
      auto data = tdxrt::ReadOpenFile(fd, dir / path, kMaxSourceFile);
      ::close(fd);
      if (!data.ok()) return data.status().WithContext(where);
      TDX_TRY(t.files.AddFile(path, std::move(data).value(), (st.st_mode & 0111) ? 0755 : 0644,
                              "source"));
    } else {
      return Status::InvalidArgument(where + ": tracked path " + path +
                                     " is neither a file nor a symlink (submodules are not read)");
    }
  }
  if (seen.empty()) {
    return Status::NotFound(where + ": git tracks no files under " + dir.string() +
                            (b.paths.empty() ? "" : " matching [" + Joined(b.paths) + "]"));
  }
  return t;
}

const std::vector<std::pair<std::string, std::string>> Environment(std::int64_t sde) {
  return {{"PATH", "/usr/bin:/bin"},
          {"HOME", "/build/home"},
          {"TMPDIR", "/tmp"},
          {"TZ", "UTC"},
          {"LANG", "C.UTF-8"},
          {"LC_ALL", "C.UTF-8"},
          {"SOURCE_DATE_EPOCH", std::to_string(sde)}};
}

// What the build key covers and the manifest records, outputs aside.
ordered_json BuildDescription(const Recipe& r, const ToolchainLock& tl, const BuildSourceTree& src,
                              std::int64_t sde) {
  const BuildSpec& b = *r.build;
  ordered_json j;
  j["toolchain"] = ordered_json::array();
  for (const auto& p : tl.packages) {
    j["toolchain"].push_back({{"name", p.name},
                              {"version", p.version},
                              {"arch", p.arch},
                              {"sha256", p.sha256},
                              {"pool", p.pool}});
  }
  j["source"] = {{"what", src.description},
                 {"digest", "tdximage-tree-v1:" + src.digest},
                 {"files", src.count}};
  j["commands"] = b.commands;
  ordered_json env = ordered_json::object();
  for (const auto& [k, v] : Environment(sde)) env[k] = v;
  j["environment"] = env;
  j["isolation"] = {{"workdir", "/build/src"},
                    {"hostname", "tdximage-build"},
                    {"umask", "0022"},
                    {"network", "none (own network namespace, loopback down)"}};
  j["outputs_wanted"] = ordered_json::array();
  for (const auto& o : b.outputs) j["outputs_wanted"].push_back(o.path);
  return j;
}

// Every output (installed or not) and the libraries of the installed ones, into the buildinfo;
// returns what goes into the image.
std::vector<BuiltFile> Install(const BuildSpec& b, const std::vector<BuiltFile>& all,
                               ordered_json& info) {
  std::map<std::string, std::string> to;  // output path -> image path
  for (const auto& o : b.outputs) to[o.path] = o.to;
  std::vector<BuiltFile> out;
  info["outputs"] = ordered_json::array();
  info["libraries"] = ordered_json::array();
  for (const auto& f : all) {
    if (f.path.empty()) continue;
    BuiltFile g = f;
    g.to = to[f.path];
    const auto& mode = std::find_if(b.outputs.begin(), b.outputs.end(),
                                    [&](const BuildSpec::Output& o) { return o.path == f.path; });
    if (mode != b.outputs.end()) g.mode = mode->mode;
    info["outputs"].push_back({{"path", g.path},
                               {"to", g.to.empty() ? ordered_json() : ordered_json(g.to)},
                               {"sha256", tdxrt::ToHex(tdxrt::Sha256(*g.data))},
                               {"size", g.data->size()}});
    if (!g.to.empty()) out.push_back(std::move(g));
  }
  for (const auto& f : all) {
    if (!f.path.empty()) continue;
    const bool needed = std::any_of(f.needed_by.begin(), f.needed_by.end(),
                                    [&](const std::string& p) { return !to[p].empty(); });
    if (!needed) continue;
    info["libraries"].push_back({{"to", f.to},
                                 {"sha256", tdxrt::ToHex(tdxrt::Sha256(*f.data))},
                                 {"size", f.data->size()},
                                 {"from", f.origin}});
    out.push_back(f);
  }
  return out;
}

// Cache entry: derived "build-<key>" is an index (JSON) of the files, each stored as derived
// "blob-<sha256>". Anything missing or not matching reads as a miss: the build runs again.
std::optional<std::vector<BuiltFile>> CachedOutputs(const Cache& cache, const std::string& key) {
  auto index = cache.GetDerived("build-" + key);
  if (!index) return std::nullopt;
  auto j = tdxrt::ParseJson(std::string(index->begin(), index->end()), "build cache index");
  if (!j.ok() || !j->is_object()) return std::nullopt;
  std::vector<BuiltFile> files;
  try {
    for (const auto& e : j->at("files")) {
      BuiltFile f;
      f.path = e.at("path").get<std::string>();
      f.to = e.at("to").get<std::string>();
      f.needed_by = e.at("needed_by").get<std::vector<std::string>>();
      f.mode = e.at("mode").get<std::uint32_t>();
      f.origin = e.at("origin").get<std::string>();
      const std::string sha = e.at("sha256").get<std::string>();
      auto blob = cache.GetDerived("blob-" + sha);
      if (!blob || tdxrt::ToHex(tdxrt::Sha256(*blob)) != sha) return std::nullopt;
      f.data = std::make_shared<const Bytes>(std::move(*blob));
      files.push_back(std::move(f));
    }
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
  return files;
}

Status StoreOutputs(const Cache& cache, const std::string& key,
                    const std::vector<BuiltFile>& files) {
  ordered_json j;
  j["files"] = ordered_json::array();
  for (const auto& f : files) {
    const std::string sha = tdxrt::ToHex(tdxrt::Sha256(*f.data));
    TDX_TRY(cache.PutDerived("blob-" + sha, *f.data));
    j["files"].push_back({{"path", f.path},
                          {"to", f.to},
                          {"needed_by", f.needed_by},
                          {"mode", f.mode},
                          {"origin", f.origin},
                          {"sha256", sha}});
  }
  const std::string text = tdxrt::DumpJson(j);
  return cache.PutDerived("build-" + key, Bytes(text.begin(), text.end()));
}

// Fetches every locked toolchain package (one batch), verified against the lock.
Result<std::vector<RootPackage>> FetchToolchain(const ToolchainLock& tl, SourceStore& store) {
  std::vector<SourceStore::AptWant> wanted;
  for (const auto& p : tl.packages) wanted.push_back({p.Spec(), p.Pin()});
  TDX_TRY(store.FetchAptBatch(wanted).status());
  std::vector<RootPackage> out;
  for (const auto& p : tl.packages) {
    TDX_ASSIGN_OR_RETURN(Bytes deb, store.ReadPinned(p.Spec(), p.Pin()));
    out.push_back({p.name, std::make_shared<const Bytes>(std::move(deb))});
  }
  return out;
}

// Removes a build root written by this process (the namespaces' mounts are gone with them).
struct RootDir {
  fs::path path;
  ~RootDir() {
    std::error_code ec;
    if (path.empty()) return;
    // Directories the build left read-only would stop remove_all.
    for (auto it = fs::recursive_directory_iterator(path, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory(ec) && !it->is_symlink(ec))
        fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
    }
    fs::remove_all(path, ec);
  }
};

}  // namespace

std::string BuildKey(ordered_json description) {
  if (auto s = description.find("source"); s != description.end() && s->is_object()) {
    s->erase("what");
  }
  return tdxrt::ToHex(tdxrt::Sha256(Span(tdxrt::DumpJson(description, -1))));
}

std::string TreeDigest(const FileTree& tree) {
  std::string listing;
  for (const auto& [path, n] : tree.nodes()) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", n.mode & 07777);
    if (n.type == TreeNode::Type::kFile) {
      listing +=
          std::string("F ") + mode + " " + tdxrt::ToHex(tdxrt::Sha256(*n.data)) + " " + path + "\n";
    } else if (n.type == TreeNode::Type::kSymlink) {
      listing += "L 0777 " + n.target + " " + path + "\n";
    }
  }
  return tdxrt::ToHex(tdxrt::Sha256(Span(listing)));
}

Result<BuildSourceTree> ReadBuildSource(const Recipe& r,
                                        const std::map<std::string, FetchedSource>& sources,
                                        const std::vector<std::string>& file_roots,
                                        CommandRunner& runner) {
  const BuildSpec& b = *r.build;
  BuildSourceTree t;
  if (b.from) {
    auto it = sources.find(b.from->source);
    if (it == sources.end())
      return Status::NotFound("build source '" + b.from->source + "' was not fetched");
    t.description = "source " + b.from->source + (b.from->path.empty() ? "" : ":" + b.from->path);
    TDX_TRY(t.files.AddTar(*it->second.data, b.from->path, "", b.from->source)
                .WithContext(r.file + ":" + std::to_string(b.line) + ": build source"));
  } else {
    TDX_ASSIGN_OR_RETURN(t, ReadGitSource(r, b, file_roots, runner));
  }
  for (const auto& [path, n] : t.files.nodes())
    if (n.type != TreeNode::Type::kDirectory) ++t.count;
  t.digest = TreeDigest(t.files);
  return t;
}

Result<ToolchainLock> LockBuildToolchain(const Recipe& recipe, const Lock* previous,
                                         CommandRunner& runner, SourceStore& store, bool offline) {
  ToolchainLock tl;
  tl.request = recipe.build->toolchain;
  std::map<std::string, const ToolchainPackage*> old;
  if (previous && previous->toolchain) {
    for (const auto& p : previous->toolchain->packages) old[p.name + "=" + p.version] = &p;
  }
  std::vector<AptPackage> closure;
  if (offline) {
    // Offline, the previous lock's closure is the only one there is.
    if (!previous || !previous->toolchain || previous->toolchain->request != tl.request) {
      return Status::InvalidArgument(
          "--offline: the build toolchain changed since the last lock and resolving it needs "
          "apt's indices (run tdximage lock without --offline)");
    }
    for (const auto& p : previous->toolchain->packages)
      closure.push_back({p.name, p.version, p.arch, p.pool, "", p.size});
  } else {
    TDX_ASSIGN_OR_RETURN(closure, ResolveAptClosure(runner, tl.request));
  }
  std::vector<SourceStore::AptWant> wanted;
  for (const auto& a : closure) {
    ToolchainPackage p{a.name, a.version, a.arch, "", a.size, a.pool};
    std::optional<LockEntry> pin;
    if (auto it = old.find(a.name + "=" + a.version); it != old.end()) pin = it->second->Pin();
    wanted.push_back({p.Spec(), pin});
  }
  TDX_ASSIGN_OR_RETURN(auto shas, store.FetchAptBatch(wanted));
  for (const auto& a : closure) {
    ToolchainPackage p{a.name, a.version, a.arch, "", a.size, a.pool};
    p.sha256 = shas.at(p.Spec().Identity());
    const LockEntry pin = p.Pin();
    // The size comes from the bytes, as for every other pin.
    TDX_ASSIGN_OR_RETURN(Bytes deb, store.ReadPinned(p.Spec(), pin));
    p.size = deb.size();
    tl.packages.push_back(std::move(p));
  }
  return tl;
}

Result<HermeticResult> RunBuildSection(const Recipe& r, const Lock& lock,
                                       const std::map<std::string, FetchedSource>& sources,
                                       SourceStore& store, CommandRunner& runner,
                                       const HermeticOptions& o) {
  auto log = [&](const std::string& m) {
    if (o.log) o.log(m);
  };
  const BuildSpec& b = *r.build;
  if (!lock.toolchain) {
    return Status::Mismatch(r.file + ": the build toolchain is not locked (hint: tdximage lock " +
                            r.file + ")");
  }
  const ToolchainLock& tl = *lock.toolchain;
  HermeticResult res;
  auto t0 = std::chrono::steady_clock::now();
  TDX_ASSIGN_OR_RETURN(BuildSourceTree src, ReadBuildSource(r, sources, o.file_roots, runner));
  res.seconds["build source"] = Since(t0);
  ordered_json info = BuildDescription(r, tl, src, o.source_date_epoch);
  const std::string key = BuildKey(info);
  log("build    source " + src.description + ": " + std::to_string(src.count) + " files, digest " +
      src.digest.substr(0, 16) + "…; toolchain " + std::to_string(tl.packages.size()) +
      " packages; key " + key.substr(0, 16) + "…");

  std::vector<BuiltFile> all;  // every output, then every library any of them loads
  if (o.output_cache) {
    if (auto cached = CachedOutputs(*o.output_cache, key)) {
      all = std::move(*cached);
      res.from_cache = true;
      log("build    outputs cached under " + key.substr(0, 16) + "… (not recompiled)");
    }
  }
  if (!res.from_cache) {
    t0 = std::chrono::steady_clock::now();
    TDX_ASSIGN_OR_RETURN(auto packages, FetchToolchain(tl, store));
    res.seconds["toolchain fetch"] = Since(t0);
    t0 = std::chrono::steady_clock::now();
    TDX_ASSIGN_OR_RETURN(FileTree root, AssembleBuildRoot(packages));
    packages.clear();
    for (const auto& [path, n] : src.files.nodes()) {
      const std::string dest = "build/src/" + path;
      if (n.type == TreeNode::Type::kDirectory) TDX_TRY(root.AddDirectory(dest, 0755));
      if (n.type == TreeNode::Type::kSymlink) TDX_TRY(root.AddSymlink(dest, n.target, "source"));
      if (n.type == TreeNode::Type::kFile) TDX_TRY(root.AddFile(dest, n.data, n.mode, "source"));
    }
    res.root_bytes = root.total_file_bytes();
    RootDir dir;
    TDX_ASSIGN_OR_RETURN(dir.path, tdxrt::MakeTempDir("tdximage-buildroot-"));
    TDX_TRY(WriteTree(root, dir.path));
    res.seconds["build root"] = Since(t0);
    log("build    root of " + std::to_string(tl.packages.size()) + " packages, " +
        std::to_string(root.total_file_bytes() >> 20) + " MiB, in " + dir.path.string() +
        "; running " + std::to_string(b.commands.size()) + " commands isolated");
    t0 = std::chrono::steady_clock::now();
    IsolatedCommands run;
    run.root = dir.path;
    run.commands = b.commands;
    run.env = Environment(o.source_date_epoch);
    run.line = o.build_output;
    TDX_TRY(RunIsolated(run).WithContext(r.file + ":" + std::to_string(b.line)));
    res.seconds["build commands"] = Since(t0);
    // Outputs from the build root as the commands left it; their libraries from the packages
    // (the tree in memory, which no command could change).
    std::vector<BuiltFile> libs;
    std::map<std::string, std::size_t> lib_index;
    for (const auto& out : b.outputs) {
      const std::string where = r.file + ":" + std::to_string(out.line) + ": build output";
      auto data = ReadInRoot(dir.path, out.path, kMaxOutput);
      if (!data.ok()) return data.status().WithContext(where);
      auto shared = std::make_shared<const Bytes>(std::move(data).value());
      all.push_back({out.path, "", {}, shared, out.mode, "build:" + out.path});
      if (!IsElf(*shared)) continue;
      TDX_TRY(root.AddFile(out.path, shared, 0755, "build"));
      auto view = MakeTreeRootView(root);
      auto closure = ElfClosure(*view, out.path);
      if (!closure.ok()) return closure.status().WithContext(where);
      for (const auto& l : *closure) {
        auto [it, added] = lib_index.emplace(l.path, libs.size());
        if (added) {
          const TreeNode* n = root.Find(l.found_at);
          libs.push_back({"",
                          l.path,
                          {},
                          l.data,
                          0755,
                          "toolchain " + (n ? n->origin : std::string("?:") + l.found_at)});
        }
        libs[it->second].needed_by.push_back(out.path);
      }
    }
    all.insert(all.end(), libs.begin(), libs.end());
    if (o.output_cache) TDX_TRY(StoreOutputs(*o.output_cache, key, all));
    log("build    " + std::to_string(b.outputs.size()) + " outputs and " +
        std::to_string(libs.size()) + " libraries from the build root");
  }
  res.files = Install(b, all, info);
  info["key"] = key;
  res.buildinfo = std::move(info);
  return res;
}

}  // namespace tdximage
