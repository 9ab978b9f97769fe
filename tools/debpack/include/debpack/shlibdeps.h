// A package's shared-library dependencies computed from its ELF files the way dpkg-shlibdeps
// computes ${shlibs:Depends}: each needed library is found on the library search path of the
// machine (or of a root given, for tests), its owning package is looked up in dpkg's database
// (<admindir>/info/*.list), and the version required is the highest of the minimal versions
// its symbols file gives the symbols the binaries import (the library's smallest version when
// none), or the package's shlibs entry when it has no symbols file. The result is sorted by
// package, one entry per package with the highest version any binary needs.
//
// Read here: our own build's binaries and the machine's dpkg database (both trusted as the
// build's inputs), parsed with bounds checks all the same.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "tdximage/elf.h"
#include "tdxrt/status.h"

namespace debpack {

// One ELF file of a package: what the dynamic linker reads (tdximage/elf.h).
struct Binary {
  std::string file;  // its path in the package, for errors
  tdximage::ElfDynamicInfo dynamic;
  std::vector<tdximage::ElfImport> imports;
};

tdxrt::Result<Binary> ReadBinary(std::string file, tdxrt::ByteSpan bytes);

// Debian's multiarch triplet and architecture of an ELF machine ("x86_64-linux-gnu", "amd64").
tdxrt::Result<std::string> MultiarchTriplet(std::uint16_t machine);
tdxrt::Result<std::string> DebianArchitecture(std::uint16_t machine);

// dpkg's version ordering (deb-version(7)): <0 when a < b, 0 when equal, >0 when a > b.
int CompareVersions(const std::string& a, const std::string& b);

struct ShlibsContext {
  std::filesystem::path root = "/";                  // where libraries are looked up
  std::filesystem::path admindir = "/var/lib/dpkg";  // dpkg's database (under root)
};

// "libc6 (>= 2.34), libstdc++6 (>= 12)"; errors name the binary and library concerned.
tdxrt::Result<std::string> ComputeShlibsDepends(const std::vector<Binary>& binaries,
                                                const ShlibsContext& ctx);

}  // namespace debpack
