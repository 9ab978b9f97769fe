// Source fetching and verification (see include/tdximage/sources.h).
#include "tdximage/sources.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

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
  if (s.kind == SourceSpec::Kind::kFile) {
    const fs::path p =
        fs::path(s.path).is_absolute() ? fs::path(s.path) : fs::path(recipe_dir) / s.path;
    auto data = tdxrt::ReadFile(p);
    if (!data.ok()) return data.status().WithContext(what);
    out.sha256 = tdxrt::ToHex(tdxrt::Sha256(*data));
    if (expected && *expected != out.sha256) {
      return Status::Mismatch(what + ": " + p.string() + " has sha256 " + out.sha256 +
                              " but the lock pins " + *expected +
                              " (hint: run 'tdximage lock' if the change is intended)");
    }
    out.size = data->size();
    out.filename = p.filename().string();
    out.data = std::make_shared<const Bytes>(std::move(data).value());
    return out;
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
