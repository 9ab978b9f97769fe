// Image assembly and outputs (see include/tdximage/build.h).
#include "tdximage/build.h"

#include <fnmatch.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "mrtd/acpi.h"
#include "mrtd/expected_log.h"
#include "mrtd/kernel.h"
#include "mrtd/mrtd.h"
#include "mrtd/rtmr.h"
#include "mrtd/tdvf.h"
#include "tdximage/archive.h"
#include "tdximage/closure.h"
#include "tdximage/elf.h"
#include "tdximage/host_settings.h"
#include "tdximage/init.h"
#include "tdximage/initramfs.h"
#include "tdximage/launcher.h"
#include "tdximage/modules.h"
#include "tdximage/out_dir.h"
#include "tdxrt/file.h"
#include "tdxrt/hex.h"
#include "tdxrt/json.h"
#include "tdxrt/policy.h"
#include "tdxrt/sha.h"
#include "tdxrt/text.h"

namespace tdximage {

namespace fs = std::filesystem;
using nlohmann::ordered_json;
using tdxrt::Bytes;
using tdxrt::Result;
using tdxrt::Status;

namespace {

class Timer {
 public:
  Timer(std::map<std::string, double>& out, std::string name)
      : out_(out), name_(std::move(name)), t0_(std::chrono::steady_clock::now()) {}
  ~Timer() {
    out_[name_] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  }

 private:
  std::map<std::string, double>& out_;
  std::string name_;
  std::chrono::steady_clock::time_point t0_;
};

// A source seen as an archive (uncompressed tar: .deb data or tarball) or as a single file.
struct SourceContent {
  std::shared_ptr<const Bytes> tar;   // set for archives
  std::shared_ptr<const Bytes> file;  // set for plain files
};

class Sources {
 public:
  Sources(const SourceSet& s, const Cache* derived) : set_(s), derived_(derived) {}

  Result<const SourceContent*> Get(const std::string& name) {
    if (auto it = cache_.find(name); it != cache_.end()) return &it->second;
    auto s = set_.find(name);
    if (s == set_.end()) return Status::NotFound("source '" + name + "' was not fetched");
    const Bytes& data = *s->second.data;
    SourceContent c;
    const bool deb = data.size() >= 8 && std::string(data.begin(), data.begin() + 8) == "!<arch>\n";
    const std::string key = s->second.sha256 + "-tar";
    std::optional<Bytes> derived = derived_ ? derived_->GetDerived(key) : std::nullopt;
    if (derived) {
      c.tar = std::make_shared<const Bytes>(std::move(*derived));
    } else if (deb) {
      auto inner = DebDataTar(data);
      if (!inner.ok()) return inner.status().WithContext("source '" + name + "'");
      auto raw = Decompress(*inner);
      if (!raw.ok()) return raw.status().WithContext("source '" + name + "': data.tar");
      c.tar = std::make_shared<const Bytes>(std::move(raw).value());
    } else if (LooksLikeTar(data)) {
      auto raw = Decompress(data);
      if (!raw.ok()) return raw.status().WithContext("source '" + name + "'");
      c.tar = std::make_shared<const Bytes>(std::move(raw).value());
    } else {
      c.file = s->second.data;
    }
    if (c.tar && !derived && derived_) pending_.emplace_back(key, c.tar);
    return &cache_.emplace(name, std::move(c)).first->second;
  }

  // Derived trees made by this build, for the cache once the build succeeded.
  std::vector<std::pair<std::string, std::shared_ptr<const Bytes>>> TakeDerived() {
    return std::move(pending_);
  }

  // One regular file: `path` may be a glob ('*', '?') that must match exactly one entry.
  Result<std::shared_ptr<const Bytes>> Member(const SourceRef& ref,
                                              std::string* matched = nullptr) {
    TDX_ASSIGN_OR_RETURN(const SourceContent* c, Get(ref.source));
    const std::string where = "source '" + ref.source + "'";
    if (c->file) {
      if (!ref.path.empty())
        return Status::InvalidArgument(where + " is a single file; it has no member '" + ref.path +
                                       "'");
      if (matched) *matched = "";
      return c->file;
    }
    if (ref.path.empty())
      return Status::InvalidArgument(where + " is an archive: name a member with 'path'");
    TDX_ASSIGN_OR_RETURN(auto entries, ListTar(*c->tar));
    std::vector<std::string> hits;
    for (const auto& e : entries) {
      if (e.type == EntryType::kFile &&
          fnmatch(ref.path.c_str(), e.path.c_str(), FNM_PATHNAME) == 0)
        hits.push_back(e.path);
    }
    if (hits.size() != 1) {
      std::string list;
      for (const auto& h : hits) list += (list.empty() ? "" : ", ") + h;
      return Status::NotFound(
          where + ": '" + ref.path + "' matches " + std::to_string(hits.size()) + " regular files" +
          (hits.empty() ? "" : " (" + list + ")") + "; it must match exactly one");
    }
    if (matched) *matched = hits[0];
    TDX_ASSIGN_OR_RETURN(Bytes b, ReadTarMember(*c->tar, hits[0]));
    return std::make_shared<const Bytes>(std::move(b));
  }

