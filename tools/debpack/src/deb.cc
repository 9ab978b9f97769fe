#include "debpack/deb.h"

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <memory>
#include <set>
#include <sstream>

#include "tdximage/archive.h"
#include "tdxrt/file.h"
#include "tdxrt/hex.h"

namespace debpack {
namespace {

namespace fs = std::filesystem;
using tdxrt::Bytes;
using tdxrt::Result;
using tdxrt::Status;

struct Entry {
  std::string path;  // relative, "usr/bin/tdximage"; directories without a trailing slash
  enum class Kind { kDir, kFile, kSymlink } kind = Kind::kFile;
  unsigned mode = 0644;
  Bytes data;          // files
  std::string target;  // symlinks
};

// ---- passes ----

// The staged tree, sorted by path (byte order), modes normalised.
Result<std::vector<Entry>> CollectTree(const fs::path& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    return Status::NotFound("staged tree " + root.string() + " is not a directory");
  }
  std::vector<Entry> out;
  fs::recursive_directory_iterator it(root, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    Entry e;
    e.path = p.lexically_relative(root).generic_string();
    const fs::file_status st = it->symlink_status(ec);
    if (ec) break;
    if (fs::is_symlink(st)) {
      e.kind = Entry::Kind::kSymlink;
      e.target = fs::read_symlink(p, ec).string();
      e.mode = 0777;
    } else if (fs::is_directory(st)) {
      e.kind = Entry::Kind::kDir;
      e.mode = 0755;
    } else if (fs::is_regular_file(st)) {
      TDX_ASSIGN_OR_RETURN(e.data, tdxrt::ReadFile(p));
      const auto perms = static_cast<unsigned>(st.permissions());
      e.mode = (perms & 0111) != 0 ? 0755 : 0644;
    } else {
      return Status::Unsupported(p.string() + ": neither a file, a directory nor a symlink");
    }
    out.push_back(std::move(e));
  }
  if (ec)
    return Status::IoError("cannot read the staged tree " + root.string() + ": " + ec.message());
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.path < b.path; });
  return out;
}

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

// What `gzip -9n` writes, as dh_compress runs it: zlib at its maximum level through libarchive's
// raw writer, no name, no time, and the header's XFL = 2 ("maximum compression") gzip -9 sets.
Result<Bytes> Gzip9(tdxrt::ByteSpan data, const std::string& what) {
  std::unique_ptr<archive, ArchiveDeleter> a(archive_write_new());
  Bytes out;
  archive_write_set_format_raw(a.get());
  archive_write_add_filter_gzip(a.get());
  archive_write_set_filter_option(a.get(), "gzip", "compression-level", "9");
  archive_write_set_filter_option(a.get(), "gzip", "timestamp", nullptr);
  archive_write_set_bytes_in_last_block(a.get(), 1);
  std::unique_ptr<archive_entry, EntryDeleter> e(archive_entry_new());
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_size(e.get(), static_cast<la_int64_t>(data.size()));
  if (tdximage::OpenArchiveToBytes(a.get(), &out) != ARCHIVE_OK ||
      archive_write_header(a.get(), e.get()) != ARCHIVE_OK ||
      (!data.empty() && archive_write_data(a.get(), data.data(), data.size()) !=
                            static_cast<la_ssize_t>(data.size())) ||
      archive_write_close(a.get()) != ARCHIVE_OK || out.size() < 18) {
    const char* err = archive_error_string(a.get());
    return Status::IoError("gzip of " + what + (err != nullptr ? std::string(": ") + err : ""));
  }
  out[8] = 2;
  return out;
}

