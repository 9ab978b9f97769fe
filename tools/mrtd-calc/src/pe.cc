// PE/COFF header parsing and Authenticode hashing (see include/mrtd/pe.h).
#include "mrtd/pe.h"

#include <algorithm>

#include "tdxrt/hex.h"

namespace mrtd {

using tdxrt::ByteSpan;
using tdxrt::HexOffset;
using tdxrt::LoadLe;
using tdxrt::Result;
using tdxrt::Status;

namespace {
// PE/COFF spec offsets relative to the optional header.
constexpr std::uint32_t kOptChecksum = 64;
constexpr std::uint32_t kOptSizeOfHeaders = 60;
constexpr std::uint32_t kOptRvaCount32 = 92, kOptRvaCount64 = 108;
constexpr std::uint32_t kOptDataDir32 = 96, kOptDataDir64 = 112;
constexpr std::uint32_t kSecurityDirIndex = 4;
constexpr std::uint32_t kSectionHeaderSize = 40;
constexpr std::uint16_t kMaxPeSections = 96;  // PE loaders' limit
}  // namespace

Result<PeImage> ParsePe(ByteSpan img) {
  PeImage pe;
  const std::uint64_t size = img.size();
  if (size < 2) return Status::Corrupt("PE image: file is empty or too short");
  if (img[0] == 'M' && img[1] == 'Z') {
    auto lfanew = LoadLe<std::uint32_t>(img, 0x3c);
    if (!lfanew) return Status::Corrupt("PE image: DOS header truncated (e_lfanew at 0x3c)");
    pe.pe_offset = *lfanew;
  }
  auto sig = LoadLe<std::uint32_t>(img, pe.pe_offset);
  if (!sig || *sig != 0x00004550) {
    return Status::Corrupt("PE image: no 'PE\\0\\0' signature at " + HexOffset(pe.pe_offset) +
                           " (not a PE/COFF image)");
  }
  const std::uint64_t coff = std::uint64_t{pe.pe_offset} + 4;
  auto nsec = LoadLe<std::uint16_t>(img, coff + 2);
  auto opt_size = LoadLe<std::uint16_t>(img, coff + 16);
  if (!nsec || !opt_size)
    return Status::Corrupt("PE image: COFF header at " + HexOffset(coff) + " truncated");
  const std::uint64_t opt = coff + 20;
  auto magic = LoadLe<std::uint16_t>(img, opt);
  if (!magic)
    return Status::Corrupt("PE image: optional header at " + HexOffset(opt) + " truncated");
  if (*magic != 0x10b && *magic != 0x20b) {
    return Status::Corrupt("PE image: optional header magic " + HexOffset(*magic) + " at " +
                           HexOffset(opt) + " is neither PE32 (0x10b) nor PE32+ (0x20b)");
  }
  pe.pe32_plus = *magic == 0x20b;
  const std::uint32_t rva_off = pe.pe32_plus ? kOptRvaCount64 : kOptRvaCount32;
  const std::uint32_t dd_off = pe.pe32_plus ? kOptDataDir64 : kOptDataDir32;
  if (*opt_size < rva_off + 4) {
    return Status::Corrupt("PE image: optional header size " + std::to_string(*opt_size) +
                           " is too small for its fixed fields");
  }
  auto soh = LoadLe<std::uint32_t>(img, opt + kOptSizeOfHeaders);
  auto rvas = LoadLe<std::uint32_t>(img, opt + rva_off);
  if (!soh || !rvas)
    return Status::Corrupt("PE image: optional header at " + HexOffset(opt) + " truncated");
  pe.size_of_headers = *soh;
  pe.number_of_rva_and_sizes = *rvas;
  if (pe.size_of_headers > size) {
    return Status::Corrupt("PE image: SizeOfHeaders " + HexOffset(pe.size_of_headers) +
                           " exceeds the file size " + HexOffset(size));
  }
  if (opt + kOptChecksum + 4 > pe.size_of_headers) {
    return Status::Corrupt("PE image: CheckSum field lies beyond SizeOfHeaders " +
                           HexOffset(pe.size_of_headers));
  }
  if (pe.number_of_rva_and_sizes > kSecurityDirIndex) {
    const std::uint64_t cert_dir = opt + dd_off + 8 * kSecurityDirIndex;
    if (cert_dir + 8 > opt + *opt_size || cert_dir + 8 > pe.size_of_headers) {
      return Status::Corrupt("PE image: certificate directory at " + HexOffset(cert_dir) +
                             " lies outside the optional header / SizeOfHeaders");
    }
    pe.cert_table_offset = *LoadLe<std::uint32_t>(img, cert_dir);
    pe.cert_table_size = *LoadLe<std::uint32_t>(img, cert_dir + 4);
  }
  if (*nsec > kMaxPeSections) {
    return Status::Corrupt("PE image: " + std::to_string(*nsec) + " sections (limit " +
                           std::to_string(kMaxPeSections) + ")");
  }
  const std::uint64_t sec_table = opt + *opt_size;
  if (!tdxrt::InBounds(size, sec_table, std::uint64_t{*nsec} * kSectionHeaderSize)) {
    return Status::Corrupt("PE image: section table at " + HexOffset(sec_table) + " (" +
                           std::to_string(*nsec) + " entries) runs past end of file");
  }
  for (std::uint16_t i = 0; i < *nsec; ++i) {
    const std::uint64_t h = sec_table + std::uint64_t{i} * kSectionHeaderSize;
    PeSection s;
    for (std::size_t k = 0; k < 8 && img[h + k] != 0; ++k) {
      const char c = static_cast<char>(img[h + k]);
      s.name.push_back(c >= 0x20 && c < 0x7f ? c : '?');
    }
    s.raw_size = *LoadLe<std::uint32_t>(img, h + 16);
    s.raw_offset = *LoadLe<std::uint32_t>(img, h + 20);
    if (s.raw_size > 0 && !tdxrt::InBounds(size, s.raw_offset, s.raw_size)) {
      return Status::Corrupt("PE image: section " + std::to_string(i) + " (" + s.name +
                             "): raw data " + HexOffset(s.raw_size) + " bytes at " +
                             HexOffset(s.raw_offset) + " runs past end of file (" +
                             HexOffset(size) + ")");
    }
    pe.sections.push_back(std::move(s));
  }
  return pe;
}

Result<tdxrt::Sha384Digest> AuthenticodeSha384(ByteSpan img) {
  TDX_ASSIGN_OR_RETURN(PeImage pe, ParsePe(img));
  const std::uint64_t opt = std::uint64_t{pe.pe_offset} + 24;
  const std::uint64_t checksum = opt + kOptChecksum;
  tdxrt::Sha384Hasher h;
  h.Update(img.subspan(0, checksum));
  if (pe.number_of_rva_and_sizes <= kSecurityDirIndex) {
    h.Update(img.subspan(checksum + 4, pe.size_of_headers - (checksum + 4)));
  } else {
    const std::uint64_t cert_dir =
        opt + (pe.pe32_plus ? kOptDataDir64 : kOptDataDir32) + 8 * kSecurityDirIndex;
    h.Update(img.subspan(checksum + 4, cert_dir - (checksum + 4)));
    h.Update(img.subspan(cert_dir + 8, pe.size_of_headers - (cert_dir + 8)));
  }
  std::uint64_t hashed = pe.size_of_headers;
  std::vector<PeSection> sorted = pe.sections;
  std::stable_sort(sorted.begin(), sorted.end(), [](const PeSection& a, const PeSection& b) {
    return a.raw_offset < b.raw_offset;
  });
  for (const PeSection& s : sorted) {
    if (s.raw_size == 0) continue;
    h.Update(img.subspan(s.raw_offset, s.raw_size));
    hashed += s.raw_size;
  }
  const std::uint64_t size = img.size();
  if (size > hashed) {
    const std::uint64_t cert =
        pe.number_of_rva_and_sizes <= kSecurityDirIndex ? 0 : pe.cert_table_size;
    if (size > cert + hashed) {
      h.Update(img.subspan(hashed, size - cert - hashed));
    } else if (size < cert + hashed) {
      return Status::Corrupt("PE image: certificate table size " + HexOffset(cert) +
                             " is larger than the " + HexOffset(size - hashed) +
                             " bytes after the sections");
    }
  }
  return h.Final();
}

}  // namespace mrtd
