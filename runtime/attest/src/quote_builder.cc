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

#include "issue.h"
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

pki::X509Ptr MakeCert(const std::string& cn, long serial, EVP_PKEY* subject_key, X509* issuer,
                      EVP_PKEY* issuer_key, std::int64_t now, bool ca,
                      std::optional<Bytes> sgx_ext = std::nullopt,
                      std::int64_t valid_after_now = 5 * 365L * 86400) {
  pki::CertSpec spec;
  spec.cn = cn;
  spec.organization = "tdxrt test PKI";
  spec.serial = serial;
  spec.not_before = now - 365L * 86400;
  spec.not_after = now + valid_after_now;
  spec.ca = ca;
  spec.sgx_extension = std::move(sgx_ext);
  return pki::IssueCertificate(spec, subject_key, issuer, issuer_key);
}

Bytes MakeCrl(X509* issuer, EVP_PKEY* key, const std::vector<long>& revoked, std::int64_t now) {
  return pki::IssueCrl(issuer, key, revoked, now - 86400, now + 29 * 86400);
}

std::string Pem(X509* x) { return pki::CertPem(x); }

nlohmann::ordered_json Components(std::initializer_list<int> svns) {
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (int s : svns) arr.push_back({{"svn", s}});
  while (arr.size() < 16) arr.push_back({{"svn", 0}});
  return arr;
}

}  // namespace

long QuoteBuilder::kPckSerial = 0x5eed;

std::array<std::uint8_t, 64> QuoteBuilder::SignRaw(EVP_PKEY* key, ByteSpan data) {
  return pki::SignP256(key, data);
}

QuoteBuilder::QuoteBuilder()
    : root_key_(NewKey()),
      ca_key_(NewKey()),
      pck_key_(NewKey()),
      tcb_key_(NewKey()),
      att_key_(NewKey()),
      foreign_key_(NewKey()) {
  root_ = MakeCert("Test SGX Root CA", 1, root_key_.get(), nullptr, root_key_.get(), now, true);
  ca_ = MakeCert("Test SGX PCK Platform CA", 2, ca_key_.get(), root_.get(), root_key_.get(), now,
                 true);
  tcb_signer_ =
      MakeCert("Test SGX TCB Signing", 3, tcb_key_.get(), root_.get(), root_key_.get(), now, false);
  foreign_ca_ = MakeCert("Test SGX PCK Platform CA", 2, foreign_key_.get(), nullptr,
                         foreign_key_.get(), now, true);

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
  pki::PckExtension fields;
  fields.ppid.fill(0x77);
  fields.sgx_components = sgx_components;
  fields.pce_svn = pce_svn;
  fields.cpu_svn = sgx_components;
  fields.pce_id = pce_id;
  fields.fmspc = fmspc;
  const Bytes ext = pki::SgxExtensionDer(fields);
  X509* pck_issuer = sign_pck_with_foreign_ca ? foreign_ca_.get() : ca_.get();
  EVP_PKEY* pck_issuer_key = sign_pck_with_foreign_ca ? foreign_key_.get() : ca_key_.get();
  pki::X509Ptr pck = MakeCert(pck_cn, kPckSerial, pck_key_.get(), pck_issuer, pck_issuer_key, now,
                              false, ext, pck_valid_after_now);

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
