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

#include <cerrno>
#include <cstring>
#include <filesystem>

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

Result<Bytes> SourceStore::Download(const SourceSpec& s, std::string* filename) {
  const std::string what = "source '" + s.name + "'";
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
  TDX_ASSIGN_OR_RETURN(Bytes data, Download(s, &filename));
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
