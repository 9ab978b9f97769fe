// YAML diagnostics shared by the recipe and policy parsers (see tdxrt/yaml_diagnostics.h).
#include "tdxrt/yaml_diagnostics.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <map>
#include <sstream>

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

namespace {

// Walks the parser's events (before any node is built) for what yaml-cpp accepts silently but
// readers disagree on: a key given twice in one map (yaml-cpp's lookup takes the first, PyYAML,
// jq and our JSON reader take the last or refuse), aliases (a few bytes can stand for an
// exponential tree), keys that are maps or lists, and a second document (ignored by Load).
class StrictEvents : public YAML::EventHandler {
 public:
  explicit StrictEvents(YamlDiagnostics& d) : d_(d) {}

  void OnDocumentStart(const YAML::Mark& mark) override { start_ = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { Leaf(mark, "~"); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    d_.Error(mark.line, mark.column, "YAML aliases (*name) are not allowed",
             "write the value out where it is used");
    Leaf(mark, "*");
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string& value) override {
    Leaf(mark, value);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Open(mark, false);
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Open(mark, true);
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Frame {
    bool map;
    bool expect_key = true;
    std::map<std::string, int> keys;  // key -> line (zero-based) of its first appearance
  };

  bool AtKey() const { return !stack_.empty() && stack_.back().map && stack_.back().expect_key; }
  // A node is complete: in a map, keys and values alternate.
  void Done() {
    if (!stack_.empty() && stack_.back().map) stack_.back().expect_key = !stack_.back().expect_key;
  }
  void Leaf(const YAML::Mark& mark, const std::string& value) {
    if (AtKey()) {
      auto [it, fresh] = stack_.back().keys.emplace(value, mark.line);
      if (!fresh) {
        d_.Error(mark.line, mark.column,
                 "duplicate key '" + value + "' (first at line " + std::to_string(it->second + 1) +
                     "); readers disagree on which one counts",
                 "keep one");
      }
    }
    Done();
  }
  void Open(const YAML::Mark& mark, bool map) {
    if (AtKey()) {
      d_.Error(mark.line, mark.column, "a key must be a plain value, not a map or a list");
    }
    stack_.push_back(Frame{map, true, {}});
  }
  void Close() {
    if (!stack_.empty()) stack_.pop_back();
    Done();
  }

  YamlDiagnostics& d_;
  std::vector<Frame> stack_;

 public:
  YAML::Mark start_;  // where the document began
};

}  // namespace

YAML::Node YamlDiagnostics::Load(const std::string& text) {
  try {
    std::istringstream in(text);
    YAML::Parser parser(in);
    StrictEvents strict(*this);
    if (parser.HandleNextDocument(strict)) {
      StrictEvents rest(*this);
      if (parser.HandleNextDocument(rest)) {
        Error(rest.start_.line, rest.start_.column, "a second YAML document ('---')",
              "one document per file");
      }
    }
    if (!ok()) return YAML::Node(YAML::NodeType::Undefined);
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    Error(e.mark.line, e.mark.column, "invalid YAML: " + e.msg);
    return YAML::Node(YAML::NodeType::Undefined);
  }
}

}  // namespace tdxrt
