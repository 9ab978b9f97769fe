// Recipe parsing (every error with file:line:column and a hint) and lock staleness.
#include "tdximage/recipe.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

#include "tdximage/lock.h"

using tdximage::ParseRecipe;

namespace {
const char* kGood = R"(name: demo
base: debian
sources:
  kernel: {apt: linux-image-x, version: "1.0"}
  ovmf: {url: "https://example.invalid/OVMF.fd", sha256: 0000000000000000000000000000000000000000000000000000000000000000}
  hello: {file: hello.sh}
kernel: {source: kernel, path: "boot/vmlinuz-*"}
ovmf: {source: ovmf}
modules: {source: kernel, load: [virtio_net]}
files:
  - {source: hello, to: /usr/bin/hello, mode: "0700"}
  - {content: "x", to: /etc/x}
binaries:
  - {host: /usr/bin/env, to: /usr/bin/env}
payload: {command: /usr/bin/hello, args: [a, "b c"], env: {K: v}}
cmdline: console=ttyS0
launch: {memory: 1G, cpus: 2}
compression: {algorithm: gzip, level: 6}
measure: {kernel_header: unmodified, ovmf_layout: stable202411}
)";
}  // namespace

TEST_CASE("a complete recipe parses into its model") {
  auto r = ParseRecipe(kGood, "dir/demo.yaml");
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->name == "demo");
  CHECK(r->dir == "dir");
  REQUIRE(r->sources.size() == 3);
  CHECK(r->sources[0].Identity() == "apt linux-image-x 1.0");
  CHECK(r->sources[1].Identity() ==
        "url https://example.invalid/OVMF.fd sha256 "
        "0000000000000000000000000000000000000000000000000000000000000000");
  CHECK(r->sources[2].Identity() == "file hello.sh");
  CHECK(r->kernel.path == "boot/vmlinuz-*");
  CHECK(r->modules == std::vector<std::string>{"virtio_net"});
  REQUIRE(r->files.size() == 2);
  CHECK(*r->files[0].mode == 0700u);
  CHECK(*r->files[1].content == "x");
  CHECK(r->binaries[0].from == tdximage::BinarySpec::From::kHost);
  CHECK(r->payload_args == std::vector<std::string>{"a", "b c"});
  CHECK(r->payload_env[0] == std::make_pair(std::string("K"), std::string("v")));
  CHECK(r->memory == "1G");
  CHECK(r->cpus == 2);
  CHECK(r->compression == "gzip");
  CHECK(r->compression_level == 6);
  CHECK(r->kernel_header == "unmodified");
}

TEST_CASE("all recipe errors are reported together with file:line:column and hints") {
  const char* bad = R"(name: Demo!
base: gentoo
sources:
  kernel: {apt: linux-image-x}
  ovmf: {url: "ftp://x", sha256: abc}
  both: {apt: a, file: b, version: "1"}
kernel: {source: kernal, path: x}
ovmf: {source: ovmf}
files:
  - {source: kernel, to: relative/path, mode: "999"}
payload: {comand: /x}
launch: {memory: 4GB, cpus: 0}
compresion: {algorithm: zstd}
)";
  auto r = ParseRecipe(bad, "r.yaml");
  REQUIRE_FALSE(r.ok());
  const std::string e = r.status().message();
  const std::vector<std::string> want = {
      "r.yaml:1:7: error: invalid name 'Demo!' (hint: lowercase letters, digits, '.', '_' and '-', "
      "at most 64)",
      "r.yaml:2:7: error: unknown base 'gentoo' (hint: alpine, ubuntu or debian)",
      "r.yaml:4:11: error: source 'kernel' needs 'version' (hint: apt sources pin an exact "
      "version, see apt-cache policy)",
      "r.yaml:5:34: error: source 'ovmf': sha256 must be 64 lowercase hex digits",
      "r.yaml:5:15: error: source 'ovmf': url must start with https:// or http://",
      "r.yaml:6:9: error: source 'both' needs exactly one of 'url', 'apt', 'file' or 'input'",
      "r.yaml:7:18: error: unknown source 'kernal' in kernel (hint: declare it under 'sources')",
      "r.yaml:10:26: error: 'to' must be an absolute path in the image",
      "r.yaml:10:47: error: mode '999' is not an octal permission (hint: e.g. mode: \"0755\")",
      "r.yaml:11:11: error: unknown key 'comand' in payload (hint: did you mean 'command'?)",
      "r.yaml:11:10: error: payload needs 'command'",
      "r.yaml:12:18: error: invalid memory size '4GB': trailing characters (use QEMU -m syntax: "
      "512M, 4G, or plain MiB)",
      "r.yaml:12:29: error: cpus must be a number from 1 to 256",
      "r.yaml:13:1: error: unknown key 'compresion' in the recipe (hint: did you mean "
      "'compression'?)",
  };
  // Every error, in source order (line, then column), one per line.
  std::string joined;
  std::vector<std::string> sorted = want;
  std::swap(sorted[3], sorted[4]);   // 5:15 before 5:34
  std::swap(sorted[9], sorted[10]);  // 11:10 before 11:11
  for (const auto& w : sorted) joined += (joined.empty() ? "" : "\n") + w;
  CHECK(e == joined);
}

