// The build section: recipe parsing, the toolchain lock, apt's --print-uris lines and the source
// digest. The isolated runner and the build root run for real in
// tests/cli/cases/build_hermetic_isolation.sh (locked packages, namespaces) and
// hermetic_two_machines.sh.
#include "tdximage/hermetic.h"

#include <doctest/doctest.h>

#include <filesystem>

#include "tdximage/lock.h"
#include "tdximage/recipe.h"
#include "tdximage/sources.h"
#include "tdximage/verify.h"
#include "tdxrt/file.h"
#include "tdxrt/hex.h"
#include "tdxrt/json.h"
#include "tdxrt/sha.h"

namespace fs = std::filesystem;
using namespace tdximage;  // NOLINT(google-build-using-namespace)

namespace {

const char* kBase = R"(name: demo
base: debian
sources:
  kernel: {apt: linux-image-x, version: "1.0"}
  ovmf: {apt: ovmf, version: "2"}
kernel: {source: kernel, path: "boot/vmlinuz-*"}
ovmf: {source: ovmf, path: OVMF.fd}
payload: {command: /usr/bin/app}
)";

std::string With(const std::string& build) { return kBase + build; }

tdxrt::ByteSpan Span(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

TEST_CASE("build section: the model, and every error with its position") {
  auto r = ParseRecipe(With(R"(build:
  toolchain: [dash, g++=4:12.2.0-3]
  source: {git: ../.., paths: [src, CMakeLists.txt]}
  commands: [make, "make install"]
  outputs:
    - {path: /build/out/app, to: /usr/bin/app}
    - {path: /build/out/tool, mode: "0700"}
)"),
                       "r/demo.yaml");
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  REQUIRE(r->build);
  CHECK(r->build->toolchain == std::vector<std::string>{"dash", "g++=4:12.2.0-3"});
  CHECK(r->build->git_dir == "../..");
  CHECK(r->build->paths == std::vector<std::string>{"src", "CMakeLists.txt"});
  CHECK(r->build->commands.size() == 2);
  REQUIRE(r->build->outputs.size() == 2);
  CHECK(r->build->outputs[0].to == "/usr/bin/app");
  CHECK(r->build->outputs[1].to.empty());
  CHECK(r->build->outputs[1].mode == 0700);

  auto bad = ParseRecipe(With(R"(build:
  toolchain: [dash, "Not A Package"]
  source: {git: ., paths: [../up]}
  commands: []
  outputs:
    - {path: build/out/app, to: usr/bin/app, mode: "9"}
  extra: 1
)"),
                         "bad.yaml");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() ==
        "bad.yaml:10:14: error: build toolchain entry 'Not A Package' is not a Debian package "
        "name (optionally =version)\n"
        "bad.yaml:11:27: error: build source path '../up' must be relative, inside the git tree\n"
        "bad.yaml:12:13: error: build commands must be a non-empty list of strings (hint: shell "
        "commands run in /build/src, e.g. [make])\n"
        "bad.yaml:14:14: error: build output path 'build/out/app' must be absolute in the build "
        "root\n"
        "bad.yaml:14:33: error: build output 'to' 'usr/bin/app' must be an absolute path in the "
        "image\n"
        "bad.yaml:14:52: error: mode '9' is not an octal permission (hint: e.g. mode: \"0755\")\n"
        "bad.yaml:15:3: error: unknown key 'extra' in build (hint: known keys: toolchain, source, "
        "commands, outputs)");
  auto missing = ParseRecipe(With("build: {toolchain: [dash]}\n"), "m.yaml");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message() ==
        "m.yaml:9:8: error: build needs 'source', a map (hint: {git: ../.., paths: [src]} (the "
        "files git tracks) or {source: NAME, path: DIR})\n"
        "m.yaml:9:8: error: build commands must be a non-empty list of strings (hint: shell "
        "commands run in /build/src, e.g. [make])\n"
        "m.yaml:9:8: error: build needs 'outputs', a list of {path, to} (hint: e.g. outputs: "
        "[{path: /build/out/app, to: /usr/bin/app}])");
}

