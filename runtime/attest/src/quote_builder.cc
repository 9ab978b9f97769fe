// Test quote builder (see quote_builder.h). Certificates and CRLs are made with OpenSSL's X509
// API; the SGX extension's DER is assembled by hand from its documented layout.
#include "quote_builder.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <stdexcept>

#include "tdxrt/hex.h"
#include "tdxrt/sha.h"

namespace tdxrt::testing {
namespace {

void Require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("quote builder: ") + what);
}

pki::PkeyPtr NewKey() {
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  Require(k != nullptr, "keygen");
  return pki::PkeyPtr(k);
}

// DER helpers for the SGX extension.
Bytes Tlv(std::uint8_t tag, const Bytes& value) {
  Bytes out{tag};
  const std::size_t n = value.size();
  if (n < 128) {
    out.push_back(static_cast<std::uint8_t>(n));
  } else if (n < 256) {
    out.insert(out.end(), {0x81, static_cast<std::uint8_t>(n)});
  } else {
    out.insert(out.end(), {0x82, static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)});
  }
  out.insert(out.end(), value.begin(), value.end());
  return out;
}
Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
Bytes SgxOid(std::initializer_list<std::uint8_t> arcs) {
  Bytes oid = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};
  oid.insert(oid.end(), arcs);
  return Tlv(0x06, oid);
}
Bytes DerInt(unsigned v) {
  Bytes b;
  if (v == 0) b.push_back(0);
  while (v > 0) {
    b.insert(b.begin(), static_cast<std::uint8_t>(v & 0xff));
    v >>= 8;
  }
  if (b[0] & 0x80) b.insert(b.begin(), 0);
  return Tlv(0x02, b);
}
template <std::size_t N>
Bytes Octets(const std::array<std::uint8_t, N>& a) {
  return Tlv(0x04, Bytes(a.begin(), a.end()));
}

Bytes SgxExtension(const QuoteBuilder& b) {
  Bytes tcb;
  for (std::uint8_t i = 0; i < 16; ++i) {
    tcb = Cat({tcb, Tlv(0x30, Cat({SgxOid({2, static_cast<std::uint8_t>(i + 1)}),
                                   DerInt(b.sgx_components[i])}))});
  }
  tcb = Cat({tcb, Tlv(0x30, Cat({SgxOid({2, 17}), DerInt(b.pce_svn)}))});
  tcb = Cat({tcb, Tlv(0x30, Cat({SgxOid({2, 18}), Octets(b.sgx_components)}))});
  std::array<std::uint8_t, 16> ppid{};
  ppid.fill(0x77);
  return Tlv(0x30, Cat({
                       Tlv(0x30, Cat({SgxOid({1}), Octets(ppid)})),
                       Tlv(0x30, Cat({SgxOid({2}), Tlv(0x30, tcb)})),
                       Tlv(0x30, Cat({SgxOid({3}), Octets(b.pce_id)})),
                       Tlv(0x30, Cat({SgxOid({4}), Octets(b.fmspc)})),
                       Tlv(0x30, Cat({SgxOid({5}), Tlv(0x0a, {0})})),
                   }));
}

void AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  Require(ext != nullptr && X509_add_ext(cert, ext, -1) == 1, "extension");
  X509_EXTENSION_free(ext);
}

