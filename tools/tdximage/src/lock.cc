// recipe.lock reading, writing and staleness checks (see include/tdximage/lock.h).
#include "tdximage/lock.h"

#include <nlohmann/json.hpp>

#include "tdxrt/file.h"
#include "tdxrt/json.h"

namespace tdximage {

using tdxrt::Result;
using tdxrt::Status;

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
      if (le.sha256.size() != 64)
        return Status::Corrupt(file + ": source '" + name + "': sha256 is not 64 hex digits");
      l.sources[name] = std::move(le);
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
  if (problems.empty()) return Status::Ok();
  return Status::Mismatch(problems + "\n(hint: run 'tdximage lock " + r.file + "' to re-pin)");
}

}  // namespace tdximage
