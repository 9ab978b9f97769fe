// Image assembly pieces: cache verification, sources through fake seams, tree safety,
// deterministic initramfs, ELF reading and closures, module closure, /init.
#include <archive.h>
#include <archive_entry.h>
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "tdx_test/support.h"
#include "tdximage/build.h"
#include "tdximage/cache.h"
#include "tdximage/closure.h"
#include "tdximage/elf.h"
#include "tdximage/init.h"
#include "tdximage/initramfs.h"
#include "tdximage/modules.h"
#include "tdximage/sources.h"
#include "tdximage/verify.h"
#include "tdxrt/file.h"
#include "tdxrt/hex.h"
#include "tdxrt/sha.h"
#include "test_builders.h"

namespace fs = std::filesystem;
using tdxrt::Bytes;
using tdxrt::BytesOf;
using namespace tdximage;  // NOLINT(google-build-using-namespace)

namespace {

using tdx_test::TempDir;

std::string Sha(const Bytes& b) { return tdxrt::ToHex(tdxrt::Sha256(b)); }

struct Entry {
  Entry(std::string p, std::string c, unsigned t = AE_IFREG, std::string l = "", unsigned m = 0644)
      : path(std::move(p)), content(std::move(c)), type(t), link(std::move(l)), mode(m) {}
  std::string path;
  std::string content;
  unsigned type;
  std::string link;
  unsigned mode;
};

Bytes MakeTar(const std::vector<Entry>& entries) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_set_bytes_in_last_block(a, 1);
  std::vector<std::uint8_t> buf(1 << 20);
  size_t used = 0;
  archive_write_open_memory(a, buf.data(), buf.size(), &used);
  for (const auto& x : entries) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, x.path.c_str());
    archive_entry_set_filetype(e, x.type);
    archive_entry_set_perm(e, x.mode);
    if (x.type == AE_IFLNK) archive_entry_set_symlink(e, x.link.c_str());
    if (x.type == AE_IFREG && !x.link.empty()) archive_entry_set_hardlink(e, x.link.c_str());
    if (x.type == AE_IFCHR) archive_entry_set_rdev(e, 0x0101);
    archive_entry_set_size(
        e, x.type == AE_IFREG && x.link.empty() ? static_cast<la_int64_t>(x.content.size()) : 0);
    archive_write_header(a, e);
    if (x.type == AE_IFREG && x.link.empty())
      archive_write_data(a, x.content.data(), x.content.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return Bytes(buf.begin(), buf.begin() + static_cast<long>(used));
}

class FakeRunner final : public CommandRunner {
 public:
  Bytes deb = BytesOf("!<arch>\nfake deb bytes");
  int calls = 0;
  int exit_code = 0;
  tdxrt::Result<int> Run(const std::vector<std::string>& argv, const std::string& cwd,
                         std::string* out) override {
    ++calls;
    last = argv;
    last_cwd = cwd;
    last_cwd_mode = static_cast<unsigned>(fs::status(cwd).permissions() & fs::perms::all);
    if (exit_code != 0) {
      *out = "E: Version '9' for 'pkg' was not found\n";
      return exit_code;
    }
    (void)tdxrt::WriteFileAtomic(fs::path(cwd) / "pkg_1.0_amd64.deb", deb);
    return 0;
  }
  std::vector<std::string> last;
  std::string last_cwd;
  unsigned last_cwd_mode = 0;
};

class FakeHttp final : public HttpFetcher {
 public:
  Bytes body = BytesOf("upstream file");
  int calls = 0;
  tdxrt::Result<Bytes> Fetch(const std::string&,
                             const std::function<void(std::uint64_t, std::uint64_t)>&) override {
    ++calls;
    return body;
  }
};

// A minimal relocatable ELF64 with a .modinfo section, like a kernel module.
Bytes FakeModule(const std::string& modinfo) {
  Bytes b(64, 0);
  const std::string shstr = std::string("\0.modinfo\0.shstrtab\0", 20);
  const std::size_t mi_off = 64, str_off = mi_off + modinfo.size(),
                    sh_off = (str_off + shstr.size() + 7) & ~std::size_t{7};
  b[0] = 0x7f;
  b[1] = 'E';
  b[2] = 'L';
  b[3] = 'F';
  b[4] = 2;
  b[5] = 1;
  b[6] = 1;
  tdxrt::StoreLe<std::uint16_t>(b, 0x10, 1);   // ET_REL
  tdxrt::StoreLe<std::uint16_t>(b, 0x12, 62);  // x86_64
  tdxrt::StoreLe<std::uint64_t>(b, 0x28, sh_off);
  tdxrt::StoreLe<std::uint16_t>(b, 0x3a, 64);
  tdxrt::StoreLe<std::uint16_t>(b, 0x3c, 3);
  tdxrt::StoreLe<std::uint16_t>(b, 0x3e, 2);
  b.insert(b.end(), modinfo.begin(), modinfo.end());
  b.insert(b.end(), shstr.begin(), shstr.end());
  b.resize(sh_off + 3 * 64, 0);
  auto sh = [&](int i, std::uint32_t name, std::uint32_t type, std::uint64_t off,
                std::uint64_t size) {
    const std::size_t h = sh_off + 64 * static_cast<std::size_t>(i);
    tdxrt::StoreLe<std::uint32_t>(b, h, name);
    tdxrt::StoreLe<std::uint32_t>(b, h + 4, type);
    tdxrt::StoreLe<std::uint64_t>(b, h + 24, off);
    tdxrt::StoreLe<std::uint64_t>(b, h + 32, size);
  };
  sh(1, 1, 1, mi_off, modinfo.size());
  sh(2, 10, 3, str_off, shstr.size());
  return b;
}

