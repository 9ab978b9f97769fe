// debpack: dpkg version order, ELF imports (and their corruption), control templates, and a
// package built twice from differently dated and permissioned copies of one tree.
#include <archive.h>
#include <archive_entry.h>
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <utime.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "debpack/deb.h"
#include "debpack/shlibdeps.h"
#include "tdximage/elf.h"
#include "tdxrt/file.h"

namespace {

namespace fs = std::filesystem;
using tdxrt::Bytes;

TEST_CASE("versions compare in dpkg's order") {
  using debpack::CompareVersions;
  CHECK(CompareVersions("1.0~rc1", "1.0") < 0);
  CHECK(CompareVersions("1.0", "1.0+git1") < 0);
  CHECK(CompareVersions("1:0.1", "2.0") > 0);
  CHECK(CompareVersions("2.30", "2.4") > 0);
  CHECK(CompareVersions("2.4", "2.30") < 0);
  CHECK(CompareVersions("1.0a", "1.0") > 0);
  CHECK(CompareVersions("3.0", "3.0~") > 0);
  CHECK(CompareVersions("1.2.3-1", "1.2.3-1.1") < 0);
  CHECK(CompareVersions("1.0", "1.0-0") == 0);
  CHECK(CompareVersions("0", "0") == 0);
  CHECK(CompareVersions("12", "4.1.1") > 0);
  CHECK(CompareVersions("1.001", "1.1") == 0);
}

// Offset of the first section header of `type` in an ELF64 file.
std::size_t SectionHeaderOf(const Bytes& e, std::uint32_t type) {
  const auto shoff = *tdxrt::LoadLe<std::uint64_t>(e, 0x28);
  const auto shnum = *tdxrt::LoadLe<std::uint16_t>(e, 0x3c);
  for (std::size_t i = 0; i < shnum; ++i) {
    const std::size_t at = shoff + i * 64;
    if (*tdxrt::LoadLe<std::uint32_t>(e, at + 4) == type) return at;
  }
  return 0;
}

TEST_CASE("ELF imports: this test binary's versioned libc symbols, corruption diagnosed") {
  auto self = tdxrt::ReadFile("/proc/self/exe");
  REQUIRE(self.ok());
  auto imports = tdximage::ReadElfImports(*self);
  REQUIRE_MESSAGE(imports.ok(), imports.status().message());
  bool versioned_libc = false;
  for (const auto& i : *imports) {
    versioned_libc |= i.library == "libc.so.6" && i.version.starts_with("GLIBC_2.");
  }
  CHECK(versioned_libc);

  const std::size_t verneed = SectionHeaderOf(*self, 0x6ffffffe);
  const std::size_t versym = SectionHeaderOf(*self, 0x6fffffff);
  const std::size_t dynsym = SectionHeaderOf(*self, 11);
  REQUIRE(verneed != 0);
  REQUIRE(versym != 0);
  REQUIRE(dynsym != 0);
  const auto index = [&](std::size_t hdr) {
    return (hdr - *tdxrt::LoadLe<std::uint64_t>(*self, 0x28)) / 64;
  };
  {
    Bytes bad = *self;
    tdxrt::StoreLe<std::uint32_t>(bad, verneed + 40, 9999);  // sh_link
    CHECK(tdximage::ReadElfImports(bad).status().message() ==
          ".gnu.version_r (section " + std::to_string(index(verneed)) +
              ") links section 9999, which does not exist");
  }
  {
    Bytes bad = *self;
    tdxrt::StoreLe<std::uint64_t>(bad, dynsym + 56, 16);  // sh_entsize
    CHECK(tdximage::ReadElfImports(bad).status().message() ==
          ".dynsym (section " + std::to_string(index(dynsym)) + "): entry size 16, not 24");
  }
  {
    Bytes bad = *self;
    const auto size = *tdxrt::LoadLe<std::uint64_t>(bad, versym + 32);
    tdxrt::StoreLe<std::uint64_t>(bad, versym + 32, 2);  // one entry for many symbols
    CHECK(tdximage::ReadElfImports(bad).status().message().starts_with(
        ".gnu.version (section " + std::to_string(index(versym)) + ") has 1 entries for " +
        std::to_string(*tdxrt::LoadLe<std::uint64_t>(bad, dynsym + 32) / 24) + " dynamic symbols"));
    (void)size;
  }
  {
    // Every symbol's version index pointing at a version nobody defines.
    Bytes bad = *self;
    const auto off = *tdxrt::LoadLe<std::uint64_t>(bad, versym + 24);
    const auto size = *tdxrt::LoadLe<std::uint64_t>(bad, versym + 32);
    for (std::size_t i = 2; i < size; i += 2) tdxrt::StoreLe<std::uint16_t>(bad, off + i, 0x7ff0);
    CHECK(tdximage::ReadElfImports(bad).status().message().find(
              "has version index 32752, which .gnu.version_r does not define") !=
          std::string::npos);
  }
  {
    Bytes bad = *self;
    const auto off = *tdxrt::LoadLe<std::uint64_t>(bad, verneed + 24);
    tdxrt::StoreLe<std::uint32_t>(bad, off + 8, 0x7fffffff);  // vn_aux far away
    CHECK(tdximage::ReadElfImports(bad).status().message().find("runs past its section") !=
          std::string::npos);
  }
  for (std::size_t len = 0; len < self->size(); len += self->size() / 97 + 1) {
    (void)tdximage::ReadElfImports(tdxrt::ByteSpan(self->data(), len));
  }
}

TEST_CASE("control templates: fields, continuation lines, exact errors") {
  auto f = debpack::ParseControl("Package: x\nDescription: short\n long line\n .\n", "t");
  REQUIRE(f.ok());
  REQUIRE(f->size() == 2);
  CHECK((*f)[1].second == "short\n long line\n .");
  CHECK(debpack::ParseControl(" lead\n", "t").status().message() ==
        "t:1: a continuation line before a field");
  CHECK(debpack::ParseControl("A: 1\nA: 2\n", "t").status().message() == "t:2: A given twice");
  CHECK(debpack::ParseControl("A: 1\nnot a field\n", "t").status().message() ==
        "t:2: not a 'Field: value' line");
}

void Write(const fs::path& p, const std::string& text, unsigned mode) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
  ::chmod(p.c_str(), mode);
}

