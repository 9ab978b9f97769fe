// Recipe parsing and validation with yaml-cpp (see include/tdximage/recipe.h, docs/recipe.md).
#include "tdximage/recipe.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <set>

#include "mrtd/kernel.h"
#include "mrtd/rtmr.h"
#include "mrtd/rtmr0.h"
#include "tdximage/host_settings.h"
#include "tdxrt/file.h"
#include "tdxrt/hex.h"
#include "tdxrt/yaml_diagnostics.h"

namespace tdximage {

using tdxrt::Result;
using tdxrt::Status;

std::string SourceSpec::Identity() const {
  switch (kind) {
    case Kind::kUrl:
      return "url " + url + (sha256.empty() ? "" : " sha256 " + sha256);
    case Kind::kApt:
      return "apt " + package + " " + version;
    case Kind::kFile:
      return "file " + path;
    case Kind::kInput:
      return "input (tdximage build --input " + name + "=PATH)";
  }
  return "";
}

const SourceSpec* Recipe::FindSource(const std::string& n) const {
  for (const auto& s : sources) {
    if (s.name == n) return &s;
  }
  return nullptr;
}

namespace {

class Parser : public tdxrt::YamlDiagnostics {
 public:
  using YamlDiagnostics::YamlDiagnostics;

  std::optional<SourceRef> Ref(const YAML::Node& n, const std::string& where, bool path_allowed,
                               const std::set<std::string>& sources) {
    if (!n.IsMap()) {
      Error(n, where + " must be a map with 'source' and 'path'");
      return std::nullopt;
    }
    SourceRef r;
    r.line = n.Mark().line + 1;
    auto s = Str(n, "source", true, where, "name one of the entries under 'sources'");
    if (s) {
      r.source = *s;
      if (!sources.count(*s))
        Error(n["source"], "unknown source '" + *s + "' in " + where, "declare it under 'sources'");
    }
    if (path_allowed) {
      if (auto p = Str(n, "path", false, where)) r.path = *p;
    }
    return r;
  }
};

bool AbsolutePath(const std::string& p) {
  return !p.empty() && p[0] == '/' && p.find("/../") == std::string::npos;
}

// An octal permission ("0755" or "755") for files entries and build outputs; reported otherwise.
std::optional<std::uint32_t> Mode(Parser& P, const YAML::Node& md) {
  static const std::regex kOctal("0?[0-7]{3,4}");
  const std::string t = md.Scalar();
  if (!std::regex_match(t, kOctal)) {
    P.Error(md, "mode '" + t + "' is not an octal permission", "e.g. mode: \"0755\"");
    return std::nullopt;
  }
  return static_cast<std::uint32_t>(std::stoul(t, nullptr, 8));
}

std::vector<std::string> StringList(Parser& P, const YAML::Node& parent, const char* key,
                                    const std::string& what, const std::string& hint) {
  std::vector<std::string> out;
  const YAML::Node n = parent[key];
  if (!n || !n.IsSequence() || n.size() == 0) {
    P.Error(n ? n : parent, what + " must be a non-empty list of strings", hint);
    return out;
  }
  for (const auto& x : n) {
    if (!x.IsScalar() || x.Scalar().empty()) {
      P.Error(x, what + ": each entry must be a non-empty string", hint);
      continue;
    }
    out.push_back(x.Scalar());
  }
  return out;
}

void ParseBuild(Parser& P, const YAML::Node& b, const std::set<std::string>& names, Recipe* r) {
  BuildSpec spec;
  spec.line = b.Mark().line + 1;
  if (!b.IsMap()) {
    P.Error(b, "'build' must be a map with toolchain, source, commands and outputs");
    return;
  }
  P.CheckKeys(b, {"toolchain", "source", "commands", "outputs"}, "build");
  spec.toolchain = StringList(P, b, "toolchain", "build toolchain",
                              "Debian package names, e.g. [dash, g++, cmake, ninja-build]");
  static const std::regex kPackage(R"([a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:-]+)?)");
  for (std::size_t i = 0; i < spec.toolchain.size(); ++i) {
    if (!std::regex_match(spec.toolchain[i], kPackage))
      P.Error(b["toolchain"], "build toolchain entry '" + spec.toolchain[i] +
                                  "' is not a Debian package name (optionally =version)");
  }
  const YAML::Node s = b["source"];
  if (!s || !s.IsMap()) {
    P.Error(s ? s : b, "build needs 'source', a map",
            "{git: ../.., paths: [src]} (the files git tracks) or {source: NAME, path: DIR}");
  } else if (s["git"]) {
    P.CheckKeys(s, {"git", "paths"}, "build source");
    spec.git_dir = P.Str(s, "git", true, "build source").value_or("");
    if (const YAML::Node ps = s["paths"]) {
      spec.paths = StringList(P, s, "paths", "build source paths", "e.g. [CMakeLists.txt, src]");
      for (std::size_t i = 0; i < spec.paths.size(); ++i) {
        const std::string& p = spec.paths[i];
        if (p[0] == '/' || p == ".." || p.rfind("../", 0) == 0 ||
            p.find("/../") != std::string::npos)
          P.Error(ps, "build source path '" + p + "' must be relative, inside the git tree");
      }
    }
  } else {
    P.CheckKeys(s, {"source", "path"}, "build source");
    spec.from = P.Ref(s, "build source", true, names);
  }
  spec.commands = StringList(P, b, "commands", "build commands",
                             "shell commands run in /build/src, e.g. [make]");
  const YAML::Node outs = b["outputs"];
  if (!outs || !outs.IsSequence() || outs.size() == 0) {
    P.Error(outs ? outs : b, "build needs 'outputs', a list of {path, to}",
            "e.g. outputs: [{path: /build/out/app, to: /usr/bin/app}]");
  } else {
    for (const auto& n : outs) {
      BuildSpec::Output o;
      o.line = n.Mark().line + 1;
      if (!n.IsMap()) {
        P.Error(n, "a build output must be a map {path, to, mode}");
        continue;
      }
      P.CheckKeys(n, {"path", "to", "mode"}, "a build output");
      o.path = P.Str(n, "path", true, "a build output", "absolute, in the build root").value_or("");
      o.to = P.Str(n, "to", false, "a build output").value_or("");
      if (!o.path.empty() && !AbsolutePath(o.path))
        P.Error(n["path"], "build output path '" + o.path + "' must be absolute in the build root");
      if (!o.to.empty() && (!AbsolutePath(o.to) || o.to.size() < 2))
        P.Error(n["to"], "build output 'to' '" + o.to + "' must be an absolute path in the image");
      if (const YAML::Node md = n["mode"]) o.mode = Mode(P, md).value_or(o.mode);
      spec.outputs.push_back(std::move(o));
    }
  }
  r->build = std::move(spec);
}

// measure.acpi: {HOST: SOURCE}: the capture of that host's ACPI tables (tdximage capture-acpi),
// a file or input source, for RTMR0. Only for hosts whose TD HOB is known (upstream QEMU >=
// 10.1) with an OVMF that measures RTMR0 as stable202411 does.
void ParseMeasureAcpi(Parser& P, const YAML::Node& m, Recipe& r) {
  const YAML::Node acpi = m["acpi"];
  if (!acpi) return;
  if (!acpi.IsMap() || acpi.size() == 0) {
    P.Error(acpi, "measure.acpi must map hosts to the sources of their ACPI captures",
            "acpi: {\"10.1\": acpi-qemu-10-1}");
    return;
  }
  for (const auto& kv : acpi) {
    const std::string host = kv.first.Scalar();
    auto q = mrtd::ParseQemuHost(host);
    const mrtd::HostProfile* profile = nullptr;
    for (const auto& h : r.hosts) {
      if (q.ok() && mrtd::QemuHostName(h.qemu) == mrtd::QemuHostName(*q)) profile = &h;
    }
    if (profile == nullptr) {
      P.Error(kv.first, "measure.acpi: '" + host + "' is not one of measure.hosts");
      continue;
    }
    if (auto why = mrtd::WhyRtmr0Unknown(*profile)) {
      P.Error(kv.first, "measure.acpi: RTMR0 cannot be computed " + *why);
      continue;
    }
    const std::string source = kv.second.Scalar();
    const SourceSpec* s = r.FindSource(source);
    if (s == nullptr ||
        (s->kind != SourceSpec::Kind::kFile && s->kind != SourceSpec::Kind::kInput)) {
      P.Error(kv.second,
              "measure.acpi." + host + ": '" + source +
                  "' is not a file or input source of this recipe",
              "sources: {" + source + ": {file: acpi/" + host + ".json}}");
      continue;
    }
    r.acpi_sources[profile->name()] = source;
  }
}

// measure.hosts: the QEMU hosts the image targets; with the OVMF's edk2 release
// (measure.ovmf_release, or the version of the ovmf apt package) each derives its page order,
// kernel header mode and separator register (mrtd/host_profile.h). The knobs stay for experts, but
// not beside hosts: two descriptions of the same thing could disagree.
void ParseMeasureHosts(Parser& P, const YAML::Node& m, Recipe& r) {
  const YAML::Node hosts = m["hosts"];
  const YAML::Node release = m["ovmf_release"];
  if (!hosts) {
    if (release) P.Error(release, "measure.ovmf_release is only used with measure.hosts");
    if (m["acpi"]) P.Error(m["acpi"], "measure.acpi is only used with measure.hosts");
    return;
  }
  if (!hosts.IsSequence() || hosts.size() == 0) {
    P.Error(hosts, "measure.hosts must be a non-empty list of QEMU hosts",
            "hosts: [\"10.1\", \"10.2\", canonical-8.2]");
    return;
  }
  for (const char* knob : {"kernel_header", "ovmf_layout"}) {
    if (m[knob]) {
      P.Error(m[knob], std::string("measure.") + knob + " beside measure.hosts",
              "the hosts derive it (mrtd-calc host qemu=V,ovmf=R shows how); keep one of the two");
    }
  }
  std::optional<mrtd::EdkRelease> ovmf;
  const SourceSpec* src = r.FindSource(r.ovmf.source);
  if (release) {
    auto rel = mrtd::ParseEdkRelease(release.Scalar());
    if (!rel.ok()) {
      P.Error(release, "measure.ovmf_release: " + rel.status().message());
    } else {
      ovmf = *rel;
      if (src && src->kind == SourceSpec::Kind::kApt) {
        auto pkg = mrtd::ParseEdkRelease(src->version);
        if (pkg.ok() && mrtd::EdkReleaseName(*pkg) != mrtd::EdkReleaseName(*rel)) {
          P.Error(release,
                  "measure.ovmf_release " + mrtd::EdkReleaseName(*rel) +
                      " contradicts the ovmf package's version " + src->version + " (" +
                      mrtd::EdkReleaseName(*pkg) + ")",
                  "drop ovmf_release: the package version gives it");
        }
      }
    }
  } else if (src && src->kind == SourceSpec::Kind::kApt) {
    auto pkg = mrtd::ParseEdkRelease(src->version);
    if (!pkg.ok()) {
      P.Error(hosts,
              "the OVMF's edk2 release cannot be read from source '" + src->name + "' version " +
                  src->version + ": " + pkg.status().message(),
              "add measure.ovmf_release: stableYYYYMM");
    } else {
      ovmf = *pkg;
    }
  } else if (src) {
    P.Error(hosts,
            "measure.hosts needs the OVMF's edk2 release: source '" + src->name +
                "' is not an apt package whose version gives it",
            "add measure.ovmf_release: stableYYYYMM (or the distribution version, 2024.02)");
  }
  for (const auto& h : hosts) {
    auto q = mrtd::ParseQemuHost(h.Scalar());
    if (!q.ok()) {
      P.Error(h, "measure.hosts: " + q.status().message(),
              "10.1, 10.2 (upstream QEMU) or canonical-8.2");
      continue;
    }
    if (!ovmf) continue;
    mrtd::HostProfile p = mrtd::DeriveHostProfile(*q, *ovmf);
    for (const auto& other : r.hosts) {
      if (other.name() == p.name()) P.Error(h, "measure.hosts names " + p.name() + " twice");
    }
    r.hosts.push_back(std::move(p));
  }
  ParseMeasureAcpi(P, m, r);
}

}  // namespace

Result<Recipe> ParseRecipe(const std::string& text, const std::string& file) {
  Parser P(file);
  YAML::Node root = P.Load(text);
  if (!P.ok()) return Status::InvalidArgument(P.Joined());
  if (!root.IsMap()) {
    P.Error(0, 0, "a recipe is a YAML map", "start with 'name:', 'base:' and 'sources:'");
    return Status::InvalidArgument(P.Joined());
  }
  Recipe r;
  r.file = file;
  r.dir = std::filesystem::path(file).parent_path().string();
  if (r.dir.empty()) r.dir = ".";
  try {
    P.CheckKeys(
        root,
        {"name", "description", "base", "suite", "sources", "kernel", "ovmf", "rootfs", "modules",
         "files", "binaries", "build", "payload", "cmdline", "launch", "compression", "measure"},
        "the recipe");
    if (auto n = P.Str(root, "name", true, "the recipe", "e.g. name: zipnet-client")) {
      static const std::regex kName("[a-z0-9][a-z0-9._-]{0,63}");
      if (!std::regex_match(*n, kName)) {
        P.Error(root["name"], "invalid name '" + *n + "'",
                "lowercase letters, digits, '.', '_' and '-', at most 64");
      }
      r.name = *n;
    }
    if (auto b = P.Str(root, "base", true, "the recipe", "alpine, ubuntu or debian")) {
      if (*b != "alpine" && *b != "ubuntu" && *b != "debian") {
        P.Error(root["base"], "unknown base '" + *b + "'", "alpine, ubuntu or debian");
      }
      r.base = *b;
    }
    if (auto su = P.Str(root, "suite", false, "the recipe")) {
      static const std::regex kSuite("[a-z]{2,32}");
      if (!std::regex_match(*su, kSuite)) {
        P.Error(root["suite"], "invalid suite '" + *su + "'", "a Debian codename, e.g. trixie");
      }
      r.suite = *su;
    }
    std::set<std::string> names;
    const YAML::Node srcs = root["sources"];
    if (!srcs || !srcs.IsMap() || srcs.size() == 0) {
      P.Error(srcs ? srcs : root, "'sources' must be a non-empty map of named sources",
              "e.g. sources: {ovmf: {apt: ovmf, version: 2022.11-6+deb12u2}}");
    } else {
      for (const auto& kv : srcs) {
        SourceSpec s;
        s.name = kv.first.Scalar();
        s.line = kv.first.Mark().line + 1;
        const YAML::Node n = kv.second;
        const std::string where = "source '" + s.name + "'";
        if (!n.IsMap()) {
          P.Error(n, where + " must be a map with one of 'url', 'apt', 'file' or 'input'");
          continue;
        }
        P.CheckKeys(n, {"url", "sha256", "apt", "version", "file", "input"}, where);
        const int kinds =
            (n["url"] ? 1 : 0) + (n["apt"] ? 1 : 0) + (n["file"] ? 1 : 0) + (n["input"] ? 1 : 0);
        if (kinds != 1) {
          P.Error(n, where + " needs exactly one of 'url', 'apt', 'file' or 'input'");
          continue;
        }
        if (n["url"]) {
          s.kind = SourceSpec::Kind::kUrl;
          s.url = P.Str(n, "url", true, where).value_or("");
          // Optional: without it, `tdximage lock` pins what it downloads (networked machine).
          if (auto sha = P.Str(n, "sha256", false, where)) {
            if (!tdxrt::IsLowerHex(*sha, 64))
              P.Error(n["sha256"], where + ": sha256 must be 64 lowercase hex digits");
            s.sha256 = *sha;
          }
          if (s.url.rfind("https://", 0) != 0 && s.url.rfind("http://", 0) != 0) {
            P.Error(n["url"], where + ": url must start with https:// or http://");
          }
        } else if (n["apt"]) {
          s.kind = SourceSpec::Kind::kApt;
          s.package = P.Str(n, "apt", true, where).value_or("");
          s.version = P.Str(n, "version", true, where,
                            "apt sources pin an exact version, see apt-cache policy")
                          .value_or("");
        } else if (n["input"]) {
          s.kind = SourceSpec::Kind::kInput;
          s.description =
              P.Str(n, "input", true, where, "say what the builder supplies").value_or("");
        } else {
          s.kind = SourceSpec::Kind::kFile;
          s.path = P.Str(n, "file", true, where).value_or("");
        }
        names.insert(s.name);
        r.sources.push_back(std::move(s));
      }
    }
    for (const char* key : {"kernel", "ovmf"}) {
      const YAML::Node n = root[key];
      if (!n) {
        P.Error(root, std::string("the recipe needs '") + key + "'",
                "{source: <name>, path: <member>}");
        continue;
      }
      P.CheckKeys(n, {"source", "path"}, key);
      if (auto ref = P.Ref(n, key, true, names))
        (std::string(key) == "kernel" ? r.kernel : r.ovmf) = *ref;
    }
    if (const YAML::Node rf = root["rootfs"]) {
      if (!rf.IsSequence()) {
        P.Error(rf, "'rootfs' must be a list of {source, path, to}");
      } else {
        for (const auto& n : rf) {
          if (n.IsMap()) P.CheckKeys(n, {"source", "path", "to"}, "a rootfs entry");
          auto ref = P.Ref(n, "a rootfs entry", true, names);
          if (!ref) continue;
          RootfsSpec spec{*ref, "/"};
          if (auto to = P.Str(n, "to", false, "a rootfs entry")) {
            if (!AbsolutePath(*to))
              P.Error(n["to"], "rootfs 'to' must be an absolute path in the image");
            spec.to = *to;
          }
          r.rootfs.push_back(spec);
        }
      }
    }
    if (const YAML::Node m = root["modules"]) {
      P.CheckKeys(m, {"source", "load"}, "modules");
      if (auto s =
              P.Str(m, "source", true, "modules", "the package holding lib/modules/<version>")) {
        if (!names.count(*s)) P.Error(m["source"], "unknown source '" + *s + "' in modules");
        r.modules_source = *s;
      }
      const YAML::Node load = m["load"];
      if (!load || !load.IsSequence()) {
        P.Error(m, "modules needs 'load', a list of module names",
                "e.g. load: [virtio_net, tdx_guest]");
      } else {
        for (const auto& x : load) r.modules.push_back(x.Scalar());
      }
    }
    if (const YAML::Node fs = root["files"]) {
      if (!fs.IsSequence()) {
        P.Error(fs, "'files' must be a list");
      } else {
        for (const auto& n : fs) {
          FileSpec f;
          f.line = n.Mark().line + 1;
          if (!n.IsMap()) {
            P.Error(n, "a files entry must be a map");
            continue;
          }
          P.CheckKeys(n, {"source", "path", "content", "to", "mode"}, "a files entry");
          if (n["content"] && n["source"])
            P.Error(n, "a files entry takes 'source' or 'content', not both");
          if (n["content"]) {
            f.content = n["content"].Scalar();
          } else if (auto ref = P.Ref(n, "a files entry", true, names)) {
            f.from = *ref;
          }
          if (auto to = P.Str(n, "to", true, "a files entry", "absolute path in the image")) {
            if (!AbsolutePath(*to) || to->size() < 2)
              P.Error(n["to"], "'to' must be an absolute path in the image");
            f.to = *to;
          }
          if (const YAML::Node md = n["mode"]) {
            if (auto m = Mode(P, md)) f.mode = *m;
          }
          r.files.push_back(std::move(f));
        }
      }
    }
    if (const YAML::Node bs = root["binaries"]) {
      if (!bs.IsSequence()) {
        P.Error(bs, "'binaries' must be a list of {host: PATH, to: PATH} or {image: PATH}");
      } else {
        for (const auto& n : bs) {
          BinarySpec b;
          b.line = n.Mark().line + 1;
          if (!n.IsMap()) {
            P.Error(n, "a binaries entry must be a map");
            continue;
          }
          P.CheckKeys(n, {"host", "image", "to"}, "a binaries entry");
          if ((n["host"] ? 1 : 0) + (n["image"] ? 1 : 0) != 1) {
            P.Error(n, "a binaries entry needs exactly one of 'host' or 'image'");
            continue;
          }
          b.from = n["host"] ? BinarySpec::From::kHost : BinarySpec::From::kImage;
          b.path = n[n["host"] ? "host" : "image"].Scalar();
          b.to = n["to"] ? n["to"].Scalar() : b.path;
          static const std::regex kVarPrefix(R"(\$\{[A-Za-z_][A-Za-z0-9_]*\}/.+)");
          const bool var =
              b.from == BinarySpec::From::kHost && std::regex_match(b.path, kVarPrefix);
          if (!var && !AbsolutePath(b.path)) {
            P.Error(n, "binary path '" + b.path + "' must be absolute",
                    b.from == BinarySpec::From::kHost
                        ? "or start with ${NAME}/ (from the environment)"
                        : "");
          }
          if (n["to"]) {
            if (!AbsolutePath(b.to)) P.Error(n, "binary 'to' '" + b.to + "' must be absolute");
          } else if (var) {
            P.Error(n, "a binary from ${...} needs 'to'");
          }
          r.binaries.push_back(std::move(b));
        }
      }
    }
    if (const YAML::Node b = root["build"]) ParseBuild(P, b, names, &r);
    const YAML::Node pl = root["payload"];
    if (!pl || !pl.IsMap()) {
      P.Error(pl ? pl : root, "the recipe needs 'payload' with 'command'",
              "payload: {command: /usr/bin/app, args: [], env: {}}");
    } else {
      P.CheckKeys(pl, {"command", "args", "env", "host_env"}, "payload");
      if (auto c = P.Str(pl, "command", true, "payload")) {
        if (!AbsolutePath(*c))
          P.Error(pl["command"], "payload command must be an absolute path in the image");
        r.payload_command = *c;
      }
      if (const YAML::Node a = pl["args"]) {
        if (!a.IsSequence())
          P.Error(a, "payload args must be a list of strings");
        else
          for (const auto& x : a) r.payload_args.push_back(x.Scalar());
      }
      if (const YAML::Node e = pl["env"]) {
        if (!e.IsMap()) {
          P.Error(e, "payload env must be a map of NAME: value");
        } else {
          static const std::regex kEnv("[A-Za-z_][A-Za-z0-9_]*");
          for (const auto& kv : e) {
            const std::string k = kv.first.Scalar();
            if (!std::regex_match(k, kEnv))
              P.Error(kv.first, "invalid environment variable name '" + k + "'");
            r.payload_env.emplace_back(k, kv.second.Scalar());
          }
        }
      }
      if (const YAML::Node h = pl["host_env"]) {
        static const std::regex kName("[A-Z_][A-Z0-9_]*");
        if (!h.IsSequence()) {
          P.Error(h, "payload host_env must be a list of variable names",
                  "host_env: [ZIPNET_BOOTSTRAP, ZIPNET_MESSAGE]");
        } else {
          for (const auto& x : h) {
            const std::string v = x.Scalar();
            if (v.find('*') != std::string::npos) {
              P.Error(x, "host_env entry '" + v + "' is a pattern: name each setting exactly",
                      "a pattern would let the host set whatever a program reads under that "
                      "prefix, security-relevant or not");
            } else if (!std::regex_match(v, kName)) {
              P.Error(x, "host_env entry '" + v + "' is not a variable name ([A-Z_][A-Z0-9_]*)");
            } else if (auto why = ReservedHostSetting(v)) {
              P.Error(x, "host_env entry '" + v + "' is never taken from the host: " + *why);
            } else if (std::find(r.payload_host_env.begin(), r.payload_host_env.end(), v) !=
                       r.payload_host_env.end()) {
              P.Error(x, "host_env names '" + v + "' twice");
            } else {
              r.payload_host_env.push_back(v);
              r.payload_host_env_marks.emplace_back(x.Mark().line, x.Mark().column);
            }
          }
          for (std::size_t i = 0; i < r.payload_host_env.size(); ++i) {
            for (const auto& [k, value] : r.payload_env) {
              if (k != r.payload_host_env[i]) continue;
              const auto [line, column] = r.payload_host_env_marks[i];
              P.Error(line, column,
                      "host_env entry '" + k +
                          "' is set in payload.env: a host value must not "
                          "stand beside the measured one",
                      "keep it in one of the two");
            }
          }
        }
      }
    }
    if (const YAML::Node c = root["cmdline"]) r.cmdline = c.Scalar();
    if (const YAML::Node l = root["launch"]) {
      P.CheckKeys(l, {"memory", "cpus"}, "launch");
      if (auto m = P.Str(l, "memory", false, "launch")) {
        auto bytes = mrtd::ParseMemorySize(*m);
        if (!bytes.ok()) P.Error(l["memory"], bytes.status().message());
        r.memory = *m;
      }
      if (const YAML::Node c = l["cpus"]) {
        int v = 0;
        if (!YAML::convert<int>::decode(c, v) || v < 1 || v > 256)
          P.Error(c, "cpus must be a number from 1 to 256");
        r.cpus = v;
      }
    }
    if (const YAML::Node c = root["compression"]) {
      P.CheckKeys(c, {"algorithm", "level"}, "compression");
      if (auto a = P.Str(c, "algorithm", false, "compression")) {
        if (*a != "zstd" && *a != "gzip" && *a != "stable-gzip" && *a != "none")
          P.Error(c["algorithm"], "unknown compression '" + *a + "'",
                  "stable-gzip (the same bytes on every machine), zstd, gzip or none");
        r.compression = *a;
        r.compression_level = *a == "gzip" ? 9 : *a == "zstd" ? 19 : 0;
      }
      if (c["level"] && (r.compression == "stable-gzip" || r.compression == "none")) {
        P.Error(c["level"], r.compression + " has no levels");
      } else if (const YAML::Node lv = c["level"]) {
        int v = 0;
        const int max = r.compression == "gzip" ? 9 : 19;
        if (!YAML::convert<int>::decode(lv, v) || v < 1 || v > max) {
          P.Error(lv,
                  "compression level must be 1.." + std::to_string(max) + " for " + r.compression);
        }
        r.compression_level = v;
      }
    }
    if (const YAML::Node m = root["measure"]) {
      P.CheckKeys(m, {"kernel_header", "ovmf_layout", "hosts", "ovmf_release", "acpi"}, "measure");
      if (auto h = P.Str(m, "kernel_header", false, "measure")) {
        if (!mrtd::ParseKernelHeaderMode(*h))
          P.Error(m["kernel_header"], "unknown kernel_header '" + *h + "'",
                  "qemu-patched or unmodified");
        r.kernel_header = *h;
      }
      if (auto o = P.Str(m, "ovmf_layout", false, "measure")) {
        if (!mrtd::ParseOvmfEventLayout(*o))
          P.Error(m["ovmf_layout"], "unknown ovmf_layout '" + *o + "'",
                  "stable202411 or pre-stable202411");
        r.ovmf_layout = *o;
      }
      ParseMeasureHosts(P, m, r);
    }
  } catch (const YAML::Exception& e) {
    P.Error(e.mark.line, e.mark.column, e.msg);
  }
  if (!P.ok()) return Status::InvalidArgument(P.Joined());
  return r;
}

Result<Recipe> LoadRecipe(const std::string& file) {
  TDX_ASSIGN_OR_RETURN(tdxrt::Bytes b, tdxrt::ReadFile(file, 1 << 20));
  return ParseRecipe(std::string(b.begin(), b.end()), file);
}

}  // namespace tdximage
