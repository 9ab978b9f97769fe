// capture-acpi: the capture variant of a recipe, the QEMU arguments (the launcher's, so that the
// captured VM is the launched one), and the console parser with every corruption diagnosed.
#include "tdximage/acpi_capture.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "tdxrt/hex.h"
#include "tdxrt/sha.h"

using tdximage::ParseCaptureConsole;

namespace {

std::string Blob(const std::string& name, const tdxrt::Bytes& data, std::string size = "",
                 std::string sha = "") {
  if (size.empty()) size = std::to_string(data.size());
  if (sha.empty()) sha = tdxrt::ToHex(tdxrt::Sha256(data));
  std::string b64 = tdxrt::ToBase64(data), lines;
  for (std::size_t i = 0; i < b64.size(); i += 76) lines += b64.substr(i, 76) + "\r\n";
  return "TDXIMAGE-ACPI-BLOB " + name + " " + size + " " + sha + "\r\n" + lines +
         "TDXIMAGE-ACPI-END " + name + "\r\n";
}

tdxrt::Bytes Data(std::size_t n, std::uint8_t seed) {
  tdxrt::Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed + i * 7);
  return b;
}

std::string Error(const std::string& console) {
  auto r = ParseCaptureConsole(console);
  return r.ok() ? "ok" : r.status().message();
}

}  // namespace

TEST_CASE("capture console: blobs between kernel and /init lines, CRLF, checked") {
  const std::string console =
      "[    0.000000] Linux version 6.12\r\n"
      "tdx-init: running /usr/bin/tdximage-capture-acpi\r\n" +
      Blob("etc/table-loader", Data(4096, 1)) + Blob("etc/acpi/tables", Data(1000, 2)) +
      "[    1.0] a kernel line between blobs\r\n" + Blob("etc/tpm/log", {}) +
      "TDXIMAGE-ACPI-DONE 3\r\n" + "tdx-init: payload exited with status 0; powering off\r\n";
  auto blobs = ParseCaptureConsole(console);
  REQUIRE_MESSAGE(blobs.ok(), blobs.status().message());
  REQUIRE(blobs->size() == 3);
  CHECK((*blobs)[0].name == "etc/table-loader");
  CHECK((*blobs)[0].data == Data(4096, 1));
  CHECK((*blobs)[1].data == Data(1000, 2));
  CHECK((*blobs)[2].data.empty());
}

TEST_CASE("capture console: every corruption named by its line") {
  const std::string a = Blob("etc/acpi/rsdp", Data(20, 3));
  CHECK(Error("") ==
        "the console has no TDXIMAGE-ACPI-DONE line: the capture program did not finish (the "
        "guest did not boot, or timed out)");
  CHECK(Error("TDXIMAGE-ACPI-ERROR no /sys/firmware/qemu_fw_cfg\n") ==
        "console line 1: the guest reports: no /sys/firmware/qemu_fw_cfg");
  CHECK(Error("TDXIMAGE-ACPI-BLOB etc/acpi/rsdp 20\n") ==
        "console line 1: a blob header needs name, size, sha256");
  CHECK(Error(Blob("etc/acpi/rsdp", Data(20, 3), "21")) ==
        "console line 1: etc/acpi/rsdp: 20 bytes, not the 21 announced");
  CHECK(Error(Blob("etc/acpi/rsdp", Data(20, 3), "", std::string(64, '0'))) ==
        "console line 1: etc/acpi/rsdp: its bytes do not have the announced SHA-256 (a console "
        "line was garbled)");
  CHECK(Error(Blob("etc/acpi/rsdp", Data(20, 3), "x20")) ==
        "console line 1: etc/acpi/rsdp: size 'x20' is not a size up to 16 MiB");
  CHECK(Error(Blob("etc/acpi/rsdp", Data(20, 3), "", "abc")) ==
        "console line 1: etc/acpi/rsdp: not a SHA-256 in hex");
  CHECK(Error("TDXIMAGE-ACPI-BLOB etc/\x1b[2J 1 " + std::string(64, '0') + "\n") ==
        "console line 1: a blob name is longer than 55 bytes or not printable ASCII");
  CHECK(Error(a + a + "TDXIMAGE-ACPI-DONE 2\n") == "console line 4: etc/acpi/rsdp printed twice");
  CHECK(Error(a + "TDXIMAGE-ACPI-DONE 2\n") ==
        "console line 4: the guest counted another number of blobs than were printed");
  CHECK(Error(a.substr(0, a.find("TDXIMAGE-ACPI-END"))) ==
        "the console ends inside etc/acpi/rsdp (the guest stopped or timed out)");
  CHECK(Error("TDXIMAGE-ACPI-BLOB etc/a 3 " + tdxrt::ToHex(tdxrt::Sha256(Data(3, 1))) +
              "\n!!!!\nTDXIMAGE-ACPI-END etc/a\n")
            .starts_with("console line 1: etc/a: not base64"));
  CHECK(Error("TDXIMAGE-ACPI-BLOB etc/a 3 " + tdxrt::ToHex(tdxrt::Sha256(Data(3, 1))) +
              "\nTDXIMAGE-ACPI-END etc/b\n") == "console line 2: end of another blob than etc/a");
}

