// Source fetching and verification (see include/tdximage/sources.h).
#include "tdximage/sources.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "tdximage/archive.h"
#include "tdxrt/file.h"
#include "tdxrt/hex.h"
#include "tdxrt/sha.h"

extern char** environ;

namespace tdximage {

namespace fs = std::filesystem;
using tdxrt::Bytes;
using tdxrt::Result;
using tdxrt::Status;

namespace {

class PosixCommandRunner final : public CommandRunner {
 public:
  Result<int> Run(const std::vector<std::string>& argv, const std::string& cwd,
                  std::string* output) override {
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) != 0)
      return Status::IoError(std::string("pipe: ") + std::strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
    posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    const int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(pipefd[1]);
    if (rc != 0) {
      ::close(pipefd[0]);
      return Status::IoError("cannot run " + argv[0] + ": " + std::strerror(rc));
    }
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(pipefd[0], buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      if (output) output->append(buf, static_cast<std::size_t>(n));
    }
    ::close(pipefd[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
};

class CurlFetcher final : public HttpFetcher {
 public:
  Result<Bytes> Fetch(const std::string& url,
                      const std::function<void(std::uint64_t, std::uint64_t)>& progress) override {
    static const bool init = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    if (!init) return Status::IoError("libcurl initialisation failed");
    CURL* c = curl_easy_init();
    if (c == nullptr) return Status::IoError("libcurl: cannot create a handle");
    struct Ctx {
      Bytes data;
      const std::function<void(std::uint64_t, std::uint64_t)>* progress;
    } ctx{{}, &progress};
    auto write = +[](char* p, size_t size, size_t n, void* u) -> size_t {
      auto* x = static_cast<Ctx*>(u);
      x->data.insert(x->data.end(), p, p + size * n);
      return size * n;
    };
    auto xfer = +[](void* u, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) -> int {
      auto* x = static_cast<Ctx*>(u);
      if (*x->progress)
        (*x->progress)(static_cast<std::uint64_t>(now), static_cast<std::uint64_t>(total));
      return 0;
    };
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &ctx);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, xfer);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &ctx);
    const CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) return Status::IoError(url + ": " + curl_easy_strerror(rc));
    return std::move(ctx.data);
  }
};

std::string UrlFilename(const std::string& url) {
  std::string u = url.substr(0, url.find_first_of("?#"));
  const auto slash = u.rfind('/');
  return slash == std::string::npos ? u : u.substr(slash + 1);
}

}  // namespace

std::unique_ptr<CommandRunner> MakePosixCommandRunner() {
  return std::make_unique<PosixCommandRunner>();
}
std::unique_ptr<HttpFetcher> MakeCurlFetcher() { return std::make_unique<CurlFetcher>(); }

namespace {

std::string PercentDecode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string JoinArgs(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& x : v) out += (out.empty() ? "" : " ") + x;
  return out;
}

// apt-get options that make apt resolve as for an empty system without touching this machine's
// dpkg state or package cache: an empty status file and a private archives directory.
struct PrivateAptState {
  fs::path dir;
  std::vector<std::string> options;
  ~PrivateAptState() {
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
  }
};

Result<std::unique_ptr<PrivateAptState>> MakePrivateAptState() {
  auto st = std::make_unique<PrivateAptState>();
  TDX_ASSIGN_OR_RETURN(st->dir, tdxrt::MakeTempDir("tdximage-apt-state-"));
  std::error_code ec;
  fs::create_directories(st->dir / "archives" / "partial", ec);
  if (ec) return Status::IoError(st->dir.string() + ": " + ec.message());
  TDX_TRY(tdxrt::WriteFileAtomic(st->dir / "status", Bytes{}, 0644));
  st->options = {"-o", "Debug::NoLocking=1",
                 "-o", "Dir::State::status=" + (st->dir / "status").string(),
                 "-o", "Dir::Cache::archives=" + (st->dir / "archives").string()};
  return st;
}

}  // namespace

