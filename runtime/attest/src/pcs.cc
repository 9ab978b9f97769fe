// Intel PCS API v4 response shapes (tdxrt/pcs.h).
#include "tdxrt/pcs.h"

#include <nlohmann/json.hpp>
#include <set>

#include "pki.h"
#include "tdxrt/hex.h"
#include "tdxrt/text.h"

namespace tdxrt {

std::string_view PckCaName(PckCa ca) { return ca == PckCa::kPlatform ? "platform" : "processor"; }

Result<PckCa> ParsePckCa(std::string_view name) {
  if (name == "platform") return PckCa::kPlatform;
  if (name == "processor") return PckCa::kProcessor;
  return Status::InvalidArgument("PCK CA '" + EscapeText(name) +
                                 "' is neither platform nor processor");
}

std::string PcsTcbPath(const std::array<std::uint8_t, 6>& fmspc) {
  std::string hex = ToHex(fmspc);
  for (char& c : hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return "/tdx/certification/v4/tcb?fmspc=" + hex;
}
std::string PcsQeIdentityPath() { return "/tdx/certification/v4/qe/identity"; }
std::string PcsPckCrlPath(PckCa ca) {
  return "/sgx/certification/v4/pckcrl?ca=" + std::string(PckCaName(ca)) + "&encoding=der";
}
std::string PcsRootCaCrlPath() { return "/sgx/certification/v4/rootcacrl"; }

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Where a top-level member's value starts and ends in a JSON text that nlohmann already
// accepted as one object. Strings are skipped with their escapes; nesting is counted.
struct MemberSpan {
  std::string key;
  std::size_t begin = 0, end = 0;
};

std::size_t SkipWs(std::string_view t, std::size_t i) {
  while (i < t.size() && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r')) ++i;
  return i;
}

// i at the opening quote; returns the index after the closing quote (t is valid JSON).
std::size_t SkipString(std::string_view t, std::size_t i) {
  for (++i; i < t.size(); ++i) {
    if (t[i] == '\\') {
      ++i;
    } else if (t[i] == '"') {
      return i + 1;
    }
  }
  return t.size();
}

std::size_t SkipValue(std::string_view t, std::size_t i) {
  if (i >= t.size()) return i;
  if (t[i] == '"') return SkipString(t, i);
  if (t[i] == '{' || t[i] == '[') {
    int depth = 0;
    while (i < t.size()) {
      const char c = t[i];
      if (c == '"') {
        i = SkipString(t, i);
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return i;
  }
  while (i < t.size() && t[i] != ',' && t[i] != '}' && t[i] != ']' && t[i] != ' ' && t[i] != '\n' &&
         t[i] != '\r' && t[i] != '\t') {
    ++i;
  }
  return i;
}

std::vector<MemberSpan> TopLevelMembers(std::string_view t) {
  std::vector<MemberSpan> out;
  std::size_t i = SkipWs(t, 0);
  if (i >= t.size() || t[i] != '{') return out;
  i = SkipWs(t, i + 1);
  while (i < t.size() && t[i] == '"') {
    const std::size_t key_end = SkipString(t, i);
    MemberSpan m;
    // Keys are compared as nlohmann decoded them; raw keys with escapes are rare and only
    // need to be distinct here.
    auto key = nlohmann::json::parse(t.substr(i, key_end - i), nullptr, false);
    m.key = key.is_string() ? key.get<std::string>() : std::string(t.substr(i, key_end - i));
    i = SkipWs(t, key_end);
    if (i >= t.size() || t[i] != ':') break;
    i = SkipWs(t, i + 1);
    m.begin = i;
    m.end = SkipValue(t, i);
    out.push_back(m);
    i = SkipWs(t, m.end);
    if (i < t.size() && t[i] == ',') i = SkipWs(t, i + 1);
  }
  return out;
}

}  // namespace

Result<std::string> DecodeIssuerChainHeader(std::string_view value, std::string_view header) {
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '%') {
      out.push_back(value[i]);
      continue;
    }
    const int hi = i + 2 < value.size() ? HexValue(value[i + 1]) : -1;
    const int lo = i + 2 < value.size() ? HexValue(value[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      return Status::Corrupt("header " + std::string(header) + ": bad percent-escape at offset " +
                             std::to_string(i));
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  if (out.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return Status::Corrupt("header " + std::string(header) + ": no PEM certificate in it");
  }
  return out;
}

std::string EncodeIssuerChainHeader(std::string_view pem) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : pem) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out += {'%', kDigits[u >> 4], kDigits[u & 15]};
    }
  }
  return out;
}

Result<SignedPcsBody> ParseSignedPcsBody(std::string_view body, std::string_view member) {
  const std::string what = "response body";
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded()) return Status::Corrupt(what + " is not JSON");
  if (!json.is_object()) return Status::Corrupt(what + " is not a JSON object");
  const std::vector<MemberSpan> members = TopLevelMembers(body);
  std::set<std::string> seen;
  const MemberSpan* signed_member = nullptr;
  for (const MemberSpan& m : members) {
    if (!seen.insert(m.key).second) {
      return Status::Corrupt(what + ": member '" + EscapeText(m.key) + "' appears twice");
    }
    if (m.key == member) {
      signed_member = &m;
    } else if (m.key != "signature") {
      return Status::Corrupt(what + ": unexpected member '" + EscapeText(m.key) + "'");
    }
  }
  if (members.size() != json.size()) return Status::Corrupt(what + ": members do not scan");
  if (signed_member == nullptr) {
    return Status::Corrupt(what + ": no '" + std::string(member) + "' member");
  }
  if (!json[std::string(member)].is_object()) {
    return Status::Corrupt(what + ": '" + std::string(member) + "' is not an object");
  }
  if (!json.contains("signature") || !json["signature"].is_string()) {
    return Status::Corrupt(what + ": no 'signature' string");
  }
  auto sig = FromHex(json["signature"].get<std::string>(), 64);
  if (!sig.ok()) return sig.status().WithContext(what + ": signature");
  SignedPcsBody out;
  out.signed_text =
      std::string(body.substr(signed_member->begin, signed_member->end - signed_member->begin));
  std::copy(sig->begin(), sig->end(), out.signature.begin());
  return out;
}