std::string Mi(const std::string& name, const std::string& depends) {
  return std::string("license=GPL\0depends=", 20) + depends + std::string("\0name=", 6) + name +
         std::string("\0", 1);
}

}  // namespace

TEST_CASE("file sources read only regular, visible files of the recipe's tree, inputs are named") {
  // Red-team finding 9: `file:` read /etc/shadow, ../ paths and /proc/self/environ (a CI token
  // reached an image), and /dev/zero read 4 GiB.
  TempDir d;
  const fs::path dir = d.path / "recipes" / "img";
  fs::create_directories(dir / "sub");
  fs::create_directories(dir / ".git");
  REQUIRE(tdxrt::WriteFileAtomic(dir / "sub" / "ok.sh", std::string_view("#!/bin/sh\n")).ok());
  REQUIRE(tdxrt::WriteFileAtomic(dir / ".git" / "config", std::string_view("token")).ok());
  REQUIRE(tdxrt::WriteFileAtomic(d.path / "recipes" / "common.sh", std::string_view("c")).ok());
  REQUIRE(tdxrt::WriteFileAtomic(d.path / "secret", std::string_view("s")).ok());
  fs::create_symlink(d.path / "secret", dir / "link");
  fs::create_symlink("sub/ok.sh", dir / "inside-link");
  REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
  Cache cache(d.path / "cache");
  FakeRunner runner;
  FakeHttp http;
  SourceStore store(cache, runner, http, {});
  auto get = [&](SourceStore& s, const std::string& path) {
    SourceSpec spec{"f", SourceSpec::Kind::kFile, "", "", "", "", path, 1, ""};
    auto r = s.Get(spec, nullptr, dir.string());
    return r.ok() ? "ok " + std::to_string(r->size) : r.status().message();
  };
  CHECK(get(store, "sub/ok.sh") == "ok 10");
  CHECK(get(store, "inside-link") == "ok 10");  // a symlink that stays inside is fine
  const std::string canon = fs::canonical(dir).string();
  const std::string hint =
      " (hint: a recipe reads only files of its own tree; --file-root DIR allows another)";
  CHECK(get(store, "../../secret") == "source 'f': file '../../secret' is " +
                                          fs::canonical(d.path / "secret").string() +
                                          ", outside the recipe's directory " + canon + hint);
  CHECK(get(store, "link") == "source 'f': file 'link' is " +
                                  fs::canonical(d.path / "secret").string() +
                                  ", outside the recipe's directory " + canon + hint);
  CHECK(get(store, "/etc/hostname").find(", outside the recipe's directory") != std::string::npos);
  CHECK(get(store, "/proc/self/environ") ==
        "source 'f': /proc/self/environ is a /proc or /sys file (this machine's state, not an "
        "input)");
  CHECK(get(store, "/dev/zero") ==
        "source 'f': /dev/zero is not a regular file (devices, pipes and directories are never "
        "read into an image)");
  CHECK(get(store, "fifo") == "source 'f': " + (dir / "fifo").string() +
                                  " is not a regular file (devices, pipes and directories are "
                                  "never read into an image)");
  CHECK(get(store, ".git/config") ==
        "source 'f': file '.git/config' is hidden (.git/config): hidden files and directories "
        "such as .git are never read into an image");
  // --file-root widens the tree, and only by what it names.
  SourceOptions wide;
  wide.file_roots = {(d.path / "recipes").string()};
  SourceStore widened(cache, runner, http, wide);
  CHECK(get(widened, "../common.sh") == "ok 1");
  CHECK(get(widened, "../../secret").find(", outside the recipe's directory") != std::string::npos);
  // Inputs: the builder names the file; without it the error says what to supply.
  SourceSpec input{"client-policy",
                   SourceSpec::Kind::kInput,
                   "",
                   "",
                   "",
                   "",
                   "",
                   1,
                   "the clients' measurement policy"};
  CHECK(store.Get(input, nullptr, dir.string()).status().message() ==
        "source 'client-policy' is an input the builder supplies: the clients' measurement policy "
        "(hint: --input client-policy=PATH)");
  SourceOptions with;
  with.inputs["client-policy"] = (d.path / "secret").string();
  SourceStore given(cache, runner, http, with);
  auto got = given.Get(input, nullptr, dir.string());
  REQUIRE(got.ok());
  CHECK(got->filename == "secret");
  with.inputs["client-policy"] = "/dev/zero";
  SourceStore zero(cache, runner, http, with);
  CHECK(zero.Get(input, nullptr, dir.string()).status().message().find("is not a regular file") !=
        std::string::npos);
}

