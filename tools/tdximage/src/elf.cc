// ELF64 reading (see include/tdximage/elf.h).
#include "tdximage/elf.h"

#include <cstring>
#include <map>
#include <optional>

#include "tdxrt/hex.h"

namespace tdximage {

using tdxrt::ByteSpan;
using tdxrt::HexOffset;
using tdxrt::LoadLe;
using tdxrt::Result;
using tdxrt::Status;

namespace {
constexpr std::uint32_t kPtLoad = 1, kPtDynamic = 2, kPtInterp = 3;
constexpr std::int64_t kDtNull = 0, kDtNeeded = 1, kDtStrtab = 5, kDtStrsz = 10, kDtRpath = 15,
                       kDtRunpath = 29;
constexpr std::uint16_t kMaxHeaders = 4096;

struct Header {
  std::uint16_t type, machine;
  std::uint64_t phoff, shoff;
  std::uint16_t phentsize, phnum, shentsize, shnum, shstrndx;
};

Result<Header> ReadHeader(ByteSpan e) {
  if (!IsElf(e)) return Status::Corrupt("not an ELF file (no \\x7fELF magic at 0x0)");
  if (e.size() < 64)
    return Status::Corrupt("ELF header truncated: file is " + std::to_string(e.size()) + " bytes");
  if (e[4] != 2)
    return Status::Unsupported("ELF class " + std::to_string(e[4]) +
                               " at 0x4: only 64-bit ELF is supported");
  if (e[5] != 1)
    return Status::Unsupported("ELF data encoding " + std::to_string(e[5]) +
                               " at 0x5: only little endian is supported");
  Header h{};
  h.type = *LoadLe<std::uint16_t>(e, 0x10);
  h.machine = *LoadLe<std::uint16_t>(e, 0x12);
  h.phoff = *LoadLe<std::uint64_t>(e, 0x20);
  h.shoff = *LoadLe<std::uint64_t>(e, 0x28);
  h.phentsize = *LoadLe<std::uint16_t>(e, 0x36);
  h.phnum = *LoadLe<std::uint16_t>(e, 0x38);
  h.shentsize = *LoadLe<std::uint16_t>(e, 0x3a);
  h.shnum = *LoadLe<std::uint16_t>(e, 0x3c);
  h.shstrndx = *LoadLe<std::uint16_t>(e, 0x3e);
  if (h.phnum > 0) {
    if (h.phentsize < 56 || h.phnum > kMaxHeaders ||
        !tdxrt::InBounds(e.size(), h.phoff, std::uint64_t{h.phentsize} * h.phnum)) {
      return Status::Corrupt("ELF program headers (" + std::to_string(h.phnum) + " x " +
                             std::to_string(h.phentsize) + " bytes at " + HexOffset(h.phoff) +
                             ") do not fit in the file (" + HexOffset(e.size()) + ")");
    }
  }
  if (h.shnum > 0) {
    if (h.shentsize < 64 || h.shnum > kMaxHeaders ||
        !tdxrt::InBounds(e.size(), h.shoff, std::uint64_t{h.shentsize} * h.shnum)) {
      return Status::Corrupt("ELF section headers (" + std::to_string(h.shnum) + " x " +
                             std::to_string(h.shentsize) + " bytes at " + HexOffset(h.shoff) +
                             ") do not fit in the file (" + HexOffset(e.size()) + ")");
    }
  }
  return h;
}

struct Segment {
  std::uint32_t type;
  std::uint64_t offset, vaddr, filesz;
};

std::vector<Segment> Segments(ByteSpan e, const Header& h) {
  std::vector<Segment> out;
  for (std::uint16_t i = 0; i < h.phnum; ++i) {
    const std::uint64_t p = h.phoff + std::uint64_t{i} * h.phentsize;
    out.push_back({*LoadLe<std::uint32_t>(e, p), *LoadLe<std::uint64_t>(e, p + 8),
                   *LoadLe<std::uint64_t>(e, p + 16), *LoadLe<std::uint64_t>(e, p + 32)});
  }
  return out;
}

// NUL-terminated string at `off` inside `table`.
Result<std::string> StringAt(ByteSpan table, std::uint64_t off, std::string_view what) {
  if (off >= table.size()) {
    return Status::Corrupt(std::string(what) + ": string offset " + HexOffset(off) +
                           " outside its table (" + HexOffset(table.size()) + " bytes)");
  }
  const auto* begin = table.data() + off;
  const void* nul = std::memchr(begin, 0, table.size() - off);
  if (nul == nullptr)
    return Status::Corrupt(std::string(what) + ": unterminated string at " + HexOffset(off));
  return std::string(reinterpret_cast<const char*>(begin),
                     static_cast<std::size_t>(static_cast<const std::uint8_t*>(nul) - begin));
}

std::vector<std::string> SplitColon(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t end = s.find(':', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}
}  // namespace

bool IsElf(ByteSpan data) {
  return data.size() >= 4 && data[0] == 0x7f && data[1] == 'E' && data[2] == 'L' && data[3] == 'F';
}

Result<ElfDynamicInfo> ReadElfDynamic(ByteSpan e) {
  TDX_ASSIGN_OR_RETURN(Header h, ReadHeader(e));
  ElfDynamicInfo info;
  info.type = h.type;
  info.machine = h.machine;
  const auto segs = Segments(e, h);
  const Segment* dyn = nullptr;
  for (const auto& s : segs) {
    if (!tdxrt::InBounds(e.size(), s.offset, s.filesz) &&
        (s.type == kPtInterp || s.type == kPtDynamic)) {
      return Status::Corrupt("ELF segment of type " + std::to_string(s.type) + " (" +
                             HexOffset(s.filesz) + " bytes at " + HexOffset(s.offset) +
                             ") runs past end of file (" + HexOffset(e.size()) + ")");
    }
    if (s.type == kPtInterp) {
      TDX_ASSIGN_OR_RETURN(std::string interp,
                           StringAt(e.subspan(s.offset, s.filesz), 0, "PT_INTERP"));
      info.interpreter = interp;
    } else if (s.type == kPtDynamic) {
      dyn = &s;
    }
  }
  if (dyn == nullptr) return info;
  // First pass: the string table's address and size.
  std::optional<std::uint64_t> strtab_addr, strsz;
  std::vector<std::pair<std::int64_t, std::uint64_t>> entries;
  for (std::uint64_t off = 0; off + 16 <= dyn->filesz; off += 16) {
    const auto tag = static_cast<std::int64_t>(*LoadLe<std::uint64_t>(e, dyn->offset + off));
    const auto val = *LoadLe<std::uint64_t>(e, dyn->offset + off + 8);
    if (tag == kDtNull) break;
    if (tag == kDtStrtab) strtab_addr = val;
    if (tag == kDtStrsz) strsz = val;
    entries.emplace_back(tag, val);
  }
  bool wants_strings = false;
  for (auto [tag, val] : entries)
    wants_strings |= tag == kDtNeeded || tag == kDtRpath || tag == kDtRunpath;
  if (!wants_strings) return info;
  if (!strtab_addr || !strsz)
    return Status::Corrupt("ELF dynamic section has no DT_STRTAB/DT_STRSZ");
  // Map the string table's virtual address to a file offset through a PT_LOAD segment.
  std::optional<std::uint64_t> strtab_off;
  for (const auto& s : segs) {
    if (s.type == kPtLoad && *strtab_addr >= s.vaddr && *strtab_addr - s.vaddr < s.filesz) {
      strtab_off = s.offset + (*strtab_addr - s.vaddr);
    }
  }
  if (!strtab_off || !tdxrt::InBounds(e.size(), *strtab_off, *strsz)) {
    return Status::Corrupt("ELF DT_STRTAB " + HexOffset(*strtab_addr) + " (" + HexOffset(*strsz) +
                           " bytes) is not inside a loaded segment of the file");
  }
  const ByteSpan strtab = e.subspan(*strtab_off, *strsz);
  for (auto [tag, val] : entries) {
    if (tag == kDtNeeded) {
      TDX_ASSIGN_OR_RETURN(std::string s, StringAt(strtab, val, "DT_NEEDED"));
      info.needed.push_back(std::move(s));
    } else if (tag == kDtRpath || tag == kDtRunpath) {
      TDX_ASSIGN_OR_RETURN(std::string s,
                           StringAt(strtab, val, tag == kDtRpath ? "DT_RPATH" : "DT_RUNPATH"));
      auto parts = SplitColon(s);
      auto& dst = tag == kDtRpath ? info.rpath : info.runpath;
      dst.insert(dst.end(), parts.begin(), parts.end());
    }
  }
  return info;
}

namespace {
constexpr std::uint32_t kShtDynsym = 11, kShtGnuVersym = 0x6fffffff, kShtGnuVerneed = 0x6ffffffe;
constexpr std::uint64_t kMaxImports = 1u << 20;

struct SectionHeader {
  std::uint16_t index;
  std::uint32_t name, type, link, info;  // name: offset in the section name table
  std::uint64_t entsize;
  ByteSpan bytes;
};

Result<SectionHeader> SectionAt(ByteSpan e, const Header& h, std::uint16_t i) {
  const std::uint64_t s = h.shoff + std::uint64_t{i} * h.shentsize;
  SectionHeader out{i,
                    *LoadLe<std::uint32_t>(e, s),
                    *LoadLe<std::uint32_t>(e, s + 4),
                    *LoadLe<std::uint32_t>(e, s + 40),
                    *LoadLe<std::uint32_t>(e, s + 44),
                    *LoadLe<std::uint64_t>(e, s + 56),
                    {}};
  const std::uint64_t off = *LoadLe<std::uint64_t>(e, s + 24);
  const std::uint64_t size = *LoadLe<std::uint64_t>(e, s + 32);
  if (out.type == 8) return out;  // SHT_NOBITS
  if (!tdxrt::InBounds(e.size(), off, size)) {
    return Status::Corrupt("ELF section " + std::to_string(i) + " (" + HexOffset(size) +
                           " bytes at " + HexOffset(off) + ") runs past end of file (" +
                           HexOffset(e.size()) + ")");
  }
  out.bytes = e.subspan(off, size);
  return out;
}

Result<SectionHeader> LinkedSection(ByteSpan e, const Header& h, const SectionHeader& s,
                                    std::string_view what) {
  if (s.link == 0 || s.link >= h.shnum) {
    return Status::Corrupt(std::string(what) + " (section " + std::to_string(s.index) +
                           ") links section " + std::to_string(s.link) + ", which does not exist");
  }
  return SectionAt(e, h, static_cast<std::uint16_t>(s.link));
}

// Version index -> (version, library) from .gnu.version_r: Elf64_Verneed entries (16 bytes:
// vn_version, vn_cnt, vn_file, vn_aux, vn_next), each with vn_cnt Elf64_Vernaux (16 bytes:
// vna_hash, vna_flags, vna_other, vna_name, vna_next); offsets relative to the entry.
Result<std::map<std::uint16_t, std::pair<std::string, std::string>>> ReadVerneed(
    ByteSpan e, const Header& h, const SectionHeader& vn) {
  TDX_ASSIGN_OR_RETURN(const SectionHeader strtab, LinkedSection(e, h, vn, ".gnu.version_r"));
  std::map<std::uint16_t, std::pair<std::string, std::string>> out;
  const ByteSpan b = vn.bytes;
  std::uint64_t at = 0;
  for (std::uint32_t i = 0; i < vn.info; ++i) {
    if (!tdxrt::InBounds(b.size(), at, 16)) {
      return Status::Corrupt(".gnu.version_r entry " + std::to_string(i) + " at " + HexOffset(at) +
                             " runs past its section (" + HexOffset(b.size()) + " bytes)");
    }
    const auto cnt = *LoadLe<std::uint16_t>(b, at + 2);
    TDX_ASSIGN_OR_RETURN(
        const std::string library,
        StringAt(strtab.bytes, *LoadLe<std::uint32_t>(b, at + 4), ".gnu.version_r vn_file"));
    std::uint64_t a = at + *LoadLe<std::uint32_t>(b, at + 8);
    for (std::uint16_t j = 0; j < cnt; ++j) {
      if (!tdxrt::InBounds(b.size(), a, 16)) {
        return Status::Corrupt(".gnu.version_r aux entry " + std::to_string(j) + " of " + library +
                               " at " + HexOffset(a) + " runs past its section (" +
                               HexOffset(b.size()) + " bytes)");
      }
      TDX_ASSIGN_OR_RETURN(
          std::string version,
          StringAt(strtab.bytes, *LoadLe<std::uint32_t>(b, a + 8), ".gnu.version_r vna_name"));
      out[static_cast<std::uint16_t>(*LoadLe<std::uint16_t>(b, a + 6) & 0x7fff)] = {
          std::move(version), library};
      const std::uint32_t next = *LoadLe<std::uint32_t>(b, a + 12);
      if (next == 0) break;
      a += next;
    }
    const std::uint32_t next = *LoadLe<std::uint32_t>(b, at + 12);
    if (next == 0) break;
    at += next;
  }
  return out;
}
}  // namespace

Result<std::vector<ElfImport>> ReadElfImports(ByteSpan e) {
  TDX_ASSIGN_OR_RETURN(Header h, ReadHeader(e));
  std::optional<SectionHeader> dynsym, versym, verneed;
  for (std::uint16_t i = 0; i < h.shnum; ++i) {
    TDX_ASSIGN_OR_RETURN(SectionHeader s, SectionAt(e, h, i));
    if (s.type == kShtDynsym && !dynsym) dynsym = s;
    if (s.type == kShtGnuVersym && !versym) versym = s;
    if (s.type == kShtGnuVerneed && !verneed) verneed = s;
  }
  std::vector<ElfImport> out;
  if (!dynsym) return out;
  if (dynsym->entsize != 24) {
    return Status::Corrupt(".dynsym (section " + std::to_string(dynsym->index) + "): entry size " +
                           std::to_string(dynsym->entsize) + ", not 24");
  }
  TDX_ASSIGN_OR_RETURN(const SectionHeader strtab, LinkedSection(e, h, *dynsym, ".dynsym"));
  const std::uint64_t count = dynsym->bytes.size() / 24;
  if (count > kMaxImports) {
    return Status::Unsupported(".dynsym has " + std::to_string(count) + " symbols (at most " +
                               std::to_string(kMaxImports) + " are read)");
  }
  std::map<std::uint16_t, std::pair<std::string, std::string>> versions;
  if (verneed) {
    TDX_ASSIGN_OR_RETURN(versions, ReadVerneed(e, h, *verneed));
  }
  if (versym && versym->bytes.size() / 2 < count) {
    return Status::Corrupt(".gnu.version (section " + std::to_string(versym->index) + ") has " +
                           std::to_string(versym->bytes.size() / 2) + " entries for " +
                           std::to_string(count) + " dynamic symbols");
  }
  for (std::uint64_t i = 1; i < count; ++i) {
    const ByteSpan sym = dynsym->bytes.subspan(i * 24, 24);
    const auto name_off = *LoadLe<std::uint32_t>(sym, 0);
    const std::uint8_t bind = sym[4] >> 4;
    const auto shndx = *LoadLe<std::uint16_t>(sym, 6);
    if (shndx != 0 || name_off == 0 || (bind != 1 && bind != 2)) continue;
    ElfImport imp;
    TDX_ASSIGN_OR_RETURN(imp.name, StringAt(strtab.bytes, name_off,
                                            ".dynsym symbol " + std::to_string(i) + " name"));
    imp.weak = bind == 2;
    if (versym) {
      const auto index =
          static_cast<std::uint16_t>(*LoadLe<std::uint16_t>(versym->bytes, i * 2) & 0x7fff);
      if (index >= 2) {
        const auto it = versions.find(index);
        if (it == versions.end()) {
          return Status::Corrupt(".dynsym symbol " + std::to_string(i) + " (" + imp.name +
                                 ") has version index " + std::to_string(index) +
                                 ", which .gnu.version_r does not define");
        }
        imp.version = it->second.first;
        imp.library = it->second.second;
      }
    }
    out.push_back(std::move(imp));
  }
  return out;
}

Result<ByteSpan> ElfSection(ByteSpan e, std::string_view name) {
  TDX_ASSIGN_OR_RETURN(Header h, ReadHeader(e));
  if (h.shnum == 0) return Status::NotFound("ELF file has no section headers");
  if (h.shstrndx >= h.shnum) {
    return Status::Corrupt("ELF e_shstrndx " + std::to_string(h.shstrndx) + " >= section count " +
                           std::to_string(h.shnum));
  }
  TDX_ASSIGN_OR_RETURN(const SectionHeader names, SectionAt(e, h, h.shstrndx));
  for (std::uint16_t i = 0; i < h.shnum; ++i) {
    TDX_ASSIGN_OR_RETURN(const SectionHeader sec, SectionAt(e, h, i));
    TDX_ASSIGN_OR_RETURN(std::string n, StringAt(names.bytes, sec.name, "section name"));
    if (n == name) return sec.bytes;
  }
  return Status::NotFound("ELF file has no " + std::string(name) + " section");
}

Result<std::vector<std::pair<std::string, std::string>>> ReadModinfo(ByteSpan ko) {
  TDX_ASSIGN_OR_RETURN(ByteSpan mi, ElfSection(ko, ".modinfo"));
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t i = 0;
  while (i < mi.size()) {
    if (mi[i] == 0) {
      ++i;  // padding between strings
      continue;
    }
    const void* nul = std::memchr(mi.data() + i, 0, mi.size() - i);
    const std::size_t end =
        nul ? static_cast<std::size_t>(static_cast<const std::uint8_t*>(nul) - mi.data())
            : mi.size();
    std::string kv(reinterpret_cast<const char*>(mi.data() + i), end - i);
    const auto eq = kv.find('=');
    if (eq != std::string::npos) out.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    i = end + 1;
  }
  return out;
}

}  // namespace tdximage
