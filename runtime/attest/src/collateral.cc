// Collateral JSON, TCB info and QE identity parsing (shapes in tdxrt/collateral.h).
//
// JSON is read strictly (tdxrt/json.h: a key given twice is refused); every member is read
// through a getter that checks its type and names its path, so a malformed or hostile
// collateral file gets a precise error instead of an exception.
#include "tdxrt/collateral.h"

#include <ctime>
#include <nlohmann/json.hpp>

#include "tdxrt/hex.h"
#include "tdxrt/json.h"

namespace tdxrt {
namespace {

using nlohmann::json;

constexpr std::string_view kStatusNames[] = {
    "UpToDate",
    "SWHardeningNeeded",
    "ConfigurationNeeded",
    "ConfigurationAndSWHardeningNeeded",
    "OutOfDate",
    "OutOfDateConfigurationNeeded",
    "Revoked",
};

// Reads members of one JSON object; `where` is the path used in messages.
class Obj {
 public:
  Obj(const json& j, std::string where) : j_(j), where_(std::move(where)) {}

  static Result<Obj> Of(const json& j, std::string where) {
    if (!j.is_object()) return Status::Corrupt(where + ": expected a JSON object");
    return Obj(j, std::move(where));
  }
  std::string Path(std::string_view key) const {
    return where_.empty() ? std::string(key) : where_ + "." + std::string(key);
  }
  bool Has(std::string_view key) const { return j_.contains(key); }
  Result<const json*> Get(std::string_view key) const {
    auto it = j_.find(key);
    if (it == j_.end()) return Status::Corrupt(Path(key) + ": missing");
    return &*it;
  }
  Result<std::string> Str(std::string_view key) const {
    TDX_ASSIGN_OR_RETURN(const json* v, Get(key));
    if (!v->is_string()) return Status::Corrupt(Path(key) + ": expected a string");
    return v->get<std::string>();
  }
  Result<std::uint64_t> Uint(std::string_view key, std::uint64_t max) const {
    TDX_ASSIGN_OR_RETURN(const json* v, Get(key));
    if (!v->is_number_unsigned() || v->get<std::uint64_t>() > max) {
      return Status::Corrupt(Path(key) +
                             ": expected an unsigned integer <= " + std::to_string(max));
    }
    return v->get<std::uint64_t>();
  }
  Result<std::int64_t> Time(std::string_view key) const {
    TDX_ASSIGN_OR_RETURN(std::string s, Str(key));
    auto t = ParseRfc3339(s);
    if (!t.ok()) return t.status().WithContext(Path(key));
    return *t;
  }
  template <std::size_t N>
  Result<std::array<std::uint8_t, N>> HexArray(std::string_view key) const {
    TDX_ASSIGN_OR_RETURN(std::string s, Str(key));
    auto b = FromHex(s, N);
    if (!b.ok()) return b.status().WithContext(Path(key));
    std::array<std::uint8_t, N> out{};
    std::copy(b->begin(), b->end(), out.begin());
    return out;
  }
  Result<const json*> Array(std::string_view key) const {
    TDX_ASSIGN_OR_RETURN(const json* v, Get(key));
    if (!v->is_array()) return Status::Corrupt(Path(key) + ": expected an array");
    return v;
  }