std::string MakeSignedPcsBody(std::string_view member, std::string_view signed_text,
                              const std::array<std::uint8_t, 64>& signature) {
  return "{\"" + std::string(member) + "\":" + std::string(signed_text) + ",\"signature\":\"" +
         ToHex(signature) + "\"}";
}

Result<Bytes> DecodeCrlBody(ByteSpan body) {
  if (body.empty()) return Status::Corrupt("CRL body is empty");
  if (body[0] == 0x30) return Bytes(body.begin(), body.end());  // DER SEQUENCE
  std::string_view text(reinterpret_cast<const char*>(body.data()), body.size());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  if (text.find("-----BEGIN X509 CRL-----") != std::string_view::npos) {
    auto crl = pki::ParseCrl(body);
    if (!crl.ok()) return crl.status().WithContext("CRL body (PEM)");
    unsigned char* der = nullptr;
    const int n = i2d_X509_CRL(crl->get(), &der);
    if (n <= 0) return Status::Corrupt("CRL body (PEM): cannot re-encode");
    Bytes out(der, der + n);
    OPENSSL_free(der);
    return out;
  }
  auto hex = FromHex(text);
  if (!hex.ok()) {
    return hex.status().WithContext("CRL body is neither DER, PEM nor hex text");
  }
  if (hex->empty() || (*hex)[0] != 0x30) return Status::Corrupt("CRL body (hex) is not DER");
  return hex;
}

Result<PckIdentity> PckIdentityOf(const Quote& quote) {
  std::string pem = quote.pck_chain_pem;
  while (!pem.empty() && pem.back() == '\0') pem.pop_back();
  auto chain = pki::ParsePemChain(pem);
  if (!chain.ok()) return chain.status().WithContext("PCK chain");
  X509* pck = (*chain)[0].get();
  auto ext = pki::ParsePckExtension(pck);
  if (!ext.ok()) return ext.status().WithContext("PCK certificate");
  PckIdentity id;
  id.fmspc = ext->fmspc;
  X509_NAME* issuer = X509_get_issuer_name(pck);
  const int i = X509_NAME_get_index_by_NID(issuer, NID_commonName, -1);
  std::string cn;
  if (i >= 0) {
    const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(issuer, i));
    cn.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
              static_cast<std::size_t>(ASN1_STRING_length(s)));
  }
  if (cn.find("Platform CA") != std::string::npos) {
    id.ca = PckCa::kPlatform;
  } else if (cn.find("Processor CA") != std::string::npos) {
    id.ca = PckCa::kProcessor;
  } else {
    return Status::Unsupported("PCK certificate issuer CN=" + EscapeText(cn) +
                               " is neither a PCK Platform CA nor a PCK Processor CA");
  }
  return id;
}

}  // namespace tdxrt
