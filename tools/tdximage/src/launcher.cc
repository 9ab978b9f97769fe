// Launcher generation and reading (see include/tdximage/launcher.h).
#include "tdximage/launcher.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cstring>

#include "launcher_template.h"  // generated from runtime/launcher/launcher.sh.in
#include "tdximage/archive.h"
#include "tdxrt/hex.h"
#include "tdxrt/sha.h"

namespace tdximage {

using tdxrt::Bytes;
using tdxrt::Result;
using tdxrt::Status;

namespace {

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t pos = s.find(from); pos != std::string::npos;
       pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

// Text placed inside single quotes in the template.
std::string SingleQuoted(const std::string& s) { return Replace(s, "'", "'\\''"); }

Result<std::string> Render(const LauncherSpec& s, const std::string& mode,
                           const std::string& payload_sha) {
  if (s.cmdline.find('\n') != std::string::npos)
    return Status::InvalidArgument("kernel command line contains a newline");
  for (const auto& f : s.files) {
    if (f.name.find_first_of("'\n/") != std::string::npos) {
      return Status::InvalidArgument("launcher file name '" + f.name + "' is not a plain name");
    }
  }
  std::string sums;
  std::vector<LauncherFile> sorted = s.files;
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  for (const auto& f : sorted) sums += tdxrt::ToHex(tdxrt::Sha256(*f.data)) + "  " + f.name + "\n";
  std::string t(kLauncherTemplate);
  t = Replace(t, "@MODE_LINE@",
              mode == "selfextract"
                  ? "Self-extracting: the files follow this header as a tar.gz payload."
                  : "Runs the unpacked files in the directory of this script.");
  t = Replace(t, "@MODE@", mode);
  t = Replace(t, "@NAME@", s.name);
  t = Replace(t, "@TOOL@", s.tool);
  t = Replace(t, "@MEMORY@", s.memory);
  t = Replace(t, "@CPUS@", std::to_string(s.cpus));
  std::string host_env;
  for (const auto& e : s.host_env) host_env += (host_env.empty() ? "" : " ") + e;
  t = Replace(t, "@HOST_ENV@", host_env);
  t = Replace(t, "@CMDLINE@", SingleQuoted(s.cmdline));
  t = Replace(t, "@MRTD_SINGLE@", s.mrtd_single);
  t = Replace(t, "@MRTD_TWO@", s.mrtd_two);
  t = Replace(t, "@RTMR1@", s.rtmr1);
  t = Replace(t, "@RTMR2@", s.rtmr2);
  std::string hosts;
  for (const auto& h : s.host_lines) hosts += "\n#   host " + h;
  t = Replace(t, "@HOST_LINES@", hosts);
  t = Replace(t, "@RTMR1_FOLLOWS_MEMORY@", s.rtmr1_follows_memory ? "1" : "0");
  t = Replace(t, "@RTMR0_PINNED_HOSTS@", SingleQuoted(s.rtmr0_pinned_hosts));
  t = Replace(t, "@FILE_SUMS@", sums);
  t = Replace(t, "@KERNEL_FILE@", s.kernel_file);
  t = Replace(t, "@INITRD_FILE@", s.initrd_file);
  t = Replace(t, "@OVMF_FILE@", s.ovmf_file);
  t = Replace(t, "@MRTD_CALC_FLAGS@",
              "--kernel-header " + s.kernel_header + " --ovmf-layout " + s.ovmf_layout);
  t = Replace(t, "@PAYLOAD_SHA256@", payload_sha);
  return t;
}

Result<Bytes> Payload(const LauncherSpec& s) {
  struct Deleter {
    void operator()(archive* a) const { archive_write_free(a); }
  };
  Bytes out;
  std::unique_ptr<archive, Deleter> a(archive_write_new());
  auto fail = [&](const std::string& what) {
    const char* e = archive_error_string(a.get());
    return Status::IoError("launcher payload: " + what + (e ? std::string(": ") + e : ""));
  };
  archive_write_set_format_ustar(a.get());
  archive_write_add_filter_gzip(a.get());
  archive_write_set_filter_option(a.get(), "gzip", "compression-level", "9");
  archive_write_set_filter_option(a.get(), "gzip", "timestamp", nullptr);
  archive_write_set_bytes_in_last_block(a.get(), 1);
  if (OpenArchiveToBytes(a.get(), &out) != ARCHIVE_OK) return fail("open");
  std::vector<LauncherFile> sorted = s.files;
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& x, const auto& y) { return x.name < y.name; });
  for (const auto& f : sorted) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, f.name.c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    archive_entry_set_mtime(e, s.mtime, 0);
    archive_entry_set_size(e, static_cast<la_int64_t>(f.data->size()));
    const int r = archive_write_header(a.get(), e);
    archive_entry_free(e);
    if (r != ARCHIVE_OK) return fail("header of " + f.name);
    if (archive_write_data(a.get(), f.data->data(), f.data->size()) !=
        static_cast<la_ssize_t>(f.data->size())) {
      return fail("data of " + f.name);
    }
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) return fail("close");
  a.reset();
  return out;
}

}  // namespace

