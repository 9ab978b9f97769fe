// QEMU x86_load_linux setup-header model (see include/mrtd/kernel.h).
#include "mrtd/kernel.h"

#include <cctype>
#include <limits>

#include "mrtd/pe.h"
#include "tdxrt/hex.h"

namespace mrtd {

using tdxrt::ByteSpan;
using tdxrt::HexOffset;
using tdxrt::LoadLe;
using tdxrt::Result;
using tdxrt::Status;

std::string_view KernelHeaderModeName(KernelHeaderMode mode) {
  return mode == KernelHeaderMode::kQemuPatched ? "qemu-patched" : "unmodified";
}

std::optional<KernelHeaderMode> ParseKernelHeaderMode(std::string_view name) {
  if (name == "qemu-patched") return KernelHeaderMode::kQemuPatched;
  if (name == "unmodified") return KernelHeaderMode::kUnmodified;
  return std::nullopt;
}

Result<std::uint64_t> ParseMemorySize(std::string_view text) {
  std::string_view t = text;
  if (t.substr(0, 5) == "size=") t.remove_prefix(5);
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("invalid memory size '" + std::string(text) + "': " + why +
                                   " (use QEMU -m syntax: 512M, 4G, or plain MiB)");
  };
  std::size_t i = 0;
  std::uint64_t whole = 0;
  std::size_t digits = 0;
  while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) {
    if (whole > (std::numeric_limits<std::uint64_t>::max() - 9) / 10) return bad("too large");
    whole = whole * 10 + static_cast<std::uint64_t>(t[i] - '0');
    ++i;
    ++digits;
  }
  std::uint64_t frac_num = 0, frac_den = 1;
  if (i < t.size() && t[i] == '.') {
    ++i;
    while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) {
      if (frac_den < 1000000ull) {  // six fraction digits are plenty; the rest truncates
        frac_num = frac_num * 10 + static_cast<std::uint64_t>(t[i] - '0');
        frac_den *= 10;
      }
      ++i;
      ++digits;
    }
  }
  if (digits == 0) return bad("no number");
  std::uint64_t mul = 1ull << 20;  // QEMU: no suffix means MiB
  bool suffix = false;
  if (i < t.size()) {
    switch (std::toupper(static_cast<unsigned char>(t[i]))) {
      case 'B':
        mul = 1;
        break;
      case 'K':
        mul = 1ull << 10;
        break;
      case 'M':
        mul = 1ull << 20;
        break;
      case 'G':
        mul = 1ull << 30;
        break;
      case 'T':
        mul = 1ull << 40;
        break;
      case 'P':
        mul = 1ull << 50;
        break;
      case 'E':
        mul = 1ull << 60;
        break;
      default:
        return bad("unknown suffix '" + std::string(1, t[i]) + "'");
    }
    suffix = true;
    ++i;
  }
  if (i != t.size()) return bad("trailing characters");
  if (frac_den > 1 && !suffix) return bad("a fraction needs a unit suffix");
  if (frac_den > 1 && mul == 1) return bad("fractional bytes");
  if (whole > std::numeric_limits<std::uint64_t>::max() / mul) return bad("too large");
  std::uint64_t bytes = whole * mul;
  // frac_num / frac_den * mul without overflow: frac_num < frac_den <= 10^6.
  const std::uint64_t frac = (mul / frac_den) * frac_num + (mul % frac_den) * frac_num / frac_den;
  if (frac > std::numeric_limits<std::uint64_t>::max() - bytes) return bad("too large");
  bytes += frac;
  if (bytes == 0) return bad("must be greater than zero");
  if (bytes > std::numeric_limits<std::uint64_t>::max() - 8191) return bad("too large");
  return (bytes + 8191) & ~std::uint64_t{8191};
}

std::uint64_t Q35BelowFourGMemory(std::uint64_t ram_size) {
  const std::uint64_t lowmem = ram_size >= 0xb0000000ull ? 0x80000000ull : 0xb0000000ull;
  return ram_size >= lowmem ? lowmem : ram_size;
}

Result<BzImageHeader> ParseBzImage(ByteSpan k) {
  auto magic = LoadLe<std::uint32_t>(k, 0x202);
  if (!magic || *magic != 0x53726448) {  // "HdrS"
    return Status::Corrupt("not a bzImage: no 'HdrS' setup header signature at 0x202");
  }
  BzImageHeader h;
  h.setup_sects = k[0x1f1];  // in bounds: 0x202 was
  const std::uint64_t setup_size =
      (std::uint64_t{h.setup_sects == 0 ? 4u : h.setup_sects} + 1) * 512;
  if (setup_size > k.size()) {
    return Status::Corrupt("bzImage: setup size " + HexOffset(setup_size) + " (setup_sects " +
                           std::to_string(h.setup_sects) + " at 0x1f1) exceeds the file size " +
                           HexOffset(k.size()));
  }
  // From here the first 1 KiB (setup_size >= 1024) is in bounds: every header field below is.
  h.protocol = *LoadLe<std::uint16_t>(k, 0x206);
  h.loadflags = k[0x211];
  if (h.protocol >= 0x203) h.initrd_addr_max = *LoadLe<std::uint32_t>(k, 0x22c);
  if (h.protocol >= 0x20c) h.xloadflags = *LoadLe<std::uint16_t>(k, 0x236);
  auto pe = ParsePe(k);
  if (!pe.ok()) {
    return pe.status().WithContext(
        "bzImage has no usable PE/COFF header (OVMF can only boot an EFI-stub kernel)");
  }
  return h;
}