pki::X509Ptr MakeCert(const std::string& cn, long serial, EVP_PKEY* subject_key, X509* issuer,
                      EVP_PKEY* issuer_key, std::int64_t now, bool ca, const Bytes* sgx_ext,
                      std::int64_t valid_after_now = 5 * 365L * 86400) {
  X509* x = X509_new();
  Require(x != nullptr, "X509_new");
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
  ASN1_TIME_set(X509_getm_notBefore(x), static_cast<time_t>(now - 365L * 86400));
  ASN1_TIME_set(X509_getm_notAfter(x), static_cast<time_t>(now + valid_after_now));
  X509_NAME* name = X509_get_subject_name(x);
  // The CN's bytes as given (a T61String holds any byte), so tests can forge names.
  X509_NAME_add_entry_by_txt(name, "CN", V_ASN1_T61STRING,
                             reinterpret_cast<const unsigned char*>(cn.data()),
                             static_cast<int>(cn.size()), -1, 0);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("tdxrt test PKI"), -1, -1, 0);
  X509_set_issuer_name(x, issuer != nullptr ? X509_get_subject_name(issuer) : name);
  X509_set_pubkey(x, subject_key);
  X509* iss = issuer != nullptr ? issuer : x;
  AddExt(x, iss, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  AddExt(x, iss, NID_key_usage, ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
  AddExt(x, iss, NID_subject_key_identifier, "hash");
  if (issuer != nullptr) AddExt(x, iss, NID_authority_key_identifier, "keyid:always");
  if (sgx_ext != nullptr) {
    ASN1_OBJECT* obj = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
    ASN1_OCTET_STRING* data = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(data, sgx_ext->data(), static_cast<int>(sgx_ext->size()));
    X509_EXTENSION* ext = X509_EXTENSION_create_by_OBJ(nullptr, obj, 0, data);
    Require(ext != nullptr && X509_add_ext(x, ext, -1) == 1, "SGX extension");
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(data);
    ASN1_OBJECT_free(obj);
  }
  Require(X509_sign(x, issuer_key, EVP_sha256()) > 0, "X509_sign");
  return pki::X509Ptr(x);
}

Bytes MakeCrl(X509* issuer, EVP_PKEY* key, const std::vector<long>& revoked, std::int64_t now) {
  X509_CRL* crl = X509_CRL_new();
  X509_CRL_set_version(crl, 1);
  X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
  ASN1_TIME* t = ASN1_TIME_new();
  ASN1_TIME_set(t, static_cast<time_t>(now - 86400));
  X509_CRL_set1_lastUpdate(crl, t);
  ASN1_TIME_set(t, static_cast<time_t>(now + 29 * 86400));
  X509_CRL_set1_nextUpdate(crl, t);
  for (long serial : revoked) {
    X509_REVOKED* r = X509_REVOKED_new();
    ASN1_INTEGER* s = ASN1_INTEGER_new();
    ASN1_INTEGER_set(s, serial);
    X509_REVOKED_set_serialNumber(r, s);
    ASN1_TIME_set(t, static_cast<time_t>(now - 3600));
    X509_REVOKED_set_revocationDate(r, t);
    X509_CRL_add0_revoked(crl, r);
    ASN1_INTEGER_free(s);
  }
  ASN1_TIME_free(t);
  X509_CRL_sort(crl);
  Require(X509_CRL_sign(crl, key, EVP_sha256()) > 0, "X509_CRL_sign");
  unsigned char* der = nullptr;
  const int n = i2d_X509_CRL(crl, &der);
  Bytes out(der, der + n);
  OPENSSL_free(der);
  X509_CRL_free(crl);
  return out;
}

std::string Pem(X509* x) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, x);
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(b);
  return out;
}

nlohmann::ordered_json Components(std::initializer_list<int> svns) {
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (int s : svns) arr.push_back({{"svn", s}});
  while (arr.size() < 16) arr.push_back({{"svn", 0}});
  return arr;
}

}  // namespace

long QuoteBuilder::kPckSerial = 0x5eed;

std::array<std::uint8_t, 64> QuoteBuilder::SignRaw(EVP_PKEY* key, ByteSpan data) {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  std::size_t len = 0;
  Require(EVP_DigestSignInit(md, nullptr, EVP_sha256(), nullptr, key) == 1 &&
              EVP_DigestSign(md, nullptr, &len, data.data(), data.size()) == 1,
          "sign init");
  Bytes der(len);
  Require(EVP_DigestSign(md, der.data(), &len, data.data(), data.size()) == 1, "sign");
  EVP_MD_CTX_free(md);
  const unsigned char* p = der.data();
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len));
  Require(sig != nullptr, "signature decode");
  std::array<std::uint8_t, 64> out{};
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), out.data(), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), out.data() + 32, 32);
  ECDSA_SIG_free(sig);
  return out;
}

