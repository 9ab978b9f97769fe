// tdximage: reproducible TDX guest images from pinned YAML recipes. A thin command line over
// the tdximage library: lock, build, cache seeding, and in-process package extraction.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>

#include "mrtd/acpi.h"
#include "mrtd/rtmr0.h"
#include "tdx_version.h"
#include "tdximage/acpi_capture.h"
#include "tdximage/apt_suite.h"
#include "tdximage/archive.h"
#include "tdximage/build.h"
#include "tdximage/cache.h"
#include "tdximage/initramfs.h"
#include "tdximage/lock.h"
#include "tdximage/recipe.h"
#include "tdximage/sources.h"
#include "tdximage/verify.h"
#include "tdxrt/cli.h"
#include "tdxrt/file.h"
#include "tdxrt/hex.h"
#include "tdxrt/json.h"
#include "tdxrt/run_main.h"
#include "tdxrt/sha.h"
#include "tdxrt/text.h"

namespace {

using namespace tdximage;  // NOLINT(google-build-using-namespace): a thin main over one library

enum class ExitCode : int { kOk = 0, kFailure = 1, kUsage = 2, kMismatch = 3 };

constexpr const char* kExitCodesHelp =
    "Exit codes:\n"
    "  0  success\n"
    "  1  failure: unreadable, malformed or missing input\n"
    "  2  usage error\n"
    "  3  verify: the rebuilt image differs from the published one (or from --expect-mrtd)\n";

int Fail(const std::string& msg) {
  std::fprintf(stderr, "tdximage: error: %s\n", msg.c_str());
  return static_cast<int>(ExitCode::kFailure);
}

int Usage(const std::string& msg) {
  std::fprintf(stderr, "tdximage: usage error: %s\n", msg.c_str());
  return static_cast<int>(ExitCode::kUsage);
}

// A Debian package by its content (an ar archive), whatever its name: a cache entry has none.
bool IsDeb(const tdxrt::Bytes& data) {
  static constexpr std::string_view kArMagic = "!<arch>\n";
  return data.size() >= kArMagic.size() &&
         std::equal(kArMagic.begin(), kArMagic.end(), data.begin());
}

// The tar stream of a package or tarball argument.
tdxrt::Result<tdxrt::Bytes> TarOf(const std::string& path) {
  TDX_ASSIGN_OR_RETURN(tdxrt::Bytes data, tdxrt::ReadFile(path));
  if (!IsDeb(data)) return data;
  auto tar = tdximage::DebDataTar(data);
  if (!tar.ok()) return tar.status().WithContext(path);
  return tar;
}

int RunExtract(const std::string& archive, const std::string& member, const std::string& out,
               bool json) {
  auto tar = TarOf(archive);
  if (!tar.ok()) return Fail(tar.status().message());
  auto data = tdximage::ReadTarMember(*tar, member);
  if (!data.ok()) return Fail(archive + ": " + data.status().message());
  if (auto s = tdxrt::WriteFileAtomic(out, *data, 0644); !s.ok()) return Fail(s.message());
  if (json) {
    nlohmann::ordered_json j;
    j["archive"] = archive;
    j["member"] = member;
    j["out"] = out;
    j["size"] = data->size();
    j["sha256"] = tdxrt::ToHex(tdxrt::Sha256(*data));
    std::printf("%s\n", tdxrt::DumpJson(j).c_str());
    return static_cast<int>(ExitCode::kOk);
  }
  std::printf("%s  %s (%zu bytes from %s)\n", tdxrt::ToHex(tdxrt::Sha256(*data)).c_str(),
              out.c_str(), data->size(), archive.c_str());
  return static_cast<int>(ExitCode::kOk);
}

// What artifacts record (/init, launcher header, manifest): the release version only. The git
// revision is left out on purpose, so an image depends on what the tool does, not on which
// commit built it; `tdximage --version` still prints the revision.
std::string ToolVersion() { return std::string("tdximage ") + TDX_VERSION; }

struct Common {
  std::string cache_dir;
  bool offline = false;
  bool quiet = false;
  bool json = false;
  std::vector<std::string> file_roots;
  std::map<std::string, std::string> inputs;  // --input NAME=PATH
  std::vector<std::string> archives;          // --archive URL
};

std::function<void(const std::string&)> Logger(const Common& c) {
  if (c.quiet) return {};
  return [](const std::string& m) { std::fprintf(stderr, "tdximage: %s\n", m.c_str()); };
}

SourceOptions MakeSourceOptions(const Common& c) {
  SourceOptions o;
  o.offline = c.offline;
  o.file_roots = c.file_roots;
  o.inputs = c.inputs;
  o.archives = c.archives;
  o.log = Logger(c);
  if (!c.quiet && ::isatty(2)) {
    o.progress = [](std::uint64_t done, std::uint64_t total) {
      if (total > 0) {
        const int width = 30;
        const int fill =
            static_cast<int>(width * static_cast<double>(done) / static_cast<double>(total));
        std::fprintf(stderr, "\r  [%-*s] %6.1f / %6.1f MiB", width,
                     std::string(static_cast<std::size_t>(fill), '#').c_str(),
                     static_cast<double>(done) / 1048576.0, static_cast<double>(total) / 1048576.0);
        if (done >= total) std::fprintf(stderr, "\n");
      }
    };
  }
  return o;
}

Cache MakeCache(const Common& c) {
  return Cache(c.cache_dir.empty() ? Cache::DefaultDir() : std::filesystem::path(c.cache_dir));
}

// The command runner of a recipe's apt commands: the machine's apt configuration, or a private
// one for the recipe's suite (apt_suite.h).
tdxrt::Result<std::unique_ptr<CommandRunner>> RunnerFor(const Recipe& recipe, const Cache& cache,
                                                        const Common& c) {
  std::unique_ptr<CommandRunner> posix = MakePosixCommandRunner();
  if (recipe.suite.empty()) return posix;
  TDX_ASSIGN_OR_RETURN(AptSuite suite,
                       PrepareAptSuite(*posix, cache.dir(), recipe.suite, c.offline));
  struct Owned : AptSuiteRunner {
    Owned(std::unique_ptr<CommandRunner> inner, AptSuite s)
        : AptSuiteRunner(*inner, std::move(s)), keep(std::move(inner)) {}
    std::unique_ptr<CommandRunner> keep;
  };
  return std::unique_ptr<CommandRunner>(new Owned(std::move(posix), std::move(suite)));
}

int RunLock(const std::string& recipe_file, const Common& c) {
  auto recipe = LoadRecipe(recipe_file);
  if (!recipe.ok()) return Fail(recipe.status().message());
  Cache cache = MakeCache(c);
  auto runner = RunnerFor(*recipe, cache, c);
  if (!runner.ok()) return Fail(runner.status().message());
  auto http = MakeCurlFetcher();
  SourceStore store(cache, **runner, *http, MakeSourceOptions(c));
  // A Debian package version's bytes never change: its pin in the existing lock is kept (and the
  // package checked against it), so re-locking after adding a source fetches nothing else.
  // Files and URLs are resolved anew.
  std::optional<Lock> previous;
  if (auto old = LoadLock(LockPathFor(recipe_file)); old.ok()) previous = std::move(old).value();
  Lock lock;
  lock.recipe = recipe->name;
  std::size_t inputs = 0;
  for (const auto& s : recipe->sources) {
    if (s.kind == SourceSpec::Kind::kInput) {
      ++inputs;  // given at build time (--input), not pinned
      continue;
    }
    const LockEntry* pin = nullptr;
    if (previous && s.kind == SourceSpec::Kind::kApt) {
      auto it = previous->sources.find(s.name);
      if (it != previous->sources.end() && it->second.identity == s.Identity()) pin = &it->second;
    }
    auto got = store.Get(s, pin, recipe->dir);
    if (!got.ok()) return Fail(got.status().message());
    LockEntry entry{s.Identity(), got->sha256, got->size, got->filename, pin ? pin->pool : ""};
    if (s.kind == SourceSpec::Kind::kApt && entry.pool.empty() && !c.offline) {
      // Where the archive keeps it, for rebuilds after it left the live archive (--archive).
      auto where = ResolveAptPackage(**runner, s.package, s.version);
      if (!where.ok()) return Fail("source '" + s.name + "': " + where.status().message());
      entry.pool = where->pool;
    }
    lock.sources[s.name] = std::move(entry);
  }
  if (recipe->build) {
    auto toolchain =
        LockBuildToolchain(*recipe, previous ? &*previous : nullptr, **runner, store, c.offline);
    if (!toolchain.ok()) return Fail(toolchain.status().message());
    lock.toolchain = std::move(toolchain).value();
    if (!c.quiet) {
      std::string request;
      for (const auto& r : lock.toolchain->request) request += (request.empty() ? "" : " ") + r;
      std::fprintf(stderr, "tdximage: build toolchain [%s]: %zu packages in its closure\n",
                   request.c_str(), lock.toolchain->packages.size());
    }
  }
  const std::string path = LockPathFor(recipe_file);
  if (auto st = tdxrt::WriteFileAtomic(path, SerializeLock(lock)); !st.ok())
    return Fail(st.message());
  if (c.json) {
    nlohmann::ordered_json j;
    j["lock"] = path;
    j["recipe"] = lock.recipe;
    j["sources_pinned"] = lock.sources.size();
    j["inputs"] = inputs;
    std::printf("%s\n", tdxrt::DumpJson(j).c_str());
  }
  if (!c.quiet)
    std::fprintf(
        stderr, "tdximage: wrote %s (%zu sources pinned%s)\n", path.c_str(), lock.sources.size(),
        inputs ? (", " + std::to_string(inputs) + " given at build time with --input").c_str()
               : "");
  return static_cast<int>(ExitCode::kOk);
}

// What a build starts from: the lock (checked fresh), the sources fetched and verified, and the
// build options; shared by build, verify and capture-acpi.
struct Prepared {
  std::optional<Lock> lock;
  std::string lock_text;
  std::unique_ptr<Cache> cache;
  std::unique_ptr<CommandRunner> runner;
  std::unique_ptr<HttpFetcher> http;
  std::unique_ptr<SourceStore> store;
  SourceSet sources;
  BuildOptions options;
};

// `fetch`: the recipe whose sources are fetched, when not `recipe` itself (capture-acpi's
// variant reads only some of them); the lock is checked against `recipe`.
tdxrt::Result<Prepared> PrepareRecipe(const Recipe& recipe, const std::string& recipe_file,
                                      bool no_lock, bool use_derived, const Common& c,
                                      const Recipe* fetch = nullptr) {
  Prepared p;
  const std::string lock_path = LockPathFor(recipe_file);
  if (!no_lock) {
    auto text = tdxrt::ReadFile(lock_path, 1 << 20);
    if (!text.ok()) {
      return tdxrt::Status::NotFound(
          recipe_file + " is not locked: " + text.status().message() +
          " (hint: run 'tdximage lock " + recipe_file +
          "', or build with --no-lock to use only the recipe's own pins)");
    }
    p.lock_text.assign(text->begin(), text->end());
    TDX_ASSIGN_OR_RETURN(Lock l, ParseLock(p.lock_text, lock_path));
    if (auto st = CheckLockFresh(recipe, l); !st.ok())
      return tdxrt::Status::Mismatch(lock_path + " is stale:\n" + st.message());
    p.lock = std::move(l);
  }
  for (const auto& [name, path] : c.inputs) {
    const SourceSpec* s = recipe.FindSource(name);
    if (s == nullptr || s->kind != SourceSpec::Kind::kInput) {
      return tdxrt::Status::InvalidArgument("--input " + name + "=" + path + ": " + recipe_file +
                                            " has no input source '" + name + "'");
    }
  }
  p.cache = std::make_unique<Cache>(MakeCache(c));
  TDX_ASSIGN_OR_RETURN(p.runner, RunnerFor(recipe, *p.cache, c));
  p.http = MakeCurlFetcher();
  p.store = std::make_unique<SourceStore>(*p.cache, *p.runner, *p.http, MakeSourceOptions(c));
  auto log = Logger(c);
  TDX_ASSIGN_OR_RETURN(
      p.sources, FetchSources(fetch ? *fetch : recipe, p.lock ? &*p.lock : nullptr, *p.store, log));
  p.options.tool_version = ToolVersion();
  p.options.log = log;
  if (use_derived) p.options.derived_cache = p.cache.get();
  if (const char* sde = std::getenv("SOURCE_DATE_EPOCH"); sde && *sde) {
    char* end = nullptr;
    const long long v = std::strtoll(sde, &end, 10);
    if (*end != '\0' || v < 0) {
      return tdxrt::Status::InvalidArgument(std::string("SOURCE_DATE_EPOCH '") + sde +
                                            "' is not a non-negative integer");
    }
    p.options.source_date_epoch = v;
  }
  return p;
}

// Builds `recipe` into `out_root`: the shared part of build and verify.
tdxrt::Result<BuildResult> BuildRecipe(const Recipe& recipe, const std::string& recipe_file,
                                       const std::string& out_root, bool no_lock, bool use_derived,
                                       const Common& c) {
  TDX_ASSIGN_OR_RETURN(Prepared p, PrepareRecipe(recipe, recipe_file, no_lock, use_derived, c));
  BuildOptions& o = p.options;
  o.out_root = out_root;
  std::optional<HermeticResult> built;
  if (recipe.build) {
    if (!p.lock) {
      return tdxrt::Status::InvalidArgument(
          recipe_file +
          ": a build section needs the lock (its toolchain is pinned there); "
          "--no-lock cannot build it");
    }
    HermeticOptions h;
    h.source_date_epoch = o.source_date_epoch;
    if (use_derived) h.output_cache = p.cache.get();
    h.file_roots = c.file_roots;
    h.log = o.log;
    if (!c.quiet) {
      h.build_output = [](const std::string& line) {
        std::fprintf(stderr, "tdximage: build | %s\n", tdxrt::EscapeText(line).c_str());
      };
    }
    TDX_ASSIGN_OR_RETURN(built,
                         RunBuildSection(recipe, *p.lock, p.sources, *p.store, *p.runner, h));
    o.built = &*built;
  }
  return BuildImage(recipe, p.lock ? &*p.lock : nullptr, p.lock_text, p.sources, o);
}

int RunBuild(const std::string& recipe_file, const std::string& out_root, bool no_lock,
             bool no_derived, const Common& c) {
  auto recipe = LoadRecipe(recipe_file);
  if (!recipe.ok()) return Fail(recipe.status().message());
  if (no_lock && !c.quiet) {
    std::fprintf(stderr,
                 "tdximage: warning: --no-lock: apt and file sources are not pinned; this build is "
                 "not reproducible by others\n");
  }
  auto built = BuildRecipe(*recipe, recipe_file, out_root, no_lock, !no_derived, c);
  if (!built.ok()) return Fail(built.status().message());
  if (c.json) {
    nlohmann::ordered_json j = {{"out_dir", built->out_dir},
                                {"measurements", built->measurements},
                                {"outputs", built->manifest["outputs"]}};
    std::cout << tdxrt::DumpJson(j) << "\n";
  } else {
    const auto& m = built->measurements;
    std::printf("built %s in %s\n", recipe->name.c_str(), built->out_dir.c_str());
    std::printf("MR_TD (single-pass): %s\n", m["mr_td"]["single-pass"].get<std::string>().c_str());
    std::printf("MR_TD (two-pass):    %s\n", m["mr_td"]["two-pass"].get<std::string>().c_str());
    if (recipe->hosts.empty()) {
      std::printf("RTMR1:               %s  (memory %s, %s header, %s)\n",
                  m["rtmr1"].get<std::string>().c_str(), recipe->memory.c_str(),
                  recipe->kernel_header.c_str(), recipe->ovmf_layout.c_str());
      std::printf("RTMR2:               %s\n", m["rtmr2"].get<std::string>().c_str());
    } else {
      std::printf("RTMR2:               %s\n", m["rtmr2"].get<std::string>().c_str());
      std::printf("per host (memory %s):\n", recipe->memory.c_str());
      for (const auto& h : m["hosts"]) {
        std::printf(
            "  %s: MR_TD %s, RTMR1 %s (%s header, %s)\n", h["host"].get<std::string>().c_str(),
            h["page_order"].get<std::string>().c_str(), h["rtmr1"].get<std::string>().c_str(),
            h["kernel_header"].get<std::string>().c_str(),
            h["ovmf_layout"].get<std::string>().c_str());
        if (h.contains("rtmr0")) {
          std::printf("    RTMR0 %s (captured ACPI tables)\n",
                      h["rtmr0"].get<std::string>().c_str());
        }
      }
    }
    for (const auto& out : built->manifest["outputs"]) {
      std::printf("  %s/%s\n", built->out_dir.c_str(), out["file"].get<std::string>().c_str());
    }
    for (const char* f : {"-manifest.json", "-run-qemu.sh", "-launch-tdx.sh", "-SHA256SUMS"}) {
      std::printf("  %s/%s%s\n", built->out_dir.c_str(), recipe->name.c_str(), f);
    }
  }
  return static_cast<int>(ExitCode::kOk);
}

struct CaptureOptions {
  CaptureShape shape;
  std::string out;
  int timeout_seconds = 600;
  bool no_lock = false;
};

// tdximage capture-acpi: boots the recipe's kernel and firmware with a capture initramfs under
// the given QEMU and shape, and writes the ACPI blobs it prints (acpi_capture.h).
int RunCaptureAcpi(const std::string& recipe_file, CaptureOptions o, const Common& c) {
  auto recipe = LoadRecipe(recipe_file);
  if (!recipe.ok()) return Fail(recipe.status().message());
  if (o.shape.memory.empty()) o.shape.memory = recipe->memory;
  if (o.shape.cpus == 0) o.shape.cpus = recipe->cpus;
  if (auto m = mrtd::ParseMemorySize(o.shape.memory); !m.ok()) {
    return Usage("--memory: " + m.status().message());
  }
  auto capture_recipe = CaptureRecipe(*recipe);
  if (!capture_recipe.ok()) return Fail(capture_recipe.status().message());
  auto prepared = PrepareRecipe(*recipe, recipe_file, o.no_lock, true, c, &*capture_recipe);
  if (!prepared.ok()) return Fail(prepared.status().message());
  auto img = AssembleImage(*capture_recipe, prepared->sources, prepared->options);
  if (!img.ok()) return Fail("capture initramfs: " + img.status().message());
  InitramfsOptions io;
  io.compression = Compression::kGzip;
  io.level = 6;
  io.explicit_modes = img->explicit_modes;
  auto initramfs = WriteInitramfs(img->tree, io);
  if (!initramfs.ok()) return Fail("capture initramfs: " + initramfs.status().message());
  auto runner = MakePosixCommandRunner();
  auto cap = RunCaptureBoot(img->kernel, *initramfs, img->ovmf, o.shape, o.timeout_seconds, *runner,
                            Logger(c));
  if (!cap.ok()) return Fail(cap.status().message());
  auto events = mrtd::AcpiEvents(*cap);
  if (!events.ok()) return Fail("the captured tables: " + events.status().message());
  const std::string& version = cap->qemu;
  const std::string text = tdxrt::DumpJson(mrtd::AcpiCaptureJson(*cap)) + "\n";
  if (auto st = tdxrt::WriteFileAtomic(o.out, std::string_view(text)); !st.ok()) {
    return Fail(st.message());
  }
  // RTMR0 of the image with these tables and the TD HOB upstream QEMU >= 10.1 builds, at the
  // captured memory size (the OVMF must measure RTMR0 as stable202411 and later do).
  std::optional<std::string> rtmr0;
  const bool stable202411 = std::any_of(recipe->hosts.begin(), recipe->hosts.end(), [](auto& h) {
    return h.ovmf_layout == mrtd::OvmfEventLayout::kStable202411;
  });
  if (stable202411) {
    auto md = mrtd::ParseTdvf(img->ovmf);
    if (!md.ok()) return Fail("the recipe's OVMF: " + md.status().message());
    auto r0 = mrtd::PredictRtmr0Events(img->ovmf, *md, {o.shape.memory, &*cap});
    if (!r0.ok()) return Fail("RTMR0: " + r0.status().message());
    rtmr0 = tdxrt::ToHex(mrtd::ReplayExpected(*r0, 0));
  }
  const auto qv = mrtd::QemuVersionOf(version);
  const bool runs_tds = qv && mrtd::IsUpstreamTdxQemu({qv->first, qv->second, false});
  if (c.json) {
    nlohmann::ordered_json j = {{"capture", o.out},
                                {"qemu", version},
                                {"accel", o.shape.accel},
                                {"memory", o.shape.memory},
                                {"cpus", o.shape.cpus}};
    j["events"] = nlohmann::ordered_json::array();
    for (const auto& e : *events) {
      j["events"].push_back({{"digest", tdxrt::ToHex(e.digest)}, {"what", e.what}});
    }
    if (rtmr0) j["rtmr0"] = *rtmr0;
    std::cout << tdxrt::DumpJson(j) << "\n";
    return static_cast<int>(ExitCode::kOk);
  }
  std::printf("captured %zu ACPI blobs from %s into %s\n", cap->blobs.size(),
              tdxrt::EscapeText(version).c_str(), o.out.c_str());
  for (const auto& e : *events) {
    std::printf("  %s  %s\n", tdxrt::ToHex(e.digest).c_str(), tdxrt::EscapeText(e.what).c_str());
  }
  if (rtmr0) {
    std::printf("RTMR0 at MEMORY=%s (TD HOB of upstream QEMU >= 10.1): %s\n",
                o.shape.memory.c_str(), rtmr0->c_str());
  } else {
    std::printf(
        "RTMR0: not computed (the recipe names no host whose OVMF measures RTMR0 as "
        "edk2-stable202411 and later do)\n");
  }
  if (!runs_tds) {
    std::printf(
        "note: %s cannot run a TD (upstream QEMU >= 10.1 can): a recipe's measure.acpi "
        "refuses this capture for its hosts\n",
        tdxrt::EscapeText(version).c_str());
  }
  if (o.shape.accel != "tdx") {
    std::printf(
        "note: captured without TDX (%s): a TD's tables may differ; capture on the TDX host with "
        "--accel tdx for values to pin\n",
        o.shape.accel.c_str());
  }
  return static_cast<int>(ExitCode::kOk);
}

struct VerifyOptions {
  std::string against;
  std::vector<std::string> expect_mrtd;
  std::string page_order;  // default: the order of <name>-mrtd.hex (the recipe's first host)
  bool keep = false;
};

int RunVerify(const std::string& recipe_file, const VerifyOptions& v, const Common& c) {
  auto recipe = LoadRecipe(recipe_file);
  if (!recipe.ok()) return Fail(recipe.status().message());
  if (!v.page_order.empty() && v.page_order != "single-pass" && v.page_order != "two-pass")
    return Usage("--page-order must be single-pass or two-pass");
  std::vector<std::string> expected;
  for (const auto& e : v.expect_mrtd) {
    auto b = tdxrt::FromHex(e, 48);
    if (!b.ok()) return Usage("--expect-mrtd " + e + ": " + b.status().message());
    expected.push_back(tdxrt::ToHex(*b));
  }
  const std::string against = v.against.empty() ? "out/" + recipe->name : v.against;
  const bool have_against = !v.against.empty() || std::filesystem::exists(against);
  if (!have_against && expected.empty()) {
    return Usage(
        "nothing to compare with: give --against (out dir, manifest.json or run-qemu.sh) or "
        "--expect-mrtd");
  }
  std::optional<nlohmann::ordered_json> published;
  std::vector<LauncherFile> launcher_files;
  if (have_against) {
    auto m = LoadManifestOf(against, &launcher_files);
    if (!m.ok()) return Fail(m.status().message());
    published = std::move(m).value();
  }
  auto tmp_dir = tdxrt::MakeTempDir("tdximage-verify-");
  if (!tmp_dir.ok()) return Fail("rebuild: " + tmp_dir.status().message());
  const std::string tmp = tmp_dir->string();
  if (!c.quiet)
    std::fprintf(
        stderr,
        "tdximage: rebuilding %s in %s (no derived cache: every package is decompressed anew)\n",
        recipe_file.c_str(), tmp.c_str());
  auto built = BuildRecipe(*recipe, recipe_file, tmp, false, false, c);
  auto cleanup = [&] {
    std::error_code ec;
    if (!v.keep)
      std::filesystem::remove_all(tmp, ec);
    else if (!c.quiet)
      std::fprintf(stderr, "tdximage: kept the rebuild in %s\n", tmp.c_str());
  };
  if (!built.ok()) {
    cleanup();
    return Fail(built.status().message());
  }
  VerifyReport report;
  if (published) report = CompareManifests(*published, built->manifest);
  // A launcher is compared byte for byte too: rebuilding must give the very same file.
  if (!launcher_files.empty()) {
    auto mine =
        tdxrt::ReadFile(std::filesystem::path(built->out_dir) / (recipe->name + "-run-qemu.sh"));
    auto theirs = tdxrt::ReadFile(against);
    if (mine.ok() && theirs.ok() && *mine != *theirs) {
      report.match = false;
      report.lines.push_back("launcher " + against + " differs from the rebuilt one (" +
                             std::to_string(theirs->size()) + " vs " +
                             std::to_string(mine->size()) + " bytes)");
    }
  }
  const std::string page_order =
      v.page_order.empty()
          ? built->measurements.value("mr_td_hex_file_page_order", std::string("single-pass"))
          : v.page_order;
  const std::string mrtd = built->measurements["mr_td"][page_order].get<std::string>();
  bool mrtd_ok = true;
  if (!expected.empty()) {
    mrtd_ok = std::find(expected.begin(), expected.end(), mrtd) != expected.end();
    if (!mrtd_ok) {
      std::string list;
      for (const auto& e : expected) list += (list.empty() ? "" : ", ") + e;
      report.match = false;
      report.lines.insert(report.lines.begin(), "MR_TD (" + page_order + ") of the rebuild is " +
                                                    mrtd + "; expected " +
                                                    (expected.size() > 1 ? "one of " : "") + list);
    }
  }
  if (c.json) {
    nlohmann::ordered_json j = report.json;
    j["match"] = report.match;
    j["findings"] = report.lines;
    j["rebuilt"] = built->measurements;
    if (!expected.empty())
      j["expect_mrtd"] = {{"page_order", page_order}, {"expected", expected}, {"match", mrtd_ok}};
    std::cout << tdxrt::DumpJson(j) << "\n";
  } else {
    if (report.match) {
      std::printf("match: %s rebuilt%s\n", recipe->name.c_str(),
                  published ? (" bit for bit against " + against).c_str() : "");
      std::printf("MR_TD (%s): %s\nRTMR1: %s\nRTMR2: %s\n", page_order.c_str(), mrtd.c_str(),
                  built->measurements["rtmr1"].get<std::string>().c_str(),
                  built->measurements["rtmr2"].get<std::string>().c_str());
    } else {
      std::printf("MISMATCH: %s rebuilt%s differs:\n", recipe->name.c_str(),
                  published ? (" against " + against).c_str() : "");
    }
    for (const auto& l : report.lines) std::printf("  %s\n", l.c_str());
  }
  cleanup();
  return static_cast<int>(report.match ? ExitCode::kOk : ExitCode::kMismatch);
}

std::string ModeOf(const TreeNode& n) {
  char b[16];
  const char t = n.type == TreeNode::Type::kDirectory ? 'd'
                 : n.type == TreeNode::Type::kSymlink ? 'l'
                                                      : '-';
  std::snprintf(b, sizeof b, "%c%04o", t, n.type == TreeNode::Type::kSymlink ? 0777u : n.mode);
  return b;
}

int RunInspect(const std::string& artifact, const Common& c) {
  // What an artifact says is untrusted text on this terminal.
  auto E = [](const std::string& s) { return tdxrt::EscapeText(s); };
  std::error_code ec;
  const bool dir = std::filesystem::is_directory(artifact, ec);
  bool initramfs = false;
  if (!dir) {
    auto f = tdxrt::MappedFile::Open(artifact);
    if (!f.ok()) return Fail(f.status().message());
    const auto b = f->bytes();
    initramfs = (b.size() > 4 && ((b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd) ||
                                  (b[0] == 0x1f && b[1] == 0x8b))) ||
                (b.size() > 6 && std::string(b.begin(), b.begin() + 6) == "070701");
    if (initramfs) {
      auto tree = ReadInitramfs(b);
      if (!tree.ok()) return Fail(artifact + ": " + tree.status().message());
      nlohmann::ordered_json files = nlohmann::ordered_json::array();
      for (const auto& [path, n] : tree->nodes()) {
        nlohmann::ordered_json e = {{"path", "/" + path}, {"mode", ModeOf(n)}};
        if (n.type == TreeNode::Type::kFile) {
          e["size"] = n.data->size();
          e["sha256"] = tdxrt::ToHex(tdxrt::Sha256(*n.data));
        }
        if (n.type == TreeNode::Type::kSymlink) e["target"] = n.target;
        files.push_back(e);
      }
      if (c.json) {
        std::cout << tdxrt::DumpJson(nlohmann::ordered_json{
                         {"initramfs", artifact}, {"entries", files.size()}, {"files", files}})
                  << "\n";
        return 0;
      }
      std::printf("%s: initramfs, %zu entries, %llu bytes of files\n", artifact.c_str(),
                  files.size(), static_cast<unsigned long long>(tree->total_file_bytes()));
      for (const auto& e : files) {
        std::printf(
            "%s %10s %-16s %s%s\n", e["mode"].get<std::string>().c_str(),
            e.contains("size") ? std::to_string(e["size"].get<std::uint64_t>()).c_str() : "-",
            e.contains("sha256") ? e["sha256"].get<std::string>().substr(0, 16).c_str() : "-",
            tdxrt::EscapeText(e["path"].get<std::string>()).c_str(),
            e.contains("target")
                ? (" -> " + tdxrt::EscapeText(e["target"].get<std::string>())).c_str()
                : "");
      }
      return 0;
    }
  }
  std::vector<LauncherFile> embedded;
  auto m = LoadManifestOf(artifact, &embedded);
  if (!m.ok()) return Fail(m.status().message());
  const auto& j = *m;
  if (c.json) {
    nlohmann::ordered_json out = j;
    if (!embedded.empty()) {
      out["launcher_files_checked"] =
          "self-consistency only: each file matches the sha256 in the launcher's own header; "
          "tdximage verify RECIPE --against THIS compares with a rebuild";
      out["launcher_files"] = nlohmann::ordered_json::array();
      for (const auto& f : embedded) {
        out["launcher_files"].push_back({{"file", f.name},
                                         {"size", f.data->size()},
                                         {"sha256", tdxrt::ToHex(tdxrt::Sha256(*f.data))}});
      }
    }
    std::cout << tdxrt::DumpJson(out) << "\n";
    return 0;
  }
  const auto& r = j["recipe"];
  const auto& meas = j["measurements"];
  std::printf(
      "%s: image %s (base %s), recipe %s sha256 %s, lock sha256 %s\nbuilt by %s, SOURCE_DATE_EPOCH "
      "%lld\n",
      artifact.c_str(), E(r.value("name", "")).c_str(), E(r.value("base", "")).c_str(),
      E(r.value("file", "")).c_str(), E(r.value("sha256", "")).c_str(),
      E(r.value("lock_sha256", "")).c_str(), E(j.value("tool", "")).c_str(),
      static_cast<long long>(j.value("source_date_epoch", 0)));
  std::printf(
      "MR_TD (single-pass): %s\nMR_TD (two-pass):    %s\nRTMR1:               %s\nRTMR2:           "
      "    %s\n",
      E(meas["mr_td"].value("single-pass", "")).c_str(),
      E(meas["mr_td"].value("two-pass", "")).c_str(), E(meas.value("rtmr1", "")).c_str(),
      E(meas.value("rtmr2", "")).c_str());
  std::printf("  assuming %s\n", E(tdxrt::DumpJson(meas["assumes"], -1)).c_str());
  if (j.contains("reproducible") && j["reproducible"] == false) {
    std::printf("NOT reproducible elsewhere: %s\n", E(j.value("reproducible_reason", "")).c_str());
  }
  if (j.contains("build")) {
    const auto& b = j["build"];
    std::printf("programs built from source %s (%zu files), in a build root of %zu packages:\n",
                E(b["source"].value("digest", "")).c_str(),
                static_cast<std::size_t>(b["source"].value("files", 0)), b["toolchain"].size());
    for (const auto& o : b["outputs"]) {
      std::printf("  %s %s%s\n", E(o.value("sha256", "")).c_str(), E(o.value("path", "")).c_str(),
                  o.contains("to") && o["to"].is_string()
                      ? (" -> " + E(o["to"].get<std::string>())).c_str()
                      : " (not installed)");
    }
  }
  if (!embedded.empty()) {
    // The payload matched the sha256 in the launcher's own header. Whoever replaced the payload
    // could replace that sum too, and the manifest and measurements above come from the same
    // payload: say what was checked and how to check the rest.
    std::printf(
        "launcher payload (self-consistent: each file matches the sha256 in this launcher's own "
        "header; that says nothing about who made it):\n");
    for (const auto& f : embedded) {
      std::printf("  %10zu %s %s\n", f.data->size(), tdxrt::ToHex(tdxrt::Sha256(*f.data)).c_str(),
                  E(f.name).c_str());
    }
    std::printf(
        "  the measurements above are what this launcher claims; to know they are the recipe's, "
        "rebuild and compare: tdximage verify RECIPE --against %s\n",
        E(artifact).c_str());
  }
  std::printf("inputs:\n");
  for (const auto& i : j["inputs"]) {
    std::printf("  %-10s %s  %10llu  %s\n", E(i.value("name", "")).c_str(),
                E(i.value("sha256", "")).c_str(),
                static_cast<unsigned long long>(i.value("size", 0)),
                E(i.value("identity", "")).c_str());
  }
  std::printf("outputs:\n");
  for (const auto& o : j["outputs"]) {
    std::printf("  %10llu %s %s\n", static_cast<unsigned long long>(o.value("size", 0)),
                E(o.value("sha256", "")).c_str(), E(o.value("file", "")).c_str());
  }
  const auto& files = j["initramfs"]["files"];
  std::printf("initramfs %s: %zu entries\n", E(j["initramfs"].value("file", "")).c_str(),
              files.size());
  for (const auto& f : files) {
    const std::string type = f.value("type", "");
    std::printf("  %s %-5s %10s %-16s %s%s\n",
                type == "dir"       ? "d"
                : type == "symlink" ? "l"
                                    : "-",
                E(f.value("mode", "")).c_str(),
                f.contains("size") ? std::to_string(f["size"].get<std::uint64_t>()).c_str() : "-",
                f.contains("sha256") ? f["sha256"].get<std::string>().substr(0, 16).c_str() : "-",
                tdxrt::EscapeText(f.value("path", "")).c_str(),
                f.contains("target")
                    ? (" -> " + tdxrt::EscapeText(f["target"].get<std::string>())).c_str()
                    : "");
  }
  return 0;
}

int RunCacheSeed(const std::string& dir, const Common& c) {
  Cache cache = MakeCache(c);
  auto r = cache.Seed(dir);
  if (!r.ok()) return Fail(r.status().message());
  if (c.json) {
    nlohmann::ordered_json j;
    j["cache"] = cache.dir().string();
    j["from"] = dir;
    j["imported"] = r->imported;
    j["already_present"] = r->already;
    std::printf("%s\n", tdxrt::DumpJson(j).c_str());
  } else if (!c.quiet) {
    std::fprintf(stderr, "tdximage: seeded %s from %s: %d imported, %d already present\n",
                 cache.dir().c_str(), dir.c_str(), r->imported, r->already);
  }
  return static_cast<int>(ExitCode::kOk);
}

int RunList(const std::string& archive, bool json) {
  auto tar = TarOf(archive);
  if (!tar.ok()) return Fail(tar.status().message());
  auto entries = tdximage::ListTar(*tar);
  if (!entries.ok()) return Fail(archive + ": " + entries.status().message());
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& e : *entries) {
    const char t = e.type == tdximage::EntryType::kDirectory  ? 'd'
                   : e.type == tdximage::EntryType::kSymlink  ? 'l'
                   : e.type == tdximage::EntryType::kHardlink ? 'h'
                   : e.type == tdximage::EntryType::kFile     ? '-'
                                                              : '?';
    if (json) {
      static const std::map<char, const char*> kTypes = {
          {'d', "directory"}, {'l', "symlink"}, {'h', "hardlink"}, {'-', "file"}, {'?', "other"}};
      nlohmann::ordered_json j;
      j["path"] = e.path;
      j["type"] = kTypes.at(t);
      j["mode"] = e.mode;
      j["size"] = e.size;
      if (!e.link_target.empty()) j["target"] = e.link_target;
      list.push_back(std::move(j));
      continue;
    }
    std::printf("%c%04o %12llu %s%s%s\n", t, e.mode, static_cast<unsigned long long>(e.size),
                e.path.c_str(), e.link_target.empty() ? "" : " -> ", e.link_target.c_str());
  }
  if (json) std::printf("%s\n", tdxrt::DumpJson(list).c_str());
  return static_cast<int>(ExitCode::kOk);
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{"tdximage: build, measure and verify reproducible TDX guest images"};
  app.footer(kExitCodesHelp);
  app.require_subcommand(1);