 private:
  const SourceSet& set_;
  const Cache* derived_;
  std::map<std::string, SourceContent> cache_;
  std::vector<std::pair<std::string, std::shared_ptr<const Bytes>>> pending_;
};

// Where `abs` lands in the tree when its parent directories may be symlinks (merged /usr).
std::string PlaceInTree(const FileTree& tree, const std::string& abs) {
  const std::string rel = JoinTreePath("", abs);
  const auto slash = rel.rfind('/');
  if (slash == std::string::npos) return rel;
  std::string cur;
  std::size_t start = 0;
  const std::string dir = rel.substr(0, slash);
  while (start <= dir.size()) {
    std::size_t end = dir.find('/', start);
    if (end == std::string::npos) end = dir.size();
    const std::string here =
        cur.empty() ? dir.substr(start, end - start) : cur + "/" + dir.substr(start, end - start);
    const TreeNode* n = tree.Find(here);
    if (n && n->type == TreeNode::Type::kSymlink) {
      auto r = MakeTreeRootView(tree)->RealPath("/" + here);
      cur = r.ok() ? r->substr(1) : here;
    } else {
      cur = here;
    }
    start = end + 1;
  }
  return cur + rel.substr(slash);
}

std::string ModeString(std::uint32_t mode) {
  char b[8];
  std::snprintf(b, sizeof b, "%04o", mode);
  return b;
}

// ${NAME}/rest -> $NAME/rest from the build's environment (recipe.cc accepts only that form).
Result<std::string> ExpandHostPath(const std::string& spelled) {
  if (spelled.rfind("${", 0) != 0) return spelled;
  const auto close = spelled.find('}');
  const std::string name = spelled.substr(2, close - 2);
  const char* v = std::getenv(name.c_str());
  if (v == nullptr || *v == '\0') {
    return Status::InvalidArgument("host path " + spelled + ": " + name +
                                   " is not set in the environment (hint: point it at the "
                                   "directory with the binaries, e.g. " +
                                   name + "=build/release/bin)");
  }
  std::string dir = v;
  if (dir.front() != '/') {
    std::error_code ec;
    dir = (std::filesystem::current_path(ec) / dir).lexically_normal().string();
  }
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir + spelled.substr(close + 1);
}

}  // namespace

Result<SourceSet> FetchSources(const Recipe& r, const Lock* lock, SourceStore& store,
                               const std::function<void(const std::string&)>& log) {
  SourceSet out;
  for (const auto& s : r.sources) {
    const LockEntry* pin = nullptr;
    if (lock) {
      auto it = lock->sources.find(s.name);
      if (it != lock->sources.end()) pin = &it->second;
    }
    auto got = store.Get(s, pin, r.dir);
    if (!got.ok()) return got.status();
    if (pin && got->size != pin->size) {
      return Status::Mismatch("source '" + s.name + "': " + std::to_string(got->size) +
                              " bytes but the lock pins " + std::to_string(pin->size));
    }
    if (log)
      log("source   " + s.name + ": " + got->sha256.substr(0, 16) + "… " +
          std::to_string(got->size) + " bytes");
    out[s.name] = std::move(got).value();
  }
  return out;
}

Result<AssembledImage> AssembleImage(const Recipe& r, const SourceSet& set, const BuildOptions& o) {
  auto log = [&](const std::string& m) {
    if (o.log) o.log(m);
  };
  Sources src(set, o.derived_cache);
  AssembledImage img;
  std::string kernel_member;
  {
    TDX_ASSIGN_OR_RETURN(auto k, src.Member(r.kernel, &kernel_member));
    img.kernel = *k;
    TDX_TRY(mrtd::ParseBzImage(img.kernel)
                .status()
                .WithContext("kernel (source '" + r.kernel.source + "'" +
                             (kernel_member.empty() ? "" : " " + kernel_member) + ")"));
    TDX_ASSIGN_OR_RETURN(auto f, src.Member(r.ovmf));
    img.ovmf = *f;
    TDX_TRY(
        mrtd::ParseTdvf(img.ovmf).status().WithContext("OVMF (source '" + r.ovmf.source + "')"));
    log("kernel   " + kernel_member + " (" + std::to_string(img.kernel.size()) + " bytes), OVMF " +
        std::to_string(img.ovmf.size()) + " bytes");
  }
  FileTree& t = img.tree;
  for (const auto& rf : r.rootfs) {
    TDX_ASSIGN_OR_RETURN(const SourceContent* c, src.Get(rf.from.source));
    if (!c->tar)
      return Status::InvalidArgument("rootfs: source '" + rf.from.source + "' is not an archive");
    TDX_TRY(t.AddTar(*c->tar, rf.from.path, rf.to, rf.from.source));
    log("rootfs   " + rf.from.source + (rf.from.path.empty() ? "" : ":" + rf.from.path) + " -> " +
        rf.to);
  }
  for (const auto& f : r.files) {
    std::shared_ptr<const Bytes> data;
    std::string origin = "recipe";
    if (f.content) {
      data = std::make_shared<const Bytes>(f.content->begin(), f.content->end());
    } else {
      std::string member;
      auto d = src.Member(*f.from, &member);
      if (!d.ok())
        return d.status().WithContext(r.file + ":" + std::to_string(f.line) + ": files entry for " +
                                      f.to);
      data = *d;
      origin = f.from->source + (member.empty() ? "" : ":" + member);
    }
    std::uint32_t mode = f.mode.value_or(0644);
    if (!f.mode && data->size() >= 4 && (IsElf(*data) || ((*data)[0] == '#' && (*data)[1] == '!')))
      mode = 0755;
    const std::string dest = PlaceInTree(t, f.to);
    TDX_TRY(t.AddFile(dest, data, mode, origin));
    if (f.mode) img.explicit_modes.push_back(dest);
  }
  // Kernel modules, decompressed so any insmod can load them.
  if (r.modules_source && !r.modules.empty()) {
    TDX_ASSIGN_OR_RETURN(const SourceContent* c, src.Get(*r.modules_source));
    if (!c->tar)
      return Status::InvalidArgument("modules: source '" + *r.modules_source +
                                     "' is not an archive");
    FileTree mods;
    // Debian 12 ships them in lib/modules, Debian 13 (merged /usr) in usr/lib/modules: either
    // lands in the image's /lib/modules.
    TDX_TRY(mods.AddTar(*c->tar, "lib/modules", "lib/modules", *r.modules_source));
    TDX_TRY(mods.AddTar(*c->tar, "usr/lib/modules", "lib/modules", *r.modules_source));
    TDX_ASSIGN_OR_RETURN(std::string version, KernelModulesVersion(mods));
    TDX_ASSIGN_OR_RETURN(auto closure, ModuleClosure(mods, version, r.modules));
    std::string names;
    for (const auto& m : closure) {
      TDX_ASSIGN_OR_RETURN(Bytes ko, DecompressModule(*mods.Find(m.path)->data));
      std::string path = m.path;
      for (const char* ext : {".xz", ".zst", ".gz"}) {
        const std::string e(ext);
        if (path.size() > e.size() && path.compare(path.size() - e.size(), e.size(), e) == 0)
          path.resize(path.size() - e.size());
      }
      const std::string dest = PlaceInTree(t, "/" + path);
      TDX_TRY(t.AddFile(dest, std::move(ko), 0644, *r.modules_source + ":" + m.path));
      img.modules.push_back(dest);
      names += (names.empty() ? "" : ", ") + m.name;
    }
    log("modules  " + version + ": " + names);
  }
  // Binaries and their shared-library closure.
  auto host = MakeHostRootView(o.host_root);
  for (const auto& b : r.binaries) {
    if (b.from == BinarySpec::From::kHost) {
      const std::string where = r.file + ":" + std::to_string(b.line);
      auto path = ExpandHostPath(b.path);
      if (!path.ok()) return path.status().WithContext(where);
      auto real = host->RealPath(*path);
      if (!real.ok()) return real.status().WithContext(where);
      TDX_ASSIGN_OR_RETURN(auto data, host->Read(*real));
      if (!IsElf(*data))
        return Status::InvalidArgument(*path + " on the build host is not an ELF binary");
      // The origin is the path as the recipe spells it: a build directory's location must not
      // change the manifest (and so the launcher) between machines.
      TDX_TRY(t.AddFile(PlaceInTree(t, b.to), data, 0755, "host:" + b.path));
      TDX_ASSIGN_OR_RETURN(auto libs, ElfClosure(*host, *real));
      for (const auto& l : libs) {
        const std::string dest = PlaceInTree(t, l.path);
        const TreeNode* existing = t.Find(dest);
        if (existing && existing->type == TreeNode::Type::kFile && *existing->data != *l.data) {
          return Status::InvalidArgument(
              b.path + ": host library " + l.path + " differs from the image's own " + dest +
              " (mixing C libraries is unsafe; ship a static binary or build for the image)");
        }
        if (!existing) TDX_TRY(t.AddFile(dest, l.data, 0755, "host:" + l.found_at));
      }
      log("binary   " + b.path + " -> " + b.to + " (+" + std::to_string(libs.size()) +
          " libraries from the host; development only: the image is marked not reproducible)");
    } else {
      auto view = MakeTreeRootView(t);
      auto libs = ElfClosure(*view, b.path);
      if (!libs.ok()) return libs.status().WithContext(r.file + ":" + std::to_string(b.line));
      log("binary   " + b.path + " (in the image; " + std::to_string(libs->size()) +
          " libraries present)");
    }
  }
  // Programs the recipe's build section made, with their libraries from the build root.
  if (r.build) {
    if (o.built == nullptr)
      return Status::InvalidArgument(r.file + ": the build section has not been run");
    for (const auto& f : o.built->files) {
      const std::string dest = PlaceInTree(t, f.to);
      const TreeNode* existing = t.Find(dest);
      if (existing && existing->type == TreeNode::Type::kFile && *existing->data != *f.data) {
        return Status::InvalidArgument(
            r.file + ": build: " + f.to + " (" + f.origin + ") differs from the image's own " +
            dest + " (" + existing->origin +
            "); mixing C libraries is unsafe: build with the image's base or ship a static binary");
      }
      if (!existing) TDX_TRY(t.AddFile(dest, f.data, f.mode, f.origin));
    }
    log("build    " + std::to_string(o.built->files.size()) +
        " files from the build root (programs and their libraries)" +
        (o.built->from_cache ? ", cached" : ""));
  }
  // Settings the host may pass (payload.host_env) against what the image's programs declare.
  {
    auto declared = DeclaredSettingsIn(t);
    if (!declared.ok()) return declared.status().WithContext("settings declaration");
    TDX_TRY(CheckHostSettings(r, *declared));
    for (const auto& d : *declared) {
      std::string protected_names;
      for (const auto& s : d.settings.settings) {
        if (s.protected_) protected_names += (protected_names.empty() ? "" : " ") + s.name;
      }
      log("settings " + d.path + " (" + d.settings.program + ") protects " + protected_names);
    }
    img.declared_settings = std::move(declared).value();
  }
  // /init and its helpers.
  if (!t.Find("bin/busybox")) {
    return Status::InvalidArgument(
        "the image has no /bin/busybox, which the generated /init runs on "
        "(hint: add busybox-static or an Alpine rootfs)");
  }
  const std::string udhcpc = UdhcpcScript();
  TDX_TRY(t.AddFile(PlaceInTree(t, "/etc/tdx/udhcpc.sh"), Bytes(udhcpc.begin(), udhcpc.end()), 0755,
                    "generated"));
  const std::string init = GenerateInit(r, img.modules, o.tool_version);
  TDX_TRY(t.AddFile("init", Bytes(init.begin(), init.end()), 0755, "generated"));
  {
    auto payload = MakeTreeRootView(t)->RealPath(r.payload_command);
    if (!payload.ok()) {
      return Status::InvalidArgument("payload command " + r.payload_command +
                                     " is not in the image (" + payload.status().message() + ")");
    }
  }
  img.derived = src.TakeDerived();
  return img;
}

namespace {

// The hosts a build computes: the recipe's measure.hosts, or its knobs under both page orders
// (the two sets the policy has always carried).
std::vector<mrtd::VariantSpec> VariantsOf(const Recipe& r) {
  std::vector<mrtd::VariantSpec> out;
  for (const auto& h : r.hosts) out.push_back(mrtd::VariantOf(h));
  if (!out.empty()) return out;
  for (mrtd::PageOrder order : {mrtd::PageOrder::kSinglePass, mrtd::PageOrder::kTwoPass}) {
    out.push_back({std::string(mrtd::PageOrderName(order)),
                   {"the recipe's knobs: kernel_header " + r.kernel_header + ", ovmf_layout " +
                    r.ovmf_layout},
                   order,
                   *mrtd::ParseKernelHeaderMode(r.kernel_header),
                   *mrtd::ParseOvmfEventLayout(r.ovmf_layout)});
  }
  return out;
}

// measure.acpi: each host's capture (a file or input source), read and checked against the
// image's launch shape, attached to that host's variant; `captures` owns them.
Status AttachAcpiCaptures(const Recipe& r, const SourceSet& sources,
                          std::vector<mrtd::VariantSpec>& specs,
                          std::vector<mrtd::AcpiCapture>& captures,
                          std::map<std::string, std::string>& accel) {
  captures.reserve(r.acpi_sources.size());
  for (auto& spec : specs) {
    const auto it = r.acpi_sources.find(spec.host);
    if (it == r.acpi_sources.end()) continue;
    const auto src = sources.find(it->second);
    if (src == sources.end() || !src->second.data) {
      return Status::InvalidArgument("measure.acpi: source '" + it->second + "' was not fetched");
    }
    const tdxrt::Bytes& b = *src->second.data;
    const std::string what = "source '" + it->second + "' (measure.acpi of " + spec.host + ")";
    TDX_ASSIGN_OR_RETURN(
        mrtd::AcpiCapture c,
        mrtd::ParseAcpiCapture(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()),
                               what));
    TDX_ASSIGN_OR_RETURN(std::uint64_t want, mrtd::ParseMemorySize(r.memory));
    auto got = mrtd::ParseMemorySize(c.memory);
    if (!got.ok() || *got != want || c.cpus != static_cast<unsigned>(r.cpus)) {
      return Status::InvalidArgument(
          what + ": captured with MEMORY=" + c.memory + " and " + std::to_string(c.cpus) +
          " vCPUs, not the image's launch (" + r.memory + ", " + std::to_string(r.cpus) +
          "): the ACPI tables follow the VM's shape (tdximage capture-acpi with the recipe's "
          "launch)");
    }
    const mrtd::HostProfile* profile = nullptr;
    for (const auto& h : r.hosts) {
      if (h.name() == spec.host) profile = &h;
    }
    if (profile == nullptr || !mrtd::CapturedFrom(c, profile->qemu)) {
      return Status::InvalidArgument(what + ": captured from '" + tdxrt::EscapeText(c.qemu) +
                                     "', not from this host's QEMU " +
                                     (profile ? mrtd::QemuHostName(profile->qemu) : spec.host) +
                                     " (its tables are another QEMU's)");
    }
    accel[spec.host] = c.accel;
    captures.push_back(std::move(c));
    spec.acpi = &captures.back();
  }
  return Status::Ok();
}

// A measurement policy (tdx-attest check, zipnet committees) admitting exactly this image: one
// set per host the recipe names (hosts giving the same values share a set), or, with the
// knobs, one per MR_TD page order; each with the image's RTMR1 and RTMR2 and, when the payload
// declares its settings (tdxrt/guest_settings.h), the program its launch record must name.
std::string PolicyFor(const mrtd::ExpectedLog& log, const Recipe& r, const AssembledImage& img,
                      const std::string& tool,
                      const std::map<std::string, std::string>& acpi_accel) {
  std::optional<std::string> program;
  for (const auto& d : img.declared_settings) {
    if ("/" + d.path == r.payload_command || d.path == r.payload_command) {
      program = d.settings.program;
    }
  }
  tdxrt::Policy p;
  std::string hosts_line, rtmr0_line;
  for (const auto& v : log.variants) {
    tdxrt::MeasurementSet s;
    s.name = r.hosts.empty()
                 ? r.name + (v.page_order == mrtd::PageOrder::kSinglePass ? "" : "-two-pass")
                 : r.name + "_" + v.host;
    s.mr_td = v.mr_td;
    s.rtmr[1] = v.rtmr1;
    s.rtmr[2] = v.rtmr2;
    const auto accel = acpi_accel.find(v.host);
    // RTMR0 is pinned only from a capture of a TD (--accel tdx): one without TDX predicts it
    // (eventlog.json, diagnose) but a TD's tables may differ.
    if (v.rtmr0 && accel != acpi_accel.end() && accel->second == "tdx") s.rtmr[0] = *v.rtmr0;
    s.program = program;
    auto same = std::find_if(p.sets.begin(), p.sets.end(), [&](const auto& o) {
      return o.mr_td == s.mr_td && o.rtmr[0] == s.rtmr[0] && o.rtmr[1] == s.rtmr[1] &&
             o.rtmr[2] == s.rtmr[2];
    });
    if (same == p.sets.end()) {
      p.sets.push_back(s);
      same = p.sets.end() - 1;
    }
    if (!r.hosts.empty()) {
      hosts_line +=
          "\n  " + v.host + ": " + std::string(mrtd::PageOrderName(v.page_order)) +
          ", kernel header " + std::string(mrtd::KernelHeaderModeName(v.kernel_header)) +
          ", separator " +
          (v.ovmf_layout == mrtd::OvmfEventLayout::kStable202411 ? "in RTMR1" : "in RTMR0") +
          " -> set " + same->name;
      if (accel != acpi_accel.end()) {
        rtmr0_line += "\n  " + v.host + ": RTMR0 " +
                      (s.rtmr[0] ? "pinned (ACPI tables captured from a TD)"
                                 : "predicted from ACPI tables captured without TDX (" +
                                       accel->second + "), not pinned");
      }
    }
  }
  const std::string memory_line =
      log.Rtmr1FollowsMemory()
          ? "RTMR1 assumes memory " + r.memory +
                " (a different MEMORY changes it: recompute with mrtd-calc)"
          : "RTMR1 does not depend on the memory (every host measures the kernel unmodified)";
  const std::string which =
      r.hosts.empty()
          ? "MR_TD: one set per page order hosts use (single-pass: upstream KVM + QEMU >= "
            "10.1; two-pass: Canonical 24.04 TDX stack)."
          : "One set per host the recipe targets (OVMF " + mrtd::EdkReleaseName(r.hosts[0].ovmf) +
                "):" + hosts_line;
  return tdxrt::SerializePolicy(
      p, "Measurement policy for image '" + r.name + "', written by " + tool + ".\n" + which +
             "\n" + memory_line + "; RTMR2 the cmdline and initramfs.\n" +
             (rtmr0_line.empty()
                  ? std::string("RTMR0 is not pinned: it holds the host QEMU's ACPI tables.\n")
                  : "RTMR0 (the TD HOB for MEMORY=" + r.memory +
                        " and the host's captured ACPI tables):" + rtmr0_line + "\n" +
                        (acpi_accel.size() < log.variants.size()
                             ? "other hosts: RTMR0 not pinned (their ACPI tables were not "
                               "captured)\n"
                             : "")) +
             "A quote that does not match: mrtd-calc diagnose --expected " + r.name +
             "-eventlog.json --quote Q\n"
             "Check a quote: tdx-attest check QUOTE --policy THIS --collateral C.json" +
             std::string(program ? " --event-log LOG\n(program: the launch record in the TD's "
                                   "RTMR3 log must name it)"
                                 : ""));
}

}  // namespace