TEST_CASE("cache: only verified content enters, corrupted entries are removed and named") {
  TempDir d;
  Cache c(d.path);
  const Bytes data = BytesOf("hello cache");
  auto sha = c.Insert(data, std::nullopt, "source 'x'");
  REQUIRE(sha.ok());
  CHECK(*sha == Sha(data));
  CHECK(c.Has(*sha));
  CHECK(c.Insert(data, std::string(64, '0'), "source 'x'").status().message() ==
        "source 'x': content has sha256 " + *sha + " (11 bytes), expected " + std::string(64, '0') +
            "; not stored");
  // Flip one byte of the stored entry: the read refuses it, names the source, removes the entry.
  {
    Bytes bad = data;
    bad[0] ^= 1;
    REQUIRE(tdxrt::WriteFileAtomic(c.PathFor(*sha), bad).ok());
  }
  auto r = c.Read(*sha, "source 'kernel'");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().rfind(
            "source 'kernel': cached file " + c.PathFor(*sha).string() + " has sha256 ", 0) == 0);
  CHECK_FALSE(c.Has(*sha));
  // Derived entries: returned while intact; a corrupted one is dropped and reads as absent.
  REQUIRE(c.PutDerived("k-tar", data).ok());
  CHECK(*c.GetDerived("k-tar") == data);
  {
    Bytes bad = data;
    bad[3] ^= 4;
    REQUIRE(tdxrt::WriteFileAtomic(d.path / "derived" / "k-tar", bad).ok());
  }
  CHECK_FALSE(c.GetDerived("k-tar").has_value());
  CHECK_FALSE(fs::exists(d.path / "derived" / "k-tar"));
  // Seeding imports by content hash.
  TempDir seed;
  REQUIRE(tdxrt::WriteFileAtomic(seed.path / "a.tar.gz", data).ok());
  auto rep = c.Seed(seed.path);
  REQUIRE(rep.ok());
  CHECK(rep->imported == 1);
  CHECK(c.Has(Sha(data)));
  CHECK(c.Seed(seed.path)->already == 1);
}

TEST_CASE("sources: apt and url through the seams, pins enforced, offline refuses to fetch") {
  TempDir d;
  Cache cache(d.path / "cache");
  FakeRunner runner;
  FakeHttp http;
  SourceStore store(cache, runner, http, {});
  SourceSpec apt{"pkgsrc", SourceSpec::Kind::kApt, "", "", "pkg", "1.0", "", 1, ""};
  auto got = store.Get(apt, nullptr, d.path.string());
  REQUIRE_MESSAGE(got.ok(), got.status().message());
  CHECK(runner.last == std::vector<std::string>{"apt-get", "download", "-q", "pkg=1.0"});
  CHECK(got->filename == "pkg_1.0_amd64.deb");
  CHECK(got->sha256 == Sha(runner.deb));
  // apt-get ran in a new private directory (mode 0700, not the predictable
  // tdximage-apt-<pid>-<name> another user could prepare), removed afterwards.
  CHECK(runner.last_cwd_mode == 0700);
  CHECK(runner.last_cwd.find("tdximage-apt-" + std::to_string(::getpid())) == std::string::npos);
  CHECK_FALSE(fs::exists(runner.last_cwd));
  // Pinned and cached: no second download.
  LockEntry pin{apt.Identity(), got->sha256, got->size, got->filename, ""};
  REQUIRE(store.Get(apt, &pin, d.path.string()).ok());
  CHECK(runner.calls == 1);
  // A download that does not match its pin is refused and never cached.
  LockEntry wrong{apt.Identity(), std::string(64, 'e'), 1, "", ""};
  auto bad = store.Get(apt, &wrong, d.path.string());
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == "source 'pkgsrc': content has sha256 " + Sha(runner.deb) + " (" +
                                      std::to_string(runner.deb.size()) + " bytes), expected " +
                                      std::string(64, 'e') + "; not stored");
  CHECK_FALSE(cache.Has(std::string(64, 'e')));
  // apt failure carries apt's words and a hint.
  runner.exit_code = 100;
  SourceSpec missing{"m", SourceSpec::Kind::kApt, "", "", "pkg", "9", "", 1, ""};
  CHECK(store.Get(missing, nullptr, d.path.string()).status().message() ==
        "source 'm': apt-get download pkg=9 failed (exit 100): E: Version '9' for 'pkg' was not "
        "found\n"
        "(hint: run apt-get update; check the version with apt-cache policy pkg)");
  // URL sources carry their own pin.
  SourceSpec url{"up",
                 SourceSpec::Kind::kUrl,
                 "https://example.invalid/x.tar.gz",
                 Sha(http.body),
                 "",
                 "",
                 "",
                 1,
                 ""};
  auto u = store.Get(url, nullptr, d.path.string());
  REQUIRE(u.ok());
  CHECK(u->filename == "x.tar.gz");
  http.body = BytesOf("tampered");
  SourceSpec url2 = url;
  url2.sha256 = std::string(64, '1');
  CHECK(store.Get(url2, nullptr, d.path.string()).status().message() ==
        "source 'up': content has sha256 " + Sha(http.body) + " (8 bytes), expected " +
            std::string(64, '1') + "; not stored");
  // Offline: cached content is fine, anything else is refused with a hint.
  SourceOptions off;
  off.offline = true;
  SourceStore offline(cache, runner, http, off);
  CHECK(offline.Get(url, nullptr, d.path.string()).ok());
  SourceSpec other{"o", SourceSpec::Kind::kApt, "", "", "other", "2", "", 1, ""};
  CHECK(offline.Get(other, nullptr, d.path.string()).status().message() ==
        "source 'o' (apt other 2) is not in the cache " + (d.path / "cache").string() +
            " and has no pin yet, and --offline forbids fetching (hint: tdximage cache seed DIR)");
  // File sources are compared with their pin.
  REQUIRE(tdxrt::WriteFileAtomic(d.path / "f.sh", std::string_view("#!/bin/sh\n")).ok());
  SourceSpec file{"f", SourceSpec::Kind::kFile, "", "", "", "", "f.sh", 1, ""};
  LockEntry old{file.Identity(), std::string(64, 'c'), 10, "f.sh", ""};
  CHECK(store.Get(file, &old, d.path.string()).status().message() ==
        "source 'f': " + (d.path / "f.sh").string() + " has sha256 " + Sha(BytesOf("#!/bin/sh\n")) +
            " but the lock pins " + std::string(64, 'c') +
            " (hint: run 'tdximage lock' if the change is intended)");
  old.size = 3;  // another size: refused before reading
  CHECK(store.Get(file, &old, d.path.string()).status().message() ==
        "source 'f': " + (d.path / "f.sh").string() +
            " is 10 bytes but the lock pins 3 (hint: run 'tdximage lock' if the change is "
            "intended)");
}