  std::string archive, member, out;
  auto* extract =
      app.add_subcommand("extract", "Extract one file from a .deb or tarball, in-process");
  extract->add_option("archive", archive, "Debian package (.deb) or tarball")->required();
  extract->add_option("member", member, "Path inside the package (e.g. usr/share/ovmf/OVMF.fd)")
      ->required();
  extract->add_option("-o,--output", out, "Output file (written atomically)")->required();

  Common common;
  app.add_option("--cache", common.cache_dir,
                 "Source cache directory (default $TDXIMAGE_CACHE, $XDG_CACHE_HOME/tdximage)");
  app.add_flag("--offline", common.offline,
               "Never touch the network: every source must be in the cache");
  app.add_flag("-q,--quiet", common.quiet, "No progress lines");
  app.add_flag("--json", common.json, "Print the result as JSON");
  app.add_option("--file-root", common.file_roots,
                 "A directory tree whose files a recipe's file: sources may read, besides the "
                 "recipe's own directory (repeatable)");
  app.add_option("--archive", common.archives,
                 "URL of a Debian archive or of a snapshot of one: fetch locked packages from "
                 "URL/<pool path in the lock> instead of apt-get download, checked against the "
                 "lock (repeatable, tried in order)");
  std::vector<std::string> input_args;
  app.add_option("--input", input_args,
                 "NAME=PATH: the file for the recipe's input source NAME (repeatable)");

