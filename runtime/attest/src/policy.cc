// Measurement policy parsing and evaluation (see tdxrt/policy.h).
#include "tdxrt/policy.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "tdxrt/file.h"
#include "tdxrt/hex.h"
#include "tdxrt/text.h"
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
  auto b = FromHexArray<48>(*s);
  if (!b.ok()) {
    d.Error(set[key], "'" + key + "' in " + where + ": " + b.status().message(),
            "96 hex digits (SHA-384)");
    return std::nullopt;
  }
  return *b;
}

std::string Short(const Measurement& m) { return ToHex(m).substr(0, 16) + "..."; }

template <std::size_t N>
std::optional<std::array<std::uint8_t, N>> FixedHex(YamlDiagnostics& d, const YAML::Node& n,
                                                    const std::string& what) {
  const std::string hint = std::to_string(2 * N) + " hex digits";
  if (!n.IsScalar()) {
    d.Error(n, what + " must be " + hint, hint);
    return std::nullopt;
  }
  auto b = FromHex(n.Scalar(), N);
  if (!b.ok()) {
    d.Error(n, what + ": " + b.status().message(), hint);
    return std::nullopt;
  }
  std::array<std::uint8_t, N> out{};
  std::copy(b->begin(), b->end(), out.begin());
  return out;
}

template <std::size_t N>
std::vector<std::array<std::uint8_t, N>> FixedHexList(YamlDiagnostics& d, const YAML::Node& map,
                                                      const std::string& key,
                                                      const std::string& where) {
  std::vector<std::array<std::uint8_t, N>> out;
  const YAML::Node n = map[key];
  if (!n) return out;
  if (!n.IsSequence() || n.size() == 0) {
    d.Error(n, "'" + key + "' in " + where + " must be a non-empty list",
            std::to_string(2 * N) + " hex digits each");
    return out;
  }
  for (const auto& e : n) {
    if (auto v = FixedHex<N>(d, e, "'" + key + "' in " + where)) out.push_back(*v);
  }
  return out;
}

