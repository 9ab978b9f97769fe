// out/<name> replacement: atomic exchange, a failing rename leaves the previous build in place
// and says why, interrupted builds' directories are cleaned up.
#include "tdximage/out_dir.h"

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "tdxrt/file.h"

namespace fs = std::filesystem;
using tdximage::DirRenames;
using tdximage::ReplaceDirectory;

namespace {

struct Scratch {
  fs::path root = tdxrt::MakeTempDir("tdximage-out-").value();
  ~Scratch() { fs::remove_all(root); }
  fs::path Dir(const std::string& name, const std::string& marker) {
    fs::create_directories(root / name);
    REQUIRE(tdxrt::WriteFileAtomic(root / name / "marker", std::string_view(marker)).ok());
    return root / name;
  }
  std::string Marker(const std::string& name) {
    auto b = tdxrt::ReadFile(root / name / "marker");
    return b.ok() ? std::string(b->begin(), b->end()) : "(none)";
  }
  std::size_t Entries() {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(root)) ++n;
    return n;
  }
};

int DeadPid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
}

}  // namespace

TEST_CASE("a new build replaces the previous one in one step and leaves nothing beside it") {
  Scratch s;
  s.Dir("img", "old");
  const fs::path staged = s.Dir(".img.partial-1", "new");
  REQUIRE(ReplaceDirectory(staged, s.root / "img").ok());
  CHECK(s.Marker("img") == "new");
  CHECK(s.Entries() == 1);
  const fs::path first = s.Dir(".fresh.partial-1", "first");
  REQUIRE(ReplaceDirectory(first, s.root / "fresh").ok());
  CHECK(s.Marker("fresh") == "first");
}

TEST_CASE("a rename that fails leaves the previous build in place and says why") {
  Scratch s;
  s.Dir("img", "old");
  DirRenames busy = DirRenames::System();
  busy.exchange = [](const fs::path&, const fs::path&) { return EBUSY; };
  auto st = ReplaceDirectory(s.Dir(".img.partial-1", "new"), s.root / "img", busy);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message() == (s.root / "img").string() +
                            ": cannot exchange it with .img.partial-1: Device or resource busy "
                            "(the previous build is unchanged)");
  CHECK(s.Marker("img") == "old");
  CHECK(s.Entries() == 1);
  // A file system without RENAME_EXCHANGE: the previous build is moved aside, and back when the
  // new one cannot take its place (red-team finding 11: it stayed aside and the error read
  // "out/<name>: Success").
  DirRenames no_exchange = DirRenames::System();
  no_exchange.exchange = [](const fs::path&, const fs::path&) { return EINVAL; };
  auto real_move = no_exchange.move;
  no_exchange.move = [&](const fs::path& a, const fs::path& b) {
    return a.filename().string().find(".partial-") != std::string::npos ? EACCES : real_move(a, b);
  };
  st = ReplaceDirectory(s.Dir(".img.partial-2", "new"), s.root / "img", no_exchange);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message() == (s.root / "img").string() +
                            ": cannot rename .img.partial-2 into place: Permission denied (the "
                            "previous build is back in place)");
  CHECK(s.Marker("img") == "old");
  CHECK(s.Entries() == 1);
  // Without the failure the fallback works.
  no_exchange.move = real_move;
  REQUIRE(ReplaceDirectory(s.Dir(".img.partial-3", "new"), s.root / "img", no_exchange).ok());
  CHECK(s.Marker("img") == "new");
  CHECK(s.Entries() == 1);
}

TEST_CASE("directories of interrupted builds are removed, running ones are not") {
  Scratch s;
  const int dead = DeadPid();
  s.Dir(".img.partial-" + std::to_string(dead), "killed");
  s.Dir(".img.old-" + std::to_string(dead), "killed");
  s.Dir(".img.partial-" + std::to_string(::getpid()), "running");  // this process
  s.Dir(".other.partial-" + std::to_string(dead), "another image");
  s.Dir(".img.partial-x", "not ours");
  s.Dir("img", "published");
  CHECK(tdximage::RemoveStaleStaging(s.root, "img") == 2);
  CHECK(s.Entries() == 4);
  CHECK(s.Marker("img") == "published");
  CHECK(s.Marker(".img.partial-" + std::to_string(::getpid())) == "running");
}