// A staged tree: an ELF program, a manual page, a document and a symlink, with the given
// file modes and modification time (which the package must not depend on).
fs::path Stage(const fs::path& dir, unsigned doc_mode, std::int64_t mtime) {
  fs::create_directories(dir / "usr/bin");
  fs::copy_file("/bin/true", dir / "usr/bin/tool");
  ::chmod((dir / "usr/bin/tool").c_str(), 0700);
  Write(dir / "usr/share/man/man1/tool.1", ".TH TOOL 1\n.SH NAME\ntool \\- x\n", doc_mode);
  Write(dir / "usr/share/doc/tool/copyright", "text\n", doc_mode);
  fs::create_symlink("tool", dir / "usr/bin/tool-alias");
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_symlink()) continue;
    struct utimbuf t {
      static_cast<time_t>(mtime), static_cast<time_t>(mtime)
    };
    ::utime(e.path().c_str(), &t);
  }
  return dir;
}

struct Member {
  std::string name;
  Bytes data;
  std::int64_t mtime = 0;
  unsigned mode = 0;
  std::string uname;
};

std::vector<Member> ReadArchive(const Bytes& bytes, bool raw = false) {
  std::vector<Member> out;
  archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  if (raw) {
    archive_read_support_format_raw(a);
  } else {
    archive_read_support_format_all(a);
  }
  REQUIRE(archive_read_open_memory(a, bytes.data(), bytes.size()) == ARCHIVE_OK);
  archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    Member m;
    m.name = archive_entry_pathname(e);
    m.mtime = archive_entry_mtime(e);
    m.mode = archive_entry_perm(e);
    m.uname = archive_entry_uname(e) != nullptr ? archive_entry_uname(e) : "";
    std::uint8_t buf[8192];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0)
      m.data.insert(m.data.end(), buf, buf + n);
    out.push_back(std::move(m));
  }
  archive_read_free(a);
  return out;
}

