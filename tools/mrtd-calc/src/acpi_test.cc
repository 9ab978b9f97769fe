// ACPI captures: the table-loader's allocations (and every corruption named by command and
// offset), the capture file (round trip, corruptions named by field), the "ACPI DATA" events
// against the real log's, and RTMR0's value once the TD HOB and the ACPI tables are known.
#include "mrtd/acpi.h"

#include <doctest/doctest.h>

#include <cstring>

#include "mrtd/diagnose.h"
#include "mrtd/eventlog.h"
#include "mrtd/rtmr0.h"
#include "tdxrt/hex.h"
#include "tdxrt/json.h"
#include "tdxrt/sha.h"
#include "test_builders.h"

using mrtd::testing::BuildFirmware;
using mrtd::testing::FwLayout;
using mrtd::testing::FwSection;
using mrtd::testing::Pattern;
using tdxrt::Bytes;

namespace {

struct Cmd {
  std::uint32_t command;
  std::string file;
  std::uint32_t align = 64;
};

// A loader of 128-byte commands as QEMU's bios-linker-loader writes them.
Bytes Loader(const std::vector<Cmd>& cmds) {
  Bytes b;
  for (const auto& c : cmds) {
    Bytes e(mrtd::kLoaderCommandSize, 0);
    for (int i = 0; i < 4; ++i)
      e[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(c.command >> (8 * i));
    std::memcpy(e.data() + 4, c.file.data(), std::min<std::size_t>(c.file.size(), 56));
    for (int i = 0; i < 4; ++i) {
      e[60 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(c.align >> (8 * i));
    }
    e[64] = 1;
    b.insert(b.end(), e.begin(), e.end());
  }
  return b;
}

mrtd::AcpiCapture Capture() {
  mrtd::AcpiCapture c;
  c.qemu = "QEMU emulator version 10.1.0";
  c.memory = "1G";
  c.cpus = 2;
  c.accel = "tdx";
  c.qemu_args = {"-machine", "q35"};
  c.blobs.push_back({"etc/table-loader", Loader({{1, "etc/acpi/tables"},
                                                 {3, "etc/acpi/tables"},
                                                 {2, "etc/acpi/rsdp"},
                                                 {1, "etc/acpi/rsdp", 16}})});
  c.blobs.push_back({"etc/acpi/rsdp", Pattern(36, 3)});
  c.blobs.push_back({"etc/acpi/tables", Pattern(0x20000, 4)});
  return c;
}

std::string LoaderError(const Bytes& loader) {
  auto r = mrtd::TableLoaderAllocations(loader);
  return r.ok() ? "ok" : r.status().message();
}

std::string CaptureError(const nlohmann::ordered_json& j) {
  auto r = mrtd::ParseAcpiCapture(tdxrt::DumpJson(j), "cap.json");
  return r.ok() ? "ok" : r.status().message();
}

Bytes Firmware() {
  std::vector<FwSection> secs = {
      {mrtd::TdvfSectionType::kBfv, 0xffff0000, 0x3000, mrtd::kAttrMrExtend, Pattern(0x3000, 1)},
      {mrtd::TdvfSectionType::kCfv, 0xfffe0000, 0x2000, 0, Pattern(0x2000, 2)},
      {mrtd::TdvfSectionType::kTempMem, 0x800000, 0x6000, 0, {}},
      {mrtd::TdvfSectionType::kTdHob, 0x809000, 0x2000, 0, {}},
  };
  return BuildFirmware(secs, FwLayout::kGuidTable).image;
}

}  // namespace

TEST_CASE("acpi: the loader's allocations in command order") {
  auto files = mrtd::TableLoaderAllocations(Capture().blobs[0].data);
  REQUIRE(files.ok());
  CHECK(*files == std::vector<std::string>{"etc/acpi/tables", "etc/acpi/rsdp"});
}

TEST_CASE("acpi: every loader corruption named by its command and offset") {
  CHECK(LoaderError({}) == "etc/table-loader: empty");
  CHECK(LoaderError(Bytes(130, 0)) ==
        "etc/table-loader: 130 bytes, not a whole number of 128-byte loader commands");
  CHECK(LoaderError(Loader({{3, "etc/acpi/tables"}})) == "etc/table-loader: allocates no file");
  CHECK(LoaderError(Loader({{1, std::string(56, 'a')}})) ==
        "etc/table-loader: command 1 (offset 0x0): ALLOCATE file name is not NUL-terminated "
        "within 56 bytes");
  CHECK(LoaderError(Loader({{1, "etc/a"}, {1, ""}})) ==
        "etc/table-loader: command 2 (offset 0x80): ALLOCATE file name is empty or not "
        "printable ASCII");
  CHECK(LoaderError(Loader({{1, "etc/\x1b[2J"}})) ==
        "etc/table-loader: command 1 (offset 0x0): ALLOCATE file name is empty or not printable "
        "ASCII");
  CHECK(LoaderError(Loader({{1, "etc/acpi/tables", 0x2000}})) ==
        "etc/table-loader: command 1 (offset 0x0): ALLOCATE 'etc/acpi/tables': alignment 0x2000 "
        "exceeds a page (OVMF refuses it)");
  CHECK(LoaderError(Loader({{1, "etc/x"}, {2, "etc/x"}, {1, "etc/x"}})) ==
        "etc/table-loader: command 3 (offset 0x100): ALLOCATE 'etc/x' is allocated twice (OVMF "
        "refuses the loader)");
}

TEST_CASE("acpi: the events, and their data as the real log has it") {
  const mrtd::AcpiCapture c = Capture();
  auto events = mrtd::AcpiEvents(c);
  REQUIRE(events.ok());
  REQUIRE(events->size() == 3);
  CHECK((*events)[0].digest == tdxrt::Sha384(c.blobs[0].data));  // the loader first
  CHECK((*events)[1].digest == tdxrt::Sha384(c.blobs[2].data));  // then tables, as allocated
  CHECK((*events)[2].digest == tdxrt::Sha384(c.blobs[1].data));
  for (const auto& e : *events) {
    CHECK(e.rtmr == 0);
    CHECK(e.type == mrtd::kEvPlatformConfigFlags);
  }
  CHECK((*events)[1].what ==
        "\"ACPI DATA\": etc/acpi/tables (131072 bytes, captured from QEMU emulator version "
        "10.1.0)");
  mrtd::AcpiCapture missing = c;
  missing.blobs.pop_back();
  auto m = mrtd::AcpiEvents(missing);
  REQUIRE_FALSE(m.ok());
  CHECK(m.status().message() ==
        "etc/table-loader allocates 'etc/acpi/tables', which the capture does not hold");
  // The real log's three ACPI events carry the same data.
  const auto bytes = mrtd::testing::SharedFile("vectors/dstack/ccel.bin");
  if (!bytes) return;
  auto log = mrtd::ParseCcEventLog(*bytes);
  REQUIRE(log.ok());
  int n = 0;
  for (const auto& e : log->events) {
    if (e.type != mrtd::kEvPlatformConfigFlags) continue;
    CHECK(e.mr_index == 1);
    CHECK(tdxrt::ToHex(e.data) == tdxrt::ToHex(*(*events)[0].data));
    ++n;
  }
  CHECK(n == 3);
}

TEST_CASE("acpi capture file: round trip, and every corruption named by its field") {
  const nlohmann::ordered_json good = mrtd::AcpiCaptureJson(Capture());
  auto back = mrtd::ParseAcpiCapture(tdxrt::DumpJson(good), "cap.json");
  REQUIRE_MESSAGE(back.ok(), back.status().message());
  CHECK(back->qemu == "QEMU emulator version 10.1.0");
  CHECK(back->cpus == 2);
  CHECK(back->blobs.size() == 3);
  CHECK(back->blobs[2].data == Capture().blobs[2].data);

  auto with = [&](auto edit) {
    nlohmann::ordered_json j = good;
    edit(j);
    return CaptureError(j);
  };
  CHECK(with([](auto& j) { j["acpi_capture_version"] = 2; }) ==
        "cap.json: acpi_capture_version: not 1 (a capture of another tdximage version?)");
  CHECK(with([](auto& j) { j.erase("shape"); }) == "cap.json: shape: missing");
  CHECK(with([](auto& j) { j["shape"]["accel"] = "xen"; }) ==
        "cap.json: shape.accel: 'xen' is not tcg, kvm or tdx");
  CHECK(with([](auto& j) { j["shape"]["cpus"] = 0; }) ==
        "cap.json: shape.cpus: not a number of vCPUs (1..4096)");
  CHECK(with([](auto& j) { j["blobs"][1]["sha384"] = std::string(96, '0'); }) ==
        "cap.json: blobs[1].sha384: not the SHA-384 of the blob's bytes");
  CHECK(with([](auto& j) { j["blobs"][1]["size"] = 35; }) ==
        "cap.json: blobs[1].base64: 36 bytes, not the 35 of size");
  CHECK(with([](auto& j) {
          j["blobs"][1]["base64"] = "!!";
        }).starts_with("cap.json: blobs[1].base64: not base64"));
  CHECK(with([](auto& j) { j["blobs"][2]["name"] = "etc/acpi/rsdp"; }) ==
        "cap.json: blobs[2].name: 'etc/acpi/rsdp' given twice");
  CHECK(with([](auto& j) { j["blobs"].erase(2); }) ==
        "cap.json: blobs: etc/table-loader allocates 'etc/acpi/tables', which the capture does "
        "not hold");
  CHECK(with([](auto& j) { j["blobs"].erase(0); }) ==
        "cap.json: blobs: the capture has no etc/table-loader");
  CHECK(CaptureError(nlohmann::ordered_json::array()) == "cap.json: (top level): is not an object");
}

TEST_CASE("rtmr0: known once the TD HOB and the ACPI tables are, diagnose compares the value") {
  const Bytes fw = Firmware();
  auto md = mrtd::ParseTdvf(fw);
  REQUIRE(md.ok());
  const mrtd::AcpiCapture acpi = Capture();
  mrtd::Rtmr0Host host;
  host.td_hob_memory = "1G";
  host.acpi = &acpi;
  auto events = mrtd::PredictRtmr0Events(fw, *md, host);
  REQUIRE_MESSAGE(events.ok(), events.status().message());
  CHECK(events->size() == 13);
  CHECK(mrtd::AllPredicted(*events, 0));
  // The TD HOB's alternatives: the other common memory sizes.
  CHECK((*events)[0].alternatives.size() == 5);
  // Without the capture the ACPI events stay the host's; without the memory, the TD HOB.
  auto no_acpi = mrtd::PredictRtmr0Events(fw, *md, {"1G", nullptr});
  REQUIRE(no_acpi.ok());
  CHECK_FALSE(mrtd::AllPredicted(*no_acpi, 0));
  CHECK((*no_acpi)[0].digest == (*events)[0].digest);

  // An expected log for a QEMU 10.1 host with the capture: rtmr0 known, written and read back.
  mrtd::BootInputs in;
  in.image = "demo";
  in.firmware = fw;
  const Bytes kernel = mrtd::testing::BuildPe(mrtd::testing::MinimalBzImage(0x2000)).image;
  in.kernel = kernel;
  in.cmdline = "console=ttyS0";
  in.memory = "1G";
  mrtd::VariantSpec spec{"10.1",
                         {},
                         mrtd::PageOrder::kSinglePass,
                         mrtd::KernelHeaderMode::kUnmodified,
                         mrtd::OvmfEventLayout::kStable202411};
  spec.td_hob = true;
  spec.acpi = &acpi;
  auto log = mrtd::PredictEventLog(in, {spec});
  REQUIRE_MESSAGE(log.ok(), log.status().message());
  REQUIRE(log->variants[0].rtmr0.has_value());
  CHECK(*log->variants[0].rtmr0 == mrtd::ReplayExpected(*events, 0));
  const std::string text = tdxrt::DumpJson(mrtd::ExpectedLogJson(*log));
  auto back = mrtd::ParseExpectedLog(text, "e.json");
  REQUIRE_MESSAGE(back.ok(), back.status().message());
  CHECK(back->variants[0].rtmr0 == log->variants[0].rtmr0);
  nlohmann::ordered_json j = mrtd::ExpectedLogJson(*log);
  j["hosts"][0]["rtmr0"] = std::string(96, 'a');
  auto bad = mrtd::ParseExpectedLog(tdxrt::DumpJson(j), "e.json");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().starts_with("e.json: hosts[0].rtmr0: its events replay to "));

  // Values only (a quote): the image's RTMR0 matches; the TD HOB of 2G is named by replay.
  mrtd::ActualBoot a;
  a.source = "test";
  a.rtmr[0] = log->variants[0].rtmr0;
  a.rtmr[1] = log->variants[0].rtmr1;
  auto d = mrtd::Diagnose(*log, a);
  CHECK(d.variants[0].registers[1].state == mrtd::RegisterResult::State::kMatch);
  CHECK(d.variants[0].findings.empty());

  auto hob2g = mrtd::PredictRtmr0Events(fw, *md, {"2G", &acpi});
  REQUIRE(hob2g.ok());
  a.rtmr[0] = mrtd::ReplayExpected(*hob2g, 0);
  d = mrtd::Diagnose(*log, a);
  CHECK(d.variants[0].registers[1].state == mrtd::RegisterResult::State::kDiffers);
  REQUIRE(d.variants[0].findings.size() == 1);
  CHECK(d.variants[0].findings[0].cause ==
        "the memory size: the TD HOB is QEMU's for MEMORY=2G, not the 1G the image was measured "
        "for");
  // Another ACPI table: named as such.
  mrtd::AcpiCapture other = acpi;
  other.blobs[2].data[100] ^= 1;
  auto other_events = mrtd::PredictRtmr0Events(fw, *md, {"1G", &other});
  REQUIRE(other_events.ok());
  a.rtmr[0] = mrtd::ReplayExpected(*other_events, 0);
  d = mrtd::Diagnose(*log, a);
  REQUIRE(d.variants[0].findings.size() == 1);
  CHECK(d.variants[0].findings[0].cause.starts_with(
      "RTMR0 is not the image's for this host with the TD HOB of any memory size tried: the "
      "ACPI tables differ"));
}

TEST_CASE("acpi: the QEMU version a capture names") {
  using V = std::optional<std::pair<int, int>>;
  CHECK(mrtd::QemuVersionOf("QEMU emulator version 10.1.0") == V{{10, 1}});
  CHECK(mrtd::QemuVersionOf("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)") ==
        V{{7, 2}});
  CHECK(mrtd::QemuVersionOf("QEMU emulator version x") == std::nullopt);
  CHECK(mrtd::QemuVersionOf("") == std::nullopt);
  CHECK(mrtd::QemuVersionOf("version 10") == std::nullopt);
}
