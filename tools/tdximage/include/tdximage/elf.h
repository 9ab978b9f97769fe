// Minimal, bounds-checked ELF64 little-endian reader: what image assembly needs from binaries
// and kernel modules, nothing more.
//   - dynamic executables/libraries: PT_INTERP, DT_NEEDED, DT_RPATH, DT_RUNPATH (the string table
//     is found through DT_STRTAB's virtual address mapped by the PT_LOAD segments);
//   - relocatable objects (kernel modules): a section's bytes by name (".modinfo").
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

// True if `data` starts with the ELF magic.
bool IsElf(tdxrt::ByteSpan data);

tdxrt::Result<ElfDynamicInfo> ReadElfDynamic(tdxrt::ByteSpan elf);

// The bytes of the section named `name`, NotFound if absent.
tdxrt::Result<tdxrt::ByteSpan> ElfSection(tdxrt::ByteSpan elf, std::string_view name);

// Key=value strings of a module's .modinfo section, in order.
tdxrt::Result<std::vector<std::pair<std::string, std::string>>> ReadModinfo(tdxrt::ByteSpan ko);

}  // namespace tdximage