Result<AptPackage> ParseAptUriLine(const std::string& line) {
  // 'http://.../pool/main/g/glibc/libc6_2.36-9%2bdeb12u14_amd64.deb'
  // libc6_2.36-9+deb12u14_amd64.deb 2759320 MD5Sum:...
  std::istringstream in(line);
  std::string uri, filename, size;
  in >> uri >> filename >> size;
  if (uri.size() < 3 || uri.front() != '\'' || uri.back() != '\'' || filename.empty() ||
      size.empty() || size.find_first_not_of("0123456789") != std::string::npos) {
    return Status::Corrupt("apt-get --print-uris: unexpected line '" + line + "'");
  }
  AptPackage p;
  const std::string url = PercentDecode(uri.substr(1, uri.size() - 2));
  const auto pool = url.find("/pool/");
  if (pool == std::string::npos)
    return Status::Corrupt("apt-get --print-uris: '" + url + "' has no /pool/ path");
  p.pool = url.substr(pool + 1);
  p.filename = filename;
  p.size = std::stoull(size);
  // NAME_VERSION_ARCH.deb, the version's ':' written as %3a.
  const std::string base = PercentDecode(filename);
  const auto a = base.find('_');
  const auto b = base.rfind('_');
  if (a == std::string::npos || b == a || base.size() < b + 5 ||
      base.compare(base.size() - 4, 4, ".deb") != 0)
    return Status::Corrupt("apt-get --print-uris: '" + filename + "' is not NAME_VERSION_ARCH.deb");
  p.name = base.substr(0, a);
  p.version = base.substr(a + 1, b - a - 1);
  p.arch = base.substr(b + 1, base.size() - 4 - b - 1);
  return p;
}

Result<std::vector<AptPackage>> ResolveAptClosure(CommandRunner& runner,
                                                  const std::vector<std::string>& packages) {
  TDX_ASSIGN_OR_RETURN(auto state, MakePrivateAptState());
  std::vector<std::string> argv = {"apt-get", "install", "--print-uris", "-qq",
                                   "--no-install-recommends"};
  argv.insert(argv.end(), state->options.begin(), state->options.end());
  argv.insert(argv.end(), packages.begin(), packages.end());
  std::string out;
  TDX_ASSIGN_OR_RETURN(int rc, runner.Run(argv, state->dir.string(), &out));
  if (rc != 0) {
    return Status::IoError("resolving the build toolchain [" + JoinArgs(packages) +
                           "] with apt-get failed (exit " + std::to_string(rc) + "): " + out +
                           "(hint: run apt-get update; check each name with apt-cache policy)");
  }
  std::vector<AptPackage> closure;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] != '\'') continue;
    TDX_ASSIGN_OR_RETURN(AptPackage p, ParseAptUriLine(line));
    closure.push_back(std::move(p));
  }
  if (closure.empty())
    return Status::IoError("apt-get resolved no packages for [" + JoinArgs(packages) + "]");
  std::sort(closure.begin(), closure.end(),
            [](const AptPackage& x, const AptPackage& y) { return x.name < y.name; });
  for (std::size_t i = 1; i < closure.size(); ++i) {
    if (closure[i].name == closure[i - 1].name)
      return Status::Unsupported("the toolchain closure holds " + closure[i].name +
                                 " twice (several architectures?)");
  }
  return closure;
}

Result<AptPackage> ResolveAptPackage(CommandRunner& runner, const std::string& name,
                                     const std::string& version) {
  TDX_ASSIGN_OR_RETURN(auto state, MakePrivateAptState());
  std::vector<std::string> argv = {"apt-get", "download", "--print-uris", "-qq"};
  argv.insert(argv.end(), state->options.begin(), state->options.end());
  argv.push_back(name + "=" + version);
  std::string out;
  TDX_ASSIGN_OR_RETURN(int rc, runner.Run(argv, state->dir.string(), &out));
  if (rc != 0)
    return Status::IoError("apt-get download --print-uris " + name + "=" + version + ": " + out);
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] == '\'') return ParseAptUriLine(line);
  }
  return Status::NotFound("apt does not know " + name + "=" + version);
}

Result<Bytes> SourceStore::FromArchives(const SourceSpec& s, const LockEntry& pin) {
  const std::string what = "source '" + s.name + "'";
  if (pin.pool.empty()) {
    return Status::NotFound(what + " (" + s.Identity() +
                            "): the lock records no archive path for it, so --archive cannot "
                            "find it (hint: re-lock with this tdximage to record pool paths)");
  }
  std::string errors;
  for (std::string base : options_.archives) {
    while (!base.empty() && base.back() == '/') base.pop_back();
    const std::string url = base + "/" + pin.pool;
    if (options_.log) options_.log("fetching " + s.name + " from " + url);
    auto r = http_.Fetch(url, options_.progress);
    if (!r.ok()) {
      errors += "\n  " + r.status().message();
      continue;
    }
    const std::string sha = tdxrt::ToHex(tdxrt::Sha256(*r));
    if (sha != pin.sha256) {
      return Status::Mismatch(what + ": " + url + " served " + std::to_string(r->size()) +
                              " bytes with sha256 " + sha + " but the lock pins " + pin.sha256 +
                              " (" + std::to_string(pin.size) + " bytes); nothing was cached");
    }
    return r;
  }
  return Status::NotFound(what + " (" + s.Identity() + ", " + pin.pool +
                          ") is in none of the --archive URLs:" + errors);
}

