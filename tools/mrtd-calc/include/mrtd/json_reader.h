// Field-by-field reading of a JSON file we did not write, with the path of each field in its
// errors ("file: hosts[1].events[0].digest: not 96 hex digits"): the expected event logs and the
// ACPI captures read through it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "tdxrt/hex.h"
#include "tdxrt/sha.h"
#include "tdxrt/status.h"

namespace mrtd {

class JsonReader {
 public:
  explicit JsonReader(std::string what) : what_(std::move(what)) {}

  tdxrt::Status Error(const std::string& path, const std::string& msg) const {
    return tdxrt::Status::InvalidArgument(what_ + ": " + path + ": " + msg);
  }

  tdxrt::Result<const nlohmann::json*> Field(const nlohmann::json& obj, const std::string& path,
                                             const char* key, bool required = true) const {
    if (!obj.is_object()) return Error(path, "is not an object");
    auto it = obj.find(key);
    if (it == obj.end()) {
      if (required) return Error(Join(path, key), "missing");
      return static_cast<const nlohmann::json*>(nullptr);
    }
    return &*it;
  }

  tdxrt::Result<std::string> Str(const nlohmann::json& obj, const std::string& path,
                                 const char* key, std::size_t max = 4096) const {
    TDX_ASSIGN_OR_RETURN(const nlohmann::json* v, Field(obj, path, key));
    if (!v->is_string()) return Error(Join(path, key), "is not a string");
    const std::string& s = v->get_ref<const std::string&>();
    if (s.size() > max) return Error(Join(path, key), "longer than " + std::to_string(max));
    return s;
  }

  tdxrt::Result<tdxrt::Sha384Digest> Digest(const nlohmann::json& obj, const std::string& path,
                                            const char* key) const {
    TDX_ASSIGN_OR_RETURN(std::string s, Str(obj, path, key));
    auto d = tdxrt::FromHexArray<48>(s);
    if (!d.ok()) return Error(Join(path, key), "not 96 hex digits (" + d.status().message() + ")");
    return *d;
  }

  tdxrt::Result<const nlohmann::json*> Array(const nlohmann::json& obj, const std::string& path,
                                             const char* key, std::size_t max,
                                             bool required = true) const {
    TDX_ASSIGN_OR_RETURN(const nlohmann::json* v, Field(obj, path, key, required));
    if (!v) return v;
    if (!v->is_array()) return Error(Join(path, key), "is not an array");
    if (v->size() > max) {
      return Error(Join(path, key),
                   std::to_string(v->size()) + " entries, more than " + std::to_string(max));
    }
    return v;
  }

  static std::string Join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }
  static std::string At(const std::string& path, const char* key, std::size_t i) {
    return Join(path, key) + "[" + std::to_string(i) + "]";
  }

 private:
  std::string what_;
};

}  // namespace mrtd
