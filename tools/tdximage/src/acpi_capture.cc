// tdximage capture-acpi (see include/tdximage/acpi_capture.h).
#include "tdximage/acpi_capture.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <optional>

#include "tdxrt/file.h"
#include "tdxrt/hex.h"
#include "tdxrt/sha.h"
#include "tdxrt/text.h"

namespace tdximage {

using tdxrt::Result;
using tdxrt::Status;

namespace {

// Prints each fw_cfg file OVMF may measure for ACPI: the loader and what it can allocate.
constexpr const char* kCaptureScript = R"sh(#!/bin/sh
# tdximage capture-acpi: print the ACPI files QEMU serves through fw_cfg (base64, with size and
# SHA-256) for the host to record; /init powers off after.
d=/sys/firmware/qemu_fw_cfg/by_name
if [ ! -d "$d" ]; then
  echo "TDXIMAGE-ACPI-ERROR no /sys/firmware/qemu_fw_cfg (kernel module qemu_fw_cfg)"
  exit 1
fi
cd "$d" || exit 1
n=0
for f in etc/table-loader etc/acpi/* etc/tpm/* etc/hardware_errors etc/vmgenid_guid; do
  [ -f "$f/raw" ] || continue
  size=$(cat "$f/size")
  sum=$(sha256sum "$f/raw")
  echo "TDXIMAGE-ACPI-BLOB $f $size ${sum%% *}"
  base64 "$f/raw"
  echo "TDXIMAGE-ACPI-END $f"
  n=$((n + 1))
done
echo "TDXIMAGE-ACPI-DONE $n"
)sh";

std::vector<std::string_view> Words(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

std::optional<std::uint64_t> ParseUint(std::string_view s) {
  std::uint64_t v = 0;
  const auto [end, err] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || err != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// The marker's position in a console line (a kernel message may precede it on the same line).
std::optional<std::string_view> AfterMarker(std::string_view line, std::string_view marker) {
  const std::size_t at = line.find(marker);
  if (at == std::string_view::npos) return std::nullopt;
  return line.substr(at + marker.size());
}

}  // namespace

Result<Recipe> CaptureRecipe(const Recipe& recipe) {
  Recipe r = recipe;
  r.name = recipe.name + "-acpi-capture";
  // Files from the recipe's fetched sources and literal content: not those of inputs (what
  // another build supplies, e.g. a committee's client policy) nor of a build section.
  r.files.clear();
  for (const auto& f : recipe.files) {
    const SourceSpec* src = f.from ? recipe.FindSource(f.from->source) : nullptr;
    if (f.content || (src != nullptr && src->kind != SourceSpec::Kind::kInput)) {
      r.files.push_back(f);
    }
  }
  r.binaries.clear();
  r.build.reset();
  if (!r.modules_source) {
    return Status::InvalidArgument(recipe.file +
                                   ": capture-acpi needs the recipe's kernel modules (modules: "
                                   "source) for qemu_fw_cfg");
  }
  if (std::find(r.modules.begin(), r.modules.end(), "qemu_fw_cfg") == r.modules.end()) {
    r.modules.push_back("qemu_fw_cfg");
  }
  // Only the sources the capture image reads are fetched.
  auto used = [&](const std::string& name) {
    if (name == r.kernel.source || name == r.ovmf.source || r.modules_source == name) return true;
    for (const auto& rf : r.rootfs) {
      if (rf.from.source == name) return true;
    }
    return std::any_of(r.files.begin(), r.files.end(),
                       [&](const FileSpec& f) { return f.from && f.from->source == name; });
  };
  std::erase_if(r.sources, [&](const SourceSpec& s) { return !used(s.name); });
  FileSpec program;
  program.content = kCaptureScript;
  program.to = std::string(kCaptureProgram);
  program.mode = 0755;
  r.files.push_back(std::move(program));
  r.payload_command = std::string(kCaptureProgram);
  r.payload_args.clear();
  r.payload_env.clear();
  r.payload_host_env.clear();
  r.payload_host_env_marks.clear();
  // The command line does not enter the ACPI tables; quiet keeps kernel messages off the lines.
  r.cmdline = "console=ttyS0 quiet";
  return r;
}

Result<std::vector<std::string>> CaptureQemuArgs(const CaptureShape& s, const std::string& kernel,
                                                 const std::string& initrd,
                                                 const std::string& firmware) {
  if (s.cpus < 1) return Status::InvalidArgument("--cpus must be at least 1");
  std::vector<std::string> a = {"-nographic", "-no-reboot",
                                "-m",         s.memory,
                                "-smp",       std::to_string(s.cpus),
                                "-bios",      firmware,
                                "-kernel",    kernel,
                                "-initrd",    initrd,
                                "-append",    "console=ttyS0 quiet",
                                "-netdev",    "user,id=n0",
                                "-device",    "virtio-net-pci,netdev=n0"};
  if (s.accel == "tdx") {
    if (s.tdx_flavor == "upstream") {
      a.insert(a.end(), {"-accel", "kvm", "-cpu", "host", "-machine",
                         "q35,confidential-guest-support=tdx0,kernel-irqchip=split,hpet=off",
                         "-object", R"({"qom-type":"tdx-guest","id":"tdx0"})"});
    } else if (s.tdx_flavor == "canonical-8.2") {
      a.insert(a.end(), {"-accel", "kvm", "-cpu", "host", "-machine",
                         "q35,kernel_irqchip=split,confidential-guest-support=tdx0,hpet=off",
                         "-object", "tdx-guest,id=tdx0"});
    } else {
      return Status::InvalidArgument("--tdx-flavor " + s.tdx_flavor +
                                     ": use upstream or canonical-8.2");
    }
  } else if (s.accel == "kvm") {
    a.insert(a.end(), {"-accel", "kvm", "-cpu", "host", "-machine",
                       "q35,kernel-irqchip=split,hpet=off,smm=off,pic=off"});
  } else if (s.accel == "tcg") {
    a.insert(a.end(), {"-accel", "tcg", "-machine", "q35,hpet=off,smm=off,pic=off"});
  } else {
    return Status::InvalidArgument("--accel " + s.accel + ": use tdx, kvm or tcg");
  }
  a.insert(a.end(), s.extra_args.begin(), s.extra_args.end());
  return a;
}

namespace {

// The last lines of a console, escaped, for an error message.
std::string ConsoleTail(const std::string& console, std::size_t lines) {
  std::vector<std::string> tail;
  std::size_t end = console.size();
  while (end > 0 && tail.size() < lines) {
    std::size_t start = console.rfind('\n', end - 1);
    start = start == std::string::npos ? 0 : start + 1;
    std::string line = console.substr(start, end - start);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
    if (!line.empty()) tail.insert(tail.begin(), tdxrt::EscapeText(line));
    end = start == 0 ? 0 : start - 1;
  }
  std::string s;
  for (const auto& l : tail) s += "\n  | " + l;
  return s;
}

}  // namespace

Result<mrtd::AcpiCapture> RunCaptureBoot(tdxrt::ByteSpan kernel, tdxrt::ByteSpan initrd,
                                         tdxrt::ByteSpan firmware, const CaptureShape& s,
                                         int timeout_seconds, CommandRunner& runner,
                                         const std::function<void(const std::string&)>& log) {
  TDX_ASSIGN_OR_RETURN(std::filesystem::path tmp, tdxrt::MakeTempDir("tdximage-capture-"));
  struct Cleanup {
    std::filesystem::path dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{tmp};
  const std::string kernel_path = (tmp / "vmlinuz").string(),
                    initrd_path = (tmp / "initrd").string(),
                    firmware_path = (tmp / "ovmf.fd").string();
  for (const auto& [path, bytes] : {std::pair<std::string, tdxrt::ByteSpan>{kernel_path, kernel},
                                    {initrd_path, initrd},
                                    {firmware_path, firmware}}) {
    TDX_TRY(tdxrt::WriteFileAtomic(path, bytes));
  }
  TDX_ASSIGN_OR_RETURN(std::vector<std::string> args,
                       CaptureQemuArgs(s, kernel_path, initrd_path, firmware_path));
  std::string version;
  auto vrc = runner.Run({s.qemu, "--version"}, tmp.string(), &version);
  if (!vrc.ok() || *vrc != 0) {
    return Status::IoError(
        "cannot run " + s.qemu + " --version" +
        (vrc.ok() ? ": exit " + std::to_string(*vrc) : ": " + vrc.status().message()));
  }
  version = version.substr(0, version.find('\n'));
  if (log) {
    log("capturing the ACPI tables of " + tdxrt::EscapeText(version) + " (" + s.accel +
        ", memory " + s.memory + ", " + std::to_string(s.cpus) + " vCPUs)");
  }
  std::vector<std::string> argv = {"timeout", "--kill-after=10", std::to_string(timeout_seconds),
                                   s.qemu};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string console;
  TDX_ASSIGN_OR_RETURN(int rc, runner.Run(argv, tmp.string(), &console));
  auto blobs = ParseCaptureConsole(console);
  if (!blobs.ok()) {
    return Status::InvalidArgument(
        s.qemu + " (exit " + std::to_string(rc) +
        (rc == 124 ? ", timed out after " + std::to_string(timeout_seconds) + " s"
                   : std::string()) +
        "): " + blobs.status().message() + "; the console ended with:" + ConsoleTail(console, 12));
  }
  mrtd::AcpiCapture cap;
  cap.qemu = version;
  cap.memory = s.memory;
  cap.cpus = static_cast<unsigned>(s.cpus);
  cap.accel = s.accel;
  for (const auto& a : args) {  // the temporary files by their role, not their path
    cap.qemu_args.push_back(a == kernel_path     ? "<kernel>"
                            : a == initrd_path   ? "<capture initramfs>"
                            : a == firmware_path ? "<image ovmf>"
                                                 : a);
  }
  cap.blobs = std::move(blobs).value();
  return cap;
}

Result<std::vector<mrtd::AcpiBlob>> ParseCaptureConsole(std::string_view console) {
  std::vector<mrtd::AcpiBlob> blobs;
  std::size_t pos = 0, line_no = 0;
  struct Open {
    std::string name;
    std::uint64_t size = 0;
    std::string sha256;
    std::string b64;
    std::size_t line = 0;
  };
  std::optional<Open> open;
  std::optional<std::uint64_t> done;
  auto at = [&](std::size_t n) { return "console line " + std::to_string(n) + ": "; };
  while (pos < console.size() && !done) {
    std::size_t end = console.find('\n', pos);
    if (end == std::string_view::npos) end = console.size();
    std::string_view line = console.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (auto rest = AfterMarker(line, kErrorMarker)) {
      return Status::InvalidArgument(at(line_no) + "the guest reports:" + tdxrt::EscapeText(*rest));
    }
    if (open) {
      if (auto rest = AfterMarker(line, kEndMarker)) {
        const auto w = Words(*rest);
        if (w.size() != 1 || w[0] != open->name) {
          return Status::InvalidArgument(at(line_no) + "end of another blob than " + open->name);
        }
        auto data = tdxrt::FromBase64(open->b64);
        if (!data.ok()) {
          return Status::InvalidArgument(at(open->line) + open->name + ": not base64 (" +
                                         data.status().message() + ")");
        }
        if (data->size() != open->size) {
          return Status::InvalidArgument(at(open->line) + open->name + ": " +
                                         std::to_string(data->size()) + " bytes, not the " +
                                         std::to_string(open->size) + " announced");
        }
        if (tdxrt::ToHex(tdxrt::Sha256(*data)) != open->sha256) {
          return Status::InvalidArgument(at(open->line) + open->name +
                                         ": its bytes do not have the announced SHA-256 (a "
                                         "console line was garbled)");
        }
        blobs.push_back({open->name, std::move(data).value()});
        open.reset();
        continue;
      }
      if (open->b64.size() + line.size() > mrtd::kMaxAcpiBlobSize / 3 * 4 + 4) {
        return Status::InvalidArgument(at(line_no) + open->name + ": larger than 16 MiB");
      }
      open->b64.append(line);
      continue;
    }
    if (auto rest = AfterMarker(line, kBlobMarker)) {
      const auto w = Words(*rest);
      if (w.size() != 3) {
        return Status::InvalidArgument(at(line_no) + "a blob header needs name, size, sha256");
      }
      Open o;
      o.name = std::string(w[0]);
      o.line = line_no;
      if (o.name.size() >= mrtd::kLoaderFileNameSize ||
          !std::all_of(o.name.begin(), o.name.end(), [](char c) { return c > 0x20 && c < 0x7f; })) {
        return Status::InvalidArgument(at(line_no) +
                                       "a blob name is longer than 55 bytes or not "
                                       "printable ASCII");
      }
      auto size = ParseUint(w[1]);
      if (!size || *size > mrtd::kMaxAcpiBlobSize) {
        return Status::InvalidArgument(at(line_no) + o.name + ": size '" + tdxrt::EscapeText(w[1]) +
                                       "' is not a size up to 16 MiB");
      }
      o.size = *size;
      o.sha256 = std::string(w[2]);
      if (o.sha256.size() != 64 || !tdxrt::FromHex(o.sha256).ok()) {
        return Status::InvalidArgument(at(line_no) + o.name + ": not a SHA-256 in hex");
      }
      if (std::any_of(blobs.begin(), blobs.end(), [&](auto& b) { return b.name == o.name; })) {
        return Status::InvalidArgument(at(line_no) + o.name + " printed twice");
      }
      open = std::move(o);
      continue;
    }
    if (auto rest = AfterMarker(line, kDoneMarker)) {
      const auto w = Words(*rest);
      auto n = w.size() == 1 ? ParseUint(w[0]) : std::nullopt;
      if (!n || *n != blobs.size()) {
        return Status::InvalidArgument(at(line_no) +
                                       "the guest counted another number of blobs "
                                       "than were printed");
      }
      done = *n;
    }
  }
  if (open) {
    return Status::InvalidArgument("the console ends inside " + open->name +
                                   " (the guest stopped or timed out)");
  }
  if (!done) {
    return Status::InvalidArgument("the console has no " + std::string(kDoneMarker) +
                                   " line: the capture program did not finish (the guest did not "
                                   "boot, or timed out)");
  }
  return blobs;
}

}  // namespace tdximage
