// YAML diagnostics shared by the recipe and policy parsers (see tdxrt/yaml_diagnostics.h).
#include "tdxrt/yaml_diagnostics.h"

#include <algorithm>

namespace tdxrt {

std::size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      cur[j] =
          std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

void YamlDiagnostics::Error(const YAML::Node& at, const std::string& msg, const std::string& hint) {
  const YAML::Mark m = at.Mark();
  Error(m.line, m.column, msg, hint);
}

void YamlDiagnostics::Error(int line0, int col0, const std::string& msg, const std::string& hint) {
  std::string e =
      file_ + ":" + std::to_string(line0 + 1) + ":" + std::to_string(col0 + 1) + ": error: " + msg;
  if (!hint.empty()) e += " (hint: " + hint + ")";
  errors_.push_back({line0, col0, std::move(e)});
}

std::string YamlDiagnostics::Joined() const {
  std::string out;
  std::vector<Diag> sorted = errors_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Diag& a, const Diag& b) {
    return a.line != b.line ? a.line < b.line : a.col < b.col;
  });
  for (const auto& e : sorted) out += (out.empty() ? "" : "\n") + e.text;
  return out;
}

void YamlDiagnostics::CheckKeys(const YAML::Node& map, const std::vector<std::string>& known,
                                const std::string& where) {
  for (const auto& kv : map) {
    const std::string key = kv.first.Scalar();
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string best;
    std::size_t best_d = 3;
    for (const auto& k : known) {
      const std::size_t d = EditDistance(key, k);
      if (d < best_d) {
        best_d = d;
        best = k;
      }
    }
    std::string hint = best.empty() ? "known keys: " : "did you mean '" + best + "'?";
    if (best.empty()) {
      for (std::size_t i = 0; i < known.size(); ++i) hint += (i ? ", " : "") + known[i];
    }
    Error(kv.first, "unknown key '" + key + "' in " + where, hint);
  }
}

std::optional<std::string> YamlDiagnostics::Str(const YAML::Node& map, const std::string& key,
                                                bool required, const std::string& where,
                                                const std::string& hint) {
  const YAML::Node n = map[key];
  if (!n) {
    if (required) Error(map, where + " needs '" + key + "'", hint);
    return std::nullopt;
  }
  if (!n.IsScalar()) {
    Error(n, "'" + key + "' in " + where + " must be a string");
    return std::nullopt;
  }
  return n.Scalar();
}

YAML::Node YamlDiagnostics::Load(const std::string& text) {
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    Error(e.mark.line, e.mark.column, "invalid YAML: " + e.msg);
    return YAML::Node(YAML::NodeType::Undefined);
  }
}

}  // namespace tdxrt