Result<std::map<std::string, std::string>> SourceStore::FetchAptBatch(
    const std::vector<AptWant>& wanted) {
  std::map<std::string, std::string> shas;  // identity -> sha256
  std::vector<const AptWant*> missing;
  for (const auto& w : wanted) {
    std::optional<std::string> expected;
    if (w.pin) expected = w.pin->sha256;
    if (!expected) {
      if (auto known = cache_.LookupIdentity(w.spec.Identity())) expected = known->sha256;
    }
    if (expected && cache_.Has(*expected)) {
      shas[w.spec.Identity()] = *expected;
    } else {
      missing.push_back(&w);
    }
  }
  if (missing.empty()) return shas;
  if (options_.offline) {
    const AptWant& w = *missing.front();
    return Status::NotFound(std::to_string(missing.size()) +
                            " pinned packages are not in the cache " + cache_.dir().string() +
                            ", first " + w.spec.Identity() +
                            (w.pin ? " sha256 " + w.pin->sha256 : std::string()) +
                            ", and --offline forbids fetching (hint: tdximage cache seed DIR)");
  }
  auto insert = [&](const AptWant& w, const Bytes& data, const std::string& filename) -> Status {
    std::optional<std::string> expected;
    if (w.pin) expected = w.pin->sha256;
    auto sha = cache_.Insert(data, expected, "source '" + w.spec.name + "'");
    if (!sha.ok()) return sha.status();
    TDX_TRY(cache_.RememberIdentity(w.spec.Identity(), {*sha, filename}));
    shas[w.spec.Identity()] = *sha;
    return Status::Ok();
  };
  if (!options_.archives.empty()) {
    for (const AptWant* w : missing) {
      if (!w->pin) return Status::InvalidArgument("--archive fetches only pinned packages");
      TDX_ASSIGN_OR_RETURN(Bytes data, FromArchives(w->spec, *w->pin));
      TDX_TRY(insert(*w, data, w->pin->filename));
    }
    return shas;
  }
  // One apt-get download for all of them (apt checks each against the archive's signed
  // indices); then each .deb is matched to its request by the name apt gives it.
  if (options_.log)
    options_.log("fetching " + std::to_string(missing.size()) + " packages with apt-get download");
  TDX_ASSIGN_OR_RETURN(const fs::path tmp, tdxrt::MakeTempDir("tdximage-apt-"));
  struct Remover {
    fs::path p;
    ~Remover() {
      std::error_code ec;
      fs::remove_all(p, ec);
    }
  } remover{tmp};
  std::vector<std::string> argv = {"apt-get", "download", "-q"};
  for (const AptWant* w : missing) argv.push_back(w->spec.package + "=" + w->spec.version);
  std::string out;
  TDX_ASSIGN_OR_RETURN(int rc, runner_.Run(argv, tmp.string(), &out));
  if (rc != 0) {
    return Status::IoError("apt-get download of " + std::to_string(missing.size()) +
                           " packages failed (exit " + std::to_string(rc) + "): " + out +
                           "(hint: run apt-get update; a version gone from the archive is in "
                           "its snapshots: --archive URL)");
  }
  std::map<std::string, fs::path> files;  // decoded NAME_VERSION_ARCH.deb -> path
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(tmp, ec))
    files[PercentDecode(e.path().filename().string())] = e.path();
  for (const AptWant* w : missing) {
    const std::string prefix = w->spec.package + "_" + w->spec.version + "_";
    auto it = files.lower_bound(prefix);
    if (it == files.end() || it->first.rfind(prefix, 0) != 0) {
      return Status::IoError("apt-get download did not produce " + w->spec.package + "=" +
                             w->spec.version);
    }
    TDX_ASSIGN_OR_RETURN(Bytes data, tdxrt::ReadFile(it->second));
    TDX_TRY(insert(*w, data, it->second.filename().string()));
  }
  return shas;
}