std::optional<std::int64_t> Unsigned(YamlDiagnostics& d, const YAML::Node& map,
                                     const std::string& key, const std::string& where,
                                     std::int64_t max) {
  const YAML::Node n = map[key];
  if (!n) return std::nullopt;
  const std::string hint = "an integer from 0 to " + std::to_string(max);
  if (!n.IsScalar() || n.Scalar().empty() || n.Scalar().size() > 12 ||
      !std::all_of(n.Scalar().begin(), n.Scalar().end(),
                   [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoll(n.Scalar()) > max) {
    d.Error(n, "'" + key + "' in " + where + " must be " + hint, hint);
    return std::nullopt;
  }
  return std::stoll(n.Scalar());
}

std::optional<std::vector<std::string>> Names(YamlDiagnostics& d, const YAML::Node& map,
                                              const std::string& key, const std::string& where) {
  const YAML::Node n = map[key];
  if (!n) return std::nullopt;
  std::vector<std::string> out;
  if (!n.IsSequence()) {
    d.Error(n, "'" + key + "' in " + where + " must be a list", "for example [INTEL-SA-00837]");
    return out;
  }
  for (const auto& e : n) {
    if (!e.IsScalar() || e.Scalar().empty()) {
      d.Error(e, "'" + key + "' in " + where + " lists something that is not a name");
    } else {
      out.push_back(e.Scalar());
    }
  }
  return out;
}

std::optional<Masked8> MaskedValue(YamlDiagnostics& d, const YAML::Node& map,
                                   const std::string& key, const std::string& where) {
  const YAML::Node n = map[key];
  if (!n) return std::nullopt;
  const std::string w = "'" + key + "' in " + where;
  if (!n.IsMap()) {
    d.Error(n, w + " must be a map {value: HEX16, mask: HEX16}");
    return std::nullopt;
  }
  d.CheckKeys(n, {"value", "mask"}, w);
  auto value = n["value"] ? FixedHex<8>(d, n["value"], w + ": value") : std::nullopt;
  auto mask = n["mask"] ? FixedHex<8>(d, n["mask"], w + ": mask") : std::nullopt;
  if (!n["value"] || !n["mask"]) {
    d.Error(n, w + " needs both 'value' and 'mask'", "16 hex digits each, little-endian bytes");
    return std::nullopt;
  }
  if (!value || !mask) return std::nullopt;
  Masked8 m{*value, *mask};
  for (std::size_t i = 0; i < 8; ++i) {
    if ((m.value[i] & ~m.mask[i]) != 0) {
      d.Error(n["value"], w + ": value has bits outside the mask (byte " + std::to_string(i) + ")",
              "such a rule could never match");
      return std::nullopt;
    }
  }
  return m;
}

TcbRules ParseTcbRules(YamlDiagnostics& d, const YAML::Node& n) {
  TcbRules t;
  const std::string where = "'tcb'";
  if (!n.IsMap()) {
    d.Error(n, "'tcb' must be a map");
    return t;
  }
  d.CheckKeys(n,
              {"out_of_date_grace_days", "refuse_advisories", "accept_advisories",
               "min_tee_tcb_svn", "min_qe_isvsvn", "min_pcesvn", "min_tcb_evaluation_data_number",
               "max_collateral_age_days", "mr_seam", "mr_signer_seam", "ppid"},
              where);
  t.out_of_date_grace_days = Unsigned(d, n, "out_of_date_grace_days", where, 3650);
  t.refuse_advisories =
      Names(d, n, "refuse_advisories", where).value_or(std::vector<std::string>{});
  t.accept_advisories = Names(d, n, "accept_advisories", where);
  if (n["min_tee_tcb_svn"])
    t.min_tee_tcb_svn = FixedHex<16>(d, n["min_tee_tcb_svn"], "'min_tee_tcb_svn' in 'tcb'");
  if (auto v = Unsigned(d, n, "min_qe_isvsvn", where, 65535))
    t.min_qe_isvsvn = static_cast<std::uint16_t>(*v);
  if (auto v = Unsigned(d, n, "min_pcesvn", where, 65535))
    t.min_pcesvn = static_cast<std::uint16_t>(*v);
  if (auto v = Unsigned(d, n, "min_tcb_evaluation_data_number", where, 1000000)) {
    t.min_tcb_evaluation_data_number = static_cast<int>(*v);
  }
  t.max_collateral_age_days = Unsigned(d, n, "max_collateral_age_days", where, 3650);
  t.mr_seam = FixedHexList<48>(d, n, "mr_seam", where);
  t.mr_signer_seam = FixedHexList<48>(d, n, "mr_signer_seam", where);
  t.ppid = FixedHexList<16>(d, n, "ppid", where);
  return t;
}

TdRules ParseTdRules(YamlDiagnostics& d, const YAML::Node& n) {
  TdRules t;
  const std::string where = "'td'";
  if (!n.IsMap()) {
    d.Error(n, "'td' must be a map");
    return t;
  }
  d.CheckKeys(n, {"attributes", "xfam", "sept_ve_disable", "mr_service_td"}, where);
  t.attributes = MaskedValue(d, n, "attributes", where);
  t.xfam = MaskedValue(d, n, "xfam", where);
  t.sept_ve_disable = Bool(d, n, "sept_ve_disable").value_or(false);
  if (n["mr_service_td"]) {
    t.mr_service_td = FixedHex<48>(d, n["mr_service_td"], "'mr_service_td' in 'td'");
  }
  return t;
}

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

// A YAML double-quoted scalar for any text: quote, backslash and control bytes escaped.
std::string YamlQuoted(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

template <typename T, typename F>
std::string List(const std::vector<T>& v, F f) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + f(v[i]);
  return out + "]";
}

std::string SerializeRules(const TcbRules& t, const TdRules& td) {
  std::string out;
  if (!(t == TcbRules{})) {
    out += "tcb:\n";
    if (t.out_of_date_grace_days)
      out += "  out_of_date_grace_days: " + std::to_string(*t.out_of_date_grace_days) + "\n";
    if (!t.refuse_advisories.empty())
      out += "  refuse_advisories: " + List(t.refuse_advisories, Quoted) + "\n";
    if (t.accept_advisories)
      out += "  accept_advisories: " + List(*t.accept_advisories, Quoted) + "\n";
    if (t.min_tee_tcb_svn) out += "  min_tee_tcb_svn: \"" + ToHex(*t.min_tee_tcb_svn) + "\"\n";
    if (t.min_qe_isvsvn) out += "  min_qe_isvsvn: " + std::to_string(*t.min_qe_isvsvn) + "\n";
    if (t.min_pcesvn) out += "  min_pcesvn: " + std::to_string(*t.min_pcesvn) + "\n";
    if (t.min_tcb_evaluation_data_number)
      out +=
          "  min_tcb_evaluation_data_number: " + std::to_string(*t.min_tcb_evaluation_data_number) +
          "\n";
    if (t.max_collateral_age_days)
      out += "  max_collateral_age_days: " + std::to_string(*t.max_collateral_age_days) + "\n";
    auto hex = [](const auto& a) { return Quoted(ToHex(a)); };
    if (!t.mr_seam.empty()) out += "  mr_seam: " + List(t.mr_seam, hex) + "\n";
    if (!t.mr_signer_seam.empty()) out += "  mr_signer_seam: " + List(t.mr_signer_seam, hex) + "\n";
    if (!t.ppid.empty()) out += "  ppid: " + List(t.ppid, hex) + "\n";
  }
  if (!(td == TdRules{})) {
    out += "td:\n";
    auto masked = [](const Masked8& m) {
      return "{value: \"" + ToHex(m.value) + "\", mask: \"" + ToHex(m.mask) + "\"}";
    };
    if (td.attributes) out += "  attributes: " + masked(*td.attributes) + "\n";
    if (td.xfam) out += "  xfam: " + masked(*td.xfam) + "\n";
    if (td.sept_ve_disable) out += "  sept_ve_disable: true\n";
    if (td.mr_service_td) out += "  mr_service_td: \"" + ToHex(*td.mr_service_td) + "\"\n";
  }
  return out;
}

bool IsOutOfDate(TcbStatus s) {
  return s == TcbStatus::kOutOfDate || s == TcbStatus::kOutOfDateConfigurationNeeded;
}

bool SameAdvisory(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) ==
                  std::toupper(static_cast<unsigned char>(y));
         });
}