Result<Bytes> MakeSelfExtractingLauncher(const LauncherSpec& s) {
  TDX_ASSIGN_OR_RETURN(Bytes payload, Payload(s));
  const std::string sha = tdxrt::ToHex(tdxrt::Sha256(payload));
  TDX_ASSIGN_OR_RETURN(std::string header, Render(s, "selfextract", sha));
  // The header states its own length: iterate until the number of digits settles.
  std::string rendered;
  std::size_t offset = header.size();
  for (int i = 0; i < 4; ++i) {
    rendered = Replace(header, "@PAYLOAD_OFFSET@", std::to_string(offset));
    if (rendered.size() == offset) break;
    offset = rendered.size();
  }
  if (rendered.size() != offset) return Status::IoError("launcher header length did not settle");
  Bytes out(rendered.begin(), rendered.end());
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

Result<std::string> MakeUnpackedLauncher(const LauncherSpec& s) {
  TDX_ASSIGN_OR_RETURN(std::string t, Render(s, "unpacked", ""));
  return Replace(t, "@PAYLOAD_OFFSET@", "0");
}

Result<std::vector<LauncherFile>> ReadLauncherPayload(tdxrt::ByteSpan l) {
  const std::string head(reinterpret_cast<const char*>(l.data()),
                         std::min<std::size_t>(l.size(), 64 * 1024));
  auto field = [&](const std::string& key) -> std::optional<std::string> {
    const auto p = head.find("\nreadonly " + key + "=");
    if (p == std::string::npos) return std::nullopt;
    const auto start = p + 10 + key.size() + 1;
    const auto end = head.find_first_of(" \n", start);
    std::string v = head.substr(start, end - start);
    if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'') v = v.substr(1, v.size() - 2);
    return v;
  };
  auto off = field("PAYLOAD_OFFSET");
  auto sha = field("PAYLOAD_SHA256");
  if (!off || !sha || off->empty() || off->find_first_not_of("0123456789") != std::string::npos ||
      off->size() > 9) {
    return Status::Corrupt(
        "not a self-extracting tdximage launcher (no PAYLOAD_OFFSET/PAYLOAD_SHA256 in its header)");
  }
  const std::size_t offset = std::stoul(*off);
  if (offset == 0 || offset > l.size())
    return Status::Corrupt("launcher payload offset " + *off + " is outside the file");
  const tdxrt::ByteSpan payload = l.subspan(offset);
  const std::string got = tdxrt::ToHex(tdxrt::Sha256(payload));
  if (got != *sha) {
    return Status::Mismatch("launcher payload sha256 " + got + " does not match the expected " +
                            *sha + " (corrupted or modified launcher)");
  }
  // One pass, bounded by what the payload may unpack to (a crafted 11 MB launcher made the
  // earlier list-then-read-each-member code use 2.5 GB).
  TDX_ASSIGN_OR_RETURN(auto files, ReadTarFiles(payload));
  std::vector<LauncherFile> out;
  for (auto& f : files) {
    out.push_back({std::move(f.path), std::make_shared<const Bytes>(std::move(f.data))});
  }
  return out;
}

}  // namespace tdximage
