// Test-side builders (see test_builders.h).
#include "test_builders.h"

#include <cstring>

#include "tdxrt/sha.h"

namespace mrtd::testing {

using tdxrt::Bytes;
using tdxrt::StoreLe;

Bytes Pattern(std::size_t n, std::uint8_t seed) {
  Bytes b(n);
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& v : b) {
    x = x * 1103515245u + 12345u;
    v = static_cast<std::uint8_t>(x >> 16);
  }
  return b;
}

namespace {
void PutGuid(Bytes& b, std::size_t off, const char* hex16) {
  // hex16: 32 hex chars of the on-disk byte order.
  for (std::size_t i = 0; i < 16; ++i) {
    auto nib = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
    b[off + i] = static_cast<std::uint8_t>(nib(hex16[2 * i]) * 16 + nib(hex16[2 * i + 1]));
  }
}
constexpr const char* kFooterGuid = "de82b596b21ff745baeaa366c55a082d";
constexpr const char* kTdxGuid = "35657ae44a989847865e4685a7bf8ec2";
constexpr const char* kOtherGuid = "11223344556677889900aabbccddeeff";
}  // namespace

BuiltFirmware BuildFirmware(const std::vector<FwSection>& sections, FwLayout layout) {
  BuiltFirmware out;
  std::size_t off = 0x1000;
  for (const auto& s : sections) {
    out.data_offsets.push_back(s.data.empty() ? 0 : off);
    off += (s.data.size() + 0xfff) & ~std::size_t{0xfff};
  }
  out.descriptor_offset = off;
  const std::size_t desc_len = 16 + 32 * sections.size();
  const std::size_t size = ((off + desc_len + 0x100 + 0xfff) & ~std::size_t{0xfff}) + 0x1000;
  out.image.assign(size, 0xcc);
  Bytes& b = out.image;
  for (std::size_t i = 0; i < sections.size(); ++i) {
    if (!sections[i].data.empty()) {
      std::memcpy(b.data() + out.data_offsets[i], sections[i].data.data(), sections[i].data.size());
    }
  }
  const std::size_t d = out.descriptor_offset;
  std::memcpy(b.data() + d, "TDVF", 4);
  StoreLe<std::uint32_t>(b, d + 4, static_cast<std::uint32_t>(desc_len));
  StoreLe<std::uint32_t>(b, d + 8, 1);
  StoreLe<std::uint32_t>(b, d + 12, static_cast<std::uint32_t>(sections.size()));
  for (std::size_t i = 0; i < sections.size(); ++i) {
    const std::size_t e = d + 16 + 32 * i;
    const auto& s = sections[i];
    StoreLe<std::uint32_t>(b, e, static_cast<std::uint32_t>(out.data_offsets[i]));
    StoreLe<std::uint32_t>(b, e + 4, static_cast<std::uint32_t>(s.data.size()));
    StoreLe<std::uint64_t>(b, e + 8, s.gpa);
    StoreLe<std::uint64_t>(b, e + 16, s.memory_size);
    StoreLe<std::uint32_t>(b, e + 24, static_cast<std::uint32_t>(s.type));
    StoreLe<std::uint32_t>(b, e + 28, s.attributes);
  }
  // Reset vector area: the last 0x20 bytes.
  std::memset(b.data() + size - 0x20, 0x90, 0x20);
  if (layout == FwLayout::kLegacyPointer) {
    StoreLe<std::uint32_t>(b, size - 0x20, static_cast<std::uint32_t>(d));
    return out;
  }
  // GUID table: [other entry: 4-byte payload, len 22, GUID][TDX entry][size][footer GUID].
  const std::size_t table_end = size - 0x20;
  const std::size_t table_size = 22 + 22 + 18;
  const std::size_t t = table_end - table_size;
  StoreLe<std::uint32_t>(b, t, 0xdeadbeef);
  StoreLe<std::uint16_t>(b, t + 4, 22);
  PutGuid(b, t + 6, kOtherGuid);
  StoreLe<std::uint32_t>(b, t + 22, static_cast<std::uint32_t>(size - d));
  StoreLe<std::uint16_t>(b, t + 26, 22);
  PutGuid(b, t + 28, kTdxGuid);
  StoreLe<std::uint16_t>(b, t + 44, static_cast<std::uint16_t>(table_size));
  PutGuid(b, t + 46, kFooterGuid);
  return out;
}

