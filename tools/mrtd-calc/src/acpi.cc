// ACPI blobs and their RTMR0 events (see include/mrtd/acpi.h).
#include "mrtd/acpi.h"

#include <algorithm>
#include <cstring>

#include "mrtd/json_reader.h"
#include "mrtd/rtmr0.h"
#include "tdxrt/hex.h"
#include "tdxrt/json.h"
#include "tdxrt/sha.h"

namespace mrtd {

using tdxrt::Bytes;
using tdxrt::Result;
using tdxrt::Status;

namespace {

constexpr std::uint32_t kCommandAllocate = 1;
constexpr std::uint32_t kMaxAlignment = 4096;  // OVMF refuses more than a page
constexpr std::size_t kMaxBlobs = 64;
// EV_POSTCODE_INFO_ACPI_DATA without its NUL, as OVMF logs it.
constexpr std::string_view kAcpiDataEvent = "ACPI DATA";

// Printable file names only: they end up in messages and JSON.
bool PrintableName(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

}  // namespace

std::optional<std::pair<int, int>> QemuVersionOf(std::string_view line) {
  constexpr std::string_view kKey = "version ";
  const std::size_t at = line.find(kKey);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view v = line.substr(at + kKey.size());
  int parts[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    std::size_t n = 0;
    while (n < v.size() && n < 4 && v[n] >= '0' && v[n] <= '9') {
      parts[i] = parts[i] * 10 + (v[n] - '0');
      ++n;
    }
    if (n == 0) return std::nullopt;
    v.remove_prefix(n);
    if (i == 0) {
      if (v.empty() || v[0] != '.') return std::nullopt;
      v.remove_prefix(1);
    }
  }
  return std::make_pair(parts[0], parts[1]);
}

bool CapturedFrom(const AcpiCapture& c, const QemuHost& host) {
  const auto v = QemuVersionOf(c.qemu);
  return v && !host.canonical_tdx && v->first == host.major && v->second == host.minor;
}

const AcpiBlob* AcpiCapture::Find(std::string_view name) const {
  for (const auto& b : blobs) {
    if (b.name == name) return &b;
  }
  return nullptr;
}

Result<std::vector<std::string>> TableLoaderAllocations(tdxrt::ByteSpan loader) {
  const std::string what(kTableLoaderFile);
  if (loader.empty()) return Status::InvalidArgument(what + ": empty");
  if (loader.size() % kLoaderCommandSize != 0) {
    return Status::InvalidArgument(what + ": " + std::to_string(loader.size()) +
                                   " bytes, not a whole number of 128-byte loader commands");
  }
  std::vector<std::string> files;
  for (std::size_t off = 0; off < loader.size(); off += kLoaderCommandSize) {
    if (*tdxrt::LoadLe<std::uint32_t>(loader, off) != kCommandAllocate) continue;
    const std::string at = what + ": command " + std::to_string(off / kLoaderCommandSize + 1) +
                           " (offset " + tdxrt::HexOffset(off) + "): ALLOCATE ";
    const auto* name = reinterpret_cast<const char*>(loader.data() + off + 4);
    const std::size_t len = strnlen(name, kLoaderFileNameSize);
    if (len == kLoaderFileNameSize) {
      return Status::InvalidArgument(at + "file name is not NUL-terminated within 56 bytes");
    }
    const std::string file(name, len);
    if (!PrintableName(file)) {
      return Status::InvalidArgument(at + "file name is empty or not printable ASCII");
    }
    const std::uint32_t align =
        *tdxrt::LoadLe<std::uint32_t>(loader, off + 4 + kLoaderFileNameSize);
    if (align > kMaxAlignment) {
      return Status::InvalidArgument(at + "'" + file + "': alignment " + tdxrt::HexOffset(align) +
                                     " exceeds a page (OVMF refuses it)");
    }
    if (std::find(files.begin(), files.end(), file) != files.end()) {
      return Status::InvalidArgument(at + "'" + file +
                                     "' is allocated twice (OVMF refuses the loader)");
    }
    files.push_back(file);
  }
  if (files.empty()) return Status::InvalidArgument(what + ": allocates no file");
  return files;
}

Result<std::vector<ExpectedEvent>> AcpiEvents(const AcpiCapture& c) {
  const AcpiBlob* loader = c.Find(kTableLoaderFile);
  if (loader == nullptr) {
    return Status::InvalidArgument("the capture has no " + std::string(kTableLoaderFile));
  }
  TDX_ASSIGN_OR_RETURN(std::vector<std::string> files, TableLoaderAllocations(loader->data));
  const std::vector<std::string> deps = {"host: QEMU version, CPUs, memory, devices"};
  const Bytes data(kAcpiDataEvent.begin(), kAcpiDataEvent.end());
  std::vector<ExpectedEvent> out;
  auto add = [&](const AcpiBlob& b) {
    ExpectedEvent e;
    e.rtmr = 0;
    e.type = kEvPlatformConfigFlags;
    e.digest = tdxrt::Sha384(b.data);
    e.what = "\"ACPI DATA\": " + b.name + " (" + std::to_string(b.data.size()) +
             " bytes, captured from " + (c.qemu.empty() ? "an unnamed QEMU" : c.qemu) + ")";
    e.depends_on = deps;
    e.data = data;
    out.push_back(std::move(e));
  };
  add(*loader);
  for (const auto& f : files) {
    const AcpiBlob* b = c.Find(f);
    if (b == nullptr) {
      return Status::InvalidArgument(std::string(kTableLoaderFile) + " allocates '" + f +
                                     "', which the capture does not hold");
    }
    add(*b);
  }
  return out;
}

nlohmann::ordered_json AcpiCaptureJson(const AcpiCapture& c) {
  nlohmann::ordered_json j;
  j["acpi_capture_version"] = kAcpiCaptureVersion;
  j["qemu"] = c.qemu;
  j["shape"] = {
      {"memory", c.memory}, {"cpus", c.cpus}, {"accel", c.accel}, {"qemu_args", c.qemu_args}};
  j["blobs"] = nlohmann::ordered_json::array();
  for (const auto& b : c.blobs) {
    j["blobs"].push_back({{"name", b.name},
                          {"size", b.data.size()},
                          {"sha384", tdxrt::ToHex(tdxrt::Sha384(b.data))},
                          {"base64", tdxrt::ToBase64(b.data)}});
  }
  return j;
}

Result<AcpiCapture> ParseAcpiCapture(std::string_view text, const std::string& what) {
  TDX_ASSIGN_OR_RETURN(nlohmann::json j, tdxrt::ParseJson(text, what));
  const JsonReader R(what);
  if (!j.is_object()) return R.Error("(top level)", "is not an object");
  TDX_ASSIGN_OR_RETURN(const nlohmann::json* version, R.Field(j, "", "acpi_capture_version"));
  if (!version->is_number_integer() || version->get<std::int64_t>() != kAcpiCaptureVersion) {
    return R.Error("acpi_capture_version", "not 1 (a capture of another tdximage version?)");
  }
  AcpiCapture c;
  TDX_ASSIGN_OR_RETURN(c.qemu, R.Str(j, "", "qemu", 256));
  TDX_ASSIGN_OR_RETURN(const nlohmann::json* shape, R.Field(j, "", "shape"));
  TDX_ASSIGN_OR_RETURN(c.memory, R.Str(*shape, "shape", "memory", 32));
  TDX_ASSIGN_OR_RETURN(c.accel, R.Str(*shape, "shape", "accel", 16));
  if (c.accel != "tcg" && c.accel != "kvm" && c.accel != "tdx") {
    return R.Error("shape.accel", "'" + c.accel + "' is not tcg, kvm or tdx");
  }
  TDX_ASSIGN_OR_RETURN(const nlohmann::json* cpus, R.Field(*shape, "shape", "cpus"));
  if (!cpus->is_number_unsigned() || cpus->get<std::uint64_t>() == 0 ||
      cpus->get<std::uint64_t>() > 4096) {
    return R.Error("shape.cpus", "not a number of vCPUs (1..4096)");
  }
  c.cpus = cpus->get<unsigned>();
  TDX_ASSIGN_OR_RETURN(const nlohmann::json* args, R.Array(*shape, "shape", "qemu_args", 256));
  for (std::size_t i = 0; i < args->size(); ++i) {
    if (!(*args)[i].is_string()) return R.Error(R.At("shape", "qemu_args", i), "is not a string");
    c.qemu_args.push_back((*args)[i].get<std::string>().substr(0, 4096));
  }
  TDX_ASSIGN_OR_RETURN(const nlohmann::json* blobs, R.Array(j, "", "blobs", kMaxBlobs));
  for (std::size_t i = 0; i < blobs->size(); ++i) {
    const nlohmann::json& x = (*blobs)[i];
    const std::string p = R.At("", "blobs", i);
    AcpiBlob b;
    TDX_ASSIGN_OR_RETURN(b.name, R.Str(x, p, "name", kLoaderFileNameSize - 1));
    if (!PrintableName(b.name)) return R.Error(p + ".name", "empty or not printable ASCII");
    if (c.Find(b.name) != nullptr) return R.Error(p + ".name", "'" + b.name + "' given twice");
    TDX_ASSIGN_OR_RETURN(const nlohmann::json* size, R.Field(x, p, "size"));
    if (!size->is_number_unsigned() || size->get<std::uint64_t>() > kMaxAcpiBlobSize) {
      return R.Error(p + ".size", "not a size up to 16 MiB");
    }
    TDX_ASSIGN_OR_RETURN(tdxrt::Sha384Digest sha, R.Digest(x, p, "sha384"));
    TDX_ASSIGN_OR_RETURN(std::string b64, R.Str(x, p, "base64", kMaxAcpiBlobSize / 3 * 4 + 4));
    auto data = tdxrt::FromBase64(b64);
    if (!data.ok()) return R.Error(p + ".base64", "not base64 (" + data.status().message() + ")");
    b.data = std::move(data).value();
    if (b.data.size() != size->get<std::uint64_t>()) {
      return R.Error(p + ".base64", std::to_string(b.data.size()) + " bytes, not the " +
                                        std::to_string(size->get<std::uint64_t>()) + " of size");
    }
    if (tdxrt::Sha384(b.data) != sha) {
      return R.Error(p + ".sha384", "not the SHA-384 of the blob's bytes");
    }
    c.blobs.push_back(std::move(b));
  }
  auto events = AcpiEvents(c);
  if (!events.ok()) return R.Error("blobs", events.status().message());
  return c;
}

}  // namespace mrtd