Result<Bytes> SourceStore::Download(const SourceSpec& s, const LockEntry* pin,
                                    std::string* filename) {
  const std::string what = "source '" + s.name + "'";
  if (s.kind == SourceSpec::Kind::kApt && !options_.archives.empty() && pin) {
    *filename = pin->filename;
    return FromArchives(s, *pin);
  }
  if (s.kind == SourceSpec::Kind::kUrl) {
    if (options_.log) options_.log("fetching " + s.name + " from " + s.url);
    *filename = UrlFilename(s.url);
    auto r = http_.Fetch(s.url, options_.progress);
    if (!r.ok()) return r.status().WithContext(what);
    return r;
  }
  // apt: download into a private temporary directory, read the single .deb it leaves. The
  // directory is made by mkdtemp (new, unpredictable, mode 0700): a name another user can guess
  // could be theirs, with their .deb waiting in it for `lock` to pin.
  if (options_.log)
    options_.log("fetching " + s.name + " with apt-get download " + s.package + "=" + s.version);
  std::error_code ec;
  TDX_ASSIGN_OR_RETURN(const fs::path tmp, tdxrt::MakeTempDir("tdximage-apt-"));
  std::string out;
  auto rc =
      runner_.Run({"apt-get", "download", "-q", s.package + "=" + s.version}, tmp.string(), &out);
  Result<Bytes> result = Status::IoError(what + ": apt-get download did not produce a .deb");
  if (!rc.ok()) {
    result = rc.status().WithContext(what);
  } else if (*rc != 0) {
    result = Status::IoError(what + ": apt-get download " + s.package + "=" + s.version +
                             " failed (exit " + std::to_string(*rc) + "): " + out +
                             "(hint: run apt-get update; check the version with apt-cache policy " +
                             s.package + ")");
  } else {
    for (const auto& e : fs::directory_iterator(tmp, ec)) {
      if (e.path().extension() == ".deb") {
        *filename = e.path().filename().string();
        result = tdxrt::ReadFile(e.path());
      }
    }
  }
  fs::remove_all(tmp, ec);
  return result;
}

namespace {

struct OpenedFile {
  int fd;
  std::uint64_t size;
};

// Opens `path` without blocking on a FIFO and checks it is a regular file.
Result<OpenedFile> OpenRegular(const fs::path& path, const std::string& what) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return Status::IoError(what + ": " + path.string() + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::InvalidArgument(what + ": " + path.string() +
                                   " is not a regular file (devices, pipes and directories are "
                                   "never read into an image)");
  }
  struct statfs sf {};
  if (::fstatfs(fd, &sf) == 0 && (sf.f_type == PROC_SUPER_MAGIC || sf.f_type == SYSFS_MAGIC)) {
    ::close(fd);
    return Status::InvalidArgument(what + ": " + path.string() +
                                   " is a /proc or /sys file (this machine's state, not an input)");
  }
  return OpenedFile{fd, static_cast<std::uint64_t>(st.st_size)};
}

// The path of the file `fd` refers to, as the kernel resolved it.
std::optional<fs::path> RealPathOf(int fd) {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/fd/" + std::to_string(fd), ec);
  if (ec) return std::nullopt;
  return p;
}

// `real` relative to one of `roots` (canonical), or nullopt when under none.
std::optional<fs::path> Below(const fs::path& real, const std::vector<fs::path>& roots) {
  for (const auto& root : roots) {
    const fs::path rel = real.lexically_relative(root);
    if (rel.empty() || *rel.begin() == "..") continue;
    return rel;
  }
  return std::nullopt;
}

}  // namespace