// "Wed, 02 Dec 2026 00:00:00 +0000" (RFC 5322, as Debian changelogs date their entries).
std::string ChangelogDate(std::int64_t epoch) {
  const auto t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

// A native package's changelog when the tree has none (dh_installchangelogs): one entry for
// this version, dated by the epoch, signed by the maintainer.
void AddChangelog(std::vector<Entry>& entries, const std::string& package,
                  const std::string& version, const std::string& maintainer, std::int64_t epoch) {
  const std::string dir = "usr/share/doc/" + package;
  for (const Entry& e : entries) {
    if (e.path.starts_with(dir + "/changelog")) return;
  }
  Entry e;
  e.path = dir + "/changelog";
  const std::string text = package + " (" + version +
                           ") unstable; urgency=medium\n\n  * Built by " +
                           "scripts/package from the commit its version names.\n\n -- " +
                           maintainer + "  " + ChangelogDate(epoch) + "\n";
  e.data = tdxrt::BytesOf(text);
  entries.push_back(std::move(e));
}

// Every directory a file is in, as an entry of its own (dpkg and lintian expect them).
void AddParentDirectories(std::vector<Entry>& entries) {
  std::set<std::string> present;
  for (const Entry& e : entries) present.insert(e.path);
  std::vector<Entry> added;
  for (const Entry& e : entries) {
    for (std::size_t slash = e.path.find('/'); slash != std::string::npos;
         slash = e.path.find('/', slash + 1)) {
      const std::string dir = e.path.substr(0, slash);
      if (!present.insert(dir).second) continue;
      Entry d;
      d.path = dir;
      d.kind = Entry::Kind::kDir;
      d.mode = 0755;
      added.push_back(std::move(d));
    }
  }
  for (Entry& d : added) entries.push_back(std::move(d));
}

// Manual pages and changelogs compressed (gzip -9n) and renamed *.gz, as dh_compress does.
Status CompressDocs(std::vector<Entry>& entries) {
  for (Entry& e : entries) {
    const bool man = e.path.starts_with("usr/share/man/");
    const bool changelog =
        e.path.starts_with("usr/share/doc/") && e.path.substr(e.path.rfind('/') + 1) == "changelog";
    if (e.kind != Entry::Kind::kFile || (!man && !changelog) || e.path.ends_with(".gz")) continue;
    TDX_ASSIGN_OR_RETURN(e.data, Gzip9(e.data, e.path));
    e.path += ".gz";
    e.mode = 0644;
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.path < b.path; });
  return Status::Ok();
}

struct Computed {
  std::string architecture = "all";
  std::string depends;
  std::uint64_t installed_kib = 0;
};

Result<Computed> Compute(const std::vector<Entry>& entries, const ShlibsContext& ctx) {
  Computed c;
  std::vector<Binary> binaries;
  for (const Entry& e : entries) {
    c.installed_kib += e.kind == Entry::Kind::kFile ? (e.data.size() + 1023) / 1024 : 1;
    if (e.kind != Entry::Kind::kFile || !tdximage::IsElf(e.data)) continue;
    TDX_ASSIGN_OR_RETURN(Binary b, ReadBinary(e.path, e.data));
    TDX_ASSIGN_OR_RETURN(const std::string arch, DebianArchitecture(b.dynamic.machine));
    if (!binaries.empty() && arch != c.architecture) {
      return Status::InvalidArgument(e.path + " is built for " + arch + ", " +
                                     binaries.front().file + " for " + c.architecture);
    }
    c.architecture = arch;
    binaries.push_back(std::move(b));
  }
  if (!binaries.empty()) {
    TDX_ASSIGN_OR_RETURN(c.depends, ComputeShlibsDepends(binaries, ctx));
  }
  return c;
}

bool ValidPackageName(const std::string& n) {
  if (n.size() < 2 || !std::isalnum(static_cast<unsigned char>(n[0]))) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (std::islower(static_cast<unsigned char>(c)) != 0) ||
           (std::isdigit(static_cast<unsigned char>(c)) != 0) || c == '+' || c == '-' || c == '.';
  });
}

bool ValidVersion(const std::string& v) {
  if (v.empty() || !std::isdigit(static_cast<unsigned char>(v[0]))) return false;
  return std::all_of(v.begin(), v.end(), [](char c) {
    return (std::isalnum(static_cast<unsigned char>(c)) != 0) || c == '.' || c == '+' || c == '~' ||
           c == '-' || c == ':';
  });
}

struct Template {
  std::vector<std::pair<std::string, std::string>> fields;
  std::string package, maintainer;
};

// The template's fields, checked: none of the computed ones, Package (a Debian package name),
// Maintainer and Description present; and the version.
Result<Template> CheckTemplate(const DebRequest& r) {
  Template t;
  TDX_ASSIGN_OR_RETURN(t.fields, ParseControl(r.control_template, r.template_name));
  auto find = [&](const std::string& n) -> std::string {
    for (const auto& [name, value] : t.fields) {
      if (name == n) return value;
    }
    return "";
  };
  for (const auto& [name, value] : t.fields) {
    for (const char* computed : {"Version", "Architecture", "Installed-Size"}) {
      if (name == computed) {
        return Status::InvalidArgument(r.template_name + ": " + name +
                                       " is computed, the template must not set it");
      }
    }
  }
  for (const char* required : {"Package", "Maintainer", "Description"}) {
    if (find(required).empty()) {
      return Status::InvalidArgument(r.template_name + ": no " + std::string(required) + " field");
    }
  }
  t.package = find("Package");
  t.maintainer = find("Maintainer");
  if (!ValidPackageName(t.package)) {
    return Status::InvalidArgument(r.template_name + ": Package '" + t.package +
                                   "' is not a Debian package name ([a-z0-9][a-z0-9+.-]+)");
  }
  if (!ValidVersion(r.version)) {
    return Status::InvalidArgument("version '" + r.version +
                                   "' is not a Debian version (a digit, then [A-Za-z0-9.+~:-])");
  }
  return t;
}