  std::string lock_recipe;
  auto* lock = app.add_subcommand(
      "lock", "Resolve every source of a recipe and pin it (sha256, size) in <recipe>.lock");
  lock->add_option("recipe", lock_recipe, "Recipe file (YAML)")->required();
  lock->fallthrough();

  std::string build_recipe, out_root = "out";
  bool no_lock = false;
  auto* build = app.add_subcommand("build", "Build the image of a locked recipe into OUT/<name>/");
  build->add_option("recipe", build_recipe, "Recipe file (YAML)")->required();
  build->add_option("-o,--out", out_root, "Output root (default out)");
  build->add_flag("--no-lock", no_lock,
                  "Build without a lock (apt and file sources unpinned; not reproducible)");
  bool no_derived = false;
  build->add_flag(
      "--no-derived-cache", no_derived,
      "Decompress every package anew instead of reusing decompressed trees from the "
      "cache (those are checked against a hash kept in the cache, not against the lock)");
  build->fallthrough();

  std::string verify_recipe;
  VerifyOptions vo;
  auto* verify = app.add_subcommand(
      "verify", "Rebuild a recipe in a temporary directory and compare with a published build");
  verify->add_option("recipe", verify_recipe, "Recipe file (YAML), with its lock")->required();
  verify->add_option(
      "--against", vo.against,
      "Published build: out/<name>/ (default), a *-manifest.json or a *-run-qemu.sh");
  verify->add_option("--expect-mrtd", vo.expect_mrtd, "Accepted MR_TD of the rebuild (repeatable)");
  verify->add_option("--page-order", vo.page_order,
                     "Page order for --expect-mrtd: single-pass or two-pass (default: that of "
                     "<name>-mrtd.hex, the recipe's first host)");
  verify->add_flag("--keep", vo.keep, "Keep the rebuild directory");
  verify->fallthrough();