TEST_CASE("--archive: pinned packages by pool path, checked against the lock, batch or single") {
  TempDir d;
  Cache cache(d.path / "cache");
  FakeRunner runner;
  FakeHttp http;
  http.body = BytesOf("a package from a snapshot");
  SourceOptions o;
  o.archives = {"https://archive.invalid/debian/", "https://archive.invalid/debian-security"};
  std::vector<std::string> urls;
  class Recording final : public HttpFetcher {
   public:
    Recording(FakeHttp& inner, std::vector<std::string>& urls) : inner_(inner), urls_(urls) {}
    tdxrt::Result<Bytes> Fetch(
        const std::string& url,
        const std::function<void(std::uint64_t, std::uint64_t)>& progress) override {
      urls_.push_back(url);
      if (url.find("-security") == std::string::npos)
        return tdxrt::Status::IoError(url + ": HTTP 404");
      return inner_.Fetch(url, progress);
    }

   private:
    FakeHttp& inner_;
    std::vector<std::string>& urls_;
  } recording(http, urls);
  SourceStore store(cache, runner, recording, o);
  SourceSpec apt{"k", SourceSpec::Kind::kApt, "", "", "linux", "6.12", "", 1, ""};
  LockEntry pin{apt.Identity(), Sha(http.body), http.body.size(), "linux_6.12_amd64.deb",
                "pool/updates/main/l/linux/linux_6.12_amd64.deb"};
  auto got = store.Get(apt, &pin, d.path.string());
  REQUIRE_MESSAGE(got.ok(), got.status().message());
  CHECK(urls == std::vector<std::string>{
                    "https://archive.invalid/debian/pool/updates/main/l/linux/linux_6.12_amd64.deb",
                    "https://archive.invalid/debian-security/pool/updates/main/l/linux/"
                    "linux_6.12_amd64.deb"});
  CHECK(runner.calls == 0);  // never apt-get download
  CHECK(cache.Has(pin.sha256));
  // Other bytes than the lock's: refused, nothing cached.
  SourceSpec apt2{"k2", SourceSpec::Kind::kApt, "", "", "linux", "6.13", "", 1, ""};
  LockEntry pin2{apt2.Identity(), std::string(64, 'f'), 9, "", "pool/main/l/linux/l_6.13_all.deb"};
  CHECK(store.FetchAptBatch({{apt2, pin2}}).status().message() ==
        "source 'k2': https://archive.invalid/debian-security/pool/main/l/linux/l_6.13_all.deb "
        "served 25 bytes with sha256 " +
            Sha(http.body) + " but the lock pins " + std::string(64, 'f') +
            " (9 bytes); nothing was cached");
  CHECK_FALSE(cache.Has(std::string(64, 'f')));
  // A lock without pool paths cannot use --archive, and says how to fix it.
  LockEntry old_lock{apt2.Identity(), std::string(64, 'f'), 9, "", ""};
  CHECK(store.Get(apt2, &old_lock, d.path.string()).status().message() ==
        "source 'k2' (apt linux 6.13): the lock records no archive path for it, so --archive "
        "cannot find it (hint: re-lock with this tdximage to record pool paths)");
}