// The control file: the template's fields with the computed ones, in dpkg-gencontrol's order.
std::string FillControl(Template t, const DebRequest& r, const Computed& c) {
  auto& fields = t.fields;
  for (auto& [name, value] : fields) {
    std::size_t at;
    while ((at = value.find("${shlibs:Depends}")) != std::string::npos) {
      value.replace(at, 17, c.depends);
    }
    // An emptied entry ("${shlibs:Depends}, foo" without libraries) leaves a stray comma.
    while (value.starts_with(", ")) value = value.substr(2);
    while (value.ends_with(", ")) value.resize(value.size() - 2);
  }
  fields.insert(fields.begin() + 1, {"Version", r.version});
  fields.insert(fields.begin() + 2, {"Architecture", c.architecture});
  static const std::vector<std::string> kOrder = {
      "Package",        "Source",   "Version",    "Architecture", "Maintainer",
      "Installed-Size", "Depends",  "Recommends", "Suggests",     "Section",
      "Priority",       "Homepage", "Description"};
  fields.emplace_back("Installed-Size", std::to_string(c.installed_kib));
  auto rank = [&](const std::string& n) {
    const auto it = std::find(kOrder.begin(), kOrder.end(), n);
    return it == kOrder.end() ? kOrder.size() - 1 : static_cast<std::size_t>(it - kOrder.begin());
  };
  std::stable_sort(fields.begin(), fields.end(),
                   [&](const auto& a, const auto& b) { return rank(a.first) < rank(b.first); });
  std::string out;
  for (const auto& [name, value] : fields) {
    if (value.empty()) continue;
    out += name + ": " + value + "\n";
  }
  return out;
}

std::string Md5Sums(const std::vector<Entry>& entries) {
  std::string out;
  for (const Entry& e : entries) {
    if (e.kind != Entry::Kind::kFile) continue;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(e.data.data(), e.data.size(), md, &len, EVP_md5(), nullptr);
    out += tdxrt::ToHex(tdxrt::ByteSpan(md, len)) + "  " + e.path + "\n";
  }
  return out;
}

// ---- archives ----

class Writer {
 public:
  enum class Format { kTarXz, kAr };
  static Result<Writer> Open(Format f, const std::string& what, int xz_level = 6) {
    Writer w(what);
    archive* a = w.a_.get();
    if (f == Format::kTarXz) {
      archive_write_set_format_gnutar(a);
      archive_write_add_filter_xz(a);
      archive_write_set_filter_option(a, "xz", "compression-level",
                                      std::to_string(xz_level).c_str());
      archive_write_set_filter_option(a, "xz", "threads", "1");
    } else {
      archive_write_set_format_ar_bsd(a);
    }
    archive_write_set_bytes_in_last_block(a, 1);
    if (tdximage::OpenArchiveToBytes(a, w.out_.get()) != ARCHIVE_OK) {
      return w.Fail("open");
    }
    return w;
  }

  Status Add(const std::string& name, Entry::Kind kind, unsigned mode, tdxrt::ByteSpan data,
             const std::string& target, std::int64_t mtime) {
    std::unique_ptr<archive_entry, EntryDeleter> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_filetype(e.get(), kind == Entry::Kind::kDir       ? AE_IFDIR
                                        : kind == Entry::Kind::kSymlink ? AE_IFLNK
                                                                        : AE_IFREG);
    archive_entry_set_perm(e.get(), mode);
    archive_entry_set_uid(e.get(), 0);
    archive_entry_set_gid(e.get(), 0);
    if (!ar_) {
      archive_entry_set_uname(e.get(), "root");
      archive_entry_set_gname(e.get(), "root");
    }
    archive_entry_set_mtime(e.get(), mtime, 0);
    if (kind == Entry::Kind::kSymlink) archive_entry_set_symlink(e.get(), target.c_str());
    archive_entry_set_size(e.get(),
                           kind == Entry::Kind::kFile ? static_cast<la_int64_t>(data.size()) : 0);
    if (archive_write_header(a_.get(), e.get()) != ARCHIVE_OK) return Fail("header of " + name);
    if (kind == Entry::Kind::kFile && !data.empty() &&
        archive_write_data(a_.get(), data.data(), data.size()) !=
            static_cast<la_ssize_t>(data.size())) {
      return Fail("data of " + name);
    }
    return Status::Ok();
  }

  Result<Bytes> Finish() {
    if (archive_write_close(a_.get()) != ARCHIVE_OK) return Fail("close");
    return std::move(*out_);
  }

  void SetAr() { ar_ = true; }