TEST_CASE("toolchain lock: round trip, pool paths checked, staleness named") {
  auto r = ParseRecipe(With(R"(build:
  toolchain: [dash]
  source: {git: .}
  commands: [true]
  outputs: [{path: /build/x, to: /x}]
)"),
                       "d/demo.yaml");
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  Lock l;
  l.recipe = "demo";
  for (const auto& s : r->sources)
    l.sources[s.name] = {s.Identity(), std::string(64, 'a'), 10, "f", "pool/main/x/x/x_1_all.deb"};
  CHECK(CheckLockFresh(*r, l).message() ==
        "the recipe's build toolchain is not in the lock\n"
        "(hint: run 'tdximage lock d/demo.yaml' to re-pin)");
  ToolchainLock tl;
  tl.request = {"dash"};
  tl.packages = {{"dash", "0.5.12-2", "amd64", std::string(64, 'c'), 100,
                  "pool/main/d/dash/dash_0.5.12-2_amd64.deb"},
                 {"libc6", "2.36-9", "amd64", std::string(64, 'd'), 200,
                  "pool/main/g/glibc/libc6_2.36-9_amd64.deb"}};
  l.toolchain = tl;
  const std::string text = SerializeLock(l);
  auto back = ParseLock(text, "demo.lock");
  REQUIRE_MESSAGE(back.ok(), back.status().message());
  REQUIRE(back->toolchain);
  CHECK(back->toolchain->packages[1].pool == "pool/main/g/glibc/libc6_2.36-9_amd64.deb");
  CHECK(back->sources.at("ovmf").pool == "pool/main/x/x/x_1_all.deb");
  CHECK(SerializeLock(*back) == text);
  CHECK(CheckLockFresh(*r, *back).ok());
  CHECK(back->toolchain->packages[0].Pin().filename == "dash_0.5.12-2_amd64.deb");
  CHECK(back->toolchain->packages[0].Spec().Identity() == "apt dash 0.5.12-2");
  r->build->toolchain.push_back("make");
  CHECK(CheckLockFresh(*r, *back).message() ==
        "the build toolchain changed: the lock resolved [dash], the recipe asks for [dash make]\n"
        "(hint: run 'tdximage lock d/demo.yaml' to re-pin)");
  // Hostile locks: a pool path that climbs out of an archive URL, unsorted packages.
  std::string climbing = text;
  climbing.replace(climbing.find("pool/main/d/dash/"), 17, "pool/../../etc/");
  CHECK(ParseLock(climbing, "demo.lock").status().message() ==
        "demo.lock: toolchain package 'dash': pool 'pool/../../etc/dash_0.5.12-2_amd64.deb' is not "
        "an archive path");
  std::string unsorted = text;
  unsorted.replace(unsorted.find("\"name\": \"libc6\""), 15, "\"name\": \"aaaa6\"");
  CHECK(ParseLock(unsorted, "demo.lock").status().message() ==
        "demo.lock: toolchain package 'aaaa6': packages must be sorted by name, each once");
}

TEST_CASE("apt --print-uris lines: name, version with epoch, arch and pool path") {
  auto p = ParseAptUriLine(
      "'http://archive.invalid/debian/pool/main/z/zlib/zlib1g_1.2.13.dfsg-1%2bdeb12u1_amd64.deb' "
      "zlib1g_1%3a1.2.13.dfsg-1+deb12u1_amd64.deb 56856 MD5Sum:0123");
  REQUIRE_MESSAGE(p.ok(), p.status().message());
  CHECK(p->name == "zlib1g");
  CHECK(p->version == "1:1.2.13.dfsg-1+deb12u1");
  CHECK(p->arch == "amd64");
  CHECK(p->pool == "pool/main/z/zlib/zlib1g_1.2.13.dfsg-1+deb12u1_amd64.deb");
  CHECK(p->size == 56856);
  CHECK(ParseAptUriLine("'http://x/no-pool/a_1_all.deb' a_1_all.deb 1 X").status().message() ==
        "apt-get --print-uris: 'http://x/no-pool/a_1_all.deb' has no /pool/ path");
  CHECK(ParseAptUriLine("'http://x/pool/a.deb' a.deb 1 X").status().message() ==
        "apt-get --print-uris: 'a.deb' is not NAME_VERSION_ARCH.deb");
  CHECK(ParseAptUriLine("http://x/pool/a_1_all.deb a_1_all.deb nine X").status().message() ==
        "apt-get --print-uris: unexpected line 'http://x/pool/a_1_all.deb a_1_all.deb nine X'");
}

TEST_CASE("source digest: content, mode, symlinks and paths count, nothing else") {
  FileTree a;
  REQUIRE(a.AddFile("src/main.cc", tdxrt::Bytes{'x'}, 0644, "one").ok());
  REQUIRE(a.AddSymlink("src/link", "main.cc", "one").ok());
  FileTree b;
  REQUIRE(b.AddFile("src/main.cc", tdxrt::Bytes{'x'}, 0644, "another origin").ok());
  REQUIRE(b.AddSymlink("src/link", "main.cc", "x").ok());
  CHECK(TreeDigest(a) == TreeDigest(b));
  // The listing it hashes, spelled out.
  const std::string listing = "L 0777 main.cc src/link\nF 0644 " +
                              tdxrt::ToHex(tdxrt::Sha256(tdxrt::Bytes{'x'})) + " src/main.cc\n";
  CHECK(TreeDigest(a) == tdxrt::ToHex(tdxrt::Sha256(Span(listing))));
  REQUIRE(b.AddFile("src/main.cc", tdxrt::Bytes{'x'}, 0755, "x").ok());
  CHECK(TreeDigest(a) != TreeDigest(b));
  REQUIRE(b.AddFile("src/main.cc", tdxrt::Bytes{'y'}, 0644, "x").ok());
  CHECK(TreeDigest(a) != TreeDigest(b));
}

