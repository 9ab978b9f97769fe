// Simulated TDX (sim_tdx.h): a development PKI derived from a seed, quotes and collateral.
#include "tdxrt/sim_tdx.h"

#include <nlohmann/json.hpp>

#include "issue.h"
#include "tdxrt/file.h"
#include "tdxrt/hex.h"
#include "tdxrt/json.h"
#include "tdxrt/sha.h"

namespace tdxrt {
namespace {

// Fixed validity of every development certificate: the PKI must not depend on when it is made.
constexpr std::int64_t kNotBefore = 1577836800;  // 2020-01-01T00:00:00Z
constexpr std::int64_t kNotAfter = 2524607999;   // 2049-12-31T23:59:59Z
constexpr long kPckSerial = 0x5eed;

// SVNs of the simulated platform: the TCB info's UpToDate level is exactly these.
constexpr std::array<std::uint8_t, 16> kSgxComponents = {2, 2, 2, 2, 3, 1, 0, 5,
                                                         0, 0, 0, 0, 0, 0, 0, 0};
constexpr std::uint16_t kPceSvn = 11;
constexpr std::array<std::uint8_t, 16> kTeeTcbSvn = {5, 1, 2, 0, 0, 0, 0, 0,
                                                     0, 0, 0, 0, 0, 0, 0, 0};
constexpr std::uint16_t kQeSvn = 4;

nlohmann::ordered_json Components(std::initializer_list<int> svns) {
  auto arr = nlohmann::ordered_json::array();
  for (int s : svns) arr.push_back({{"svn", s}});
  while (arr.size() < 16) arr.push_back({{"svn", 0}});
  return arr;
}

ByteSpan Text(const std::string& s) {
  return ByteSpan(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

}  // namespace

struct DevPki::State {
  std::string seed;
  pki::PkeyPtr root_key, ca_key, pck_key, tcb_key, att_key;
  pki::X509Ptr root, ca, tcb_signer, pck;
  std::string root_pem, pck_chain_pem;
  std::array<std::uint8_t, 32> qe_mr_signer{}, qe_mr_enclave{};
  std::array<std::uint8_t, 16> ppid{};
};

DevPki::DevPki(std::unique_ptr<State> state) : s_(std::move(state)) {}
DevPki::DevPki(DevPki&&) noexcept = default;
DevPki& DevPki::operator=(DevPki&&) noexcept = default;
DevPki::~DevPki() = default;

Result<DevPki> DevPki::FromSeed(std::string_view seed) {
  if (seed.empty()) return Status::InvalidArgument("the development PKI seed is empty");
  auto s = std::make_unique<State>();
  s->seed = std::string(seed);
  const ByteSpan sb = Text(s->seed);
  s->root_key = pki::DeriveP256Key(sb, "root-ca");
  s->ca_key = pki::DeriveP256Key(sb, "pck-platform-ca");
  s->pck_key = pki::DeriveP256Key(sb, "pck");
  s->tcb_key = pki::DeriveP256Key(sb, "tcb-signing");
  s->att_key = pki::DeriveP256Key(sb, "attestation-key");
  auto derive = [&](std::string_view label) {
    return Sha256(Text("tdxrt/dev-pki/v1/" + std::string(label) + "/" + s->seed));
  };
  s->qe_mr_signer = derive("qe-mrsigner");
  s->qe_mr_enclave = derive("qe-mrenclave");
  const Sha256Digest ppid = derive("ppid");
  std::copy(ppid.begin(), ppid.begin() + 16, s->ppid.begin());

  auto spec = [&](std::string cn, long serial, bool ca) {
    pki::CertSpec c;
    c.cn = std::move(cn);
    c.organization = std::string(kDevPkiOrganization);
    c.serial = serial;
    c.not_before = kNotBefore;
    c.not_after = kNotAfter;
    c.ca = ca;
    return c;
  };
  s->root = pki::IssueCertificate(spec("DEVELOPMENT SGX Root CA", 1, true), s->root_key.get(),
                                  nullptr, s->root_key.get());
  s->ca = pki::IssueCertificate(spec("DEVELOPMENT SGX PCK Platform CA", 2, true), s->ca_key.get(),
                                s->root.get(), s->root_key.get());
  s->tcb_signer = pki::IssueCertificate(spec("DEVELOPMENT SGX TCB Signing", 3, false),
                                        s->tcb_key.get(), s->root.get(), s->root_key.get());
  pki::PckExtension ext;
  ext.ppid = s->ppid;
  ext.sgx_components = kSgxComponents;
  ext.pce_svn = kPceSvn;
  ext.cpu_svn = kSgxComponents;
  ext.fmspc = kDevFmspc;
  pki::CertSpec pck = spec("DEVELOPMENT SGX PCK Certificate", kPckSerial, false);
  pck.sgx_extension = pki::SgxExtensionDer(ext);
  s->pck = pki::IssueCertificate(pck, s->pck_key.get(), s->ca.get(), s->ca_key.get());
  s->root_pem = pki::CertPem(s->root.get());
  s->pck_chain_pem = pki::CertPem(s->pck.get()) + pki::CertPem(s->ca.get()) + s->root_pem;
  return DevPki(std::move(s));
}

const std::string& DevPki::RootPem() const { return s_->root_pem; }
const std::string& DevPki::Seed() const { return s_->seed; }
std::string DevPki::RootSha256() const { return ToHex(Sha256(pki::CertDer(s_->root.get()))); }

TdReport DevPki::DefaultReport() {
  TdReport r;
  r.tee_tcb_svn = kTeeTcbSvn;
  r.td_attributes = {0, 0, 0, 0x10, 0, 0, 0, 0};  // SEPT_VE_DISABLE (bit 28), not debug
  r.xfam = {0xe7, 0x02, 0x06, 0, 0, 0, 0, 0};     // x87 SSE AVX AVX-512 PK AMX ...
  return r;
}

Bytes DevPki::MakeQuote(const TdReport& report) const {
  const State& s = *s_;
  Quote q;
  q.header.version = kQuoteVersion4;
  q.header.attestation_key_type = kAttestationKeyEcdsaP256;
  q.header.tee_type = kTeeTypeTdx;
  q.header.qe_svn = kQeSvn;
  q.header.pce_svn = kPceSvn;
  q.header.qe_vendor_id = kIntelQeVendorId;
  q.body_type = kBodyTypeTdReport10;
  q.report = report;
  q.report.is_td15 = false;
  q.certification_type = kCertDataQeReport;
  q.pck_cert_type = kCertDataPckChain;
  q.pck_chain_pem = s.pck_chain_pem;
  q.attestation_key = pki::P256PublicRaw(s.att_key.get());
  q.qe_auth_data = Bytes(32);
  for (std::size_t i = 0; i < q.qe_auth_data.size(); ++i) {
    q.qe_auth_data[i] = static_cast<std::uint8_t>(i);
  }
  q.qe_report.cpu_svn = kSgxComponents;
  q.qe_report.attributes = {0x11, 0, 0, 0, 0, 0, 0, 0, 0xe7, 0, 0, 0, 0, 0, 0, 0};
  q.qe_report.mr_enclave = s.qe_mr_enclave;
  q.qe_report.mr_signer = s.qe_mr_signer;
  q.qe_report.isv_prod_id = 2;
  q.qe_report.isv_svn = kQeSvn;
  Hasher h(Hasher::Algorithm::kSha256);
  h.Update(q.attestation_key);
  h.Update(q.qe_auth_data);
  const Bytes binding = h.Final();
  std::copy(binding.begin(), binding.end(), q.qe_report.report_data.begin());
  q.qe_report_raw = SerializeEnclaveReport(q.qe_report);
  q.qe_report_signature = pki::SignP256(s.pck_key.get(), q.qe_report_raw);
  q.signature = pki::SignP256(s.att_key.get(), SerializeSignedPart(q));
  return SerializeQuote(q);
}

Collateral DevPki::MakeCollateral(std::int64_t issued, std::int64_t lifetime) const {
  using nlohmann::ordered_json;
  const State& s = *s_;
  const std::string zero48(96, '0');
  const std::string issue = FormatRfc3339(issued), next = FormatRfc3339(issued + lifetime);
  ordered_json level_up = {{"tcb",
                            {{"sgxtcbcomponents", Components({2, 2, 2, 2, 3, 1, 0, 5})},
                             {"pcesvn", kPceSvn},
                             {"tdxtcbcomponents", Components({5, 0, 2})}}},
                           {"tcbDate", "2024-03-13T00:00:00Z"},
                           {"tcbStatus", "UpToDate"}};
  ordered_json level_old = {{"tcb",
                             {{"sgxtcbcomponents", Components({2, 2, 2, 2, 3, 1, 0, 5})},
                              {"pcesvn", 5},
                              {"tdxtcbcomponents", Components({3, 0, 1})}}},
                            {"tcbDate", "2018-01-04T00:00:00Z"},
                            {"tcbStatus", "OutOfDate"},
                            {"advisoryIDs", ordered_json::array({"INTEL-SA-00106"})}};
  ordered_json tcb_info = {
      {"id", "TDX"},
      {"version", 3},
      {"issueDate", issue},
      {"nextUpdate", next},
      {"fmspc", ToHex(kDevFmspc)},
      {"pceId", "0000"},
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
             {"tcbLevels", ordered_json::array({{{"tcb", {{"isvsvn", 2}}},
                                                 {"tcbDate", "2024-03-13T00:00:00Z"},
                                                 {"tcbStatus", "UpToDate"}}})}}})},
      {"tcbLevels", ordered_json::array({level_up, level_old})},
  };
  ordered_json qe_identity = {
      {"id", "TD_QE"},
      {"version", 2},
      {"issueDate", issue},
      {"nextUpdate", next},
      {"tcbEvaluationDataNumber", 17},
      {"miscselect", "00000000"},
      {"miscselectMask", "FFFFFFFF"},
      {"attributes", "11000000000000000000000000000000"},
      {"attributesMask", "FBFFFFFFFFFFFFFF0000000000000000"},
      {"mrsigner", ToHex(s.qe_mr_signer)},
      {"isvprodid", 2},
      {"tcbLevels", ordered_json::array({{{"tcb", {{"isvsvn", kQeSvn}}},
                                          {"tcbDate", "2024-03-13T00:00:00Z"},
                                          {"tcbStatus", "UpToDate"}}})},
  };
  Collateral c;
  c.root_ca_crl = pki::IssueCrl(s.root.get(), s.root_key.get(), {}, issued, issued + lifetime);
  c.pck_crl = pki::IssueCrl(s.ca.get(), s.ca_key.get(), {}, issued, issued + lifetime);
  c.pck_crl_issuer_chain = pki::CertPem(s.ca.get()) + s.root_pem;
  c.tcb_info_issuer_chain = pki::CertPem(s.tcb_signer.get()) + s.root_pem;
  c.qe_identity_issuer_chain = c.tcb_info_issuer_chain;
  c.tcb_info = tcb_info.dump();
  c.qe_identity = qe_identity.dump();
  c.tcb_info_signature = pki::SignP256(s.tcb_key.get(), Text(c.tcb_info));
  c.qe_identity_signature = pki::SignP256(s.tcb_key.get(), Text(c.qe_identity));
  return c;
}