TEST_CASE("binaries from ${NAME}/ and payload.host_env: accepted forms and exact errors") {
  const std::string head = R"(name: demo
base: debian
sources:
  kernel: {apt: linux-image-x, version: "1.0"}
  ovmf: {apt: ovmf, version: "1"}
kernel: {source: kernel, path: vmlinuz}
ovmf: {source: ovmf}
)";
  auto ok = ParseRecipe(head + R"(binaries:
  - {host: "${ZIPNET_BIN}/zipnet-client", to: /usr/bin/zipnet-client}
payload: {command: /usr/bin/zipnet-client, host_env: [ZIPNET_BOOTSTRAP, HTTP_PROXY]}
)",
                        "ok.yaml");
  REQUIRE_MESSAGE(ok.ok(), ok.status().message());
  CHECK(ok->binaries[0].path == "${ZIPNET_BIN}/zipnet-client");
  CHECK(ok->payload_host_env == std::vector<std::string>{"ZIPNET_BOOTSTRAP", "HTTP_PROXY"});

  auto bad = ParseRecipe(head + R"(binaries:
  - {host: "${ZIPNET_BIN}/zipnet-client"}
  - {host: "$HOME/x", to: /x}
  - {image: "${ZIPNET_BIN}/y"}
payload:
  command: /x
  env: {ZIPNET_INSTANCE: measured}
  host_env: [ZIPNET_*, "A B", lower, LD_PRELOAD, PATH, OPENSSL_CONF, TDX_HOST_SETTINGS, A, A,
             ZIPNET_INSTANCE]
)",
                         "bad.yaml");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() ==
        "bad.yaml:9:5: error: a binary from ${...} needs 'to'\n"
        "bad.yaml:10:5: error: binary path '$HOME/x' must be absolute (hint: or start with "
        "${NAME}/ (from the environment))\n"
        "bad.yaml:11:5: error: binary path '${ZIPNET_BIN}/y' must be absolute\n"
        "bad.yaml:15:14: error: host_env entry 'ZIPNET_*' is a pattern: name each setting exactly "
        "(hint: a pattern would let the host set whatever a program reads under that prefix, "
        "security-relevant or not)\n"
        "bad.yaml:15:24: error: host_env entry 'A B' is not a variable name ([A-Z_][A-Z0-9_]*)\n"
        "bad.yaml:15:31: error: host_env entry 'lower' is not a variable name ([A-Z_][A-Z0-9_]*)\n"
        "bad.yaml:15:38: error: host_env entry 'LD_PRELOAD' is never taken from the host: the "
        "dynamic loader reads it (libraries to preload, where to find them)\n"
        "bad.yaml:15:50: error: host_env entry 'PATH' is never taken from the host: it decides "
        "which programs /init and the payload run\n"
        "bad.yaml:15:56: error: host_env entry 'OPENSSL_CONF' is never taken from the host: "
        "OpenSSL loads configuration, engines and providers from it\n"
        "bad.yaml:15:70: error: host_env entry 'TDX_HOST_SETTINGS' is never taken from the host: "
        "/init sets it (TDX_HOST_SETTINGS says which names came from the host)\n"
        "bad.yaml:15:92: error: host_env names 'A' twice\n"
        "bad.yaml:16:14: error: host_env entry 'ZIPNET_INSTANCE' is set in payload.env: a host "
        "value must not stand beside the measured one (hint: keep it in one of the two)");
  CHECK(ParseRecipe(head + "payload: {command: /x, host_env: ZIPNET_BOOTSTRAP}\n", "s.yaml")
            .status()
            .message() ==
        "s.yaml:8:34: error: payload host_env must be a list of variable names (hint: host_env: "
        "[ZIPNET_BOOTSTRAP, ZIPNET_MESSAGE])");
}