 private:
  const json& j_;
  std::string where_;
};

Status ReadLevelCommon(const Obj& o, TcbLevelDate& level) {
  TDX_ASSIGN_OR_RETURN(level.tcb_date, o.Time("tcbDate"));
  TDX_ASSIGN_OR_RETURN(std::string status, o.Str("tcbStatus"));
  auto st = ParseTcbStatus(status);
  if (!st.ok()) return st.status().WithContext(o.Path("tcbStatus"));
  level.status = *st;
  if (o.Has("advisoryIDs")) {
    TDX_ASSIGN_OR_RETURN(const json* ids, o.Array("advisoryIDs"));
    for (std::size_t i = 0; i < ids->size(); ++i) {
      if (!(*ids)[i].is_string()) {
        return Status::Corrupt(o.Path("advisoryIDs") + "[" + std::to_string(i) +
                               "]: expected a string");
      }
      level.advisory_ids.push_back((*ids)[i].get<std::string>());
    }
  }
  return Status::Ok();
}

Result<std::vector<IsvTcbLevel>> ReadIsvLevels(const Obj& parent) {
  TDX_ASSIGN_OR_RETURN(const json* arr, parent.Array("tcbLevels"));
  std::vector<IsvTcbLevel> out;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    TDX_ASSIGN_OR_RETURN(
        Obj lo, Obj::Of((*arr)[i], parent.Path("tcbLevels") + "[" + std::to_string(i) + "]"));
    IsvTcbLevel level;
    TDX_ASSIGN_OR_RETURN(const json* tcb, lo.Get("tcb"));
    TDX_ASSIGN_OR_RETURN(Obj to, Obj::Of(*tcb, lo.Path("tcb")));
    TDX_ASSIGN_OR_RETURN(std::uint64_t svn, to.Uint("isvsvn", 0xffff));
    level.isv_svn = static_cast<std::uint16_t>(svn);
    TDX_TRY(ReadLevelCommon(lo, level));
    out.push_back(std::move(level));
  }
  return out;
}

Result<std::array<std::uint8_t, 16>> ReadComponents(const Obj& tcb, std::string_view key) {
  TDX_ASSIGN_OR_RETURN(const json* arr, tcb.Array(key));
  if (arr->size() != 16) {
    return Status::Corrupt(tcb.Path(key) + ": expected 16 components, found " +
                           std::to_string(arr->size()));
  }
  std::array<std::uint8_t, 16> out{};
  for (std::size_t i = 0; i < 16; ++i) {
    TDX_ASSIGN_OR_RETURN(Obj c, Obj::Of((*arr)[i], tcb.Path(key) + "[" + std::to_string(i) + "]"));
    TDX_ASSIGN_OR_RETURN(std::uint64_t svn, c.Uint("svn", 0xff));
    out[i] = static_cast<std::uint8_t>(svn);
  }
  return out;
}

Result<TdxModuleIdentity> ReadModule(const Obj& o, bool with_levels) {
  TdxModuleIdentity m;
  if (with_levels) {
    TDX_ASSIGN_OR_RETURN(m.id, o.Str("id"));
  }
  TDX_ASSIGN_OR_RETURN(m.mr_signer, o.HexArray<48>("mrsigner"));
  TDX_ASSIGN_OR_RETURN(m.attributes, o.HexArray<8>("attributes"));
  TDX_ASSIGN_OR_RETURN(m.attributes_mask, o.HexArray<8>("attributesMask"));
  if (with_levels) {
    TDX_ASSIGN_OR_RETURN(m.tcb_levels, ReadIsvLevels(o));
  }
  return m;
}

// Collateral members holding DER: hex (dcap-qvl's JSON) or PEM text.
Result<Bytes> DerMember(const Obj& o, std::string_view key) {
  TDX_ASSIGN_OR_RETURN(std::string s, o.Str(key));
  if (s.rfind("-----BEGIN", 0) == 0) return Bytes(s.begin(), s.end());
  auto b = FromHex(s);
  if (!b.ok()) return b.status().WithContext(std::string(key));
  return std::move(b).value();
}

// The members TCB info and QE identity share: id, version, issueDate, nextUpdate,
// tcbEvaluationDataNumber.
template <typename T>
Status ReadSignedHeader(const Obj& o, T& t) {
  TDX_ASSIGN_OR_RETURN(t.id, o.Str("id"));
  TDX_ASSIGN_OR_RETURN(std::uint64_t version, o.Uint("version", 100));
  t.version = static_cast<int>(version);
  TDX_ASSIGN_OR_RETURN(t.issue_date, o.Time("issueDate"));
  TDX_ASSIGN_OR_RETURN(t.next_update, o.Time("nextUpdate"));
  TDX_ASSIGN_OR_RETURN(std::uint64_t evn, o.Uint("tcbEvaluationDataNumber", 0xffffffff));
  t.tcb_evaluation_data_number = static_cast<int>(evn);
  return Status::Ok();
}

int Digits(std::string_view s, std::size_t at, std::size_t n, bool& ok) {
  int v = 0;
  if (at + n > s.size()) {
    ok = false;
    return 0;
  }
  for (std::size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') ok = false;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

}  // namespace

std::string_view TcbStatusName(TcbStatus status) { return kStatusNames[static_cast<int>(status)]; }

Result<TcbStatus> ParseTcbStatus(std::string_view name) {
  for (std::size_t i = 0; i < std::size(kStatusNames); ++i) {
    if (kStatusNames[i] == name) return static_cast<TcbStatus>(i);
  }
  return Status::Corrupt("unknown TCB status \"" + std::string(name) + "\"");
}

Result<std::int64_t> ParseRfc3339(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)
  bool ok = s.size() >= 20 && s[4] == '-' && s[7] == '-' && (s[10] == 'T' || s[10] == 't') &&
            s[13] == ':' && s[16] == ':';
  std::tm tm{};
  tm.tm_year = Digits(s, 0, 4, ok) - 1900;
  tm.tm_mon = Digits(s, 5, 2, ok) - 1;
  tm.tm_mday = Digits(s, 8, 2, ok);
  tm.tm_hour = Digits(s, 11, 2, ok);
  tm.tm_min = Digits(s, 14, 2, ok);
  tm.tm_sec = Digits(s, 17, 2, ok);
  std::size_t i = 19;
  if (ok && i < s.size() && s[i] == '.') {
    ++i;
    const std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) ok = false;
  }
  std::int64_t offset = 0;
  if (ok && i < s.size() && (s[i] == 'Z' || s[i] == 'z') && i + 1 == s.size()) {
    // UTC
  } else if (ok && i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    const int hh = Digits(s, i + 1, 2, ok);
    const int mm = Digits(s, i + 4, 2, ok);
    offset = (s[i] == '+' ? 1 : -1) * (hh * 3600 + mm * 60);
  } else {
    ok = false;
  }
  if (ok && (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
             tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)) {
    ok = false;
  }
  if (!ok) {
    return Status::InvalidArgument("\"" + std::string(s) +
                                   "\" is not an RFC 3339 time (like 2025-07-01T00:00:00Z)");
  }
  return static_cast<std::int64_t>(timegm(&tm)) - offset;
}