TEST_CASE("capture recipe: the image's kernel, firmware and sources, qemu_fw_cfg, the program") {
  tdximage::Recipe r;
  r.file = "x.yaml";
  r.name = "demo";
  r.modules_source = "kernel";
  r.kernel = {"kernel", "boot/vmlinuz-*", 1};
  r.ovmf = {"ovmf", "OVMF.fd", 1};
  for (const char* n : {"kernel", "ovmf", "busybox", "policy", "unused"}) {
    tdximage::SourceSpec s;
    s.name = n;
    s.kind = std::string(n) == "policy" ? tdximage::SourceSpec::Kind::kInput
                                        : tdximage::SourceSpec::Kind::kApt;
    r.sources.push_back(s);
  }
  r.modules = {"virtio_net"};
  tdximage::FileSpec from_source, host, content, from_input;
  from_input.from = tdximage::SourceRef{"policy", "", 1};
  from_input.to = "/etc/policy.yaml";
  from_source.from = tdximage::SourceRef{"busybox", "bin/busybox", 1};
  from_source.to = "/bin/busybox";
  content.content = "x";
  content.to = "/etc/x";
  host.to = "/usr/bin/node";  // neither source nor content
  r.files = {from_source, host, content, from_input};
  r.build = tdximage::BuildSpec{};
  r.payload_command = "/usr/bin/node";
  r.payload_env = {{"K", "v"}};
  r.payload_host_env = {"ZIPNET_BOOTSTRAP"};
  auto c = tdximage::CaptureRecipe(r);
  REQUIRE_MESSAGE(c.ok(), c.status().message());
  CHECK(c->name == "demo-acpi-capture");
  CHECK(c->modules == std::vector<std::string>{"virtio_net", "qemu_fw_cfg"});
  REQUIRE(c->files.size() == 3);
  CHECK(c->files[0].to == "/bin/busybox");
  CHECK(c->files[1].to == "/etc/x");
  CHECK(c->files[2].to == tdximage::kCaptureProgram);
  CHECK(c->files[2].content->find("/sys/firmware/qemu_fw_cfg/by_name") != std::string::npos);
  CHECK_FALSE(c->build.has_value());
  CHECK(c->payload_command == tdximage::kCaptureProgram);
  // Only the sources it reads: not the input's nor the unused one.
  std::vector<std::string> names;
  for (const auto& src : c->sources) names.push_back(src.name);
  CHECK(names == std::vector<std::string>{"kernel", "ovmf", "busybox"});
  CHECK(c->payload_env.empty());
  CHECK(c->payload_host_env.empty());
  r.modules_source.reset();
  CHECK(tdximage::CaptureRecipe(r).status().message() ==
        "x.yaml: capture-acpi needs the recipe's kernel modules (modules: source) for qemu_fw_cfg");
}

TEST_CASE("capture QEMU arguments: the launcher's machine for each TDX flavor, no drift") {
  tdximage::CaptureShape s;
  s.memory = "2G";
  s.cpus = 4;
  s.extra_args = {"-device", "vhost-vsock-pci,guest-cid=3"};
  std::ifstream in(std::string(TDX_RECIPES_DIR) + "/../runtime/launcher/launcher.sh.in");
  std::stringstream launcher;
  launcher << in.rdbuf();
  REQUIRE_FALSE(launcher.str().empty());
  auto contains = [](const std::vector<std::string>& a, const std::string& x) {
    return std::find(a.begin(), a.end(), x) != a.end();
  };
  for (const char* flavor : {"upstream", "canonical-8.2"}) {
    s.accel = "tdx";
    s.tdx_flavor = flavor;
    auto a = tdximage::CaptureQemuArgs(s, "K", "I", "F");
    REQUIRE(a.ok());
    const auto m = std::find(a->begin(), a->end(), "-machine");
    REQUIRE(m != a->end());
    CAPTURE(*(m + 1));
    // The launcher starts the TD with the same machine and object options.
    CHECK(launcher.str().find(*(m + 1)) != std::string::npos);
    const auto o = std::find(a->begin(), a->end(), "-object");
    REQUIRE(o != a->end());
    CHECK(launcher.str().find(*(o + 1)) != std::string::npos);
    CHECK(contains(*a, "2G"));
    CHECK(contains(*a, "4"));
    CHECK(a->back() == "vhost-vsock-pci,guest-cid=3");
  }
  s.accel = "tcg";
  auto tcg = tdximage::CaptureQemuArgs(s, "K", "I", "F");
  REQUIRE(tcg.ok());
  CHECK(contains(*tcg, "q35,hpet=off,smm=off,pic=off"));
  s.accel = "xen";
  CHECK(tdximage::CaptureQemuArgs(s, "K", "I", "F").status().message() ==
        "--accel xen: use tdx, kvm or tcg");
  s.accel = "tdx";
  s.tdx_flavor = "other";
  CHECK(tdximage::CaptureQemuArgs(s, "K", "I", "F").status().message() ==
        "--tdx-flavor other: use upstream or canonical-8.2");
}
