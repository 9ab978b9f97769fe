// .deb and tar reading: packages built here with libarchive's writer, then path traversal,
// oversized entries, symlinks and truncation, each with its diagnosis.
#include "tdximage/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <doctest/doctest.h>
#include <sys/resource.h>

#include <cstring>
#include <string>
#include <vector>

using tdxrt::Bytes;
using tdxrt::BytesOf;

namespace {

struct TarFile {
  TarFile(std::string p, std::string c, unsigned m = 0644, std::string link = "")
      : path(std::move(p)), content(std::move(c)), mode(m), symlink(std::move(link)) {}
  std::string path;
  std::string content;
  unsigned mode;
  std::string symlink;  // non-empty: a symlink
};

enum class Format { kAr, kTar, kTarXz, kTarZst };

// One libarchive writer for every test archive: ar (the .deb container) or pax tar.
Bytes Write(const std::vector<TarFile>& files, Format format) {
  archive* a = archive_write_new();
  if (format == Format::kAr) {
    archive_write_set_format_ar_svr4(a);
  } else {
    archive_write_set_format_pax_restricted(a);
    if (format == Format::kTarXz) archive_write_add_filter_xz(a);
    if (format == Format::kTarZst) archive_write_add_filter_zstd(a);
  }
  archive_write_set_bytes_in_last_block(a, 1);
  std::vector<std::uint8_t> buf(1 << 22);
  size_t used = 0;
  REQUIRE(archive_write_open_memory(a, buf.data(), buf.size(), &used) == ARCHIVE_OK);
  for (const auto& f : files) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, f.path.c_str());
    if (!f.symlink.empty()) {
      archive_entry_set_filetype(e, AE_IFLNK);
      archive_entry_set_symlink(e, f.symlink.c_str());
      archive_entry_set_perm(e, 0777);
    } else {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, f.mode);
      archive_entry_set_size(e, static_cast<la_int64_t>(f.content.size()));
    }
    REQUIRE(archive_write_header(a, e) == ARCHIVE_OK);
    if (!f.content.empty()) archive_write_data(a, f.content.data(), f.content.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return Bytes(buf.begin(), buf.begin() + static_cast<long>(used));
}

Bytes Tar(const std::vector<TarFile>& files, bool xz = true) {
  return Write(files, xz ? Format::kTarXz : Format::kTar);
}

Bytes Deb(const Bytes& data_tar) {
  const Bytes control = Tar({{"./control", "Package: x\n"}});
  return Write({{"debian-binary", "2.0\n"},
                {"control.tar.xz", std::string(control.begin(), control.end())},
                {"data.tar.xz", std::string(data_tar.begin(), data_tar.end())}},
               Format::kAr);
}

}  // namespace

TEST_CASE("path normalisation refuses absolute paths and '..'") {
  CHECK(*tdximage::NormaliseArchivePath("./usr/share//ovmf/./OVMF.fd") == "usr/share/ovmf/OVMF.fd");
  CHECK(*tdximage::NormaliseArchivePath("./") == "");
  CHECK(*tdximage::NormaliseArchivePath("usr/bin/") == "usr/bin");
  CHECK(tdximage::NormaliseArchivePath("/etc/passwd").status().message() ==
        "archive entry '/etc/passwd' has an absolute path");
  CHECK(tdximage::NormaliseArchivePath("./a/../../b").status().message() ==
        "archive entry './a/../../b' escapes the tree ('..')");
}

TEST_CASE("a .deb's data.tar members are listed and read in-process") {
  Bytes tar = Tar({{"./usr/share/ovmf/OVMF.fd", std::string(5000, 'x')},
                   {"./usr/bin/tool", "#!/bin/sh\n", 0755},
                   {"./usr/share/ovmf/link.fd", "", 0777, "OVMF.fd"}});
  Bytes deb = Deb(tar);
  auto data = tdximage::ReadDebMember(deb, "usr/share/ovmf/OVMF.fd");
  REQUIRE_MESSAGE(data.ok(), data.status().message());
  CHECK(*data == Bytes(5000, 'x'));
  auto inner = tdximage::DebDataTar(deb);
  REQUIRE(inner.ok());
  auto list = tdximage::ListTar(*inner);
  REQUIRE(list.ok());
  REQUIRE(list->size() == 3);
  CHECK((*list)[1].path == "usr/bin/tool");
  CHECK((*list)[1].mode == 0755);
  CHECK((*list)[2].type == tdximage::EntryType::kSymlink);
  CHECK((*list)[2].link_target == "OVMF.fd");
  CHECK(tdximage::ReadDebMember(deb, "usr/share/ovmf/link.fd").status().message() ==
        "tar entry 'usr/share/ovmf/link.fd' is a symlink to 'OVMF.fd'");
  CHECK(tdximage::ReadDebMember(deb, "nope").status().message() ==
        "no entry 'nope' in the archive");
}