BuiltPe BuildPe(const PeSpec& spec) {
  BuiltPe out;
  out.image.assign(spec.file_size, 0);
  Bytes& b = out.image;
  // Recognisable content everywhere, so every hashed range matters.
  Bytes fill = Pattern(spec.file_size, 7);
  std::memcpy(b.data(), fill.data(), fill.size());
  b[0] = 'M';
  b[1] = 'Z';
  out.pe_offset = 0x40;
  StoreLe<std::uint32_t>(b, 0x3c, out.pe_offset);
  std::memcpy(b.data() + out.pe_offset, "PE\0\0", 4);
  const std::uint32_t coff = out.pe_offset + 4;
  StoreLe<std::uint16_t>(b, coff, 0x8664);
  StoreLe<std::uint16_t>(b, coff + 2, static_cast<std::uint16_t>(spec.sections.size()));
  const std::uint32_t dd = spec.pe32_plus ? 112 : 96;
  const std::uint32_t opt_size = dd + 8 * 16;
  StoreLe<std::uint16_t>(b, coff + 16, static_cast<std::uint16_t>(opt_size));
  out.opt_offset = coff + 20;
  StoreLe<std::uint16_t>(b, out.opt_offset, spec.pe32_plus ? 0x20b : 0x10b);
  StoreLe<std::uint32_t>(b, out.opt_offset + 60, spec.size_of_headers);
  out.checksum_offset = out.opt_offset + 64;
  StoreLe<std::uint32_t>(b, out.checksum_offset, 0x12345678);
  StoreLe<std::uint32_t>(b, out.opt_offset + (spec.pe32_plus ? 108 : 92),
                         spec.number_of_rva_and_sizes);
  out.cert_dir_offset = out.opt_offset + dd + 8 * 4;
  StoreLe<std::uint32_t>(b, out.cert_dir_offset, spec.cert_offset);
  StoreLe<std::uint32_t>(b, out.cert_dir_offset + 4, spec.cert_size);
  out.section_table = out.opt_offset + opt_size;
  for (std::size_t i = 0; i < spec.sections.size(); ++i) {
    const std::uint32_t h = out.section_table + static_cast<std::uint32_t>(40 * i);
    std::memset(b.data() + h, 0, 40);
    std::memcpy(b.data() + h, spec.sections[i].name.data(),
                std::min<std::size_t>(8, spec.sections[i].name.size()));
    StoreLe<std::uint32_t>(b, h + 16, spec.sections[i].raw_size);
    StoreLe<std::uint32_t>(b, h + 20, spec.sections[i].raw_offset);
  }
  if (spec.bzimage) {
    b[0x1f1] = spec.setup_sects;
    std::memcpy(b.data() + 0x202, "HdrS", 4);
    StoreLe<std::uint16_t>(b, 0x206, spec.protocol);
    b[0x210] = 0;     // type_of_loader
    b[0x211] = 0x01;  // loadflags: LOADED_HIGH
    StoreLe<std::uint32_t>(b, 0x218, 0);
    StoreLe<std::uint32_t>(b, 0x21c, 0);
    StoreLe<std::uint16_t>(b, 0x224, 0);
    StoreLe<std::uint32_t>(b, 0x228, 0);
    StoreLe<std::uint32_t>(b, 0x22c, spec.initrd_addr_max);
    StoreLe<std::uint16_t>(b, 0x236, spec.xloadflags);
  }
  return out;
}

PeSpec MinimalBzImage(std::uint32_t text_size) {
  PeSpec s;
  s.bzimage = true;
  s.size_of_headers = 0x200;
  s.sections = {{".setup", 0x200, 0x200}, {".text", 0x400, text_size}};
  s.file_size = 0x400 + text_size;
  return s;
}

BuiltLog BuildEventLog(const std::vector<LogEvent>& events, std::size_t total, std::uint8_t pad) {
  BuiltLog out;
  Bytes& b = out.bytes;
  // Spec ID event (TCG_PCR_EVENT).
  Bytes spec;
  const char sig[16] = "Spec ID Event03";
  spec.insert(spec.end(), sig, sig + 16);
  tdxrt::AppendLe<std::uint32_t>(spec, 0);  // platform class
  spec.push_back(0);                        // minor
  spec.push_back(2);                        // major
  spec.push_back(0);                        // errata
  spec.push_back(2);                        // uintn size
  tdxrt::AppendLe<std::uint32_t>(spec, 2);  // algorithms
  tdxrt::AppendLe<std::uint16_t>(spec, 0x000b);
  tdxrt::AppendLe<std::uint16_t>(spec, 32);
  tdxrt::AppendLe<std::uint16_t>(spec, 0x000c);
  tdxrt::AppendLe<std::uint16_t>(spec, 48);
  spec.push_back(0);  // vendor info size
  tdxrt::AppendLe<std::uint32_t>(b, 0);
  tdxrt::AppendLe<std::uint32_t>(b, 3);
  b.insert(b.end(), 20, 0);
  tdxrt::AppendLe<std::uint32_t>(b, static_cast<std::uint32_t>(spec.size()));
  b.insert(b.end(), spec.begin(), spec.end());
  for (const auto& e : events) {
    out.offsets.push_back(b.size());
    tdxrt::AppendLe<std::uint32_t>(b, e.mr_index);
    tdxrt::AppendLe<std::uint32_t>(b, e.type);
    tdxrt::AppendLe<std::uint32_t>(b, 2);
    tdxrt::AppendLe<std::uint16_t>(b, 0x000b);
    auto s256 = tdxrt::Sha256(e.data);
    b.insert(b.end(), s256.begin(), s256.end());
    tdxrt::AppendLe<std::uint16_t>(b, 0x000c);
    if (e.sha384.empty()) {
      auto s384 = tdxrt::Sha384(e.data);
      b.insert(b.end(), s384.begin(), s384.end());
    } else {
      b.insert(b.end(), e.sha384.begin(), e.sha384.end());
    }
    tdxrt::AppendLe<std::uint32_t>(b, static_cast<std::uint32_t>(e.data.size()));
    b.insert(b.end(), e.data.begin(), e.data.end());
  }
  if (total > b.size()) b.resize(total, pad);
  return out;
}

}  // namespace mrtd::testing
