// Private apt configurations for other Debian suites (see include/tdximage/apt_suite.h).
#include "tdximage/apt_suite.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "tdxrt/file.h"

namespace tdximage {

namespace fs = std::filesystem;
using tdxrt::Result;
using tdxrt::Status;

namespace {

constexpr const char* kKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg";

void AddArchive(DebianArchives& a, std::string uri) {
  while (!uri.empty() && uri.back() == '/') uri.pop_back();
  auto ends = [&](const std::string& tail) {
    return uri.size() > tail.size() &&
           uri.compare(uri.size() - tail.size(), tail.size(), tail) == 0;
  };
  std::vector<std::string>* into = ends("/debian-security") ? &a.security
                                   : ends("/debian")        ? &a.main
                                                            : nullptr;
  if (into && std::find(into->begin(), into->end(), uri) == into->end()) into->push_back(uri);
}

std::vector<std::string> Words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

void ParseOneLine(DebianArchives& a, const std::string& text) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> w = Words(line.substr(0, line.find('#')));
    if (w.size() < 3 || w[0] != "deb") continue;
    std::size_t i = 1;
    if (w[i].front() == '[') {  // [signed-by=... arch=...]
      while (i < w.size() && w[i].back() != ']') ++i;
      ++i;
    }
    if (i < w.size()) AddArchive(a, w[i]);
  }
}

void ParseDeb822(DebianArchives& a, const std::string& text) {
  std::istringstream in(text);
  std::string types, uris, enabled;
  auto flush = [&] {
    const auto t = Words(types);
    if (enabled != "no" && std::find(t.begin(), t.end(), "deb") != t.end()) {
      for (const auto& u : Words(uris)) AddArchive(a, u);
    }
    types.clear(), uris.clear(), enabled.clear();
  };
  for (std::string line; std::getline(in, line);) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
      flush();
      continue;
    }
    if (line[0] == '#') continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos || line[0] == ' ' || line[0] == '\t') continue;
    std::string key = line.substr(0, colon), value = line.substr(colon + 1);
    std::transform(key.begin(), key.end(), key.begin(), ::tolower);
    if (key == "types") types = value;
    if (key == "uris") uris = value;
    if (key == "enabled") enabled = Words(value).empty() ? "" : Words(value)[0];
  }
  flush();
}

}  // namespace

DebianArchives ParseDebianArchives(const std::vector<std::string>& source_files) {
  DebianArchives a;
  for (const auto& text : source_files) {
    // deb822 paragraphs have "URIs:" lines; one-line files have "deb URI SUITE ..." lines.
    if (text.find("URIs:") != std::string::npos || text.find("uris:") != std::string::npos) {
      ParseDeb822(a, text);
    } else {
      ParseOneLine(a, text);
    }
  }
  return a;
}

DebianArchives MachineDebianArchives() {
  std::vector<std::string> files;
  auto add = [&](const fs::path& p) {
    auto b = tdxrt::ReadFile(p, 1 << 20);
    if (b.ok()) files.emplace_back(b->begin(), b->end());
  };
  add("/etc/apt/sources.list");
  std::error_code ec;
  std::vector<fs::path> parts;
  for (const auto& e : fs::directory_iterator("/etc/apt/sources.list.d", ec)) {
    const std::string ext = e.path().extension().string();
    if (ext == ".list" || ext == ".sources") parts.push_back(e.path());
  }
  std::sort(parts.begin(), parts.end());
  for (const auto& p : parts) add(p);
  return ParseDebianArchives(files);
}

std::string SuiteSourcesList(const DebianArchives& archives, const std::string& suite) {
  std::string s = "# tdximage: Debian " + suite + " from this machine's archives\n";
  for (const auto& u : archives.main) {
    s += "deb [signed-by=" + std::string(kKeyring) + "] " + u + " " + suite + " main\n";
    s += "deb [signed-by=" + std::string(kKeyring) + "] " + u + " " + suite + "-updates main\n";
  }
  for (const auto& u : archives.security) {
    s += "deb [signed-by=" + std::string(kKeyring) + "] " + u + " " + suite + "-security main\n";
  }
  return s;
}