 private:
  explicit Writer(std::string what)
      : what_(std::move(what)), a_(archive_write_new()), out_(std::make_unique<Bytes>()) {}
  Status Fail(const std::string& step) const {
    const char* e = archive_error_string(a_.get());
    return Status::IoError(what_ + ": " + step + (e != nullptr ? std::string(": ") + e : ""));
  }
  std::string what_;
  std::unique_ptr<archive, ArchiveDeleter> a_;
  std::unique_ptr<Bytes> out_;  // stable address for the write callback
  bool ar_ = false;
};

Result<Bytes> DataTar(const std::vector<Entry>& entries, std::int64_t epoch, int xz_level) {
  TDX_ASSIGN_OR_RETURN(Writer w, Writer::Open(Writer::Format::kTarXz, "data.tar.xz", xz_level));
  TDX_TRY(w.Add("./", Entry::Kind::kDir, 0755, {}, "", epoch));
  for (const Entry& e : entries) {
    const std::string name = "./" + e.path + (e.kind == Entry::Kind::kDir ? "/" : "");
    TDX_TRY(w.Add(name, e.kind, e.mode, e.data, e.target, epoch));
  }
  return w.Finish();
}

Result<Bytes> ControlTar(const std::string& control, const std::string& md5sums,
                         std::int64_t epoch) {
  TDX_ASSIGN_OR_RETURN(Writer w, Writer::Open(Writer::Format::kTarXz, "control.tar.xz"));
  TDX_TRY(w.Add("./", Entry::Kind::kDir, 0755, {}, "", epoch));
  TDX_TRY(w.Add("./control", Entry::Kind::kFile, 0644, tdxrt::BytesOf(control), "", epoch));
  TDX_TRY(w.Add("./md5sums", Entry::Kind::kFile, 0644, tdxrt::BytesOf(md5sums), "", epoch));
  return w.Finish();
}

Result<Bytes> ArArchive(const Bytes& control_tar, const Bytes& data_tar, std::int64_t epoch) {
  TDX_ASSIGN_OR_RETURN(Writer w, Writer::Open(Writer::Format::kAr, "the .deb (ar)"));
  w.SetAr();
  TDX_TRY(w.Add("debian-binary", Entry::Kind::kFile, 0644, tdxrt::BytesOf("2.0\n"), "", epoch));
  TDX_TRY(w.Add("control.tar.xz", Entry::Kind::kFile, 0644, control_tar, "", epoch));
  TDX_TRY(w.Add("data.tar.xz", Entry::Kind::kFile, 0644, data_tar, "", epoch));
  return w.Finish();
}

}  // namespace

Result<std::vector<std::pair<std::string, std::string>>> ParseControl(const std::string& text,
                                                                      const std::string& name) {
  std::vector<std::pair<std::string, std::string>> fields;
  std::stringstream in(text);
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    const std::string where = name + ":" + std::to_string(n);
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == ' ' || line[0] == '\t') {
      if (fields.empty()) return Status::Corrupt(where + ": a continuation line before a field");
      fields.back().second += "\n" + line;
      continue;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos || colon == 0) {
      return Status::Corrupt(where + ": not a 'Field: value' line");
    }
    std::string field = line.substr(0, colon), value = line.substr(colon + 1);
    while (!value.empty() && value[0] == ' ') value.erase(0, 1);
    for (const auto& [existing, v] : fields) {
      if (existing == field) return Status::Corrupt(where + ": " + field + " given twice");
    }
    fields.emplace_back(std::move(field), std::move(value));
  }
  return fields;
}

Result<Deb> BuildDeb(const DebRequest& r) {
  TDX_ASSIGN_OR_RETURN(std::vector<Entry> entries, CollectTree(r.root));
  TDX_ASSIGN_OR_RETURN(Template t, CheckTemplate(r));
  if (r.xz_level < 0 || r.xz_level > 9) {
    return Status::InvalidArgument("xz level " + std::to_string(r.xz_level) + " (0 to 9)");
  }
  AddChangelog(entries, t.package, r.version, t.maintainer, r.epoch);
  AddParentDirectories(entries);
  TDX_TRY(CompressDocs(entries));
  TDX_ASSIGN_OR_RETURN(const Computed computed, Compute(entries, r.shlibs));
  Deb deb;
  deb.package = t.package;
  deb.control = FillControl(std::move(t), r, computed);
  deb.version = r.version;
  deb.architecture = computed.architecture;
  TDX_ASSIGN_OR_RETURN(const Bytes data_tar, DataTar(entries, r.epoch, r.xz_level));
  TDX_ASSIGN_OR_RETURN(const Bytes control_tar, ControlTar(deb.control, Md5Sums(entries), r.epoch));
  TDX_ASSIGN_OR_RETURN(deb.bytes, ArArchive(control_tar, data_tar, r.epoch));
  return deb;
}

}  // namespace debpack