TEST_CASE("measure.hosts: each host's knobs from its QEMU and the OVMF release, exact errors") {
  auto recipe = [](const std::string& ovmf_source, const std::string& measure) {
    return "name: demo\nbase: debian\nsources:\n  kernel: {apt: linux-image-x, version: \"1.0\"}\n"
           "  ovmf: " +
           ovmf_source +
           "\nkernel: {source: kernel, path: vmlinuz}\n"
           "ovmf: {source: ovmf}\npayload: {command: /x}\nmeasure: " +
           measure + "\n";
  };
  const std::string apt2022 = "{apt: ovmf, version: \"2022.11-6+deb12u2\"}";
  const std::string apt2025 = "{apt: ovmf, version: \"2025.02-8\"}";
  const std::string url = "{url: \"https://example.invalid/ovmf_2024.02-3+tdx1.0_all.deb\"}";
  auto r = ParseRecipe(recipe(apt2022, "{hosts: [\"10.1\", \"10.2\", canonical-8.2]}"), "h.yaml");
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  REQUIRE(r->hosts.size() == 3);
  CHECK(r->hosts[0].name() == "qemu-10.1+ovmf-stable202211");
  CHECK(r->hosts[0].page_order == mrtd::PageOrder::kSinglePass);
  CHECK(r->hosts[0].kernel_header == mrtd::KernelHeaderMode::kQemuPatched);
  CHECK(r->hosts[0].ovmf_layout == mrtd::OvmfEventLayout::kPreStable202411);
  CHECK(r->hosts[1].kernel_header == mrtd::KernelHeaderMode::kUnmodified);
  CHECK(r->hosts[2].page_order == mrtd::PageOrder::kTwoPass);
  // A 2025 OVMF (the release from the package version): QEMU 10.1 measures the unmodified
  // kernel too, and the separator is in RTMR1.
  r = ParseRecipe(recipe(apt2025, "{hosts: [\"10.1\"]}"), "h.yaml");
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->hosts[0].kernel_header == mrtd::KernelHeaderMode::kUnmodified);
  CHECK(r->hosts[0].ovmf_layout == mrtd::OvmfEventLayout::kStable202411);
  // A URL source gives no release: ovmf_release names it.
  r = ParseRecipe(recipe(url, "{hosts: [canonical-8.2], ovmf_release: \"2024.02\"}"), "h.yaml");
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->hosts[0].name() == "qemu-canonical-8.2+ovmf-stable202402");
  auto err = [&](const std::string& src, const std::string& measure) {
    auto x = ParseRecipe(recipe(src, measure), "h.yaml");
    return x.ok() ? std::string("ok") : x.status().message();
  };
  CHECK(err(url, "{hosts: [\"10.1\"]}") ==
        "h.yaml:9:18: error: measure.hosts needs the OVMF's edk2 release: source 'ovmf' is not an "
        "apt package whose version gives it (hint: add measure.ovmf_release: stableYYYYMM (or the "
        "distribution version, 2024.02))");
  CHECK(err(apt2022, "{hosts: [\"10.1\"], ovmf_release: stable202502}") ==
        "h.yaml:9:42: error: measure.ovmf_release stable202502 contradicts the ovmf package's "
        "version 2022.11-6+deb12u2 (stable202211) (hint: drop ovmf_release: the package version "
        "gives it)");
  CHECK(err(apt2022, "{hosts: [\"10.1\"], kernel_header: unmodified}") ==
        "h.yaml:9:43: error: measure.kernel_header beside measure.hosts (hint: the hosts derive it "
        "(mrtd-calc host qemu=V,ovmf=R shows how); keep one of the two)");
  CHECK(err(apt2022, "{hosts: [\"9.2\"]}") ==
        "h.yaml:9:19: error: measure.hosts: QEMU 9.2 cannot run a TD: upstream QEMU has TDX from "
        "10.1 on (Canonical's 8.2 TDX build is canonical-8.2) (hint: 10.1, 10.2 (upstream QEMU) or "
        "canonical-8.2)");
  CHECK(err(apt2022, "{hosts: [\"10.1\", \"10.1.2\"]}") ==
        "h.yaml:9:27: error: measure.hosts names qemu-10.1+ovmf-stable202211 twice");
  CHECK(err(apt2022, "{hosts: []}") ==
        "h.yaml:9:18: error: measure.hosts must be a non-empty list of QEMU hosts (hint: hosts: "
        "[\"10.1\", \"10.2\", canonical-8.2])");
  CHECK(err(apt2022, "{ovmf_release: \"2022.11\"}") ==
        "h.yaml:9:25: error: measure.ovmf_release is only used with measure.hosts");
}