namespace {
// QEMU's vga= handling: "normal", "ext", "ask" or a number (qemu_strtoui, base 0).
Result<std::optional<std::uint16_t>> VgaMode(const std::string& cmdline) {
  const auto pos = cmdline.find("vga=");
  if (pos == std::string::npos) return std::optional<std::uint16_t>();
  std::string_view v = std::string_view(cmdline).substr(pos + 4);
  if (v.substr(0, 6) == "normal") return std::optional<std::uint16_t>(0xffff);
  if (v.substr(0, 3) == "ext") return std::optional<std::uint16_t>(0xfffe);
  if (v.substr(0, 3) == "ask") return std::optional<std::uint16_t>(0xfffd);
  std::size_t i = 0;
  int base = 10;
  if (v.size() >= 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
    base = 16;
    i = 2;
  } else if (!v.empty() && v[0] == '0') {
    base = 8;
  }
  std::uint64_t value = 0;
  std::size_t digits = 0;
  for (; i < v.size() && v[i] != ' '; ++i, ++digits) {
    const int c = std::tolower(static_cast<unsigned char>(v[i]));
    int d = std::isdigit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : 99;
    if (d >= base || value > 0xffffffffull) {
      return Status::InvalidArgument("invalid 'vga=' kernel parameter in the command line");
    }
    value = value * static_cast<std::uint64_t>(base) + static_cast<std::uint64_t>(d);
  }
  if (digits == 0 || value > 0xffffffffull) {
    return Status::InvalidArgument("invalid 'vga=' kernel parameter in the command line");
  }
  return std::optional<std::uint16_t>(static_cast<std::uint16_t>(value));  // stw: low 16 bits
}
}  // namespace

Result<PatchedKernel> PatchKernelLikeQemu(ByteSpan kernel, const QemuKernelLoad& load) {
  TDX_ASSIGN_OR_RETURN(BzImageHeader h, ParseBzImage(kernel));
  PatchedKernel out;
  out.header = h;
  out.image.assign(kernel.begin(), kernel.end());
  std::span<std::uint8_t> img(out.image);
  const std::uint16_t protocol = h.protocol;

  std::uint32_t real_addr = 0, cmdline_addr = 0;
  const std::uint32_t cmdline_size =
      static_cast<std::uint32_t>((load.cmdline.size() + 16) & ~std::size_t{15});
  if (protocol < 0x200 || !(h.loadflags & 0x01)) {
    real_addr = 0x90000;  // low kernel
    cmdline_addr = 0x9a000 - cmdline_size;
  } else if (protocol < 0x202) {
    real_addr = 0x90000;  // high but ancient
    cmdline_addr = 0x9a000 - cmdline_size;
  } else {
    real_addr = 0x10000;
    cmdline_addr = 0x20000;
  }

  std::uint32_t initrd_max = 0;
  if (protocol >= 0x20c && (h.xloadflags & 0x2)) {  // XLF_CAN_BE_LOADED_ABOVE_4G
    initrd_max = 0xffffffffu;
  } else if (protocol >= 0x203) {
    initrd_max = h.initrd_addr_max;
  } else {
    initrd_max = 0x37ffffff;
  }
  const std::uint64_t below4g = Q35BelowFourGMemory(load.memory_size);
  if (below4g <= load.acpi_data_size) {
    return Status::InvalidArgument("memory size " + HexOffset(load.memory_size) +
                                   " leaves no room below 4 GiB after QEMU's ACPI data");
  }
  if (initrd_max >= below4g - load.acpi_data_size) {
    initrd_max = static_cast<std::uint32_t>(below4g - load.acpi_data_size - 1);
  }
  out.initrd_max = initrd_max;

  if (protocol >= 0x202) {
    tdxrt::StoreLe<std::uint32_t>(img, 0x228, cmdline_addr);
  } else {
    tdxrt::StoreLe<std::uint16_t>(img, 0x20, 0xa33f);
    tdxrt::StoreLe<std::uint16_t>(img, 0x22, static_cast<std::uint16_t>(cmdline_addr - real_addr));
  }
  TDX_ASSIGN_OR_RETURN(std::optional<std::uint16_t> vga, VgaMode(load.cmdline));
  if (vga) tdxrt::StoreLe<std::uint16_t>(img, 0x1fa, *vga);
  if (protocol >= 0x200) img[0x210] = 0xb0;
  if (protocol >= 0x201) {
    img[0x211] = static_cast<std::uint8_t>(img[0x211] | 0x80);
    tdxrt::StoreLe<std::uint16_t>(img, 0x224,
                                  static_cast<std::uint16_t>(cmdline_addr - real_addr - 0x200));
  }
  if (load.initrd_size) {
    if (protocol < 0x200) {
      return Status::InvalidArgument("kernel boot protocol " + HexOffset(protocol) +
                                     " is too old to load an initrd");
    }
    if (*load.initrd_size >= initrd_max) {
      return Status::InvalidArgument("initrd of " + std::to_string(*load.initrd_size) +
                                     " bytes is too large for QEMU to place (max " +
                                     std::to_string(initrd_max) + " at this memory size)");
    }
    const std::uint32_t addr =
        static_cast<std::uint32_t>((initrd_max - *load.initrd_size) & ~std::uint64_t{4095});
    out.initrd_addr = addr;
    tdxrt::StoreLe<std::uint32_t>(img, 0x218, addr);
    tdxrt::StoreLe<std::uint32_t>(img, 0x21c, static_cast<std::uint32_t>(*load.initrd_size));
  }
  return out;
}

}  // namespace mrtd