TEST_CASE("path traversal, oversized entries and truncated packages are rejected") {
  Bytes evil = Tar({{"../../etc/evil", "x"}});
  CHECK(tdximage::ListTar(evil).status().message() ==
        "archive entry '../../etc/evil' escapes the tree ('..')");
  Bytes abs = Tar({{"/etc/evil", "x"}});
  CHECK(tdximage::ListTar(abs).status().message() ==
        "archive entry '/etc/evil' has an absolute path");

  Bytes big = Tar({{"big", std::string(4096, 'b')}});
  CHECK(tdximage::ReadTarMember(big, "big", 1000).status().message() ==
        "tar entry 'big': entry of 4096 bytes exceeds the limit of 1000");

  Bytes deb = Deb(Tar({{"./f", std::string(200000, 'z')}}, true));
  Bytes cut(deb.begin(), deb.begin() + static_cast<long>(deb.size() - 200));
  auto r = tdximage::DebDataTar(cut);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().rfind(".deb", 0) == 0);
  INFO(r.status().message());
  CHECK(r.status().message().find("data.tar.xz") != std::string::npos);

  CHECK(tdximage::DebDataTar(BytesOf("!<arch>\n")).status().message() ==
        ".deb: no data.tar member (truncated or not a Debian package)");
  CHECK_FALSE(tdximage::DebDataTar(BytesOf("not an archive at all")).ok());
  // Every truncation of a small package fails cleanly or yields the member intact.
  Bytes small = Deb(Tar({{"./f", "hello"}}, false));
  for (std::size_t len = 0; len < small.size(); len += 3) {
    Bytes b(small.begin(), small.begin() + static_cast<long>(len));
    auto m = tdximage::ReadDebMember(b, "f");
    if (m.ok()) CHECK(*m == BytesOf("hello"));
  }
}

namespace {
// Peak resident memory of this process so far, in bytes.
std::uint64_t PeakRss() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<std::uint64_t>(u.ru_maxrss) * 1024;
}
}  // namespace

TEST_CASE("decompression bombs stop at the unpack limit, memory follows the bytes that arrive") {
  // Red-team finding 8: a 55 KB .tar.zst drove tdximage to 3.4 GB; an entry whose header claims
  // gigabytes was allocated in full before a byte of it arrived.
  CHECK(tdximage::UnpackLimit(1000) == 64ull << 20);
  CHECK(tdximage::UnpackLimit(34304772) == 32ull * 34304772);
  CHECK(tdximage::UnpackLimit(1ull << 40) == 4ull << 30);
  const std::string zeros(80u << 20, '\0');
  const Bytes bomb = Write({{"zeros", zeros}}, Format::kTarZst);
  REQUIRE(bomb.size() < 100000);
  CHECK(tdximage::ReadTarFiles(bomb).status().message() ==
        "tar entry 'zeros' of 83886080 bytes: the files would unpack to more than 67108864 bytes "
        "(" +
            std::to_string(bomb.size()) + " packed; a decompression bomb?)");
  CHECK(tdximage::Decompress(bomb).status().message() ==
        "decompress: " + std::to_string(bomb.size()) +
            " bytes unpack to more than 67108864 (a decompression bomb?)");
  auto allowed = tdximage::ReadTarFiles(bomb, 100u << 20);  // a caller that knows better
  REQUIRE(allowed.ok());
  CHECK((*allowed)[0].data.size() == zeros.size());

  // A header that claims 1.5 GiB followed by nothing: refused as truncated, without allocating.
  Bytes liar = Tar({{"huge", "x"}}, false);
  const char kSize[] = "13000000000";  // octal 1.5 GiB in the ustar size field (offset 124)
  std::memcpy(liar.data() + 124, kSize, 11);
  unsigned sum = 0;
  std::memset(liar.data() + 148, ' ', 8);
  for (std::size_t i = 0; i < 512; ++i) sum += liar[i];
  std::snprintf(reinterpret_cast<char*>(liar.data() + 148), 8, "%06o", sum);
  const std::uint64_t before = PeakRss();
  auto r = tdximage::ReadTarMember(liar, "huge");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "tar entry 'huge': Truncated tar archive");
  CHECK(PeakRss() - before < (64u << 20));
}