Result<BuildResult> BuildImage(const Recipe& r, const Lock* lock, const std::string& lock_text,
                               const SourceSet& sources, const BuildOptions& o) {
  BuildResult res;
  auto log = [&](const std::string& m) {
    if (o.log) o.log(m);
  };
  AssembledImage img;
  {
    Timer tm(res.seconds, "assemble");
    TDX_ASSIGN_OR_RETURN(img, AssembleImage(r, sources, o));
  }
  const Compression comp = *ParseCompression(r.compression);
  Bytes initramfs;
  {
    Timer tm(res.seconds, "compress");
    InitramfsOptions io;
    io.compression = comp;
    io.level = r.compression_level;
    io.mtime = o.source_date_epoch;
    io.explicit_modes = img.explicit_modes;
    TDX_ASSIGN_OR_RETURN(initramfs, WriteInitramfs(img.tree, io));
  }
  res.initramfs_size = initramfs.size();
  res.initramfs_uncompressed_files = img.tree.total_file_bytes();
  log("initramfs " + std::to_string(img.tree.nodes().size()) + " entries, " +
      std::to_string(img.tree.total_file_bytes()) + " bytes of files -> " +
      std::to_string(initramfs.size()) + " bytes (" + std::string(CompressionName(comp)) +
      (r.compression_level > 0 ? " " + std::to_string(r.compression_level) : std::string()) + ", " +
      CompressorVersion(comp) + ")");

  // Measurements: every event of RTMR1 and RTMR2 per host (mrtd/expected_log.h), and the
  // register values they give.
  ordered_json meas;
  mrtd::ExpectedLog expected_log;
  std::vector<mrtd::AcpiCapture> captures;
  std::map<std::string, std::string> acpi_accel;  // host -> the capture's accel
  {
    Timer tm(res.seconds, "measure");
    mrtd::BootInputs in;
    in.image = r.name;
    in.firmware = img.ovmf;
    in.kernel = img.kernel;
    in.initrd = tdxrt::ByteSpan(initramfs);
    in.cmdline = r.cmdline;
    in.memory = r.memory;
    std::vector<mrtd::VariantSpec> specs = VariantsOf(r);
    TDX_TRY(AttachAcpiCaptures(r, sources, specs, captures, acpi_accel));
    TDX_ASSIGN_OR_RETURN(expected_log, mrtd::PredictEventLog(in, specs));
    TDX_ASSIGN_OR_RETURN(std::uint64_t mem, mrtd::ParseMemorySize(r.memory));
    const mrtd::ExpectedVariant& first = expected_log.variants.front();
    meas["name"] = r.name;
    meas["mr_td"] = {{"single-pass", tdxrt::ToHex(expected_log.mr_td_single_pass)},
                     {"two-pass", tdxrt::ToHex(expected_log.mr_td_two_pass)}};
    meas["mr_td_hex_file_page_order"] = mrtd::PageOrderName(first.page_order);
    meas["rtmr1"] = tdxrt::ToHex(first.rtmr1);
    meas["rtmr2"] = tdxrt::ToHex(first.rtmr2);
    if (!r.hosts.empty()) {
      meas["hosts"] = ordered_json::array();
      for (const auto& v : expected_log.variants) {
        meas["hosts"].push_back(mrtd::ExpectedVariantJson(v, false));
      }
    }
    meas["assumes"] = {{"memory", r.memory},
                       {"memory_bytes", mem},
                       {"cpus", r.cpus},
                       {"cmdline", r.cmdline},
                       {"initrd_size", initramfs.size()}};
    if (r.hosts.empty()) {
      meas["assumes"]["kernel_header"] = r.kernel_header;
      meas["assumes"]["ovmf_layout"] = r.ovmf_layout;
    } else {
      meas["assumes"]["ovmf_release"] = mrtd::EdkReleaseName(r.hosts.front().ovmf);
    }
    meas["assumes"]["machine"] = "q35";
    meas["note"] =
        r.hosts.empty()
            ? "MR_TD pins the firmware only; pin MR_TD, RTMR1 and RTMR2 together. RTMR0 is not "
              "computed."
        : r.acpi_sources.empty()
            ? "MR_TD pins the firmware only; pin MR_TD, RTMR1 and RTMR2 together, per host "
              "(hosts; rtmr1 and rtmr2 above are the first host's, mrtd.hex its MR_TD). RTMR0 is "
              "not computed."
            : "MR_TD pins the firmware only; pin MR_TD, RTMR1 and RTMR2 together, per host "
              "(hosts; rtmr1 and rtmr2 above are the first host's, mrtd.hex its MR_TD). RTMR0: "
              "hosts[].rtmr0 for the hosts whose ACPI tables were captured (measure.acpi), at "
              "this memory size and VM shape.";
  }
  // Outputs, into a temporary directory renamed into place. (Timed by hand: a Timer would
  // record after `res` is moved into the return value.)
  const auto write_start = std::chrono::steady_clock::now();
  const std::string n = r.name;
  const fs::path out_root = o.out_root;
  const fs::path final_dir = out_root / n;
  const fs::path tmp_dir = StagingDirFor(out_root, n);
  std::error_code ec;
  fs::create_directories(out_root, ec);
  if (const std::size_t stale = RemoveStaleStaging(out_root, n); stale > 0) {
    log("removed " + std::to_string(stale) + " directories of interrupted builds of " + n +
        " from " + out_root.string());
  }
  fs::remove_all(tmp_dir, ec);
  fs::create_directories(tmp_dir, ec);
  if (ec) return Status::IoError(tmp_dir.string() + ": " + ec.message());
  auto cleanup = [&] { fs::remove_all(tmp_dir, ec); };
  ordered_json outputs = ordered_json::array();
  std::vector<std::pair<std::string, std::string>> sums;  // file -> sha256, for SHA256SUMS
  auto write_out = [&](const std::string& file, tdxrt::ByteSpan data,
                       unsigned mode) -> tdxrt::Status {
    TDX_TRY(tdxrt::WriteFileAtomic(tmp_dir / file, data, mode));
    sums.emplace_back(file, tdxrt::ToHex(tdxrt::Sha256(data)));
    return tdxrt::Status::Ok();
  };
  auto put = [&](const std::string& file, tdxrt::ByteSpan data) -> tdxrt::Status {
    TDX_TRY(write_out(file, data, 0644));
    outputs.push_back({{"file", file}, {"size", data.size()}, {"sha256", sums.back().second}});
    return tdxrt::Status::Ok();
  };
  auto put_text = [&](const std::string& file, const std::string& text) {
    return put(file,
               tdxrt::ByteSpan(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  };
  const std::string initrd_name = n + "-initramfs.cpio" + std::string(CompressionSuffix(comp));
  tdxrt::Status st = put(initrd_name, initramfs);
  if (st.ok()) st = put(n + "-vmlinuz", img.kernel);
  if (st.ok()) st = put(n + "-ovmf.fd", img.ovmf);
  if (st.ok())
    st = put_text(n + "-mrtd.hex", tdxrt::ToHex(expected_log.variants.front().mr_td) + "\n");
  if (st.ok()) st = put_text(n + "-rtmr1.hex", meas["rtmr1"].get<std::string>() + "\n");
  if (st.ok()) st = put_text(n + "-rtmr2.hex", meas["rtmr2"].get<std::string>() + "\n");
  if (st.ok()) st = put_text(n + "-measurements.json", tdxrt::DumpJson(meas) + "\n");
  if (st.ok()) {
    st =
        put_text(n + "-eventlog.json", tdxrt::DumpJson(mrtd::ExpectedLogJson(expected_log)) + "\n");
  }
  if (st.ok())
    st = put_text(n + "-policy.yaml", PolicyFor(expected_log, r, img, o.tool_version, acpi_accel));
  if (!st.ok()) {
    cleanup();
    return st;
  }
  // Manifest: every input, every file in the initramfs, every output (but itself).
  ordered_json m;
  m["manifest_version"] = 1;
  m["tool"] = o.tool_version;
  const std::string recipe_text = [&] {
    auto b = tdxrt::ReadFile(r.file, 1 << 20);
    return b.ok() ? std::string(b->begin(), b->end()) : std::string();
  }();
  m["recipe"] = {
      {"name", r.name},
      {"file", fs::path(r.file).filename().string()},
      {"sha256",
       tdxrt::ToHex(tdxrt::Sha256(tdxrt::ByteSpan(
           reinterpret_cast<const std::uint8_t*>(recipe_text.data()), recipe_text.size())))},
      {"lock_sha256",
       lock ? tdxrt::ToHex(tdxrt::Sha256(tdxrt::ByteSpan(
                  reinterpret_cast<const std::uint8_t*>(lock_text.data()), lock_text.size())))
            : ""},
      {"base", r.base}};
  m["source_date_epoch"] = o.source_date_epoch;
  m["inputs"] = ordered_json::array();
  for (const auto& s : r.sources) {
    const auto& f = sources.at(s.name);
    m["inputs"].push_back({{"name", s.name},
                           {"identity", s.Identity()},
                           {"sha256", f.sha256},
                           {"size", f.size},
                           {"filename", f.filename}});
  }
  // Reproducible by others only when every program was built from source in the build root.
  std::string host_binaries;
  for (const auto& bin : r.binaries) {
    if (bin.from == BinarySpec::From::kHost)
      host_binaries += (host_binaries.empty() ? "" : ", ") + bin.path;
  }
  m["reproducible"] = host_binaries.empty();
  if (!host_binaries.empty()) {
    m["reproducible_reason"] = "binaries taken from the build host (" + host_binaries +
                               ") depend on how and where they were compiled; a build section "
                               "makes them from source in a locked build root";
  }
  if (o.built) m["build"] = o.built->buildinfo;
  ordered_json files = ordered_json::array();
  const std::set<std::string> explicit_modes(img.explicit_modes.begin(), img.explicit_modes.end());
  for (const auto& [path, node] : img.tree.nodes()) {
    ordered_json e = {{"path", "/" + path}};
    const std::uint32_t mode = explicit_modes.count(path) ? node.mode : NormalisedMode(node);
    switch (node.type) {
      case TreeNode::Type::kDirectory:
        e["type"] = "dir";
        e["mode"] = ModeString(mode);
        break;
      case TreeNode::Type::kSymlink:
        e["type"] = "symlink";
        e["target"] = node.target;
        break;
      case TreeNode::Type::kFile:
        e["type"] = "file";
        e["mode"] = ModeString(mode);
        e["size"] = node.data->size();
        e["sha256"] = tdxrt::ToHex(tdxrt::Sha256(*node.data));
        e["origin"] = node.origin;
        break;
    }
    files.push_back(std::move(e));
  }
  m["initramfs"] = {{"file", initrd_name},
                    {"compression", CompressionName(comp)},
                    {"level", r.compression_level},
                    {"compressor", CompressorVersion(comp)},
                    {"files", files}};
  m["modules"] = img.modules;
  ordered_json env = ordered_json::object();
  for (const auto& [k, v] : r.payload_env) env[k] = v;
  ordered_json declared = ordered_json::array();
  for (const auto& d : img.declared_settings) {
    ordered_json p = ordered_json::array(), h = ordered_json::array();
    for (const auto& s : d.settings.settings) (s.protected_ ? p : h).push_back(s.name);
    declared.push_back(
        {{"path", d.path}, {"program", d.settings.program}, {"protected", p}, {"host", h}});
  }
  m["payload"] = {{"command", r.payload_command},
                  {"args", r.payload_args},
                  {"env", env},
                  {"host_env", r.payload_host_env},
                  {"declared_settings", declared}};
  m["launch"] = {{"memory", r.memory}, {"cpus", r.cpus}, {"cmdline", r.cmdline}};
  m["measurements"] = meas;
  m["outputs"] = outputs;
  const std::string manifest_text = tdxrt::DumpJson(m) + "\n";
  st = write_out(n + "-manifest.json",
                 tdxrt::ByteSpan(reinterpret_cast<const std::uint8_t*>(manifest_text.data()),
                                 manifest_text.size()),
                 0644);
  // Launchers: they carry the manifest, so the manifest cannot list them; SHA256SUMS lists all.
  if (st.ok()) {
    LauncherSpec ls;
    ls.name = n;
    ls.tool = o.tool_version;
    ls.memory = r.memory;
    ls.cpus = r.cpus;
    ls.cmdline = r.cmdline;
    ls.mrtd_single = meas["mr_td"]["single-pass"].get<std::string>();
    ls.mrtd_two = meas["mr_td"]["two-pass"].get<std::string>();
    ls.rtmr1 = meas["rtmr1"].get<std::string>();
    ls.rtmr2 = meas["rtmr2"].get<std::string>();
    {
      const mrtd::ExpectedVariant& first = expected_log.variants.front();
      ls.kernel_header = std::string(mrtd::KernelHeaderModeName(first.kernel_header));
      ls.ovmf_layout = std::string(mrtd::OvmfEventLayoutName(first.ovmf_layout));
      ls.rtmr1_follows_memory = expected_log.Rtmr1FollowsMemory();
      for (const auto& v : expected_log.variants) {
        const auto a = acpi_accel.find(v.host);
        if (v.rtmr0 && a != acpi_accel.end() && a->second == "tdx") {
          ls.rtmr0_pinned_hosts += (ls.rtmr0_pinned_hosts.empty() ? "" : " ") + v.host;
        }
      }
      for (const auto& v : expected_log.variants) {
        if (r.hosts.empty()) break;
        ls.host_lines.push_back(v.host + ": MR_TD " +
                                std::string(mrtd::PageOrderName(v.page_order)) + ", RTMR1 " +
                                tdxrt::ToHex(v.rtmr1));
      }
    }
    ls.kernel_file = n + "-vmlinuz";
    ls.initrd_file = initrd_name;
    ls.ovmf_file = n + "-ovmf.fd";
    ls.mtime = o.source_date_epoch;
    ls.host_env = r.payload_host_env;
    const std::string meas_text = tdxrt::DumpJson(meas) + "\n";
    const std::string log_text = tdxrt::DumpJson(mrtd::ExpectedLogJson(expected_log)) + "\n";
    ls.files = {
        {initrd_name, std::make_shared<const Bytes>(std::move(initramfs))},
        {n + "-vmlinuz", std::make_shared<const Bytes>(img.kernel)},
        {n + "-ovmf.fd", std::make_shared<const Bytes>(img.ovmf)},
        {n + "-manifest.json",
         std::make_shared<const Bytes>(manifest_text.begin(), manifest_text.end())},
        {n + "-measurements.json",
         std::make_shared<const Bytes>(meas_text.begin(), meas_text.end())},
        {n + "-eventlog.json", std::make_shared<const Bytes>(log_text.begin(), log_text.end())}};
    auto self = MakeSelfExtractingLauncher(ls);
    if (!self.ok()) st = self.status();
    if (st.ok()) st = write_out(n + "-run-qemu.sh", *self, 0755);
    auto unpacked = MakeUnpackedLauncher(ls);
    if (st.ok() && !unpacked.ok()) st = unpacked.status();
    if (st.ok()) {
      st = write_out(n + "-launch-tdx.sh",
                     tdxrt::ByteSpan(reinterpret_cast<const std::uint8_t*>(unpacked->data()),
                                     unpacked->size()),
                     0755);
    }
    if (st.ok()) {
      res.launcher_size = self->size();
      std::sort(sums.begin(), sums.end());
      std::string text;
      for (const auto& [file, sha] : sums) text += sha + "  " + file + "\n";
      st = tdxrt::WriteFileAtomic(tmp_dir / (n + "-SHA256SUMS"), text, 0644);
    }
  }
  if (!st.ok()) {
    cleanup();
    return st;
  }
  TDX_TRY(ReplaceDirectory(tmp_dir, final_dir));
  if (o.derived_cache) {
    for (const auto& [key, data] : img.derived) (void)o.derived_cache->PutDerived(key, *data);
  }
  res.seconds["write"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - write_start).count();
  res.out_dir = final_dir.string();
  res.manifest = std::move(m);
  res.measurements = std::move(meas);
  return res;
}

}  // namespace tdximage