Result<FetchedSource> SourceStore::ReadLocal(const SourceSpec& s, const LockEntry* pin,
                                             const std::string& recipe_dir) {
  const std::string what = "source '" + s.name + "'";
  fs::path p;
  if (s.kind == SourceSpec::Kind::kInput) {
    auto it = options_.inputs.find(s.name);
    if (it == options_.inputs.end()) {
      return Status::InvalidArgument(what + " is an input the builder supplies: " + s.description +
                                     " (hint: --input " + s.name + "=PATH)");
    }
    p = it->second;
  } else {
    p = fs::path(recipe_dir) / s.path;
  }
  TDX_ASSIGN_OR_RETURN(const OpenedFile file, OpenRegular(p, what));
  const int fd = file.fd;
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  if (s.kind == SourceSpec::Kind::kFile) {
    std::error_code ec;
    std::vector<fs::path> roots = {fs::canonical(recipe_dir.empty() ? "." : recipe_dir, ec)};
    for (const auto& r : options_.file_roots) {
      fs::path c = fs::canonical(r, ec);
      if (ec) return Status::NotFound("--file-root " + r + ": " + ec.message());
      roots.push_back(std::move(c));
    }
    const auto real = RealPathOf(fd);
    if (!real) return Status::IoError(what + ": cannot tell where " + p.string() + " leads");
    const auto rel = Below(*real, roots);
    if (!rel) {
      return Status::InvalidArgument(
          what + ": file '" + s.path + "' is " + real->string() +
          ", outside the recipe's directory " + roots[0].string() +
          " (hint: a recipe reads only files of its own tree; --file-root DIR allows another)");
    }
    for (const auto& c : *rel) {
      if (c.string().size() > 1 && c.string()[0] == '.') {
        return Status::InvalidArgument(what + ": file '" + s.path + "' is hidden (" +
                                       rel->string() +
                                       "): hidden files and directories such as .git are never "
                                       "read into an image");
      }
    }
  }
  // A pinned file of another size is refused before it is read.
  if (pin && file.size != pin->size) {
    return Status::Mismatch(what + ": " + p.string() + " is " + std::to_string(file.size) +
                            " bytes but the lock pins " + std::to_string(pin->size) +
                            " (hint: run 'tdximage lock' if the change is intended)");
  }
  auto data = tdxrt::ReadOpenFile(fd, p, pin ? pin->size : kMaxEntrySize);
  if (!data.ok()) return data.status().WithContext(what);
  FetchedSource out;
  out.sha256 = tdxrt::ToHex(tdxrt::Sha256(*data));
  if (pin && pin->sha256 != out.sha256) {
    return Status::Mismatch(what + ": " + p.string() + " has sha256 " + out.sha256 +
                            " but the lock pins " + pin->sha256 +
                            " (hint: run 'tdximage lock' if the change is intended)");
  }
  out.size = data->size();
  out.filename = p.filename().string();
  out.data = std::make_shared<const Bytes>(std::move(data).value());
  return out;
}

Result<FetchedSource> SourceStore::Get(const SourceSpec& s, const LockEntry* pin,
                                       const std::string& recipe_dir) {
  const std::string what = "source '" + s.name + "'";
  std::optional<std::string> expected;
  if (pin) expected = pin->sha256;
  if (s.kind == SourceSpec::Kind::kUrl && !s.sha256.empty()) {
    if (expected && *expected != s.sha256) {
      return Status::Mismatch(what + ": the lock pins sha256 " + *expected +
                              " but the recipe pins " + s.sha256);
    }
    expected = s.sha256;
  }
  FetchedSource out;
  if (s.kind == SourceSpec::Kind::kFile || s.kind == SourceSpec::Kind::kInput) {
    return ReadLocal(s, pin, recipe_dir);
  }
  std::string known_filename;
  if (!expected) {
    // Unpinned (locking): content an earlier fetch of the same identity stored is reused.
    if (auto known = cache_.LookupIdentity(s.Identity())) {
      expected = known->sha256;
      known_filename = known->filename;
    }
  }
  if (expected && cache_.Has(*expected)) {
    auto data = cache_.Read(*expected, what);
    if (!data.ok()) return data.status();
    if (options_.log) options_.log("cached   " + s.name + " (" + expected->substr(0, 16) + "…)");
    out.sha256 = *expected;
    out.size = data->size();
    out.filename = pin ? pin->filename : known_filename;
    out.data = std::make_shared<const Bytes>(std::move(data).value());
    return out;
  }
  if (options_.offline) {
    return Status::NotFound(
        what + " (" + s.Identity() + ") is not in the cache " + cache_.dir().string() +
        (expected ? " under sha256 " + *expected : std::string(" and has no pin yet")) +
        ", and --offline forbids fetching (hint: tdximage cache seed DIR)");
  }
  std::string filename;
  TDX_ASSIGN_OR_RETURN(Bytes data, Download(s, pin, &filename));
  auto sha = cache_.Insert(data, expected, what);
  if (!sha.ok()) return sha.status();  // the bad download is dropped, never cached
  TDX_TRY(cache_.RememberIdentity(s.Identity(), {*sha, filename}));
  out.sha256 = *sha;
  out.size = data.size();
  out.filename = filename;
  out.data = std::make_shared<const Bytes>(std::move(data));
  return out;
}

}  // namespace tdximage