TEST_CASE(
    "tree: extraction refuses device nodes and escaping links, parents implied, hard links "
    "copied") {
  FileTree t;
  REQUIRE(t.AddTar(MakeTar({{"./etc/a.conf", "A"},
                            {"./usr/bin/tool", "T", AE_IFREG, "", 0755},
                            {"./usr/bin/alias", "", AE_IFLNK, "tool"},
                            {"./usr/lib/abs", "", AE_IFLNK, "/usr/bin/tool"},
                            {"./usr/bin/hard", "", AE_IFREG, "./usr/bin/tool"}}),
                   "", "/", "src")
              .ok());
  REQUIRE(t.Find("usr/bin") != nullptr);
  CHECK(t.Find("usr/bin")->type == TreeNode::Type::kDirectory);
  CHECK(t.Find("usr/bin/hard")->data == t.Find("usr/bin/tool")->data);
  auto view = MakeTreeRootView(t);
  CHECK(*view->RealPath("/usr/bin/alias") == "/usr/bin/tool");
  CHECK(*view->RealPath("/usr/lib/abs") == "/usr/bin/tool");
  CHECK(t.Find("etc/a.conf")->origin == "src:etc/a.conf");
  FileTree u;
  CHECK(u.AddTar(MakeTar({{"dev/null", "", AE_IFCHR}}), "", "/", "evil").message() ==
        "evil: entry 'dev/null' is a device node, FIFO or socket: refused");
  CHECK(u.AddTar(MakeTar({{"a/link", "", AE_IFLNK, "../../etc/shadow"}}), "", "/", "evil")
            .message() == "evil: symlink 'a/link' -> '../../etc/shadow' escapes the tree");
  CHECK(u.AddTar(MakeTar({{"../x", "x"}}), "", "/", "evil").message() ==
        "evil: archive entry '../x' escapes the tree ('..')");
  CHECK(u.AddTar(MakeTar({{"/abs", "x"}}), "", "/", "evil").message() ==
        "evil: archive entry '/abs' has an absolute path");
  // A subtree with a destination.
  FileTree v;
  REQUIRE(v.AddTar(MakeTar({{"lib/modules/6.1/a.ko", "m"}, {"etc/skip", "s"}}), "lib/modules",
                   "/lib/modules", "k")
              .ok());
  CHECK(v.Find("lib/modules/6.1/a.ko") != nullptr);
  CHECK(v.Find("etc/skip") == nullptr);
  CHECK(*tdximage::KernelModulesVersion(v) == "6.1");
  CHECK(v.AddFile("lib/modules/6.1/a.ko/x", BytesOf("x"), 0644, "t").message() ==
        "'lib/modules/6.1/a.ko/x': parent 'lib/modules/6.1/a.ko' is not a directory in the image");
}

TEST_CASE(
    "initramfs: same tree, same bytes, whatever the insertion order, round trip, normalised "
    "modes") {
  auto build = [](bool reversed, Compression c) {
    std::vector<std::pair<std::string, std::string>> files = {
        {"bin/x", "xx"}, {"etc/conf", "c"}, {"a/b/c/d", "deep"}};
    if (reversed) std::reverse(files.begin(), files.end());
    FileTree t;
    for (const auto& [p, d] : files)
      REQUIRE(t.AddFile(p, BytesOf(d), p == "bin/x" ? 0700 : 0600, "t").ok());
    REQUIRE(t.AddSymlink("bin/sh", "x", "t").ok());
    InitramfsOptions o;
    o.compression = c;
    o.level = c == Compression::kGzip ? 9 : 3;
    auto out = WriteInitramfs(t, o);
    REQUIRE(out.ok());
    return *out;
  };
  for (auto c : {Compression::kZstd, Compression::kGzip, Compression::kNone}) {
    const Bytes a = build(false, c), b = build(true, c);
    CHECK(a == b);
    auto back = ReadInitramfs(a);
    REQUIRE_MESSAGE(back.ok(), back.status().message());
    CHECK(back->Find("a/b/c/d")->data->size() == 4);
    CHECK(back->Find("bin/x")->mode == 0755);     // an execute bit: 0755
    CHECK(back->Find("etc/conf")->mode == 0644);  // none: 0644
    CHECK(back->Find("bin/sh")->target == "x");
    CHECK(back->Find("a/b")->type == TreeNode::Type::kDirectory);
  }
  // Headers are validated before libarchive allocates what they claim.
  Bytes raw = build(false, Compression::kNone);
  Bytes huge = raw;
  std::memcpy(huge.data() + 94, "7FFFFFFF", 8);  // first entry's c_namesize
  CHECK(ReadInitramfs(huge).status().message() ==
        "initramfs: cpio entry at 0x0: name size 2147483647 is out of range (1..4096)");
  Bytes big_file = raw;
  std::memcpy(big_file.data() + 54, "7FFFFFFF", 8);  // first entry's c_filesize
  CHECK(ReadInitramfs(big_file).status().message() ==
        "initramfs: cpio entry at 0x0 ('a'): 2147483647 bytes of data run past the end");
  CHECK(ReadInitramfs(Bytes(raw.begin(), raw.begin() + 200))
            .status()
            .message()
            .find("header truncated") != std::string::npos);
  const Bytes gz = build(false, Compression::kGzip);
  REQUIRE(gz.size() > 10);
  CHECK(gz[0] == 0x1f);
  CHECK((gz[4] | gz[5] | gz[6] | gz[7]) == 0);  // no timestamp in the gzip header
  const Bytes zst = build(false, Compression::kZstd);
  CHECK(*tdxrt::LoadLe<std::uint32_t>(zst, 0) == 0xfd2fb528u);
}