TEST_CASE("measure.acpi: a host's ACPI capture source, exact errors") {
  auto recipe = [](const std::string& ovmf_version, const std::string& measure) {
    return "name: demo\nbase: debian\nsources:\n  kernel: {apt: linux-image-x, version: \"1.0\"}\n"
           "  ovmf: {apt: ovmf, version: \"" +
           ovmf_version +
           "\"}\n  cap: {file: acpi.json}\n  given: {input: \"a capture\"}\n"
           "kernel: {source: kernel, path: vmlinuz}\n"
           "ovmf: {source: ovmf}\npayload: {command: /x}\nmeasure: " +
           measure + "\n";
  };
  auto r = ParseRecipe(
      recipe("2025.02-8", R"({hosts: ["10.1", "10.2"], acpi: {"10.1": cap, "10.2": given}})"),
      "a.yaml");
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->acpi_sources.size() == 2);
  CHECK(r->acpi_sources.at("qemu-10.1+ovmf-stable202502") == "cap");
  CHECK(r->acpi_sources.at("qemu-10.2+ovmf-stable202502") == "given");
  auto err = [&](const std::string& v, const std::string& measure) {
    auto x = ParseRecipe(recipe(v, measure), "a.yaml");
    return x.ok() ? std::string("ok") : x.status().message();
  };
  CHECK(err("2025.02-8", R"({hosts: ["10.1"], acpi: {"10.2": cap}})") ==
        "a.yaml:11:35: error: measure.acpi: '10.2' is not one of measure.hosts");
  CHECK(err("2025.02-8", R"({hosts: ["10.1"], acpi: {"10.1": kernel}})") ==
        "a.yaml:11:43: error: measure.acpi.10.1: 'kernel' is not a file or input source of this "
        "recipe (hint: sources: {kernel: {file: acpi/10.1.json}})");
  CHECK(err("2025.02-8", R"({hosts: [canonical-8.2], acpi: {canonical-8.2: cap}})") ==
        "a.yaml:11:42: error: measure.acpi: RTMR0 cannot be computed for canonical-8.2: its "
        "QEMU's TD HOB is not known (upstream QEMU >= 10.1 only)");
  CHECK(err("2022.11-6", R"({hosts: ["10.1"], acpi: {"10.1": cap}})") ==
        "a.yaml:11:35: error: measure.acpi: RTMR0 cannot be computed with OVMF stable202211 (older "
        "than edk2-stable202411, whose RTMR0 order no real log shows)");
  CHECK(err("2025.02-8", R"({hosts: ["10.1"], acpi: [cap]})") ==
        "a.yaml:11:34: error: measure.acpi must map hosts to the sources of their ACPI captures "
        "(hint: acpi: {\"10.1\": acpi-qemu-10-1})");
  CHECK(err("2025.02-8", R"({acpi: {"10.1": cap}})") ==
        "a.yaml:11:17: error: measure.acpi is only used with measure.hosts");
}

