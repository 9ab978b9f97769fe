// Minimal, bounds-checked ELF64 little-endian reader: what image assembly needs from binaries
// and kernel modules, nothing more.
//   - dynamic executables/libraries: PT_INTERP, DT_NEEDED, DT_RPATH, DT_RUNPATH (the string table
//     is found through DT_STRTAB's virtual address mapped by the PT_LOAD segments);
//   - relocatable objects (kernel modules): a section's bytes by name (".modinfo");
//   - the dynamic symbols a binary imports, with the GNU symbol version each requires and the
//     library it requires it from (.dynsym, .gnu.version, .gnu.version_r): what a Debian
//     package's library dependencies are computed from (tools/debpack, as dpkg-shlibdeps).
// Layout: ELF-64 Object File Format 1.5 / System V gABI. Every offset, size and string is checked
// against the buffer; errors name the structure and offset.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tdxrt/bytes.h"
#include "tdxrt/status.h"

namespace tdximage {

struct ElfDynamicInfo {
  std::uint16_t type = 0;     // ET_EXEC 2, ET_DYN 3, ET_REL 1
  std::uint16_t machine = 0;  // EM_X86_64 62
  std::optional<std::string> interpreter;
  std::vector<std::string> needed;
  std::vector<std::string> rpath;    // DT_RPATH entries, split on ':'
  std::vector<std::string> runpath;  // DT_RUNPATH entries, split on ':'
  bool is_static() const { return !interpreter && needed.empty(); }
};

struct ElfImport {
  std::string name;
  std::string version;  // "GLIBC_2.34"; empty: unversioned
  std::string library;  // the soname the version is required from (versioned imports only)
  bool weak = false;
};

// True if `data` starts with the ELF magic.
bool IsElf(tdxrt::ByteSpan data);

tdxrt::Result<ElfDynamicInfo> ReadElfDynamic(tdxrt::ByteSpan elf);

// The undefined GLOBAL and WEAK dynamic symbols of `elf`, in .dynsym order (none without a
// .dynsym section).
tdxrt::Result<std::vector<ElfImport>> ReadElfImports(tdxrt::ByteSpan elf);

// The bytes of the section named `name`, NotFound if absent.
tdxrt::Result<tdxrt::ByteSpan> ElfSection(tdxrt::ByteSpan elf, std::string_view name);

// Key=value strings of a module's .modinfo section, in order.
tdxrt::Result<std::vector<std::pair<std::string, std::string>>> ReadModinfo(tdxrt::ByteSpan ko);

}  // namespace tdximage