TEST_CASE("a package: same bytes from differently dated and permissioned trees, contents") {
  auto tmp = tdxrt::MakeTempDir("debpack-test-");
  REQUIRE(tmp.ok());
  const std::string control =
      "Package: tool\nMaintainer: T <t@example.invalid>\nDepends: ${shlibs:Depends}\n"
      "Section: admin\nPriority: optional\nDescription: a tool\n Longer.\n";
  debpack::DebRequest r;
  r.control_template = control;
  r.template_name = "tool.control";
  r.version = "1.0+git20261202.abc";
  r.epoch = 1764633600;
  r.root = Stage(*tmp / "a", 0644, 1000);
  auto a = debpack::BuildDeb(r);
  REQUIRE_MESSAGE(a.ok(), a.status().message());
  r.root = Stage(*tmp / "b", 0664, 2000000000);
  auto b = debpack::BuildDeb(r);
  REQUIRE_MESSAGE(b.ok(), b.status().message());
  CHECK(a->bytes == b->bytes);
  CHECK(a->FileName() == "tool_1.0+git20261202.abc_amd64.deb");

  const auto ar = ReadArchive(a->bytes);
  REQUIRE(ar.size() == 3);
  CHECK(ar[0].name == "debian-binary");
  CHECK(ar[0].data == tdxrt::BytesOf("2.0\n"));
  CHECK(ar[1].name == "control.tar.xz");
  CHECK(ar[2].name == "data.tar.xz");
  CHECK(std::string(a->bytes.begin() + 8, a->bytes.begin() + 24) == "debian-binary   ");

  const auto control_members = ReadArchive(ar[1].data);
  REQUIRE(control_members.size() == 3);
  CHECK(control_members[1].name == "./control");
  const std::string c(control_members[1].data.begin(), control_members[1].data.end());
  CHECK(
      c.starts_with("Package: tool\nVersion: 1.0+git20261202.abc\nArchitecture: amd64\n"
                    "Maintainer: T <t@example.invalid>\nInstalled-Size: "));
  CHECK(c.find("\nDepends: libc6 (>= ") != std::string::npos);
  CHECK(c.ends_with("Section: admin\nPriority: optional\nDescription: a tool\n Longer.\n"));
  CHECK(control_members[2].name == "./md5sums");
  const std::string md5(control_members[2].data.begin(), control_members[2].data.end());
  CHECK(md5.find("  usr/share/man/man1/tool.1.gz\n") != std::string::npos);

  const auto data = ReadArchive(ar[2].data);
  std::map<std::string, const Member*> by_name;
  for (const Member& m : data) {
    by_name[m.name] = &m;
    CHECK(m.mtime == r.epoch);
    CHECK(m.uname == "root");
  }
  CHECK(data.front().name == "./");
  REQUIRE(by_name.count("./usr/bin/tool") == 1);
  CHECK(by_name["./usr/bin/tool"]->mode == 0755);
  CHECK(by_name["./usr/share/doc/tool/copyright"]->mode == 0644);
  REQUIRE(by_name.count("./usr/share/man/man1/tool.1.gz") == 1);
  CHECK(by_name.count("./usr/share/man/man1/tool.1") == 0);
  const auto page = ReadArchive(by_name["./usr/share/man/man1/tool.1.gz"]->data, true);
  REQUIRE(page.size() == 1);
  CHECK(page[0].data == tdxrt::BytesOf(".TH TOOL 1\n.SH NAME\ntool \\- x\n"));
  CHECK(by_name.count("./usr/bin/tool-alias") == 1);
  // gzip -9n's header: no name, no time, XFL 2 (maximum compression).
  const Bytes& gz = by_name["./usr/share/man/man1/tool.1.gz"]->data;
  REQUIRE(gz.size() > 10);
  CHECK(gz[3] == 0);
  CHECK(*tdxrt::LoadLe<std::uint32_t>(gz, 4) == 0);
  CHECK(gz[8] == 2);
  // A native changelog for this version, in a directory of its own.
  REQUIRE(by_name.count("./usr/share/doc/tool/changelog.gz") == 1);
  CHECK(by_name.count("./usr/share/doc/tool/") == 1);
  const auto changelog = ReadArchive(by_name["./usr/share/doc/tool/changelog.gz"]->data, true);
  REQUIRE(changelog.size() == 1);
  CHECK(std::string(changelog[0].data.begin(), changelog[0].data.end()) ==
        "tool (1.0+git20261202.abc) unstable; urgency=medium\n\n  * Built by scripts/package "
        "from the commit its version names.\n\n -- T <t@example.invalid>  Tue, 02 Dec 2025 "
        "00:00:00 +0000\n");

  // The template may not set computed fields, and must name the package.
  r.control_template = control + "Version: 2\n";
  CHECK(debpack::BuildDeb(r).status().message() ==
        "tool.control: Version is computed, the template must not set it");
  r.control_template = "Package: tool\nDescription: x\n";
  CHECK(debpack::BuildDeb(r).status().message() == "tool.control: no Maintainer field");
  r.control_template = control;
  r.version = "v1";
  CHECK(debpack::BuildDeb(r).status().message() ==
        "version 'v1' is not a Debian version (a digit, then [A-Za-z0-9.+~:-])");
  fs::remove_all(*tmp);
}

