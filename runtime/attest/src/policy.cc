// Measurement policy parsing and evaluation (see tdxrt/policy.h).
#include "tdxrt/policy.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "tdxrt/file.h"
#include "tdxrt/hex.h"
#include "tdxrt/yaml_diagnostics.h"

namespace tdxrt {
namespace {

std::optional<bool> Bool(YamlDiagnostics& d, const YAML::Node& map, const std::string& key) {
  const YAML::Node n = map[key];
  if (!n) return false;
  if (n.IsScalar() && (n.Scalar() == "true" || n.Scalar() == "false")) {
    return n.Scalar() == "true";
  }
  d.Error(n, "'" + key + "' must be true or false");
  return std::nullopt;
}

std::optional<Measurement> Digest(YamlDiagnostics& d, const YAML::Node& set, const std::string& key,
                                  bool required, const std::string& where) {
  auto s = d.Str(set, key, required, where, "96 hex digits (SHA-384)");
  if (!s) return std::nullopt;
  auto b = FromHex(*s, 48);
  if (!b.ok()) {
    d.Error(set[key], "'" + key + "' in " + where + ": " + b.status().message(),
            "96 hex digits (SHA-384)");
    return std::nullopt;
  }
  Measurement m{};
  std::copy(b->begin(), b->end(), m.begin());
  return m;
}

std::string Short(const Measurement& m) { return ToHex(m).substr(0, 16) + "..."; }

}  // namespace

Result<Policy> ParsePolicy(const std::string& text, const std::string& file) {
  YamlDiagnostics d(file);
  YAML::Node root = d.Load(text);
  if (!d.ok()) return Status::InvalidArgument(d.Joined());
  if (!root.IsMap()) {
    d.Error(0, 0, "a policy is a YAML map", "start with 'version: 1' and 'sets:'");
    return Status::InvalidArgument(d.Joined());
  }
  Policy p;
  d.CheckKeys(root, {"version", "allow_mock", "allow_debug", "sets"}, "the policy");
  if (auto v = d.Str(root, "version", true, "the policy", "version: 1"); v && *v != "1") {
    d.Error(root["version"], "policy version " + *v + " is not supported", "version: 1");
  }
  p.allow_mock = Bool(d, root, "allow_mock").value_or(false);
  p.allow_debug = Bool(d, root, "allow_debug").value_or(false);
  const YAML::Node sets = root["sets"];
  if (!sets || !sets.IsSequence() || sets.size() == 0) {
    d.Error(sets ? sets : root, "the policy needs a non-empty list 'sets'",
            "each set has at least 'name' and 'mr_td'");
  } else {
    for (std::size_t i = 0; i < sets.size(); ++i) {
      const YAML::Node s = sets[i];
      const std::string where = "set " + std::to_string(i + 1);
      if (!s.IsMap()) {
        d.Error(s, where + " must be a map");
        continue;
      }
      d.CheckKeys(
          s, {"name", "mr_td", "rtmr0", "rtmr1", "rtmr2", "rtmr3", "mr_config_id", "tcb_status"},
          where);
      MeasurementSet m;
      m.line = s.Mark().line + 1;
      if (auto n = d.Str(s, "name", true, where)) {
        m.name = *n;
        const bool ok_name =
            !n->empty() && n->size() <= 128 && std::all_of(n->begin(), n->end(), [](char ch) {
              return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' ||
                     ch == '+' || ch == '-';
            });
        if (!ok_name) {
          d.Error(s["name"], "set name '" + *n + "' in " + where + " is not a plain name",
                  "1-128 characters of A-Z a-z 0-9 . _ + -");
        }
      }
      if (auto v = Digest(d, s, "mr_td", true, where)) m.mr_td = *v;
      for (std::size_t r = 0; r < 4; ++r) {
        m.rtmr[r] = Digest(d, s, "rtmr" + std::to_string(r), false, where);
      }
      m.mr_config_id = Digest(d, s, "mr_config_id", false, where);
      if (const YAML::Node ts = s["tcb_status"]) {
        m.tcb_status.clear();
        if (!ts.IsSequence() || ts.size() == 0) {
          d.Error(ts, "'tcb_status' in " + where + " must be a non-empty list",
                  "for example [UpToDate, SWHardeningNeeded]");
        } else {
          for (const auto& e : ts) {
            auto st = e.IsScalar() ? ParseTcbStatus(e.Scalar())
                                   : Result<TcbStatus>(Status::Corrupt("not a name"));
            if (!st.ok()) {
              d.Error(
                  e, "'" + (e.IsScalar() ? e.Scalar() : std::string("?")) + "' is not a TCB status",
                  "UpToDate, SWHardeningNeeded, ConfigurationNeeded, "
                  "ConfigurationAndSWHardeningNeeded, OutOfDate, "
                  "OutOfDateConfigurationNeeded, Revoked");
            } else {
              m.tcb_status.push_back(*st);
            }
          }
        }
      }
      for (const auto& other : p.sets) {
        if (!m.name.empty() && other.name == m.name) {
          d.Error(s["name"], "set name '" + m.name + "' is used twice",
                  "the first is on line " + std::to_string(other.line));
        }
      }
      p.sets.push_back(std::move(m));
    }
  }
  if (!d.ok()) return Status::InvalidArgument(d.Joined());
  return p;
}

Result<Policy> LoadPolicy(const std::string& file) {
  TDX_ASSIGN_OR_RETURN(Bytes text, ReadFile(file, 4 << 20));
  return ParsePolicy(std::string(text.begin(), text.end()), file);
}

std::string SerializePolicy(const Policy& p, const std::string& comment) {
  std::string out;
  if (!comment.empty()) {
    std::size_t start = 0;
    while (start <= comment.size()) {
      const std::size_t nl = comment.find('\n', start);
      out += "# " + comment.substr(start, nl - start) + "\n";
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
  }
  out += "version: 1\n";
  out += std::string("allow_mock: ") + (p.allow_mock ? "true" : "false") + "\n";
  out += std::string("allow_debug: ") + (p.allow_debug ? "true" : "false") + "\n";
  out += "sets:\n";
  for (const auto& s : p.sets) {
    out += "  - name: \"" + s.name + "\"\n";
    out += "    mr_td: \"" + ToHex(s.mr_td) + "\"\n";
    for (std::size_t r = 0; r < 4; ++r) {
      if (s.rtmr[r]) out += "    rtmr" + std::to_string(r) + ": \"" + ToHex(*s.rtmr[r]) + "\"\n";
    }
    if (s.mr_config_id) out += "    mr_config_id: \"" + ToHex(*s.mr_config_id) + "\"\n";
    out += "    tcb_status: [";
    for (std::size_t i = 0; i < s.tcb_status.size(); ++i) {
      out += (i ? ", " : "") + std::string(TcbStatusName(s.tcb_status[i]));
    }
    out += "]\n";
  }
  return out;
}

Result<Policy> MergePolicies(const std::vector<NamedPolicy>& in) {
  if (in.empty()) return Status::InvalidArgument("no policy to merge");
  Policy out;
  out.allow_mock = in.front().policy.allow_mock;
  out.allow_debug = in.front().policy.allow_debug;
  for (const auto& [file, p] : in) {
    if (p.allow_mock != out.allow_mock || p.allow_debug != out.allow_debug) {
      return Status::InvalidArgument(file + ": allow_mock/allow_debug differ from " +
                                     in.front().file + "'s; merged policies must agree on them");
    }
    for (const auto& s : p.sets) {
      const auto same = [&](const MeasurementSet& o) {
        return o.mr_td == s.mr_td && o.rtmr == s.rtmr && o.mr_config_id == s.mr_config_id &&
               o.tcb_status == s.tcb_status;
      };
      if (std::any_of(out.sets.begin(), out.sets.end(), same)) continue;
      MeasurementSet m = s;
      const auto taken = [&](const std::string& n) {
        return std::any_of(out.sets.begin(), out.sets.end(),
                           [&](const MeasurementSet& o) { return o.name == n; });
      };
      if (taken(m.name)) {
        // Set names are plain (A-Z a-z 0-9 . _ + -): the file name joins with '+'.
        std::string suffix;
        for (char c : std::filesystem::path(file).filename().string()) {
          suffix += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
                            c == '+' || c == '-'
                        ? c
                        : '_';
        }
        m.name = (m.name + "+" + suffix).substr(0, 128);
        if (taken(m.name)) {
          return Status::InvalidArgument(file + ": set '" + s.name +
                                         "' differs from a set of the same name and file name");
        }
      }
      out.sets.push_back(std::move(m));
    }
  }
  return out;
}

Decision Evaluate(const Policy& p, const Evidence& e, const Verdict* verdict) {
  Decision d;
  const TdReport& r = e.report;
  // Measurements first, for every set: reported whatever the overall outcome.
  std::vector<std::string> why(p.sets.size());
  for (std::size_t i = 0; i < p.sets.size(); ++i) {
    const MeasurementSet& s = p.sets[i];
    std::string& w = why[i];
    if (r.mr_td != s.mr_td) {
      w = "MRTD " + Short(r.mr_td) + " is not " + Short(s.mr_td);
    }
    for (std::size_t k = 0; k < 4 && w.empty(); ++k) {
      if (s.rtmr[k] && r.rtmr[k] != *s.rtmr[k]) {
        w = "RTMR" + std::to_string(k) + " " + Short(r.rtmr[k]) + " is not " + Short(*s.rtmr[k]);
      }
    }
    if (w.empty() && s.mr_config_id && r.mr_config_id != *s.mr_config_id) {
      w = "MRCONFIGID " + Short(r.mr_config_id) + " is not " + Short(*s.mr_config_id);
    }
    if (w.empty()) d.measurement_matches.push_back(s.name);
  }
  if (e.kind == EvidenceKind::kMock && !p.allow_mock) {
    d.reasons.push_back(
        "mock evidence (not from TDX hardware): this policy admits only verified TDX quotes");
    return d;
  }
  if (e.kind == EvidenceKind::kTdxQuote && verdict == nullptr) {
    d.reasons.push_back(
        "the quote was not verified (no collateral): measurements alone prove nothing");
    return d;
  }
  const bool debug = (r.td_attributes[0] & 1) != 0;
  if (debug && !p.allow_debug) {
    d.reasons.push_back("the TD is a debug TD (TDATTRIBUTES.DEBUG): its memory is not private");
    return d;
  }
  for (std::size_t i = 0; i < p.sets.size(); ++i) {
    const MeasurementSet& s = p.sets[i];
    std::string w = why[i];
    if (w.empty() && verdict != nullptr &&
        std::find(s.tcb_status.begin(), s.tcb_status.end(), verdict->status) ==
            s.tcb_status.end()) {
      w = "TCB status " + std::string(TcbStatusName(verdict->status)) + " is not accepted";
    }
    if (w.empty()) {
      d.admitted = true;
      d.matched_set = s.name;
      d.mock = e.kind == EvidenceKind::kMock;
      d.reasons.clear();
      return d;
    }
    d.reasons.push_back("set '" + s.name + "': " + w);
  }
  return d;
}

}  // namespace tdxrt