namespace {

// Holds an exclusive lock on <suite dir>/update.lock: tdximage runs apt with locking off (its
// state is private), so two builds sharing a cache must not update the same lists at once.
class SuiteLock {
 public:
  explicit SuiteLock(const fs::path& dir)
      : fd_(::open((dir / "update.lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644)) {
    if (fd_ >= 0) {
      while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
      }
    }
  }
  ~SuiteLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  SuiteLock(const SuiteLock&) = delete;
  SuiteLock& operator=(const SuiteLock&) = delete;
  Status status(const fs::path& dir) const {
    return fd_ >= 0 ? Status::Ok()
                    : Status::IoError((dir / "update.lock").string() + ": " + std::strerror(errno));
  }

 private:
  int fd_;
};

bool HasLists(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir / "lists", ec)) {
    if (e.path().filename().string().find("_Packages") != std::string::npos) return true;
  }
  return false;
}

Status RunUpdate(CommandRunner& runner, const AptSuite& suite) {
  std::vector<std::string> argv = {"apt-get", "update", "-qq"};
  argv.insert(argv.end(), suite.options.begin(), suite.options.end());
  std::string out;
  TDX_ASSIGN_OR_RETURN(int rc, runner.Run(argv, suite.dir.string(), &out));
  if (rc != 0) {
    return Status::IoError("apt-get update of Debian " + suite.suite + " (" +
                           (suite.dir / "sources.list").string() + ") failed (exit " +
                           std::to_string(rc) + "): " + out);
  }
  return Status::Ok();
}

}  // namespace

Status UpdateAptSuite(CommandRunner& runner, const AptSuite& suite) {
  const SuiteLock lock(suite.dir);
  TDX_TRY(lock.status(suite.dir));
  return RunUpdate(runner, suite);
}

Result<AptSuite> PrepareAptSuite(CommandRunner& runner, const fs::path& cache_dir,
                                 const std::string& suite, bool offline) {
  AptSuite s;
  s.suite = suite;
  s.dir = fs::absolute(cache_dir) / "apt" / suite;  // apt runs in other directories
  const DebianArchives archives = MachineDebianArchives();
  if (archives.main.empty()) {
    return Status::NotFound("suite " + suite +
                            ": this machine's apt sources name no Debian archive (a URI ending "
                            "in /debian) to take it from");
  }
  std::error_code ec;
  fs::create_directories(s.dir / "lists" / "partial", ec);
  fs::create_directories(s.dir / "cache" / "archives" / "partial", ec);
  if (ec) return Status::IoError(s.dir.string() + ": " + ec.message());
  const std::string list = SuiteSourcesList(archives, suite);
  TDX_TRY(tdxrt::WriteFileAtomic(s.dir / "sources.list", std::string_view(list), 0644));
  s.options = {"-o", "Dir::Etc::sourcelist=" + (s.dir / "sources.list").string(),
               "-o", "Dir::Etc::sourceparts=/dev/null",
               "-o", "Dir::State::Lists=" + (s.dir / "lists").string(),
               "-o", "Dir::Cache=" + (s.dir / "cache").string(),
               "-o", "Debug::NoLocking=1"};
  if (!HasLists(s.dir) && !offline) {
    const SuiteLock lock(s.dir);
    TDX_TRY(lock.status(s.dir));
    if (!HasLists(s.dir)) TDX_TRY(RunUpdate(runner, s));  // another build may have done it
  }
  return s;
}

Result<int> AptSuiteRunner::Run(const std::vector<std::string>& argv, const std::string& cwd,
                                std::string* output) {
  if (argv.empty() || argv[0] != "apt-get") return inner_.Run(argv, cwd, output);
  std::vector<std::string> with = {argv[0]};
  with.insert(with.end(), suite_.options.begin(), suite_.options.end());
  with.insert(with.end(), argv.begin() + 1, argv.end());
  std::string out;
  TDX_ASSIGN_OR_RETURN(int rc, inner_.Run(with, cwd, &out));
  // A version the lists do not have yet (they were fetched before it was published): refresh
  // them once and try again.
  if (rc != 0 && !refreshed_ &&
      (out.find("was not found") != std::string::npos ||
       out.find("Unable to locate package") != std::string::npos)) {
    refreshed_ = true;
    TDX_TRY(UpdateAptSuite(inner_, suite_));
    out.clear();
    TDX_ASSIGN_OR_RETURN(rc, inner_.Run(with, cwd, &out));
  }
  if (output) *output = std::move(out);
  return rc;
}

}  // namespace tdximage
