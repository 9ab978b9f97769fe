// Manifest comparison (see include/tdximage/verify.h).
#include "tdximage/verify.h"

#include <filesystem>
#include <functional>
#include <map>
#include <set>

#include "tdxrt/file.h"
#include "tdxrt/json.h"

namespace tdximage {

namespace fs = std::filesystem;
using nlohmann::ordered_json;
using tdxrt::Result;
using tdxrt::Status;

namespace {

std::string Str(const ordered_json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

std::string Short(const std::string& sha) {
  return sha.size() > 16 ? sha.substr(0, 16) + "…" : sha;
}

std::map<std::string, ordered_json> ByKey(const ordered_json& arr, const char* key) {
  std::map<std::string, ordered_json> m;
  if (!arr.is_array()) return m;
  for (const auto& e : arr) {
    if (e.contains(key) && e[key].is_string()) m[e[key].get<std::string>()] = e;
  }
  return m;
}

std::string Describe(const ordered_json& f) {
  const std::string type = Str(f, "type");
  if (type == "symlink") return "symlink -> " + Str(f, "target");
  if (type == "dir") return "dir " + Str(f, "mode");
  return Str(f, "mode") + " " + std::to_string(f.value("size", 0)) + " bytes sha256 " +
         Short(Str(f, "sha256"));
}

// The build sections first: a different source or toolchain explains every file that follows.
void CompareBuild(const ordered_json& pub, const ordered_json& reb,
                  const std::function<void(const std::string&, const std::string&)>& add,
                  std::vector<std::string>& notes) {
  const ordered_json none;
  const ordered_json& pb = pub.contains("build") ? pub["build"] : none;
  const ordered_json& rb = reb.contains("build") ? reb["build"] : none;
  if (pub.contains("reproducible") && pub["reproducible"] == false) {
    notes.push_back("note: the published build took binaries from its build host (" +
                    Str(pub, "reproducible_reason") + ")");
  }
  if (!pb.is_object() && !rb.is_object()) return;
  if (!pb.is_object() || !rb.is_object()) {
    add("build", pb.is_object() ? "the published image compiled its programs in a build root; the "
                                  "rebuild did not (a build section was removed)"
                                : "the rebuild compiled its programs in a build root; the "
                                  "published image did not (it took them from its build host)");
    return;
  }
  const ordered_json& ps = pb.contains("source") ? pb["source"] : none;
  const ordered_json& rs = rb.contains("source") ? rb["source"] : none;
  if (Str(ps, "digest") != Str(rs, "digest")) {
    add("source", "build source digest differs: published " + Str(ps, "digest") + " (" +
                      std::to_string(ps.value("files", 0)) + " files), rebuilt " +
                      Str(rs, "digest") + " (" + std::to_string(rs.value("files", 0)) + " files, " +
                      Str(rs, "what") + "): the programs were compiled from different source");
  }
  const auto pt = ByKey(pb.value("toolchain", ordered_json::array()), "name");
  const auto rt = ByKey(rb.value("toolchain", ordered_json::array()), "name");
  for (const auto& [name, p] : pt) {
    auto it = rt.find(name);
    if (it == rt.end()) {
      add("toolchain", "toolchain package " + name + " " + Str(p, "version") +
                           " is in the published build root but not in the rebuild's");
    } else if (Str(p, "sha256") != Str(it->second, "sha256") ||
               Str(p, "version") != Str(it->second, "version")) {
      add("toolchain", "toolchain package " + name + " differs: published " + Str(p, "version") +
                           " sha256 " + Short(Str(p, "sha256")) + ", rebuilt " +
                           Str(it->second, "version") + " sha256 " +
                           Short(Str(it->second, "sha256")));
    }
  }
  for (const auto& [name, e] : rt) {
    if (!pt.count(name))
      add("toolchain", "toolchain package " + name + " " + Str(e, "version") +
                           " is new in the rebuild's build root");
  }
  for (const char* key : {"commands", "environment", "isolation", "outputs_wanted"}) {
    if (pb.value(key, none) != rb.value(key, none)) {
      add("build", std::string("build ") + key + " differ: published " +
                       tdxrt::DumpJson(pb.value(key, none), -1) + ", rebuilt " +
                       tdxrt::DumpJson(rb.value(key, none), -1));
    }
  }
}

}  // namespace

VerifyReport CompareManifests(const ordered_json& pub, const ordered_json& reb) {
  VerifyReport r;
  ordered_json diffs = ordered_json::array();
  auto add = [&](const std::string& kind, const std::string& text) {
    r.match = false;
    r.lines.push_back(text);
    diffs.push_back({{"kind", kind}, {"text", text}});
  };
  CompareBuild(pub, reb, add, r.lines);
  // Inputs.
  const auto pin = ByKey(pub.value("inputs", ordered_json::array()), "name");
  const auto rin = ByKey(reb.value("inputs", ordered_json::array()), "name");
  std::set<std::string> changed_inputs;
  for (const auto& [name, p] : pin) {
    auto it = rin.find(name);
    if (it == rin.end()) {
      add("input", "input '" + name + "' is in the published build but not in the rebuild");
      changed_inputs.insert(name);
    } else if (Str(p, "sha256") != Str(it->second, "sha256")) {
      add("input", "input '" + name + "' differs: published " + Str(p, "identity") + " sha256 " +
                       Short(Str(p, "sha256")) + " (" + std::to_string(p.value("size", 0)) +
                       " bytes), rebuilt " + Str(it->second, "identity") + " sha256 " +
                       Short(Str(it->second, "sha256")) + " (" +
                       std::to_string(it->second.value("size", 0)) + " bytes)");
      changed_inputs.insert(name);
    }
  }
  for (const auto& [name, e] : rin) {
    if (!pin.count(name)) {
      add("input", "input '" + name + "' (" + Str(e, "identity") + ") is new in the rebuild");
      changed_inputs.insert(name);
    }
  }
  // Initramfs files.
  const auto pf = ByKey(pub["initramfs"].value("files", ordered_json::array()), "path");
  const auto rf = ByKey(reb["initramfs"].value("files", ordered_json::array()), "path");
  int added = 0, removed = 0, changed = 0;
  for (const auto& [path, p] : pf) {
    auto it = rf.find(path);
    if (it == rf.end()) {
      add("file", "initramfs: removed " + path + " (" + Describe(p) + ")");
      ++removed;
    } else if (p != it->second) {
      std::string why =
          "initramfs: changed " + path + ": " + Describe(p) + " -> " + Describe(it->second);
      const std::string origin = Str(it->second, "origin");
      if (!origin.empty()) why += " (from " + origin + ")";
      add("file", why);
      ++changed;
    }
  }
  for (const auto& [path, e] : rf) {
    if (!pf.count(path)) {
      add("file", "initramfs: added " + path + " (" + Describe(e) + ")");
      ++added;
    }
  }
  // Outputs.
  const auto po = ByKey(pub.value("outputs", ordered_json::array()), "file");
  const auto ro = ByKey(reb.value("outputs", ordered_json::array()), "file");
  std::set<std::string> changed_outputs;
  for (const auto& [file, p] : po) {
    auto it = ro.find(file);
    if (it == ro.end() || Str(p, "sha256") != Str(it->second, "sha256")) {
      add("output",
          "output " + file + " differs: published sha256 " + Short(Str(p, "sha256")) + " (" +
              std::to_string(p.value("size", 0)) + " bytes), rebuilt " +
              (it == ro.end() ? std::string("missing")
                              : "sha256 " + Short(Str(it->second, "sha256")) + " (" +
                                    std::to_string(it->second.value("size", 0)) + " bytes)"));
      changed_outputs.insert(file);
    }
  }
  // Measurements, with the reason.
  const ordered_json& pm = pub["measurements"];
  const ordered_json& rm = reb["measurements"];
  auto output_changed = [&](const std::string& suffix) {
    for (const auto& f : changed_outputs) {
      if (f.size() >= suffix.size() &&
          f.compare(f.size() - suffix.size(), suffix.size(), suffix) == 0)
        return true;
    }
    return false;
  };
  auto assumption = [&](const char* key) {
    return pm.contains("assumes") && rm.contains("assumes") &&
           pm["assumes"].value(key, ordered_json()) != rm["assumes"].value(key, ordered_json());
  };
  auto compare = [&](const std::string& label, const ordered_json& a, const ordered_json& b,
                     std::string why) {
    if (a == b) return;
    add("measurement", label + " differs: published " +
                           (a.is_string() ? a.get<std::string>() : tdxrt::DumpJson(a, -1)) +
                           ", rebuilt " +
                           (b.is_string() ? b.get<std::string>() : tdxrt::DumpJson(b, -1)) +
                           (why.empty() ? "" : " — " + why));
  };
  for (const char* order : {"single-pass", "two-pass"}) {
    compare(std::string("MR_TD (") + order + ")", pm["mr_td"].value(order, ordered_json()),
            rm["mr_td"].value(order, ordered_json()),
            output_changed("-ovmf.fd")
                ? "the OVMF firmware differs (MR_TD covers the firmware only)"
                : "");
  }
  {
    std::string why;
    if (output_changed("-vmlinuz")) why += "the kernel differs; ";
    if (assumption("initrd_size")) {
      why += "the initramfs size differs (" + tdxrt::DumpJson(pm["assumes"]["initrd_size"], -1) +
             " -> " + tdxrt::DumpJson(rm["assumes"]["initrd_size"], -1) +
             " bytes: QEMU places it elsewhere); ";
    }
    if (assumption("memory")) why += "the memory size differs; ";
    if (assumption("kernel_header") || assumption("ovmf_layout"))
      why += "the host variant (kernel_header/ovmf_layout) differs; ";
    if (assumption("cmdline"))
      why += "the command line differs (vga= and its length affect the header); ";
    if (!why.empty()) why.resize(why.size() - 2);
    // Per host (measure.hosts: the top-level rtmr1 is the first host's), or the recipe's knobs.
    // (A published manifest is untrusted: anything but an array of objects with string names
    // reads as "(malformed)", which differs from any rebuilt host.)
    auto host_names = [](const ordered_json& m) {
      std::vector<std::string> names;
      const auto it = m.find("hosts");
      if (it == m.end()) return names;
      if (!it->is_array()) return std::vector<std::string>{"(malformed)"};
      for (const auto& h : *it) {
        const bool ok = h.is_object() && h.contains("host") && h["host"].is_string();
        names.push_back(ok ? h["host"].get<std::string>() : "(malformed)");
      }
      return names;
    };
    const std::vector<std::string> ph = host_names(pm), rh = host_names(rm);
    if (ph != rh) {
      auto list = [](const std::vector<std::string>& v) {
        std::string s;
        for (const auto& n : v) s += (s.empty() ? "" : ", ") + n;
        return s.empty() ? std::string("none (the recipe's knobs)") : s;
      };
      add("measurement", "the hosts differ: published " + list(ph) + ", rebuilt " + list(rh) +
                             " — the recipe's measure.hosts or its OVMF release differs");
    } else if (ph.empty()) {
      compare("RTMR1", pm.value("rtmr1", ordered_json()), rm.value("rtmr1", ordered_json()), why);
    } else {
      for (std::size_t i = 0; i < ph.size(); ++i) {
        // Equal names: both are arrays of objects here.
        compare("RTMR1 (host " + ph[i] + ")", pm["hosts"][i].value("rtmr1", ordered_json()),
                rm["hosts"][i].value("rtmr1", ordered_json()), why);
      }
    }
  }
  {
    std::string why;
    if (assumption("cmdline")) why += "the command line differs; ";
    if (added + removed + changed > 0) {
      why += "the initramfs differs (" + std::to_string(added) + " added, " +
             std::to_string(removed) + " removed, " + std::to_string(changed) + " changed files); ";
    } else if (output_changed(".cpio.zst") || output_changed(".cpio.gz")) {
      why +=
          "the initramfs bytes differ with the same files (compression settings or tool version); ";
    }
    if (!why.empty()) why.resize(why.size() - 2);
    compare("RTMR2", pm.value("rtmr2", ordered_json()), rm.value("rtmr2", ordered_json()), why);
  }
  // zstd and gzip output depends on the library version of the machine that compressed.
  if (Str(pub["initramfs"], "compressor") != Str(reb["initramfs"], "compressor")) {
    add("compressor", "the initramfs compressor differs: published " +
                          Str(pub["initramfs"], "compressor") + ", rebuilt " +
                          Str(reb["initramfs"], "compressor") +
                          " (zstd and gzip give other bytes in other library releases; "
                          "compression: {algorithm: stable-gzip} gives the same on every machine)");
  }
  if (Str(pub["recipe"], "sha256") != Str(reb["recipe"], "sha256")) {
    add("recipe", "the recipe file differs (sha256 " + Short(Str(pub["recipe"], "sha256")) +
                      " published, " + Short(Str(reb["recipe"], "sha256")) + " rebuilt)");
  }
  if (Str(pub["recipe"], "lock_sha256") != Str(reb["recipe"], "lock_sha256")) {
    add("recipe", "the lock differs (sha256 " + Short(Str(pub["recipe"], "lock_sha256")) +
                      " published, " + Short(Str(reb["recipe"], "lock_sha256")) + " rebuilt)");
  }
  if (pub.value("tool", "") != reb.value("tool", "")) {
    r.lines.push_back("note: built by '" + pub.value("tool", "") + "', rebuilt by '" +
                      reb.value("tool", "") + "'");
  }
  r.json = {{"match", r.match},
            {"differences", diffs},
            {"measurements", {{"published", pm}, {"rebuilt", rm}}}};
  return r;
}

Result<ordered_json> LoadManifestOf(const std::string& artifact,
                                    std::vector<LauncherFile>* launcher) {
  std::error_code ec;
  std::string text;
  if (fs::is_directory(artifact, ec)) {
    std::vector<fs::path> found;
    for (const auto& e : fs::directory_iterator(artifact, ec)) {
      const std::string n = e.path().filename().string();
      if (n.size() > 14 && n.compare(n.size() - 14, 14, "-manifest.json") == 0)
        found.push_back(e.path());
    }
    if (found.size() != 1) {
      return Status::NotFound(artifact + ": expected exactly one *-manifest.json, found " +
                              std::to_string(found.size()));
    }
    TDX_ASSIGN_OR_RETURN(tdxrt::Bytes b, tdxrt::ReadFile(found[0], 64 << 20));
    text.assign(b.begin(), b.end());
  } else {
    TDX_ASSIGN_OR_RETURN(tdxrt::MappedFile f, tdxrt::MappedFile::Open(artifact));
    const auto bytes = f.bytes();
    if (bytes.size() > 2 && bytes[0] == '#' && bytes[1] == '!') {
      auto files = ReadLauncherPayload(bytes);
      if (!files.ok()) return files.status().WithContext(artifact);
      for (const auto& lf : *files) {
        if (lf.name.size() > 14 &&
            lf.name.compare(lf.name.size() - 14, 14, "-manifest.json") == 0) {
          text.assign(lf.data->begin(), lf.data->end());
        }
      }
      if (text.empty()) return Status::NotFound(artifact + ": the launcher carries no manifest");
      if (launcher) *launcher = std::move(files).value();
    } else {
      text.assign(bytes.begin(), bytes.end());
    }
  }
  return ParseManifest(text, artifact);
}

Result<ordered_json> ParseManifest(const std::string& text, const std::string& where) {
  // A JSON object refused by the strict reader (a key twice, deep nesting) says why; anything
  // else that does not parse is not a manifest at all.
  const auto first = text.find_first_not_of(" \t\r\n");
  const bool object = first != std::string::npos && text[first] == '{';
  auto parsed = tdxrt::ParseOrderedJson(text, where);
  if (!parsed.ok()) {
    if (object && parsed.status().message().find(": invalid JSON") == std::string::npos) {
      return parsed.status();
    }
    return Status::Corrupt(where +
                           ": not a tdximage manifest, launcher, initramfs or out directory");
  }
  ordered_json j = std::move(parsed).value();
  auto bad = [&](const std::string& field, const char* want) {
    return Status::Corrupt(where + ": manifest field '" + field + "' is not " + want);
  };
  if (!j.is_object() || !j.contains("manifest_version") || j["manifest_version"] != 1) {
    return Status::Corrupt(where + ": not a tdximage manifest (manifest_version 1)");
  }
  for (const char* k : {"recipe", "initramfs", "measurements"}) {
    if (!j.contains(k) || !j[k].is_object()) return bad(k, "an object");
  }
  for (const char* k : {"inputs", "outputs"}) {
    if (!j.contains(k) || !j[k].is_array()) return bad(k, "an array");
  }
  if (!j["initramfs"].contains("files") || !j["initramfs"]["files"].is_array()) {
    return bad("initramfs.files", "an array");
  }
  const auto& m = j["measurements"];
  if (!m.contains("mr_td") || !m["mr_td"].is_object())
    return bad("measurements.mr_td", "an object");
  if (m.contains("assumes") && !m["assumes"].is_object())
    return bad("measurements.assumes", "an object");
  auto strings = [&](const ordered_json& obj, const std::string& path,
                     std::initializer_list<const char*> keys) -> Status {
    for (const char* k : keys) {
      if (obj.contains(k) && !obj[k].is_string()) return bad(path + k, "a string");
    }
    return Status::Ok();
  };
  TDX_TRY(strings(j, "", {"tool"}));
  TDX_TRY(strings(j["recipe"], "recipe.", {"name", "file", "sha256", "lock_sha256", "base"}));
  TDX_TRY(strings(j["initramfs"], "initramfs.", {"file", "compression", "compressor"}));
  TDX_TRY(strings(m, "measurements.", {"rtmr1", "rtmr2"}));
  TDX_TRY(strings(m["mr_td"], "measurements.mr_td.", {"single-pass", "two-pass"}));
  for (const char* arr : {"inputs", "outputs"}) {
    for (const auto& e : j[arr]) {
      if (!e.is_object()) return bad(std::string(arr) + "[]", "an object");
      TDX_TRY(
          strings(e, std::string(arr) + "[].", {"name", "identity", "sha256", "filename", "file"}));
      if (e.contains("size") && !e["size"].is_number_unsigned())
        return bad(std::string(arr) + "[].size", "a number");
    }
  }
  for (const auto& f : j["initramfs"]["files"]) {
    if (!f.is_object()) return bad("initramfs.files[]", "an object");
    TDX_TRY(
        strings(f, "initramfs.files[].", {"path", "type", "mode", "sha256", "target", "origin"}));
    if (f.contains("size") && !f["size"].is_number_unsigned())
      return bad("initramfs.files[].size", "a number");
  }
  if (j.contains("reproducible") && !j["reproducible"].is_boolean())
    return bad("reproducible", "true or false");
  TDX_TRY(strings(j, "", {"reproducible_reason"}));
  if (j.contains("build")) {
    const auto& b = j["build"];
    if (!b.is_object()) return bad("build", "an object");
    if (!b.contains("source") || !b["source"].is_object()) return bad("build.source", "an object");
    TDX_TRY(strings(b["source"], "build.source.", {"what", "digest"}));
    if (b["source"].contains("files") && !b["source"]["files"].is_number_unsigned())
      return bad("build.source.files", "a number");
    for (const char* arr : {"toolchain", "outputs", "libraries"}) {
      if (!b.contains(arr) || !b[arr].is_array())
        return bad(std::string("build.") + arr, "an array");
      for (const auto& e : b[arr]) {
        if (!e.is_object()) return bad(std::string("build.") + arr + "[]", "an object");
        TDX_TRY(strings(e, std::string("build.") + arr + "[].",
                        {"name", "version", "arch", "sha256", "pool", "path", "from"}));
      }
    }
  }
  return j;
}

}  // namespace tdximage