QuoteBuilder::QuoteBuilder()
    : root_key_(NewKey()),
      ca_key_(NewKey()),
      pck_key_(NewKey()),
      tcb_key_(NewKey()),
      att_key_(NewKey()),
      foreign_key_(NewKey()) {
  root_ = MakeCert("Test SGX Root CA", 1, root_key_.get(), nullptr, root_key_.get(), now, true,
                   nullptr);
  ca_ = MakeCert("Test SGX PCK Platform CA", 2, ca_key_.get(), root_.get(), root_key_.get(), now,
                 true, nullptr);
  tcb_signer_ = MakeCert("Test SGX TCB Signing", 3, tcb_key_.get(), root_.get(), root_key_.get(),
                         now, false, nullptr);
  foreign_ca_ = MakeCert("Test SGX PCK Platform CA", 2, foreign_key_.get(), nullptr,
                         foreign_key_.get(), now, true, nullptr);

  quote.header.version = kQuoteVersion4;
  quote.header.attestation_key_type = kAttestationKeyEcdsaP256;
  quote.header.tee_type = kTeeTypeTdx;
  quote.header.qe_svn = 4;
  quote.header.pce_svn = 11;
  quote.header.qe_vendor_id = kIntelQeVendorId;
  quote.report.tee_tcb_svn = {5, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  quote.report.td_attributes = {0, 0, 0, 0x10, 0, 0, 0, 0};  // SEPT_VE_DISABLE
  quote.report.xfam = {0xe7, 0x02, 0x06, 0, 0, 0, 0, 0};
  quote.report.mr_td.fill(0x11);
  for (std::size_t i = 0; i < 4; ++i)
    quote.report.rtmr[i].fill(static_cast<std::uint8_t>(0x20 + i));
  quote.report.report_data.fill(0x5a);
  quote.qe_report.misc_select = 0;
  quote.qe_report.attributes = {0x11, 0, 0, 0, 0, 0, 0, 0, 0xe7, 0, 0, 0, 0, 0, 0, 0};
  quote.qe_report.mr_signer.fill(0xdc);
  quote.qe_report.isv_prod_id = 2;
  quote.qe_report.isv_svn = 4;
  quote.qe_auth_data = Bytes(32, 0x42);

  using nlohmann::ordered_json;
  const std::string zero48(96, '0');
  tcb_info = {
      {"id", "TDX"},
      {"version", 3},
      {"issueDate", ""},
      {"nextUpdate", ""},
      {"fmspc", ToHex(fmspc)},
      {"pceId", ToHex(pce_id)},
      {"tcbType", 0},
      {"tcbEvaluationDataNumber", 17},
      {"tdxModule",
       {{"mrsigner", zero48},
        {"attributes", "0000000000000000"},
        {"attributesMask", "FFFFFFFFFFFFFFFF"}}},
      {"tdxModuleIdentities",
       ordered_json::array(
           {{{"id", "TDX_01"},
             {"mrsigner", zero48},
             {"attributes", "0000000000000000"},
             {"attributesMask", "FFFFFFFFFFFFFFFF"},
             {"tcbLevels", ordered_json::array({{{"tcb", {{"isvsvn", 4}}},
                                                 {"tcbDate", "2024-03-13T00:00:00Z"},
                                                 {"tcbStatus", "UpToDate"}},
                                                {{"tcb", {{"isvsvn", 2}}},
                                                 {"tcbDate", "2023-08-09T00:00:00Z"},
                                                 {"tcbStatus", "OutOfDate"}}})}}})},
      {"tcbLevels",
       ordered_json::array(
           {{{"tcb",
              {{"sgxtcbcomponents", Components({2, 2, 2, 2, 3, 1, 0, 5})},
               {"pcesvn", 11},
               {"tdxtcbcomponents", Components({5, 0, 2})}}},
             {"tcbDate", "2024-03-13T00:00:00Z"},
             {"tcbStatus", "UpToDate"}},
            {{"tcb",
              {{"sgxtcbcomponents", Components({2, 2, 2, 2, 3, 1, 0, 5})},
               {"pcesvn", 5},
               {"tdxtcbcomponents", Components({3, 0, 1})}}},
             {"tcbDate", "2018-01-04T00:00:00Z"},
             {"tcbStatus", "OutOfDate"},
             {"advisoryIDs", ordered_json::array({"INTEL-SA-00106", "INTEL-SA-00115"})}}})},
  };
  qe_identity = {
      {"id", "TD_QE"},
      {"version", 2},
      {"issueDate", ""},
      {"nextUpdate", ""},
      {"tcbEvaluationDataNumber", 17},
      {"miscselect", "00000000"},
      {"miscselectMask", "FFFFFFFF"},
      {"attributes", "11000000000000000000000000000000"},
      {"attributesMask", "FBFFFFFFFFFFFFFF0000000000000000"},
      {"mrsigner", ToHex(quote.qe_report.mr_signer)},
      {"isvprodid", 2},
      {"tcbLevels", ordered_json::array({{{"tcb", {{"isvsvn", 4}}},
                                          {"tcbDate", "2024-03-13T00:00:00Z"},
                                          {"tcbStatus", "UpToDate"}}})},
  };
}

BuiltAttestation QuoteBuilder::Build() {
  BuiltAttestation out;
  const Bytes ext = SgxExtension(*this);
  X509* pck_issuer = sign_pck_with_foreign_ca ? foreign_ca_.get() : ca_.get();
  EVP_PKEY* pck_issuer_key = sign_pck_with_foreign_ca ? foreign_key_.get() : ca_key_.get();
  pki::X509Ptr pck = MakeCert(pck_cn, kPckSerial, pck_key_.get(), pck_issuer, pck_issuer_key, now,
                              false, &ext, pck_valid_after_now);

  Quote q = quote;
  q.certification_type = kCertDataQeReport;
  q.pck_cert_type = kCertDataPckChain;
  q.pck_chain_pem = Pem(pck.get()) + Pem(pck_issuer) + Pem(root_.get());
  // Attestation key x||y.
  std::array<std::uint8_t, 65> point{};
  std::size_t plen = 0;
  Require(EVP_PKEY_get_octet_string_param(att_key_.get(), "pub", point.data(), point.size(),
                                          &plen) == 1 &&
              plen == 65,
          "attestation key export");
  std::copy(point.begin() + 1, point.end(), q.attestation_key.begin());
  Hasher hasher(Hasher::Algorithm::kSha256);
  hasher.Update(q.attestation_key);
  hasher.Update(q.qe_auth_data);
  const Bytes h = hasher.Final();
  q.qe_report.report_data.fill(0);
  std::copy(h.begin(), h.end(), q.qe_report.report_data.begin());
  if (corrupt_qe_report_data) q.qe_report.report_data[0] ^= 1;
  q.qe_report_raw = SerializeEnclaveReport(q.qe_report);
  q.qe_report_signature = SignRaw(pck_key_.get(), q.qe_report_raw);
  if (q.header.version == kQuoteVersion5) {
    q.report.is_td15 = q.body_type == kBodyTypeTdReport15;
  }
  q.signature = SignRaw(att_key_.get(), SerializeSignedPart(q));
  out.quote = SerializeQuote(q);

  Collateral& c = out.collateral;
  c.root_ca_crl = MakeCrl(root_.get(), root_key_.get(), {}, now);
  c.pck_crl = MakeCrl(ca_.get(), ca_key_.get(), revoked_pck_serials, now);
  c.pck_crl_issuer_chain = Pem(ca_.get()) + Pem(root_.get());
  c.tcb_info_issuer_chain = Pem(tcb_signer_.get()) + Pem(root_.get());
  c.qe_identity_issuer_chain = c.tcb_info_issuer_chain;
  nlohmann::ordered_json t = tcb_info;
  if (t["issueDate"] == "") t["issueDate"] = FormatRfc3339(now + tcb_info_issue_offset);
  if (t["nextUpdate"] == "") t["nextUpdate"] = FormatRfc3339(now + tcb_info_next_offset);
  c.tcb_info = t.dump();
  nlohmann::ordered_json qi = qe_identity;
  if (qi["issueDate"] == "") qi["issueDate"] = FormatRfc3339(now - 86400);
  if (qi["nextUpdate"] == "") qi["nextUpdate"] = FormatRfc3339(now + 29 * 86400);
  c.qe_identity = qi.dump();
  auto text = [](const std::string& s) {
    return ByteSpan(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
  };
  c.tcb_info_signature = SignRaw(tcb_key_.get(), text(c.tcb_info));
  if (corrupt_tcb_info_signature) c.tcb_info_signature[10] ^= 1;
  c.qe_identity_signature = SignRaw(tcb_key_.get(), text(c.qe_identity));
  out.root_pem = Pem(root_.get());
  return out;
}

}  // namespace tdxrt::testing
