// build_bench [RECIPE]  (default recipes/debian/tdx-hello.yaml)
//
// Cold-cache, warm-cache and incremental (only the payload changed) builds of a recipe through
// the tdximage library, with the share of each pass in the warm build, and two baselines
// measured in the same run: raw libzstd at the recipe's level (19 and 3 for stable-gzip, our own
// encoder) on the same uncompressed cpio
// bytes (what compression alone costs), and the sum of the image's file sizes (what the
// initramfs holds). Cold means an empty cache: every package is fetched with apt-get download.
#include <unistd.h>
#include <zstd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>

#include "bench_util.h"
#include "tdximage/build.h"
#include "tdximage/initramfs.h"
#include "tdximage/lock.h"
#include "tdxrt/file.h"
#include "tdxrt/hex.h"
#include "tdxrt/sha.h"

namespace fs = std::filesystem;
using namespace tdximage;  // NOLINT(google-build-using-namespace)

namespace {

using bench::Median;
using bench::Seconds;
struct Run {
  bool ok = false;
  std::string error;
  double fetch = 0, total = 0;
  BuildResult result;
};

Run Build(const Recipe& r, const Lock& lock, const std::string& lock_text,
          const fs::path& cache_dir, const fs::path& out) {
  Run run;
  Cache cache(cache_dir);
  auto runner = MakePosixCommandRunner();
  auto http = MakeCurlFetcher();
  SourceStore store(cache, *runner, *http, {});
  const auto t0 = std::chrono::steady_clock::now();
  auto sources = FetchSources(r, &lock, store, {});
  run.fetch = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!sources.ok()) {
    run.error = sources.status().message();
    return run;
  }
  BuildOptions o;
  o.out_root = out.string();
  o.tool_version = "build_bench";
  o.derived_cache = &cache;
  auto built = BuildImage(r, &lock, lock_text, *sources, o);
  run.total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!built.ok()) {
    run.error = built.status().message();
    return run;
  }
  run.ok = true;
  run.result = std::move(built).value();
  return run;
}
}  // namespace