TEST_CASE("every recipe in recipes/ parses (ubuntu's too, which cannot be built here)") {
  int n = 0;
  for (const auto& base : std::filesystem::directory_iterator(TDX_RECIPES_DIR)) {
    if (!base.is_directory()) continue;
    for (const auto& f : std::filesystem::directory_iterator(base.path())) {
      if (f.path().extension() != ".yaml") continue;
      auto r = tdximage::LoadRecipe(f.path().string());
      CHECK_MESSAGE(r.ok(), r.status().message());
      ++n;
    }
  }
  CHECK(n >= 12);  // tdx-hello, zipnet-client, zipnet-server for debian, debian13, alpine, ubuntu
}

TEST_CASE("YAML syntax errors and non-map documents") {
  auto r = ParseRecipe("name: [unclosed\n", "y.yaml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().rfind("y.yaml:", 0) == 0);
  CHECK(r.status().message().find("invalid YAML") != std::string::npos);
  CHECK(ParseRecipe("- a\n- b\n", "l.yaml").status().message() ==
        "l.yaml:1:1: error: a recipe is a YAML map (hint: start with 'name:', 'base:' and "
        "'sources:')");
  // A recipe that says one thing to us and another to other YAML readers is refused.
  CHECK(ParseRecipe("name: a\nname: b\n", "d.yaml").status().message() ==
        "d.yaml:2:1: error: duplicate key 'name' (first at line 1); readers disagree on which one "
        "counts (hint: keep one)");
}

TEST_CASE("lock round trip and staleness naming the source") {
  auto r = ParseRecipe(kGood, "dir/demo.yaml");
  REQUIRE(r.ok());
  CHECK(tdximage::LockPathFor("dir/demo.yaml") == "dir/demo.lock");
  tdximage::Lock l;
  l.recipe = "demo";
  for (const auto& s : r->sources)
    l.sources[s.name] = {s.Identity(), std::string(64, 'a'), 10, "f", ""};
  auto back = tdximage::ParseLock(tdximage::SerializeLock(l), "demo.lock");
  REQUIRE(back.ok());
  CHECK(back->sources.at("kernel").identity == "apt linux-image-x 1.0");
  CHECK(tdximage::CheckLockFresh(*r, *back).ok());
  back->sources["kernel"].identity = "apt linux-image-x 0.9";
  back->sources.erase("hello");
  back->sources["gone"] = {"file gone", std::string(64, 'b'), 1, "", ""};
  CHECK(tdximage::CheckLockFresh(*r, *back).message() ==
        "source 'kernel' changed: the lock pins 'apt linux-image-x 0.9', the recipe says 'apt "
        "linux-image-x 1.0'\n"
        "source 'hello' is not in the lock\n"
        "the lock pins source 'gone' which the recipe no longer has\n"
        "(hint: run 'tdximage lock dir/demo.yaml' to re-pin)");
  CHECK(tdximage::ParseLock("{", "x.lock")
            .status()
            .message()
            .rfind("x.lock: invalid JSON: parse error at line 1, column 2", 0) == 0);
  CHECK(tdximage::ParseLock(R"({"lock_version": 1, "recipe": "x", "sources": {}, "recipe": "y"})",
                            "x.lock")
            .status()
            .message() ==
        "x.lock: duplicate key 'recipe' at /recipe (readers disagree on which one counts; keep "
        "one)");
  CHECK(tdximage::ParseLock(R"({"lock_version": 2, "recipe": "x", "sources": {}})", "x.lock")
            .status()
            .message() == "x.lock: lock_version must be 1");
}
