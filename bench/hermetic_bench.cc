// hermetic_bench [RECIPE]  (default recipes/debian/zipnet-client.yaml; must have a build section)
//
// What compiling the node in a locked Debian build root costs, against baselines measured in the
// same run on this machine:
//   cold hermetic image build (an empty cache but for the image's own sources: the toolchain is
//   fetched with apt-get download, the root assembled and written, the programs compiled)
//     vs the plain release compile of the same programs on the host (cmake + ninja, as
//     scripts/build-release does);
//   warm image build (the compiled programs served from the cache)
//     vs the same image built the old way, its programs taken from the host (binaries: host:),
//     which was the warm build before build sections;
//   the build root's size (its files) and package count.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "bench_util.h"
#include "tdximage/build.h"
#include "tdximage/hermetic.h"
#include "tdximage/lock.h"
#include "tdxrt/file.h"

namespace fs = std::filesystem;
using namespace tdximage;  // NOLINT(google-build-using-namespace)

namespace {

struct Run {
  bool ok = false;
  std::string error;
  double total = 0;
  std::map<std::string, double> seconds;
  std::uint64_t root_bytes = 0;
};

// One image build as `tdximage build` does it: sources, the build section (if any), the image.
Run Build(const Recipe& r, const Lock& lock, const std::string& lock_text, const Cache& cache,
          const fs::path& out) {
  Run run;
  auto runner = MakePosixCommandRunner();
  auto http = MakeCurlFetcher();
  SourceStore store(cache, *runner, *http, {});
  const auto t0 = std::chrono::steady_clock::now();
  auto sources = FetchSources(r, &lock, store, {});
  if (!sources.ok()) {
    run.error = sources.status().message();
    return run;
  }
  BuildOptions o;
  o.out_root = out.string();
  o.tool_version = "hermetic_bench";
  o.derived_cache = &cache;
  std::optional<HermeticResult> built;
  if (r.build) {
    HermeticOptions h;
    h.output_cache = &cache;
    auto b = RunBuildSection(r, lock, *sources, store, *runner, h);
    if (!b.ok()) {
      run.error = b.status().message();
      return run;
    }
    built = std::move(b).value();
    run.seconds = built->seconds;
    run.root_bytes = built->root_bytes;
    o.built = &*built;
  }
  auto image = BuildImage(r, &lock, lock_text, *sources, o);
  run.total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!image.ok()) {
    run.error = image.status().message();
    return run;
  }
  run.ok = true;
  return run;
}

double Get(const std::map<std::string, double>& m, const char* k) {
  auto it = m.find(k);
  return it == m.end() ? 0 : it->second;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string recipe_file =
      argc > 1 ? argv[1] : std::string(TDX_SOURCE_DIR) + "/recipes/debian/zipnet-client.yaml";
  auto recipe = LoadRecipe(recipe_file);
  auto lock_text = tdxrt::ReadFile(LockPathFor(recipe_file));
  if (!recipe.ok() || !lock_text.ok() || !recipe->build) {
    std::fprintf(stderr, "hermetic_bench: %s\n",
                 !recipe.ok()      ? recipe.status().message().c_str()
                 : !lock_text.ok() ? lock_text.status().message().c_str()
                                   : "the recipe has no build section");
    return 1;
  }
  const std::string lt(lock_text->begin(), lock_text->end());
  auto lock = ParseLock(lt, "lock");
  if (!lock.ok()) return 1;
  const fs::path work =
      fs::temp_directory_path() / ("hermetic_bench_" + std::to_string(::getpid()));
  fs::create_directories(work / "cache" / "sha256");
  std::printf("recipe %s (%s), toolchain %zu packages\n", recipe->name.c_str(), recipe_file.c_str(),
              lock->toolchain->packages.size());

  // Baseline 1: the plain release compile of the same programs on this host.
  const std::string src = TDX_SOURCE_DIR;
  const std::string release = (work / "release").string();
  const std::string configure = "cmake -S " + src + " -B " + release +
                                " -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF "
                                "-DTDX_BUILD_BENCH=OFF >/dev/null";
  const std::string compile = "cmake --build " + release +
                              " --target zipnet-client zipnet-server zipnet-aggregator >/dev/null";
  int rc = 0;
  const double plain =
      bench::Seconds([&] { rc = std::system((configure + " && " + compile).c_str()); });
  if (rc != 0) {
    std::fprintf(stderr, "hermetic_bench: the plain compile failed\n");
    return 1;
  }
  std::printf("plain release compile (host, cmake + ninja, 3 programs):   %6.1f s\n", plain);

  // Cold: a cache holding only the image's own sources (kernel, OVMF, busybox), linked from the
  // shared test cache; the toolchain is fetched.
  for (const auto& [name, e] : lock->sources) {
    const fs::path from = fs::path(TDX_TEST_CACHE_DIR) / "sha256" / e.sha256;
    std::error_code ec;
    fs::create_symlink(from, work / "cache" / "sha256" / e.sha256, ec);
  }
  Cache cache(work / "cache");
  Run cold = Build(*recipe, *lock, lt, cache, work / "out-cold");
  if (!cold.ok) {
    std::printf("cold hermetic build: failed: %s\n", cold.error.c_str());
    fs::remove_all(work);
    return 1;
  }
  const auto& c = cold.seconds;
  std::printf(
      "cold hermetic image build:                                 %6.1f s = %.2f x the plain "
      "compile\n  (toolchain fetch %.1f s, build root %.1f s, commands %.1f s, source %.2f s, "
      "image %.1f s)\n",
      cold.total, cold.total / plain, Get(c, "toolchain fetch"), Get(c, "build root"),
      Get(c, "build commands"), Get(c, "build source"),
      cold.total - Get(c, "toolchain fetch") - Get(c, "build root") - Get(c, "build commands") -
          Get(c, "build source"));
  std::printf("  compile in the build root vs on the host: %.2f x\n",
              Get(c, "build commands") / plain);
  std::printf("build root: %zu packages, %.0f MiB of files\n", lock->toolchain->packages.size(),
              static_cast<double>(cold.root_bytes) / 1048576.0);

  // Warm: the programs come from the cache; against the same image with host programs.
  std::vector<double> warm_runs, host_runs;
  Recipe host = *recipe;
  host.build.reset();
  for (const auto& o : recipe->build->outputs) {
    if (o.to.empty()) continue;
    BinarySpec b;
    b.from = BinarySpec::From::kHost;
    b.path = release + "/zipnet-core/" + fs::path(o.path).filename().string();
    b.to = o.to;
    host.binaries.push_back(b);
  }
  Lock host_lock = *lock;
  host_lock.toolchain.reset();
  for (int i = 0; i < 3; ++i) {
    Run w = Build(*recipe, *lock, lt, cache, work / "out-warm");
    Run h = Build(host, host_lock, lt, cache, work / "out-host");
    if (!w.ok || !h.ok) {
      std::printf("warm build failed: %s%s\n", w.error.c_str(), h.error.c_str());
      fs::remove_all(work);
      return 1;
    }
    warm_runs.push_back(w.total);
    host_runs.push_back(h.total);
  }
  const double warm = bench::Median(warm_runs), hosted = bench::Median(host_runs);
  std::printf(
      "warm image build, programs from the cache (median of 3):  %6.2f s = %.2f x the same image "
      "with host programs (%.2f s; goal <= 1.5 x)\n",
      warm, warm / hosted, hosted);
  fs::remove_all(work);
  return 0;
}