TEST_CASE("ELF: this test binary's interpreter and libraries, corruption diagnosed") {
  auto self = tdxrt::ReadFile("/proc/self/exe");
  REQUIRE(self.ok());
  auto info = ReadElfDynamic(*self);
  REQUIRE_MESSAGE(info.ok(), info.status().message());
  CHECK(info->machine == 62);
  REQUIRE(info->interpreter.has_value());
  CHECK(info->interpreter->find("ld-linux-x86-64.so.2") != std::string::npos);
  CHECK(std::find(info->needed.begin(), info->needed.end(), "libc.so.6") != info->needed.end());
  Bytes bad = *self;
  tdxrt::StoreLe<std::uint64_t>(bad, 0x20, 0xffffffffff);
  CHECK(ReadElfDynamic(bad).status().message().find("ELF program headers") == 0);
  CHECK(ReadElfDynamic(BytesOf("#!/bin/sh\n")).status().message() ==
        "not an ELF file (no \\x7fELF magic at 0x0)");
  Bytes cut(self->begin(), self->begin() + 40);
  CHECK(ReadElfDynamic(cut).status().message() == "ELF header truncated: file is 40 bytes");
  for (std::size_t len = 0; len < 4096; len += 61)
    (void)ReadElfDynamic(tdxrt::ByteSpan(self->data(), len));
}

TEST_CASE("closure on the host: the loader and libc come along, missing libraries are named") {
  auto host = MakeHostRootView();
  auto exe = fs::read_symlink("/proc/self/exe").string();
  auto libs = ElfClosure(*host, exe);
  REQUIRE_MESSAGE(libs.ok(), libs.status().message());
  bool has_ld = false, has_libc = false;
  for (const auto& l : *libs) {
    has_ld |= l.path.find("ld-linux-x86-64.so.2") != std::string::npos;
    has_libc |= l.path.find("libc.so.6") != std::string::npos;
    CHECK(IsElf(*l.data));
  }
  CHECK(has_ld);
  CHECK(has_libc);
  // In an image without the libraries, the closure check names what is missing.
  FileTree t;
  REQUIRE(t.AddFile("usr/bin/app", *tdxrt::ReadFile(exe), 0755, "t").ok());
  auto view = MakeTreeRootView(t);
  auto missing = ElfClosure(*view, "/usr/bin/app");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message().find("/usr/bin/app (on the image): interpreter") == 0);
}

TEST_CASE(
    "module closure from .modinfo: dependencies first, '-' and '_' equal, built-ins skipped") {
  FileTree t;
  const std::string root = "lib/modules/6.9.0/kernel/";
  REQUIRE(t.AddFile(root + "net/failover.ko", FakeModule(Mi("failover", "")), 0644, "k").ok());
  REQUIRE(
      t.AddFile(root + "net/net_failover.ko", FakeModule(Mi("net_failover", "failover")), 0644, "k")
          .ok());
  REQUIRE(t.AddFile(root + "net/virtio_net.ko", FakeModule(Mi("virtio_net", "net_failover,virtio")),
                    0644, "k")
              .ok());
  REQUIRE(
      t.AddFile(root + "coco/tdx-guest.ko", FakeModule(Mi("tdx_guest", "tsm")), 0644, "k").ok());
  REQUIRE(t.AddFile(root + "coco/tsm.ko", FakeModule(Mi("tsm", "")), 0644, "k").ok());
  REQUIRE(t.AddFile("lib/modules/6.9.0/modules.builtin",
                    BytesOf("kernel/drivers/virtio/virtio.ko\n"), 0644, "k")
              .ok());
  auto c = ModuleClosure(t, "6.9.0", {"virtio-net", "tdx-guest", "failover"});
  REQUIRE_MESSAGE(c.ok(), c.status().message());
  std::vector<std::string> names;
  for (const auto& m : *c) names.push_back(m.name);
  CHECK(names ==
        std::vector<std::string>{"failover", "net_failover", "virtio_net", "tsm", "tdx_guest"});
  CHECK(ModuleClosure(t, "6.9.0", {"virtio_nett"}).status().message() ==
        "kernel module 'virtio_nett' is not in lib/modules/6.9.0/ (similar: virtio_net)");
  REQUIRE(t.AddFile(root + "x.ko", FakeModule(Mi("x", "y")), 0644, "k").ok());
  CHECK(ModuleClosure(t, "6.9.0", {"x"}).status().message() ==
        "kernel module 'y' (needed by 'x') is not in lib/modules/6.9.0/");
}