int main(int argc, char** argv) {
  const std::string recipe_file =
      argc > 1 ? argv[1] : std::string(TDX_SOURCE_DIR) + "/recipes/debian/tdx-hello.yaml";
  const fs::path work = fs::temp_directory_path() / ("build_bench_" + std::to_string(::getpid()));
  fs::create_directories(work);
  auto recipe = LoadRecipe(recipe_file);
  auto lock_text = tdxrt::ReadFile(LockPathFor(recipe_file));
  if (!recipe.ok() || !lock_text.ok()) {
    std::fprintf(stderr, "build_bench: %s\n",
                 (!recipe.ok() ? recipe.status() : lock_text.status()).message().c_str());
    return 1;
  }
  const std::string lt(lock_text->begin(), lock_text->end());
  auto lock = ParseLock(lt, "lock");
  if (!lock.ok()) return 1;
  std::printf("recipe %s (%s)\n", recipe->name.c_str(), recipe_file.c_str());

  // Cold: an empty cache, packages fetched with apt-get download.
  Run cold = Build(*recipe, *lock, lt, work / "cold-cache", work / "out-cold");
  if (cold.ok) {
    std::printf("cold-cache build:  %6.2f s  (fetching %5.2f s = %4.1f%%)\n", cold.total,
                cold.fetch, 100 * cold.fetch / cold.total);
  } else {
    std::printf("cold-cache build:  skipped: %s\n", cold.error.c_str());
  }
  // Warm: the shared test cache (or the cold one just filled).
  const fs::path warm_cache = cold.ok ? work / "cold-cache" : fs::path(TDX_TEST_CACHE_DIR);
  Run warm = Build(*recipe, *lock, lt, warm_cache, work / "out-warm");
  if (!warm.ok) {
    std::printf("warm-cache build:  failed: %s\n", warm.error.c_str());
    return 1;
  }
  const auto& s = warm.result.seconds;
  std::printf(
      "warm-cache build:  %6.2f s  (verify+read sources %.2f s, assemble %.2f s, compress %.2f s, "
      "measure %.2f s, write %.2f s)\n",
      warm.total, warm.fetch, s.at("assemble"), s.at("compress"), s.at("measure"), s.at("write"));
  std::printf("  compression share of the warm build: %4.1f%%\n",
              100 * s.at("compress") / warm.total);

  // Incremental: only the payload changed (a file source, or a literal file of the recipe).
  {
    const fs::path dir = work / "incr" / "r";
    fs::create_directories(dir);
    fs::copy_file(recipe_file, dir / "img.yaml");
    auto r2 = LoadRecipe((dir / "img.yaml").string());
    if (r2.ok()) {
      r2->dir = recipe->dir;  // file sources are read from the recipe's own tree
      Lock l2 = *lock;
      bool changed = false;
      for (auto& f : r2->files) {
        if (f.content && !changed) {
          *f.content += "\n# changed payload\n";
          changed = true;
        }
      }
      for (const auto& src : r2->sources) {
        if (src.kind != SourceSpec::Kind::kFile || changed) continue;
        const fs::path p = dir / src.path;
        fs::create_directories(p.parent_path());
        std::string text = std::string("# changed payload\n");
        auto old = tdxrt::ReadFile(fs::path(recipe->dir) / src.path);
        if (old.ok()) text += std::string(old->begin(), old->end());
        (void)tdxrt::WriteFileAtomic(p, text, 0755);
        auto b = tdxrt::ReadFile(p);
        l2.sources[src.name].sha256 = tdxrt::ToHex(tdxrt::Sha256(*b));
        l2.sources[src.name].size = b->size();
        r2->dir = dir.string();
        changed = true;
      }
      Run incr = Build(*r2, l2, SerializeLock(l2), warm_cache, work / "out-incr");
      if (incr.ok) {
        std::printf(
            "incremental build (payload changed): %6.2f s = %.2f x the warm build; compression "
            "%4.1f%% of it\n",
            incr.total, incr.total / warm.total,
            100 * incr.result.seconds.at("compress") / incr.total);
      } else {
        std::printf("incremental build: failed: %s\n", incr.error.c_str());
      }
    }
  }

  // Baselines: raw libzstd on the same uncompressed cpio; file bytes in the image.
  auto compressed =
      tdxrt::ReadFile(work / "out-warm" / recipe->name /
                      (recipe->name + "-initramfs.cpio" +
                       std::string(CompressionSuffix(*ParseCompression(recipe->compression)))));
  auto tree = ReadInitramfs(*compressed);
  InitramfsOptions none;
  none.compression = Compression::kNone;
  auto cpio = WriteInitramfs(*tree, none);
  // The recipe's zstd level; for stable-gzip (our own encoder) zstd 19 and 3 as the references.
  std::vector<int> levels = {recipe->compression_level};
  if (recipe->compression != "zstd") levels = {19, 3};
  for (const int level : levels) {
    std::vector<char> dst(ZSTD_compressBound(cpio->size()));
    std::size_t zsize = 0;
    const double raw = Seconds(
        [&] { zsize = ZSTD_compress(dst.data(), dst.size(), cpio->data(), cpio->size(), level); });
    std::printf(
        "raw libzstd level %d on the same %zu-byte cpio: %.2f s -> %zu bytes; our %s pass = %.2f "
        "x its time, %.2f x its size\n",
        level, cpio->size(), raw, zsize, recipe->compression.c_str(), s.at("compress") / raw,
        static_cast<double>(warm.result.initramfs_size) / static_cast<double>(zsize));
  }
  std::printf(
      "initramfs %llu bytes for %llu bytes of files = %.1f%% (uncompressed cpio %zu bytes)\n",
      static_cast<unsigned long long>(warm.result.initramfs_size),
      static_cast<unsigned long long>(warm.result.initramfs_uncompressed_files),
      100.0 * static_cast<double>(warm.result.initramfs_size) /
          static_cast<double>(warm.result.initramfs_uncompressed_files),
      cpio->size());
  fs::remove_all(work);
  return 0;
}
