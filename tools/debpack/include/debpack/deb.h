// A Debian binary package (deb(5)) built from a staged file tree, in-process and reproducibly:
// what `dpkg-deb --build` does after dh_installchangelogs, dh_compress, dh_md5sums and
// dpkg-gencontrol, for the packages scripts/package makes (docs/packaging.md).
//
//   - the tree's files in sorted order, owned by root:root, directories 0755, files 0755 when
//     any execute bit is set else 0644, every mtime SOURCE_DATE_EPOCH;
//   - a native changelog (usr/share/doc/<package>/changelog: this version, dated by the epoch)
//     unless the tree has one;
//   - manual pages (usr/share/man/**) and changelogs compressed as `gzip -9n` does (zlib at
//     level 9, no name or time: the same bytes with the same zlib), renamed *.gz;
//   - control: the template's fields, Version, Architecture (from the ELF files' machine; "all"
//     without any), Installed-Size (KiB as dpkg-gencontrol counts it) and ${shlibs:Depends}
//     computed from the ELF files (shlibdeps.h); md5sums of every file;
//   - data.tar.xz and control.tar.xz (GNU tar, "./" names, xz preset 6 unless told, one
//     thread) in an ar archive after debian-binary "2.0\n", every member dated
//     SOURCE_DATE_EPOCH.
// Same tree, template, version and epoch: the same bytes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "debpack/shlibdeps.h"
#include "tdxrt/bytes.h"
#include "tdxrt/status.h"

namespace debpack {

struct DebRequest {
  std::filesystem::path root;    // the staged tree: root/usr/bin/...
  std::string control_template;  // deb822 fields; "${shlibs:Depends}" is replaced
  std::string template_name;     // for errors
  std::string version;           // the package version
  std::int64_t epoch = 0;        // SOURCE_DATE_EPOCH
  int xz_level = 6;              // 0-9, dpkg-deb's default 6
  ShlibsContext shlibs;
};

struct Deb {
  std::string package, version, architecture;
  std::string control;  // the control file as packaged
  tdxrt::Bytes bytes;   // the .deb
  std::string FileName() const { return package + "_" + version + "_" + architecture + ".deb"; }
};

tdxrt::Result<Deb> BuildDeb(const DebRequest& request);

// The control file's fields in order (name, value with continuation lines), for tests and
// for reading a template. Errors name the template and line.
tdxrt::Result<std::vector<std::pair<std::string, std::string>>> ParseControl(
    const std::string& text, const std::string& name);

}  // namespace debpack