bool IsDevelopmentQuote(const Quote& quote) {
  auto chain = pki::ParsePemChain(quote.pck_chain_pem);
  if (!chain.ok()) return false;
  return std::any_of(chain->begin(), chain->end(), [](const pki::X509Ptr& c) {
    return pki::Organization(c.get()) == kDevPkiOrganization;
  });
}

Result<Bytes> SimulatedTdxProvider::GetQuote(const ReportData& report_data) {
  TdReport r = identity_;
  r.report_data = report_data;
  return pki_->MakeQuote(r);
}

Status ClaimImageMeasurements(std::string_view source, TdReport& report) {
  auto hex48 = [](std::string_view text, Measurement& m) {
    auto b = FromHexArray<48>(text);
    if (b.ok()) m = *b;
    return b.ok();
  };
  if (source.find('=') != std::string_view::npos) {
    // Inline: name=HEX items.
    std::size_t pos = 0;
    bool mr_td = false;
    while (pos < source.size()) {
      std::size_t end = source.find_first_of(" ,", pos);
      if (end == std::string_view::npos) end = source.size();
      const std::string_view item = source.substr(pos, end - pos);
      pos = end + 1;
      if (item.empty()) continue;
      const std::size_t eq = item.find('=');
      const std::string_view name = item.substr(0, eq);
      Measurement* target = nullptr;
      if (name == "mr_td") {
        target = &report.mr_td;
        mr_td = true;
      } else if (name.size() == 5 && name.substr(0, 4) == "rtmr" && name[4] >= '0' &&
                 name[4] <= '2') {
        target = &report.rtmr[static_cast<std::size_t>(name[4] - '0')];
      }
      if (target == nullptr || eq == std::string_view::npos ||
          !hex48(item.substr(eq + 1), *target)) {
        return Status::InvalidArgument("measurements '" + std::string(item.substr(0, 40)) +
                                       "': not mr_td=, rtmr0=, rtmr1= or rtmr2= with 96 hex "
                                       "digits");
      }
    }
    if (!mr_td) return Status::InvalidArgument("measurements: no mr_td=");
    return Status::Ok();
  }
  const std::string file(source);
  TDX_ASSIGN_OR_RETURN(Bytes text, ReadFile(file, 1 << 20));
  auto parsed =
      ParseJson(std::string_view(reinterpret_cast<const char*>(text.data()), text.size()), file);
  if (!parsed.ok()) return parsed.status();
  const nlohmann::json& j = *parsed;
  auto get = [&](const nlohmann::json& v, Measurement& m) {
    return v.is_string() && hex48(v.get<std::string>(), m);
  };
  if (!j.is_object() || !j.contains("mr_td") || !j["mr_td"].is_object() ||
      !get(j["mr_td"].value("single-pass", nlohmann::json()), report.mr_td) ||
      !get(j.value("rtmr1", nlohmann::json()), report.rtmr[1]) ||
      !get(j.value("rtmr2", nlohmann::json()), report.rtmr[2])) {
    return Status::Corrupt(file +
                           ": not a tdximage measurements file (mr_td.single-pass, rtmr1, rtmr2)");
  }
  // RTMR0 where the image knows it: the first host's (rtmr1 and rtmr2 above are its too), from
  // the host's captured ACPI tables (tdximage measure.acpi).
  if (j.contains("hosts") && j["hosts"].is_array() && !j["hosts"].empty() &&
      j["hosts"][0].is_object() && j["hosts"][0].contains("rtmr0") &&
      !get(j["hosts"][0]["rtmr0"], report.rtmr[0])) {
    return Status::Corrupt(file + ": hosts[0].rtmr0 is not 96 hex digits");
  }
  return Status::Ok();
}

}  // namespace tdxrt