  std::string inspect_artifact;
  auto* inspect =
      app.add_subcommand("inspect", "Show an artifact: out dir, manifest, launcher or initramfs");
  inspect
      ->add_option("artifact", inspect_artifact,
                   "out/<name>/, *-manifest.json, *-run-qemu.sh or *-initramfs.cpio.*")
      ->required();
  inspect->fallthrough();

  auto* cache_cmd = app.add_subcommand("cache", "Manage the source cache");
  std::string seed_dir;
  auto* seed =
      cache_cmd->add_subcommand("seed", "Import every file of DIR into the cache by content hash");
  seed->add_option("dir", seed_dir, "Directory of source files (e.g. ../shared/sources)")
      ->required();
  seed->fallthrough();
  auto* cache_dir_cmd = cache_cmd->add_subcommand("dir", "Print the cache directory");
  cache_dir_cmd->fallthrough();
  cache_cmd->require_subcommand(1);
  cache_cmd->fallthrough();

  std::string list_archive;
  auto* list = app.add_subcommand("list", "List the files of a .deb or tarball");
  list->add_option("archive", list_archive, "Debian package (.deb) or tarball")->required();

  std::string capture_recipe;
  CaptureOptions co;
  co.shape.cpus = 0;  // the recipe's
  auto* capture = app.add_subcommand(
      "capture-acpi",
      "Capture the ACPI tables a host's QEMU serves a TD of this image's shape (RTMR0): boots the "
      "image's kernel and firmware with a capture initramfs under that QEMU");
  capture->add_option("recipe", capture_recipe, "Recipe file (locked)")->required();
  capture->add_option("-o,--out", co.out, "Capture file to write (JSON)")->required();
  capture->add_option("--qemu", co.shape.qemu,
                      "QEMU binary of the host (default qemu-system-x86_64)");
  capture->add_option("--accel", co.shape.accel,
                      "tdx (a TD: on a TDX host, the values to pin), kvm or tcg (the same QEMU and "
                      "shape without TDX; default tcg)");
  capture->add_option("--tdx-flavor", co.shape.tdx_flavor,
                      "With --accel tdx: upstream (QEMU >= 10.1) or canonical-8.2 (as the "
                      "launcher's QEMU_TDX_FLAVOR)");
  capture->add_option("--memory", co.shape.memory,
                      "Guest memory (default the recipe's launch.memory)");
  capture->add_option("--cpus", co.shape.cpus, "vCPUs (default the recipe's launch.cpus)");
  capture
      ->add_option("--qemu-arg", co.shape.extra_args,
                   "An argument the launch adds (EXTRA_QEMU_ARGS, a vsock device; repeatable, "
                   "in order)")
      ->allow_extra_args(false);
  capture->add_option("--timeout", co.timeout_seconds, "Seconds before the boot is stopped (600)");
  capture->add_flag("--no-lock", co.no_lock, "Use the recipe's own pins only (not reproducible)");