struct RuleFailure {
  std::string rule, why;
};

std::string Day(std::int64_t t) { return FormatRfc3339(t).substr(0, 10); }

// The td.* rules (also for allowed mock evidence: they judge what it claims), then the tcb.*
// rules (verified quotes only), in the order docs/attestation.md lists them.
std::optional<RuleFailure> CheckRules(const Policy& p, const Evidence& e, const Verdict* v) {
  const TdReport& r = e.report;
  auto masked = [&](const char* rule, const char* what, const std::array<std::uint8_t, 8>& actual,
                    const Masked8& m) -> std::optional<RuleFailure> {
    std::array<std::uint8_t, 8> got{};
    for (std::size_t i = 0; i < 8; ++i) got[i] = actual[i] & m.mask[i];
    if (got == m.value) return std::nullopt;
    return RuleFailure{rule, std::string(what) + " " + ToHex(actual) + " under mask " +
                                 ToHex(m.mask) + " is " + ToHex(got) + ", not " + ToHex(m.value)};
  };
  if (p.td.attributes) {
    if (auto f = masked("td.attributes", "TDATTRIBUTES", r.td_attributes, *p.td.attributes))
      return f;
  }
  if (p.td.xfam) {
    if (auto f = masked("td.xfam", "XFAM", r.xfam, *p.td.xfam)) return f;
  }
  if (p.td.sept_ve_disable && (r.td_attributes[3] & 0x10) == 0) {
    return RuleFailure{"td.sept_ve_disable",
                       "TDATTRIBUTES " + ToHex(r.td_attributes) +
                           " lacks SEPT_VE_DISABLE (bit 28): the host could inject #VE on EPT "
                           "violations into the TD"};
  }
  if (p.td.mr_service_td) {
    if (!r.is_td15) {
      return RuleFailure{"td.mr_service_td",
                         "the quote carries a TD report 1.0, which has no MRSERVICETD"};
    }
    if (r.mr_service_td != *p.td.mr_service_td) {
      return RuleFailure{"td.mr_service_td", "MRSERVICETD " + Short(r.mr_service_td) + " is not " +
                                                 Short(*p.td.mr_service_td)};
    }
  }
  if (v == nullptr) return std::nullopt;
  const TcbRules& t = p.tcb;
  const std::int64_t at = v->verified_at;
  if (t.out_of_date_grace_days && IsOutOfDate(v->status) &&
      v->tcb_date + *t.out_of_date_grace_days * 86400 < at) {
    return RuleFailure{"tcb.out_of_date_grace_days",
                       "TCB status " + std::string(TcbStatusName(v->status)) + " at the level of " +
                           Day(v->tcb_date) + ": the grace of " +
                           std::to_string(*t.out_of_date_grace_days) + " days ended " +
                           Day(v->tcb_date + *t.out_of_date_grace_days * 86400)};
  }
  for (const auto& id : v->advisory_ids) {
    for (const auto& refused : t.refuse_advisories) {
      if (SameAdvisory(id, refused)) {
        return RuleFailure{"tcb.refuse_advisories", "the platform is affected by " + id};
      }
    }
    if (t.accept_advisories &&
        std::none_of(t.accept_advisories->begin(), t.accept_advisories->end(),
                     [&](const std::string& a) { return SameAdvisory(a, id); })) {
      return RuleFailure{"tcb.accept_advisories", "advisory " + id + " is not among the accepted"};
    }
  }
  if (t.min_tee_tcb_svn) {
    for (std::size_t i = 0; i < 16; ++i) {
      if (r.tee_tcb_svn[i] < (*t.min_tee_tcb_svn)[i]) {
        return RuleFailure{"tcb.min_tee_tcb_svn",
                           "TEE_TCB_SVN " + ToHex(r.tee_tcb_svn) + " is below " +
                               ToHex(*t.min_tee_tcb_svn) + " at byte " + std::to_string(i) + " (" +
                               std::to_string(r.tee_tcb_svn[i]) + " < " +
                               std::to_string((*t.min_tee_tcb_svn)[i]) + ")"};
      }
    }
  }
  if (t.min_qe_isvsvn && e.quote && e.quote->qe_report.isv_svn < *t.min_qe_isvsvn) {
    return RuleFailure{"tcb.min_qe_isvsvn", "QE ISVSVN " +
                                                std::to_string(e.quote->qe_report.isv_svn) +
                                                " is below " + std::to_string(*t.min_qe_isvsvn)};
  }
  if (t.min_pcesvn && v->pce_svn < *t.min_pcesvn) {
    return RuleFailure{"tcb.min_pcesvn", "PCESVN " + std::to_string(v->pce_svn) +
                                             " (PCK certificate) is below " +
                                             std::to_string(*t.min_pcesvn)};
  }
  if (t.min_tcb_evaluation_data_number &&
      v->tcb_evaluation_data_number < *t.min_tcb_evaluation_data_number) {
    return RuleFailure{"tcb.min_tcb_evaluation_data_number",
                       "the collateral's TCB evaluation data number " +
                           std::to_string(v->tcb_evaluation_data_number) + " is below " +
                           std::to_string(*t.min_tcb_evaluation_data_number)};
  }
  if (t.max_collateral_age_days && at - v->tcb_info_issued > *t.max_collateral_age_days * 86400) {
    return RuleFailure{"tcb.max_collateral_age_days",
                       "the TCB info was issued " + FormatRfc3339(v->tcb_info_issued) + ", " +
                           std::to_string((at - v->tcb_info_issued) / 86400) +
                           " days before the verification time (at most " +
                           std::to_string(*t.max_collateral_age_days) + ")"};
  }
  if (!t.mr_seam.empty() &&
      std::find(t.mr_seam.begin(), t.mr_seam.end(), r.mr_seam) == t.mr_seam.end()) {
    return RuleFailure{"tcb.mr_seam",
                       "MRSEAM " + Short(r.mr_seam) + " is not an accepted TDX module"};
  }
  if (!t.mr_signer_seam.empty() && std::find(t.mr_signer_seam.begin(), t.mr_signer_seam.end(),
                                             r.mr_signer_seam) == t.mr_signer_seam.end()) {
    return RuleFailure{"tcb.mr_signer_seam",
                       "MRSIGNERSEAM " + Short(r.mr_signer_seam) + " is not accepted"};
  }
  if (!t.ppid.empty() && std::find(t.ppid.begin(), t.ppid.end(), v->ppid) == t.ppid.end()) {
    return RuleFailure{"tcb.ppid", "platform PPID " + ToHex(v->ppid) + " is not pinned"};
  }
  return std::nullopt;
}
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
  d.CheckKeys(root,
              {"version", "allow_mock", "allow_debug", "allow_development", "tcb", "td", "sets"},
              "the policy");
  if (auto v = d.Str(root, "version", true, "the policy", "version: 1"); v && *v != "1") {
    d.Error(root["version"], "policy version " + *v + " is not supported", "version: 1");
  }
  p.allow_mock = Bool(d, root, "allow_mock").value_or(false);
  p.allow_debug = Bool(d, root, "allow_debug").value_or(false);
  p.allow_development = Bool(d, root, "allow_development").value_or(false);
  if (root["tcb"]) p.tcb = ParseTcbRules(d, root["tcb"]);
  if (root["td"]) p.td = ParseTdRules(d, root["td"]);
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
      d.CheckKeys(s,
                  {"name", "mr_td", "rtmr0", "rtmr1", "rtmr2", "rtmr3", "mr_config_id",
                   "tcb_status", "runtime_events", "program", "host_settings"},
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
      if (const YAML::Node re = s["runtime_events"]) {
        if (!re.IsSequence() || re.size() == 0) {
          d.Error(re, "'runtime_events' in " + where + " must be a non-empty list",
                  "- {event: NAME, digest: 96 hex digits}");
        } else {
          for (const auto& ev : re) {
            const std::string w = "a runtime event of " + where;
            if (!ev.IsMap()) {
              d.Error(ev, w + " must be a map {event: NAME, digest: HEX}");
              continue;
            }
            d.CheckKeys(ev, {"event", "digest"}, w);
            PinnedEvent pin;
            if (auto n = d.Str(ev, "event", true, w)) pin.event = *n;
            if (auto dg = Digest(d, ev, "digest", true, w)) pin.digest = *dg;
            m.runtime_events.push_back(pin);
          }
        }
      }
      if (s["program"]) {
        m.program = d.Str(s, "program", true, where);
        if (m.program && !LaunchEvent(LaunchRecord{*m.program, false, {}}).ok()) {
          d.Error(s["program"], "program '" + *m.program + "' in " + where + " is not a plain name",
                  "1-128 characters of A-Z a-z 0-9 - _ .");
        }
      }
      if (const YAML::Node hs = s["host_settings"]) {
        if (!hs.IsMap() || hs.size() == 0) {
          d.Error(hs, "'host_settings' in " + where + " must be a non-empty map",
                  "NAME: value (null: the host must not set it)");
        } else {
          for (const auto& kv : hs) {
            const std::string name = kv.first.IsScalar() ? kv.first.Scalar() : "";
            if (!LaunchEvent(LaunchRecord{"p", false, {{name, ""}}}).ok()) {
              d.Error(kv.first,
                      "host setting name '" + name + "' in " + where + " is not [A-Z_][A-Z0-9_]*");
              continue;
            }
            if (kv.second.IsNull()) {
              m.host_settings[name] = std::nullopt;
            } else if (kv.second.IsScalar()) {
              m.host_settings[name] = kv.second.Scalar();
            } else {
              d.Error(kv.second, "the value of host setting " + name + " in " + where +
                                     " must be a string or null");
            }
          }
        }
      }
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
  if (p.allow_development) out += "allow_development: true\n";
  out += SerializeRules(p.tcb, p.td);
  out += "sets:\n";
  for (const auto& s : p.sets) {
    out += "  - name: \"" + s.name + "\"\n";
    out += "    mr_td: \"" + ToHex(s.mr_td) + "\"\n";
    for (std::size_t r = 0; r < 4; ++r) {
      if (s.rtmr[r]) out += "    rtmr" + std::to_string(r) + ": \"" + ToHex(*s.rtmr[r]) + "\"\n";
    }
    if (s.mr_config_id) out += "    mr_config_id: \"" + ToHex(*s.mr_config_id) + "\"\n";
    if (!s.runtime_events.empty()) {
      out += "    runtime_events:\n";
      for (const auto& e : s.runtime_events) {
        out += "      - {event: \"" + e.event + "\", digest: \"" + ToHex(e.digest) + "\"}\n";
      }
    }
    if (s.program) out += "    program: " + Quoted(*s.program) + "\n";
    if (!s.host_settings.empty()) {
      out += "    host_settings:\n";
      for (const auto& [name, value] : s.host_settings) {
        out += "      " + name + ": " + (value ? YamlQuoted(*value) : std::string("null")) + "\n";
      }
    }
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
  out.allow_development = in.front().policy.allow_development;
  out.tcb = in.front().policy.tcb;
  out.td = in.front().policy.td;
  for (const auto& [file, p] : in) {
    if (p.allow_mock != out.allow_mock || p.allow_debug != out.allow_debug ||
        p.allow_development != out.allow_development) {
      return Status::InvalidArgument(file +
                                     ": allow_mock/allow_debug/allow_development differ from " +
                                     in.front().file + "'s; merged policies must agree on them");
    }
    if (!(p.tcb == in.front().policy.tcb) || !(p.td == in.front().policy.td)) {
      return Status::InvalidArgument(file + ": its tcb/td rules differ from " + in.front().file +
                                     "'s; merged policies must agree on them");
    }
    for (const auto& s : p.sets) {
      const auto same = [&](const MeasurementSet& o) {
        return o.mr_td == s.mr_td && o.rtmr == s.rtmr && o.mr_config_id == s.mr_config_id &&
               o.tcb_status == s.tcb_status && o.runtime_events == s.runtime_events &&
               o.program == s.program && o.host_settings == s.host_settings;
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

namespace {

// Why a set's launch pins (program, host settings) do not hold, or "".
std::string LaunchMismatch(const MeasurementSet& s,
                           const std::optional<Result<LaunchRecord>>& launch) {
  if (!launch) return "it pins the launch record and no RTMR3 event log was given";
  if (!launch->ok()) return launch->status().message();
  const LaunchRecord& l = **launch;
  if (s.program && l.program != *s.program) {
    return "the launch record's program is " + l.program + ", not " + *s.program;
  }
  for (const auto& [name, want] : s.host_settings) {
    const auto got = l.host_settings.find(name);
    if (!want && got != l.host_settings.end()) {
      return "the host set " + name + " (to '" + EscapeText(got->second) +
             "'), which it pins unset";
    }
    if (want && got == l.host_settings.end()) {
      return "the host did not set " + name + " (pinned to '" + EscapeText(*want) + "')";
    }
    if (want && got->second != *want) {
      return "the host set " + name + " to '" + EscapeText(got->second) + "', not '" +
             EscapeText(*want) + "'";
    }
  }
  return "";
}

}  // namespace

Decision Evaluate(const Policy& p, const Evidence& e, const Verdict* verdict,
                  const std::vector<RuntimeEvent>* events) {
  Decision d;
  const TdReport& r = e.report;
  std::optional<Result<LaunchRecord>> launch;
  if (events != nullptr) launch = FindLaunchRecord(*events);
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
    for (const PinnedEvent& pin : s.runtime_events) {
      if (!w.empty()) break;
      if (events == nullptr) {
        w = "it pins runtime events and no RTMR3 event log was given";
        break;
      }
      const auto found = std::find_if(events->begin(), events->end(), [&](const RuntimeEvent& ev) {
        return ev.name == pin.event && ev.Digest() == pin.digest;
      });
      if (found == events->end()) {
        const bool named = std::any_of(events->begin(), events->end(), [&](const RuntimeEvent& ev) {
          return ev.name == pin.event;
        });
        w = "runtime event '" + pin.event + "' " +
            (named ? "has no entry with digest " + Short(pin.digest)
                   : std::string("is not in the log"));
      }
    }
    if (w.empty() && (s.program || !s.host_settings.empty())) {
      w = LaunchMismatch(s, launch);
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
  if (events != nullptr) {
    if (Status st = CheckRtmr3Replay(*events, r.rtmr[3]); !st.ok()) {
      d.failed_rule = "rtmr3.replay";
      d.reasons.push_back("rtmr3.replay: " + st.message());
      return d;
    }
  }
  if (launch && launch->ok() && (*launch)->development && !p.allow_development) {
    d.failed_rule = "launch.development";
    d.reasons.push_back(
        "launch.development: the TD's launch record says it runs a development image (TDX "
        "gating off or mock evidence admitted); this policy does not allow development");
    return d;
  }
  if (auto f = CheckRules(p, e, verdict)) {
    d.failed_rule = f->rule;
    d.reasons.push_back(f->rule + ": " + f->why);
    return d;
  }
  // Within a configured grace, OutOfDate counts as accepted by every set (CheckRules has
  // refused it past the grace).
  const bool in_grace =
      verdict != nullptr && p.tcb.out_of_date_grace_days && IsOutOfDate(verdict->status);
  for (std::size_t i = 0; i < p.sets.size(); ++i) {
    const MeasurementSet& s = p.sets[i];
    std::string w = why[i];
    if (w.empty() && verdict != nullptr && !in_grace &&
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

MeasurementSet MeasurementSetOf(const TdReport& report, const LearnedSetOptions& options) {
  MeasurementSet set;
  set.name = options.name;
  set.mr_td = report.mr_td;
  for (const int i : options.rtmrs) {
    if (i >= 0 && i < 4)
      set.rtmr[static_cast<std::size_t>(i)] = report.rtmr[static_cast<std::size_t>(i)];
  }
  if (options.launch != nullptr) {
    const LaunchRecord& launch = *options.launch;
    set.program = launch.program;
    if (options.settings.empty()) {
      for (const auto& [name, value] : launch.host_settings) set.host_settings[name] = value;
    } else {
      for (const auto& name : options.settings) {
        const auto it = launch.host_settings.find(name);
        set.host_settings[name] = it == launch.host_settings.end()
                                      ? std::nullopt
                                      : std::optional<std::string>(it->second);
      }
    }
  }
  return set;
}

Result<MeasurementSet> LearnMeasurementSet(const Evidence& evidence,
                                           const std::vector<RuntimeEvent>* log,
                                           LearnedSetOptions options) {
  if (evidence.kind != EvidenceKind::kTdxQuote) {
    return Status::InvalidArgument("mock evidence shows no measurements to learn");
  }
  if ((evidence.report.td_attributes[0] & 1) != 0) {
    return Status::InvalidArgument(
        "the quote is from a debug TD (TDATTRIBUTES.DEBUG): its memory is not private, so no "
        "policy should admit what it shows");
  }
  for (const int i : options.rtmrs) {
    if (i < 0 || i > 2) {
      return Status::InvalidArgument("RTMR" + std::to_string(i) +
                                     " cannot be pinned from a quote (0, 1 or 2; RTMR3 through "
                                     "its event log)");
    }
  }
  std::optional<LaunchRecord> launch;
  std::vector<PinnedEvent> pinned;
  if (log != nullptr) {
    TDX_TRY(CheckRtmr3Replay(*log, evidence.report.rtmr[3]));
    const bool has_launch = std::any_of(
        log->begin(), log->end(), [](const RuntimeEvent& e) { return e.name == kLaunchEvent; });
    if (has_launch) {
      TDX_ASSIGN_OR_RETURN(launch, FindLaunchRecord(*log));
      if (launch->development) {
        return Status::InvalidArgument(
            "the launch record says development (" + launch->program +
            "): a policy admitting it must say allow_development; learn from a production build");
      }
    }
    for (const RuntimeEvent& e : *log) {
      if (e.name != kLaunchEvent) pinned.push_back({e.name, e.Digest()});
    }
  }
  options.launch = launch ? &*launch : nullptr;
  MeasurementSet set = MeasurementSetOf(evidence.report, options);
  set.runtime_events = std::move(pinned);
  return set;
}

}  // namespace tdxrt