TEST_CASE("build key: the same tree read from another path is the same key") {
  using nlohmann::ordered_json;
  ordered_json d = {
      {"toolchain", ordered_json::array({{{"name", "g++"}, {"sha256", "T"}}})},
      {"source", {{"what", "git ../.."}, {"digest", "tdximage-tree-v1:D"}, {"files", 3}}},
      {"commands", {"make"}},
      {"environment", {{"TZ", "UTC"}}},
      {"outputs_wanted", {"/build/out/app"}}};
  const std::string key = BuildKey(d);
  CHECK(key.size() == 64);
  ordered_json moved = d;
  moved["source"]["what"] = "git /home/auditor/checkout [runtime]";
  CHECK(BuildKey(moved) == key);
  // Everything else that decides the outputs' bytes changes it.
  const std::vector<std::pair<std::string, ordered_json>> changes = {
      {"/source/digest", "tdximage-tree-v1:E"},
      {"/source/files", 4},
      {"/toolchain/0/sha256", "U"},
      {"/commands/0", "make -j1"},
      {"/environment/TZ", "CET"},
      {"/outputs_wanted/0", "/build/out/other"}};
  for (const auto& change : changes) {
    ordered_json other = d;
    other[ordered_json::json_pointer(change.first)] = change.second;
    CHECK_MESSAGE(BuildKey(other) != key, change.first);
  }
}

TEST_CASE("verify names a differing toolchain package or source digest before any file") {
  const std::string base = R"({"manifest_version": 1, "recipe": {"name": "x"},
    "measurements": {"mr_td": {}}, "inputs": [], "outputs": [],
    "initramfs": {"files": [{"path": "/usr/bin/app", "type": "file", "sha256": "SHA"}]},
    "reproducible": true,
    "build": {"toolchain": [{"name": "gcc-12", "version": "V", "sha256": "TOOL"},
                            {"name": "libc6", "version": "2.36-9", "sha256": "LIBC"}],
              "source": {"what": "git .", "digest": "tdximage-tree-v1:DIGEST", "files": 3},
              "commands": ["make"], "outputs": [], "libraries": []}})";
  auto make = [&](const std::string& sha, const std::string& version, const std::string& tool,
                  const std::string& digest) {
    std::string t = base;
    auto put = [&](const std::string& from, const std::string& to) {
      t.replace(t.find(from), from.size(), to);
    };
    put("\"SHA\"", "\"" + sha + "\"");
    put("\"V\"", "\"" + version + "\"");
    put("\"TOOL\"", "\"" + tool + "\"");
    put("DIGEST", digest);
    auto m = ParseManifest(t, "m.json");
    REQUIRE_MESSAGE(m.ok(), m.status().message());
    return std::move(m).value();
  };
  const auto published = make(std::string(64, 'a'), "12.2.0-14", std::string(64, 'c'), "d1");
  CHECK(CompareManifests(published, published).match);
  const auto rebuilt = make(std::string(64, 'b'), "12.2.0-15", std::string(64, 'e'), "d2");
  const auto report = CompareManifests(published, rebuilt);
  CHECK_FALSE(report.match);
  REQUIRE(report.lines.size() == 3);
  CHECK(report.lines[0] ==
        "build source digest differs: published tdximage-tree-v1:d1 (3 files), rebuilt "
        "tdximage-tree-v1:d2 (3 files, git .): the programs were compiled from different source");
  CHECK(report.lines[1] ==
        "toolchain package gcc-12 differs: published 12.2.0-14 sha256 cccccccccccccccc…, rebuilt "
        "12.2.0-15 sha256 eeeeeeeeeeeeeeee…");
  CHECK(report.lines[2].rfind("initramfs: changed /usr/bin/app", 0) == 0);
  // A published build that took its programs from its build host says so.
  std::string host = tdxrt::DumpJson(published, -1);
  host.replace(host.find("\"reproducible\":true"), 19,
               "\"reproducible\":false,\"reproducible_reason\":\"binaries from the host\"");
  auto h = ParseManifest(host, "h.json");
  REQUIRE_MESSAGE(h.ok(), h.status().message());
  CHECK(CompareManifests(*h, published).lines.at(0) ==
        "note: the published build took binaries from its build host (binaries from the host)");
  // Hostile shapes are refused before anything reads them.
  std::string bad = tdxrt::DumpJson(published, -1);
  bad.replace(bad.find("\"files\":3"), 9, "\"files\":\"3\"");
  CHECK(ParseManifest(bad, "b.json").status().message() ==
        "b.json: manifest field 'build.source.files' is not a number");
}
