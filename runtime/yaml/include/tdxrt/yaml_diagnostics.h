// Collected, source-ordered diagnostics for YAML inputs (recipes, measurement policies).
//
// Parsers built on yaml-cpp report every problem they find, not just the first, each as
// "file:line:column: error: message (hint: ...)", sorted by position however the checks ran.
// Unknown keys get a "did you mean" when a known key is within edit distance 2.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <vector>

namespace tdxrt {

class YamlDiagnostics {
 public:
  explicit YamlDiagnostics(std::string file) : file_(std::move(file)) {}

  void Error(const YAML::Node& at, const std::string& msg, const std::string& hint = "");
  // line0/col0 are zero-based, as yaml-cpp's Mark.
  void Error(int line0, int col0, const std::string& msg, const std::string& hint = "");
  bool ok() const { return errors_.empty(); }
  // All diagnostics, one per line, in source order.
  std::string Joined() const;

  // Reports keys of `map` not in `known`.
  void CheckKeys(const YAML::Node& map, const std::vector<std::string>& known,
                 const std::string& where);
  // A scalar member; reports it missing (when required) or not a scalar.
  std::optional<std::string> Str(const YAML::Node& map, const std::string& key, bool required,
                                 const std::string& where, const std::string& hint = "");

  // Loads YAML text; a syntax error is recorded and an undefined node returned.
  YAML::Node Load(const std::string& text);

  const std::string& file() const { return file_; }

 private:
  struct Diag {
    int line, col;
    std::string text;
  };
  std::string file_;
  std::vector<Diag> errors_;
};

std::size_t EditDistance(const std::string& a, const std::string& b);

}  // namespace tdxrt