std::string FormatRfc3339(std::int64_t seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<Collateral> ParseCollateralJson(std::string_view text) {
  TDX_ASSIGN_OR_RETURN(json j, ParseJson(text, "collateral"));
  TDX_ASSIGN_OR_RETURN(Obj o, Obj::Of(j, "collateral"));
  Collateral c;
  TDX_ASSIGN_OR_RETURN(c.pck_crl_issuer_chain, o.Str("pck_crl_issuer_chain"));
  TDX_ASSIGN_OR_RETURN(c.root_ca_crl, DerMember(o, "root_ca_crl"));
  TDX_ASSIGN_OR_RETURN(c.pck_crl, DerMember(o, "pck_crl"));
  TDX_ASSIGN_OR_RETURN(c.tcb_info_issuer_chain, o.Str("tcb_info_issuer_chain"));
  TDX_ASSIGN_OR_RETURN(c.tcb_info, o.Str("tcb_info"));
  TDX_ASSIGN_OR_RETURN(c.tcb_info_signature, o.HexArray<64>("tcb_info_signature"));
  TDX_ASSIGN_OR_RETURN(c.qe_identity_issuer_chain, o.Str("qe_identity_issuer_chain"));
  TDX_ASSIGN_OR_RETURN(c.qe_identity, o.Str("qe_identity"));
  TDX_ASSIGN_OR_RETURN(c.qe_identity_signature, o.HexArray<64>("qe_identity_signature"));
  return c;
}

std::string SerializeCollateralJson(const Collateral& c) {
  nlohmann::ordered_json j;
  j["pck_crl_issuer_chain"] = c.pck_crl_issuer_chain;
  j["root_ca_crl"] = ToHex(c.root_ca_crl);
  j["pck_crl"] = ToHex(c.pck_crl);
  j["tcb_info_issuer_chain"] = c.tcb_info_issuer_chain;
  j["tcb_info"] = c.tcb_info;
  j["tcb_info_signature"] = ToHex(c.tcb_info_signature);
  j["qe_identity_issuer_chain"] = c.qe_identity_issuer_chain;
  j["qe_identity"] = c.qe_identity;
  j["qe_identity_signature"] = ToHex(c.qe_identity_signature);
  return DumpJson(j) + "\n";
}

Result<TcbInfo> ParseTcbInfo(std::string_view text) {
  TDX_ASSIGN_OR_RETURN(json j, ParseJson(text, "tcb_info"));
  TDX_ASSIGN_OR_RETURN(Obj o, Obj::Of(j, ""));
  TcbInfo t;
  auto read = [&]() -> Status {
    TDX_TRY(ReadSignedHeader(o, t));
    TDX_ASSIGN_OR_RETURN(t.fmspc, o.HexArray<6>("fmspc"));
    TDX_ASSIGN_OR_RETURN(t.pce_id, o.HexArray<2>("pceId"));
    TDX_ASSIGN_OR_RETURN(std::uint64_t type, o.Uint("tcbType", 0xffff));
    t.tcb_type = static_cast<int>(type);
    if (o.Has("tdxModule")) {
      TDX_ASSIGN_OR_RETURN(const json* m, o.Get("tdxModule"));
      TDX_ASSIGN_OR_RETURN(Obj mo, Obj::Of(*m, "tdxModule"));
      TDX_ASSIGN_OR_RETURN(t.tdx_module, ReadModule(mo, false));
    }
    if (o.Has("tdxModuleIdentities")) {
      TDX_ASSIGN_OR_RETURN(const json* arr, o.Array("tdxModuleIdentities"));
      for (std::size_t i = 0; i < arr->size(); ++i) {
        TDX_ASSIGN_OR_RETURN(Obj mo,
                             Obj::Of((*arr)[i], "tdxModuleIdentities[" + std::to_string(i) + "]"));
        TDX_ASSIGN_OR_RETURN(TdxModuleIdentity m, ReadModule(mo, true));
        t.tdx_module_identities.push_back(std::move(m));
      }
    }
    TDX_ASSIGN_OR_RETURN(const json* levels, o.Array("tcbLevels"));
    for (std::size_t i = 0; i < levels->size(); ++i) {
      TDX_ASSIGN_OR_RETURN(Obj lo, Obj::Of((*levels)[i], "tcbLevels[" + std::to_string(i) + "]"));
      PlatformTcbLevel level;
      TDX_ASSIGN_OR_RETURN(const json* tcb, lo.Get("tcb"));
      TDX_ASSIGN_OR_RETURN(Obj to, Obj::Of(*tcb, lo.Path("tcb")));
      TDX_ASSIGN_OR_RETURN(level.sgx_components, ReadComponents(to, "sgxtcbcomponents"));
      TDX_ASSIGN_OR_RETURN(std::uint64_t pcesvn, to.Uint("pcesvn", 0xffff));
      level.pce_svn = static_cast<std::uint16_t>(pcesvn);
      if (to.Has("tdxtcbcomponents")) {
        TDX_ASSIGN_OR_RETURN(level.tdx_components, ReadComponents(to, "tdxtcbcomponents"));
      } else if (t.id == "TDX") {
        return Status::Corrupt(to.Path("tdxtcbcomponents") + ": missing");
      }
      TDX_TRY(ReadLevelCommon(lo, level));
      t.tcb_levels.push_back(std::move(level));
    }
    return Status::Ok();
  };
  Status st = read();
  if (!st.ok()) return st.WithContext("tcb_info");
  return t;
}

Result<QeIdentity> ParseQeIdentity(std::string_view text) {
  TDX_ASSIGN_OR_RETURN(json j, ParseJson(text, "qe_identity"));
  TDX_ASSIGN_OR_RETURN(Obj o, Obj::Of(j, ""));
  QeIdentity q;
  auto read = [&]() -> Status {
    TDX_TRY(ReadSignedHeader(o, q));
    TDX_ASSIGN_OR_RETURN(auto ms, o.HexArray<4>("miscselect"));
    TDX_ASSIGN_OR_RETURN(auto msm, o.HexArray<4>("miscselectMask"));
    // MISCSELECT is a little-endian u32 in the report; the JSON spells its bytes big-endian.
    q.misc_select = (std::uint32_t{ms[0]} << 24) | (std::uint32_t{ms[1]} << 16) |
                    (std::uint32_t{ms[2]} << 8) | ms[3];
    q.misc_select_mask = (std::uint32_t{msm[0]} << 24) | (std::uint32_t{msm[1]} << 16) |
                         (std::uint32_t{msm[2]} << 8) | msm[3];
    TDX_ASSIGN_OR_RETURN(q.attributes, o.HexArray<16>("attributes"));
    TDX_ASSIGN_OR_RETURN(q.attributes_mask, o.HexArray<16>("attributesMask"));
    TDX_ASSIGN_OR_RETURN(q.mr_signer, o.HexArray<32>("mrsigner"));
    TDX_ASSIGN_OR_RETURN(std::uint64_t prod, o.Uint("isvprodid", 0xffff));
    q.isv_prod_id = static_cast<std::uint16_t>(prod);
    TDX_ASSIGN_OR_RETURN(q.tcb_levels, ReadIsvLevels(o));
    return Status::Ok();
  };
  Status st = read();
  if (!st.ok()) return st.WithContext("qe_identity");
  return q;
}

}  // namespace tdxrt