TEST_CASE("shlibs: a library on no path, and one no package owns, are named") {
  auto tmp = tdxrt::MakeTempDir("debpack-root-");
  REQUIRE(tmp.ok());
  auto self = tdxrt::ReadFile("/bin/true");
  REQUIRE(self.ok());
  auto bin = debpack::ReadBinary("usr/bin/tool", *self);
  REQUIRE(bin.ok());
  debpack::ShlibsContext empty_root;
  empty_root.root = *tmp;
  auto deps = debpack::ComputeShlibsDepends({*bin}, empty_root);
  CHECK(deps.status().message().starts_with(
      "usr/bin/tool needs libc.so.6, which is on none of the library paths (/lib/"
      "x86_64-linux-gnu, /usr/lib/x86_64-linux-gnu"));
  // The library present, dpkg's database empty.
  fs::create_directories(*tmp / "usr/lib/x86_64-linux-gnu");
  fs::copy_file(fs::canonical("/lib/x86_64-linux-gnu/libc.so.6"),
                *tmp / "usr/lib/x86_64-linux-gnu/libc.so.6");
  fs::create_directories(*tmp / "var/lib/dpkg/info");
  deps = debpack::ComputeShlibsDepends({*bin}, empty_root);
  CHECK(deps.status().message() ==
        "/usr/lib/x86_64-linux-gnu/libc.so.6 (libc.so.6) belongs to no installed package: no "
        "dependency can name it");
  // Listed by a package with a symbols file: the highest version of the symbols used.
  std::ofstream(*tmp / "var/lib/dpkg/info/libc6:amd64.list")
      << "/.\n/lib/x86_64-linux-gnu/libc.so.6\n";
  std::ofstream(*tmp / "var/lib/dpkg/info/libc6:amd64.symbols")
      << "libc.so.6 libc6 #MINVER#\n* Build-Depends-Package: libc-dev\n"
      << " (symver)GLIBC_2.2.5 2.2.5\n (symver)GLIBC_2.3.4 2.3.4\n (symver)GLIBC_2.4 2.4\n"
      << " (symver)GLIBC_2.14 2.14\n (symver)GLIBC_2.34 2.34\n";
  deps = debpack::ComputeShlibsDepends({*bin}, empty_root);
  REQUIRE_MESSAGE(deps.ok(), deps.status().message());
  CHECK(deps->starts_with("libc6 (>= 2."));
  // A symbols file that does not parse is named with its line.
  const fs::path symbols = *tmp / "var/lib/dpkg/info/libc6:amd64.symbols";
  std::ofstream(symbols) << "libc.so.6 libc6 #MINVER#\n memcpy@GLIBC_2.14\n";
  CHECK(debpack::ComputeShlibsDepends({*bin}, empty_root).status().message() ==
        symbols.string() + ":2: no minimal version");
  std::ofstream(symbols) << "libc.so.6 libc6 #MINVER#\n memcpy@GLIBC_2.14 2.14 3\n";
  CHECK(debpack::ComputeShlibsDepends({*bin}, empty_root).status().message() ==
        symbols.string() + ":2: dependency 3 is not declared for libc.so.6");
  std::ofstream(symbols) << " memcpy@GLIBC_2.14 2.14\n";
  CHECK(debpack::ComputeShlibsDepends({*bin}, empty_root).status().message() ==
        symbols.string() + ":1: a symbol before any library line");
  // No symbols file: the shlibs entry, as written there.
  fs::remove(symbols);
  std::ofstream(*tmp / "var/lib/dpkg/info/libc6:amd64.shlibs") << "libc 6 libc6 (>= 2.36)\n";
  deps = debpack::ComputeShlibsDepends({*bin}, empty_root);
  REQUIRE_MESSAGE(deps.ok(), deps.status().message());
  CHECK(*deps == "libc6 (>= 2.36)");
  fs::remove_all(*tmp);
}

}  // namespace
