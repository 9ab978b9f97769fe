// recipe.lock reading, writing and staleness checks (see include/tdximage/lock.h).
#include "tdximage/lock.h"

#include <nlohmann/json.hpp>

#include "tdxrt/file.h"
#include "tdxrt/hex.h"
#include "tdxrt/json.h"

namespace tdximage {

using tdxrt::Result;
using tdxrt::Status;

namespace {

// pool/<component>/<prefix>/<source>/<file>.deb, nothing that could climb out of an archive URL.
bool PoolPathOk(const std::string& p) {
  return p.rfind("pool/", 0) == 0 && p.size() > 9 && p.compare(p.size() - 4, 4, ".deb") == 0 &&
         p.find("..") == std::string::npos && p.find("//") == std::string::npos &&
         p.find_first_of("?#\\ \t\n") == std::string::npos;
}

}  // namespace

SourceSpec ToolchainPackage::Spec() const {
  SourceSpec s;
  s.name = "toolchain " + name;
  s.kind = SourceSpec::Kind::kApt;
  s.package = name;
  s.version = version;
  return s;
}

LockEntry ToolchainPackage::Pin() const {
  return LockEntry{Spec().Identity(), sha256, size, pool.substr(pool.rfind('/') + 1), pool};
}

std::string LockPathFor(const std::string& recipe_file) {
  std::string base = recipe_file;
  for (const char* ext : {".yaml", ".yml"}) {
    const std::string e(ext);
    if (base.size() > e.size() && base.compare(base.size() - e.size(), e.size(), e) == 0) {
      base.resize(base.size() - e.size());
      break;
    }
  }
  return base + ".lock";
}

Result<Lock> ParseLock(const std::string& text, const std::string& file) {
  TDX_ASSIGN_OR_RETURN(nlohmann::json j, tdxrt::ParseJson(text, file));
  Lock l;
  try {
    if (j.at("lock_version").get<int>() != 1)
      return Status::Unsupported(file + ": lock_version must be 1");
    l.recipe = j.at("recipe").get<std::string>();
    for (const auto& [name, e] : j.at("sources").items()) {
      LockEntry le;
      le.identity = e.at("identity").get<std::string>();
      le.sha256 = e.at("sha256").get<std::string>();
      le.size = e.at("size").get<std::uint64_t>();
      le.filename = e.value("filename", "");
      le.pool = e.value("pool", "");
      if (!tdxrt::IsLowerHex(le.sha256, 64))
        return Status::Corrupt(file + ": source '" + name + "': sha256 is not 64 hex digits");
      if (!le.pool.empty() && !PoolPathOk(le.pool))
        return Status::Corrupt(file + ": source '" + name + "': pool '" + le.pool +
                               "' is not an archive path (pool/COMPONENT/.../FILE.deb)");
      l.sources[name] = std::move(le);
    }
    if (j.contains("toolchain")) {
      const auto& t = j.at("toolchain");
      ToolchainLock tl;
      for (const auto& r : t.at("request")) tl.request.push_back(r.get<std::string>());
      std::string previous;
      for (const auto& p : t.at("packages")) {
        ToolchainPackage tp;
        tp.name = p.at("name").get<std::string>();
        tp.version = p.at("version").get<std::string>();
        tp.arch = p.at("arch").get<std::string>();
        tp.sha256 = p.at("sha256").get<std::string>();
        tp.size = p.at("size").get<std::uint64_t>();
        tp.pool = p.at("pool").get<std::string>();
        const std::string where = file + ": toolchain package '" + tp.name + "'";
        if (!tdxrt::IsLowerHex(tp.sha256, 64))
          return Status::Corrupt(where + ": sha256 is not 64 hex digits");
        if (!PoolPathOk(tp.pool))
          return Status::Corrupt(where + ": pool '" + tp.pool + "' is not an archive path");
        if (tp.name.empty() || tp.name <= previous)
          return Status::Corrupt(where + ": packages must be sorted by name, each once");
        previous = tp.name;
        tl.packages.push_back(std::move(tp));
      }
      l.toolchain = std::move(tl);
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::Corrupt(file + ": " + e.what());
  }
  return l;
}

Result<Lock> LoadLock(const std::string& file) {
  TDX_ASSIGN_OR_RETURN(tdxrt::Bytes b, tdxrt::ReadFile(file, 1 << 20));
  return ParseLock(std::string(b.begin(), b.end()), file);
}

std::string SerializeLock(const Lock& l) {
  nlohmann::ordered_json j;
  j["lock_version"] = 1;
  j["recipe"] = l.recipe;
  j["sources"] = nlohmann::ordered_json::object();
  for (const auto& [name, e] : l.sources) {
    j["sources"][name] = {
        {"identity", e.identity}, {"sha256", e.sha256}, {"size", e.size}, {"filename", e.filename}};
    if (!e.pool.empty()) j["sources"][name]["pool"] = e.pool;
  }
  if (l.toolchain) {
    nlohmann::ordered_json t;
    t["request"] = l.toolchain->request;
    t["packages"] = nlohmann::ordered_json::array();
    for (const auto& p : l.toolchain->packages) {
      t["packages"].push_back({{"name", p.name},
                               {"version", p.version},
                               {"arch", p.arch},
                               {"sha256", p.sha256},
                               {"size", p.size},
                               {"pool", p.pool}});
    }
    j["toolchain"] = std::move(t);
  }
  return tdxrt::DumpJson(j) + "\n";
}

Status CheckLockFresh(const Recipe& r, const Lock& l) {
  std::string problems;
  auto add = [&](const std::string& p) { problems += (problems.empty() ? "" : "\n") + p; };
  for (const auto& s : r.sources) {
    auto it = l.sources.find(s.name);
    if (s.kind == SourceSpec::Kind::kInput) {
      // Supplied at build time, recorded in the manifest, never pinned.
      if (it != l.sources.end())
        add("the lock pins source '" + s.name + "', which the recipe now takes as an input");
      continue;
    }
    if (it == l.sources.end()) {
      add("source '" + s.name + "' is not in the lock");
    } else if (it->second.identity != s.Identity()) {
      add("source '" + s.name + "' changed: the lock pins '" + it->second.identity +
          "', the recipe says '" + s.Identity() + "'");
    }
  }
  for (const auto& [name, e] : l.sources) {
    if (r.FindSource(name) == nullptr)
      add("the lock pins source '" + name + "' which the recipe no longer has");
  }
  if (r.build && !l.toolchain) {
    add("the recipe's build toolchain is not in the lock");
  } else if (r.build && l.toolchain->request != r.build->toolchain) {
    std::string want, have;
    for (const auto& p : r.build->toolchain) want += (want.empty() ? "" : " ") + p;
    for (const auto& p : l.toolchain->request) have += (have.empty() ? "" : " ") + p;
    add("the build toolchain changed: the lock resolved [" + have + "], the recipe asks for [" +
        want + "]");
  } else if (!r.build && l.toolchain) {
    add("the lock pins a build toolchain but the recipe has no build section");
  }
  if (problems.empty()) return Status::Ok();
  return Status::Mismatch(problems + "\n(hint: run 'tdximage lock " + r.file + "' to re-pin)");
}

}  // namespace tdximage