  if (auto code =
          tdxrt::ParseCommandLine(app, argc, argv, "tdximage", static_cast<int>(ExitCode::kUsage)))
    return *code;
  for (const auto& a : input_args) {
    const auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == a.size()) {
      return Usage("--input " + a + ": use NAME=PATH");
    }
    if (!common.inputs.emplace(a.substr(0, eq), a.substr(eq + 1)).second) {
      return Usage("--input " + a.substr(0, eq) + " is given twice");
    }
  }
  if (lock->parsed()) return RunLock(lock_recipe, common);
  if (build->parsed()) return RunBuild(build_recipe, out_root, no_lock, no_derived, common);
  if (seed->parsed()) return RunCacheSeed(seed_dir, common);
  if (verify->parsed()) return RunVerify(verify_recipe, vo, common);
  if (inspect->parsed()) return RunInspect(inspect_artifact, common);
  if (cache_dir_cmd->parsed()) {
    if (common.json) {
      nlohmann::ordered_json j;
      j["cache"] = MakeCache(common).dir().string();
      std::printf("%s\n", tdxrt::DumpJson(j).c_str());
      return 0;
    }
    std::printf("%s\n", MakeCache(common).dir().c_str());
    return 0;
  }
  if (extract->parsed()) return RunExtract(archive, member, out, common.json);
  if (list->parsed()) return RunList(list_archive, common.json);
  if (capture->parsed()) return RunCaptureAcpi(capture_recipe, co, common);
  return static_cast<int>(ExitCode::kUsage);
}

int main(int argc, char** argv) {
  return tdxrt::RunMain("tdximage", [&] { return Main(argc, argv); });
}