TEST_CASE("/init: modules in order, quoted environment and arguments, status and poweroff") {
  Recipe r;
  r.name = "demo";
  r.payload_command = "/usr/bin/app";
  r.payload_args = {"--say", "it's ok"};
  r.payload_env = {{"GREETING", "a b'c"}};
  const std::string init =
      GenerateInit(r, {"lib/modules/v/a.ko", "lib/modules/v/tdx-guest.ko"}, "tdximage test");
  CHECK(init.rfind("#!/bin/busybox sh\n", 0) == 0);
  const auto a = init.find("insmod '/lib/modules/v/a.ko'");
  const auto b = init.find("insmod '/lib/modules/v/tdx-guest.ko'");
  CHECK(a != std::string::npos);
  CHECK(b > a);
  CHECK(init.find("(expected outside a TDX guest)") != std::string::npos);
  CHECK(init.find("export GREETING='a b'\\''c'\n") != std::string::npos);
  CHECK(init.find("'/usr/bin/app' '--say' 'it'\\''s ok'\n") != std::string::npos);
  CHECK(init.find("poweroff -f") != std::string::npos);
  CHECK(ShellQuote("") == "''");
}

TEST_CASE("/init: the host's settings are taken by exact name, once, before the measured ones") {
  Recipe r;
  r.name = "demo";
  r.payload_command = "/usr/bin/app";
  r.payload_env = {{"ZIPNET_INSTANCE", "measured"}};
  r.payload_host_env = {"ZIPNET_MESSAGE", "OTHER", "ZIPNET_EMPTY", "ZIPNET_LAST"};
  const std::string init = GenerateInit(r, {}, "tdximage test");
  // From the host's settings to the payload.env exports, run by /bin/sh over a fake sysfs file.
  const std::string path = "/sys/firmware/qemu_fw_cfg/by_name/opt/tdximage/env/raw";
  const auto start = init.find("TDX_HOST_SETTINGS=\n");
  REQUIRE(start != std::string::npos);
  const auto end = init.find("cd /\n", start);
  REQUIRE(end != std::string::npos);
  CHECK(init.find("export ZIPNET_INSTANCE='measured'", start) < end);  // measured after the host's
  TempDir d;
  std::string part = init.substr(start, end - start);
  part.replace(part.find(path), path.size(), (d.path / "raw").string());
  auto run = [&](const std::string& raw) {
    std::ofstream(d.path / "raw") << raw;
    std::ofstream(d.path / "part.sh")
        << part << "env | grep -E '^(ZIPNET_|OTHER|LD_PRELOAD|TDX_)' | LC_ALL=C sort\n";
    const std::string cmd =
        "env -i /bin/sh " + (d.path / "part.sh").string() + " > " + (d.path / "out").string();
    REQUIRE(std::system(cmd.c_str()) == 0);
    auto out = tdxrt::ReadFile(d.path / "out");
    REQUIRE(out.ok());
    return std::string(out->begin(), out->end());
  };
  // Red-team findings 2 and 3: the host's line for a measured setting replaced it, and a glob
  // let the host set whatever a program reads under a prefix.
  CHECK(run("ZIPNET_MESSAGE=hello world=x\nLD_PRELOAD=/tmp/evil.so\nOTHER=1\nOTHERX=2\n9BAD=1\n"
            "no-equals-sign\nZIPNET_EMPTY=\nZIPNET_INSTANCE=from the host\nZIPNET_MESSAGE=again\n"
            "TDX_HOST_SETTINGS=ZIPNET_MESSAGE\nZIPNET_TDX_GATING=off\nZIPNET_LAST=no newline") ==
        "tdx-init: ignoring host setting LD_PRELOAD (not in the recipe's host_env)\n"
        "tdx-init: ignoring host setting OTHERX (not in the recipe's host_env)\n"
        "tdx-init: ignoring a malformed host setting\n"
        "tdx-init: ignoring a malformed host setting\n"
        "tdx-init: ignoring host setting ZIPNET_INSTANCE (not in the recipe's host_env)\n"
        "tdx-init: ignoring a second ZIPNET_MESSAGE from the host\n"
        "tdx-init: ignoring host setting TDX_HOST_SETTINGS (not in the recipe's host_env)\n"
        "tdx-init: ignoring host setting ZIPNET_TDX_GATING (not in the recipe's host_env)\n"
        "tdx-init: settings from the host (not measured): ZIPNET_MESSAGE OTHER ZIPNET_EMPTY "
        "ZIPNET_LAST\n"
        "OTHER=1\n"
        "TDX_HOST_SETTINGS=ZIPNET_MESSAGE OTHER ZIPNET_EMPTY ZIPNET_LAST\n"
        "ZIPNET_EMPTY=\n"
        "ZIPNET_INSTANCE=measured\n"
        "ZIPNET_LAST=no newline\n"
        "ZIPNET_MESSAGE=hello world=x\n");
  // A file over 64 KiB is ignored whole.
  CHECK(run("ZIPNET_MESSAGE=" + std::string(70000, 'a') + "\n") ==
        "tdx-init: settings from the host exceed 64 KiB: all ignored\n"
        "tdx-init: settings from the host (not measured): none\n"
        "TDX_HOST_SETTINGS=\n"
        "ZIPNET_INSTANCE=measured\n");
  // Without host_env, /init does not look at fw_cfg at all.
  r.payload_host_env.clear();
  CHECK(GenerateInit(r, {}, "t").find("qemu_fw_cfg") == std::string::npos);
}

TEST_CASE("assembly refuses a rootfs tarball that escapes the tree, naming the source") {
  Recipe r;
  r.file = "t.yaml";
  r.name = "t";
  r.kernel = {"k", "", 0};
  r.ovmf = {"o", "", 0};
  r.rootfs = {{{"evil", "", 0}, "/"}};
  SourceSet set;
  auto put = [&](const std::string& name, Bytes b) {
    set[name] = {Sha(b), b.size(), name, std::make_shared<const Bytes>(std::move(b))};
  };
  put("k", BytesOf("not a kernel"));
  put("o", BytesOf("not firmware"));
  put("evil", MakeTar({{"etc/ok", "x"}, {"../../../etc/cron.d/evil", "x"}}));
  BuildOptions o;
  CHECK(AssembleImage(r, set, o).status().message() ==
        "kernel (source 'k'): not a bzImage: no 'HdrS' setup header signature at 0x202");
  put("k", mrtd::testing::BuildPe(mrtd::testing::MinimalBzImage(0x200)).image);
  put("o", mrtd::testing::BuildFirmware({{mrtd::TdvfSectionType::kBfv, 0xfffff000, 0x1000,
                                          mrtd::kAttrMrExtend, BytesOf("fw")}},
                                        mrtd::testing::FwLayout::kGuidTable)
               .image);
  CHECK(AssembleImage(r, set, o).status().message() ==
        "evil: archive entry '../../../etc/cron.d/evil' escapes the tree ('..')");
  put("evil", MakeTar({{"etc/ok", "x"}}));
  CHECK(AssembleImage(r, set, o).status().message() ==
        "the image has no /bin/busybox, which the generated /init runs on (hint: add "
        "busybox-static or an Alpine rootfs)");
}

TEST_CASE("manifests from others are shape-checked before anything reads them") {
  const std::string ok =
      R"({"manifest_version": 1, "tool": "t", "recipe": {"name": "x"}, "inputs": [],
    "initramfs": {"files": [{"path": "/init", "type": "file", "size": 3, "sha256": "ab"}]},
    "measurements": {"mr_td": {"single-pass": "aa"}}, "outputs": []})";
  auto m = ParseManifest(ok, "m.json");
  REQUIRE_MESSAGE(m.ok(), m.status().message());
  CHECK(CompareManifests(*m, *m).match);
  auto with = [&](const std::string& from, const std::string& to) {
    std::string t = ok;
    t.replace(t.find(from), from.size(), to);
    return ParseManifest(t, "m.json").status().message();
  };
  CHECK(with(R"("manifest_version": 1)", R"("manifest_version": 2)") ==
        "m.json: not a tdximage manifest (manifest_version 1)");
  CHECK(with(R"("inputs": [])", R"("inputs": {})") ==
        "m.json: manifest field 'inputs' is not an array");
  CHECK(with(R"("size": 3)", R"("size": "3")") ==
        "m.json: manifest field 'initramfs.files[].size' is not a number");
  CHECK(with(R"("single-pass": "aa")", R"("single-pass": 7)") ==
        "m.json: manifest field 'measurements.mr_td.single-pass' is not a string");
  CHECK(with(R"({"mr_td")", R"({"mr_tdx")") ==
        "m.json: manifest field 'measurements.mr_td' is not an object");
  CHECK(with(R"("tool": "t")", R"("tool": "t", "tool": "u")") ==
        "m.json: duplicate key 'tool' at /tool (readers disagree on which one counts; keep one)");
  CHECK(ParseManifest("[1,2", "m.json").status().message() ==
        "m.json: not a tdximage manifest, launcher, initramfs or out directory");
  // Per-host measurements of any shape: compared, never a crash.
  const std::string hosts_ok =
      R"("measurements": {"mr_td": {"single-pass": "aa"}, "hosts": [{"host": "h1", "rtmr1": "11"}]})";
  auto rebuilt = ParseManifest(
      std::string(ok).replace(
          ok.find(R"("measurements")"),
          std::string(R"("measurements": {"mr_td": {"single-pass": "aa"}})").size(), hosts_ok),
      "r.json");
  REQUIRE_MESSAGE(rebuilt.ok(), rebuilt.status().message());
  for (const std::string hosts : {R"(7)", R"([7])", R"([{"host": 7}])", R"({"host": "h1"})"}) {
    auto bad = ParseManifest(
        std::string(ok).replace(
            ok.find(R"("measurements")"),
            std::string(R"("measurements": {"mr_td": {"single-pass": "aa"}})").size(),
            R"("measurements": {"mr_td": {"single-pass": "aa"}, "hosts": )" + hosts + "}"),
        "b.json");
    REQUIRE_MESSAGE(bad.ok(), bad.status().message());
    const auto report = CompareManifests(*bad, *rebuilt);
    CHECK_FALSE(report.match);
    CHECK(std::find(report.lines.begin(), report.lines.end(),
                    "the hosts differ: published (malformed), rebuilt h1 — the "
                    "recipe's measure.hosts or its OVMF release differs") != report.lines.end());
  }
}
