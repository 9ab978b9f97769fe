// DCAP quote verification; the list of checks and their order is documented in tdxrt/dcap.h.
// TCB level matching and status convergence follow Intel's Quote Verification Library
// (TcbLevelCheck, TdxModuleCheck) and the PCS TCB info v3 documentation.
#include "tdxrt/dcap.h"

#include <algorithm>
#include <climits>
#include <map>
#include <mutex>
#include <set>

#include "pki.h"
#include "tdxrt/hex.h"
#include "tdxrt/sha.h"
#include "tdxrt/sim_tdx.h"

namespace tdxrt {

constexpr std::string_view kCheckNames[] = {
    "tcb-info.validity",
    "qe-identity.validity",
    "root-ca.crl",
    "tcb-info.chain",
    "tcb-info.signature",
    "qe-identity.chain",
    "qe-identity.signature",
    "pck-crl",
    "pck.chain",
    "pck.revocation",
    "pck.extension",
    "tcb-info.match",
    "qe-report.signature",
    "qe-report.data",
    "qe-identity.match",
    "quote.signature",
    "tdx-module.identity",
    "tcb.level",
    "quote.format",
    "collateral.format",
};

std::string_view CheckName(Check check) { return kCheckNames[static_cast<int>(check)]; }

std::string FormatVerifyError(const VerifyError& e) {
  return std::string(CheckName(e.check)) + ": " + e.status.message();
}

// A PCK chain seen in a quote, verified once (signatures and path) and kept: a committee sees the
// same few platforms over and over.
struct PckChainEntry {
  Status parsed;  // chain parse and "is an SGX PCK certificate"
  std::vector<pki::X509Ptr> chain;
  Status signatures;  // path to the root, ignoring time
  Result<pki::PckExtension> extension = Status::NotFound("not parsed");
  bool development = false;
};

// What a quote's quoting-enclave part proves, verified once per distinct (PCK chain, QE report,
// its signature, attestation key): every quote a TD gets from one QE carries the same bytes
// there, so a verifier of many quotes pays for one ECDSA verification per quote, not two, and
// parses the attestation key once.
struct QeEntry {
  bool qe_report_signed = false;
  Result<pki::PkeyPtr> attestation_key = Status::NotFound("not parsed");
};

struct Verifier::State {
  Collateral raw;
  pki::X509Ptr root;
  pki::CrlPtr root_crl;
  pki::CrlPtr pck_crl;
  std::vector<pki::X509Ptr> pck_crl_chain;
  std::vector<pki::X509Ptr> tcb_chain;
  std::vector<pki::X509Ptr> qe_chain;
  TcbInfo tcb_info;
  QeIdentity qe_identity;
  // Time-independent results over the collateral, computed once by Create; Verify adds the
  // time-dependent checks (validity windows) on every call.
  Status root_crl_signature;
  Status tcb_chain_signatures;
  bool tcb_info_signed = false;
  Status qe_chain_signatures;
  bool qe_identity_signed = false;
  Status pck_crl_chain_signatures;
  Status pck_crl_signature;
  std::int64_t crl_next_update = INT64_MAX;

  static constexpr std::size_t kMaxPckEntries = 256;
  mutable std::mutex mu;
  mutable std::map<std::string, std::shared_ptr<const PckChainEntry>> pck_chains;

  mutable std::map<std::string, std::shared_ptr<const QeEntry>> qe_entries;

  std::shared_ptr<const PckChainEntry> PckChain(const std::string& pem) const;
  std::shared_ptr<const QeEntry> Qe(const Quote& q, X509* pck) const;
};

Verifier::Verifier(std::unique_ptr<State> state) : s_(std::move(state)) {}
Verifier::Verifier(Verifier&&) noexcept = default;
Verifier& Verifier::operator=(Verifier&&) noexcept = default;
Verifier::~Verifier() = default;

namespace {
// Intel's QVL requires the TCB info and QE identity issuer chains to be exactly the signing
// certificate and the trusted root (a chain without the root, or with extra certificates, is
// refused), then the usual path checks.
Status SignerPlusRoot(const std::vector<pki::X509Ptr>& chain, X509* root) {
  if (chain.size() != 2) {
    return Status::Mismatch("has " + std::to_string(chain.size()) +
                            " certificates; it must be exactly the signing certificate and the "
                            "root CA");
  }
  if (pki::CertDer(chain[1].get()) != pki::CertDer(root)) {
    return Status::Mismatch("its second certificate (CN=" + pki::SubjectCn(chain[1].get()) +
                            ") is not the trusted root CA");
  }
  return pki::VerifyChainSignatures(chain, root);
}
}  // namespace

Result<Verifier> Verifier::Create(const Collateral& c, std::string_view trusted_root_pem) {
  auto s = std::make_unique<State>();
  s->raw = c;
  const bool shipped = trusted_root_pem.empty();
  auto root =
      pki::ParseCertificate(shipped ? std::string_view(kIntelSgxRootCaPem) : trusted_root_pem);
  if (!root.ok()) return root.status().WithContext("trusted root CA");
  s->root = std::move(root).value();
  if (shipped && ToHex(Sha256(pki::CertDer(s->root.get()))) != kIntelSgxRootCaSha256) {
    return Status::Corrupt("the shipped Intel SGX Root CA does not have its documented SHA-256");
  }
  auto ctx = [](std::string_view what) { return std::string("collateral ") + std::string(what); };
  auto crl = pki::ParseCrl(c.root_ca_crl);
  if (!crl.ok()) return crl.status().WithContext(ctx("root_ca_crl"));
  s->root_crl = std::move(crl).value();
  crl = pki::ParseCrl(c.pck_crl);
  if (!crl.ok()) return crl.status().WithContext(ctx("pck_crl"));
  s->pck_crl = std::move(crl).value();
  auto chain = pki::ParsePemChain(c.pck_crl_issuer_chain);
  if (!chain.ok()) return chain.status().WithContext(ctx("pck_crl_issuer_chain"));
  s->pck_crl_chain = std::move(chain).value();
  chain = pki::ParsePemChain(c.tcb_info_issuer_chain);
  if (!chain.ok()) return chain.status().WithContext(ctx("tcb_info_issuer_chain"));
  s->tcb_chain = std::move(chain).value();
  chain = pki::ParsePemChain(c.qe_identity_issuer_chain);
  if (!chain.ok()) return chain.status().WithContext(ctx("qe_identity_issuer_chain"));
  s->qe_chain = std::move(chain).value();
  auto tcb = ParseTcbInfo(c.tcb_info);
  if (!tcb.ok()) return tcb.status().WithContext("collateral");
  s->tcb_info = std::move(tcb).value();
  auto qe = ParseQeIdentity(c.qe_identity);
  if (!qe.ok()) return qe.status().WithContext("collateral");
  s->qe_identity = std::move(qe).value();

  auto text = [](const std::string& t) {
    return ByteSpan(reinterpret_cast<const std::uint8_t*>(t.data()), t.size());
  };
  X509* r = s->root.get();
  s->root_crl_signature = pki::CheckCrlSignature(s->root_crl.get(), r);
  s->tcb_chain_signatures = SignerPlusRoot(s->tcb_chain, r);
  s->tcb_info_signed = pki::VerifyRawEcdsa(X509_get0_pubkey(s->tcb_chain[0].get()),
                                           text(c.tcb_info), c.tcb_info_signature);
  s->qe_chain_signatures = SignerPlusRoot(s->qe_chain, r);
  s->qe_identity_signed = pki::VerifyRawEcdsa(X509_get0_pubkey(s->qe_chain[0].get()),
                                              text(c.qe_identity), c.qe_identity_signature);
  s->pck_crl_chain_signatures = pki::VerifyChainSignatures(s->pck_crl_chain, r);
  s->pck_crl_signature = pki::CheckCrlSignature(s->pck_crl.get(), s->pck_crl_chain[0].get());
  for (X509_CRL* list : {s->root_crl.get(), s->pck_crl.get()}) {
    const ASN1_TIME* nu = X509_CRL_get0_nextUpdate(list);
    struct tm tm {};
    if (nu != nullptr && ASN1_TIME_to_tm(nu, &tm) == 1) {
      s->crl_next_update = std::min<std::int64_t>(s->crl_next_update, timegm(&tm));
    }
  }
  return Verifier(std::move(s));
}

namespace {

using Outcome = std::variant<Verdict, VerifyError>;

VerifyError Fail(Check check, std::string msg) {
  return VerifyError{check, Status::Mismatch(std::move(msg))};
}

Status Window(std::string_view what, std::int64_t issue, std::int64_t next, std::int64_t at) {
  if (at < issue) {
    return Status::Mismatch(std::string(what) + " is not yet valid: issueDate " +
                            FormatRfc3339(issue) + " is after the verification time " +
                            FormatRfc3339(at));
  }
  if (at > next) {
    return Status::Mismatch("collateral expired: " + std::string(what) + " nextUpdate " +
                            FormatRfc3339(next) + " is before the verification time " +
                            FormatRfc3339(at));
  }
  return Status::Ok();
}

// A certificate issued by `issuer` must not appear on `crl` (whose issuer is checked).
Status NotRevoked(X509* cert, X509_CRL* crl, std::string_view what) {
  X509_REVOKED* entry = nullptr;
  if (X509_CRL_get0_by_cert(crl, &entry, cert) == 1) {
    const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
    return Status::Mismatch(std::string(what) + " (CN=" + pki::SubjectCn(cert) + ", serial " +
                            ToHex(ByteSpan(ASN1_STRING_get0_data(serial),
                                           static_cast<std::size_t>(ASN1_STRING_length(serial)))) +
                            ") is revoked");
  }
  return Status::Ok();
}

// Every non-root certificate of a verified chain issued directly by the root must be absent
// from the root CA CRL.
Status CasNotRevoked(const std::vector<pki::X509Ptr>& chain, X509* root, X509_CRL* root_crl) {
  for (const auto& c : chain) {
    if (X509_check_issued(root, c.get()) == X509_V_OK &&
        X509_check_issued(c.get(), c.get()) != X509_V_OK) {
      TDX_TRY(NotRevoked(c.get(), root_crl, "certificate"));
    }
  }
  return Status::Ok();
}

// A chain whose signatures were verified earlier: validity at `at`, CAs not revoked.
Status ChainAt(const Status& signatures, const std::vector<pki::X509Ptr>& chain, X509* root,
               X509_CRL* root_crl, std::int64_t at) {
  TDX_TRY(signatures);
  TDX_TRY(pki::CheckChainTimes(chain, root, at));
  return CasNotRevoked(chain, root, root_crl);
}

bool Masked(ByteSpan value, ByteSpan mask, ByteSpan expected) {
  for (std::size_t i = 0; i < value.size(); ++i) {
    if ((value[i] & mask[i]) != expected[i]) return false;
  }
  return true;
}

// Intel QVL's convergence of the TCB level status with the TDX module's (TdxModuleCheck).
TcbStatus ConvergeWithModule(TcbStatus level, TcbStatus module) {
  using T = TcbStatus;
  if (module == T::kOutOfDate) {
    if (level == T::kUpToDate || level == T::kSwHardeningNeeded) return T::kOutOfDate;
    if (level == T::kConfigurationNeeded || level == T::kConfigurationAndSwHardeningNeeded) {
      return T::kOutOfDateConfigurationNeeded;
    }
  }
  if (module == T::kRevoked) return T::kRevoked;
  return level;
}

// ... and with the QE's (TcbLevelCheck::convergeTcbStatusWithQeTcbStatus).
TcbStatus ConvergeWithQe(TcbStatus level, TcbStatus qe) {
  using T = TcbStatus;
  if (qe == T::kOutOfDate) {
    if (level == T::kUpToDate || level == T::kSwHardeningNeeded) return T::kOutOfDate;
    if (level == T::kConfigurationNeeded || level == T::kConfigurationAndSwHardeningNeeded) {
      return T::kOutOfDateConfigurationNeeded;
    }
  }
  if (qe == T::kRevoked) return T::kRevoked;
  return level;
}

std::string HexByte(std::uint8_t v) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  return {kDigits[v >> 4], kDigits[v & 15]};
}

}  // namespace

std::shared_ptr<const PckChainEntry> Verifier::State::PckChain(const std::string& pem) const {
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = pck_chains.find(pem);
    if (it != pck_chains.end()) return it->second;
  }
  auto e = std::make_shared<PckChainEntry>();
  auto chain = pki::ParsePemChain(pem);
  if (!chain.ok()) {
    e->parsed = chain.status();
  } else if (chain->size() < 2) {
    e->parsed = Status::Mismatch("PCK chain has no CA certificate");
  } else if (pki::SubjectCn((*chain)[0].get()).find("SGX PCK Certificate") == std::string::npos) {
    e->parsed = Status::Mismatch("certificate 0 (CN=" + pki::SubjectCn((*chain)[0].get()) +
                                 ") is not an SGX PCK Certificate");
  } else {
    e->chain = std::move(chain).value();
    e->signatures = pki::VerifyChainSignatures(e->chain, root.get());
    e->extension = pki::ParsePckExtension(e->chain[0].get());
    e->development = std::any_of(e->chain.begin(), e->chain.end(), [](const pki::X509Ptr& c) {
      return pki::Organization(c.get()) == kDevPkiOrganization;
    });
  }
  std::lock_guard<std::mutex> lock(mu);
  if (pck_chains.size() >= kMaxPckEntries) pck_chains.clear();
  pck_chains.emplace(pem, e);
  return e;
}

std::shared_ptr<const QeEntry> Verifier::State::Qe(const Quote& q, X509* pck) const {
  Hasher h(Hasher::Algorithm::kSha256);
  h.Update(ByteSpan(reinterpret_cast<const std::uint8_t*>(q.pck_chain_pem.data()),
                    q.pck_chain_pem.size()));
  h.Update(q.qe_report_raw);
  h.Update(q.qe_report_signature);
  h.Update(q.attestation_key);
  const Bytes digest = h.Final();
  const std::string key(digest.begin(), digest.end());
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = qe_entries.find(key);
    if (it != qe_entries.end()) return it->second;
  }
  auto e = std::make_shared<QeEntry>();
  e->qe_report_signed =
      pki::VerifyRawEcdsa(X509_get0_pubkey(pck), q.qe_report_raw, q.qe_report_signature);
  e->attestation_key = pki::P256KeyFromRaw(q.attestation_key);
  std::lock_guard<std::mutex> lock(mu);
  if (qe_entries.size() >= kMaxPckEntries) qe_entries.clear();
  qe_entries.emplace(key, e);
  return e;
}

Outcome Verifier::Verify(ByteSpan bytes, std::int64_t at) const {
  auto q = ParseQuote(bytes);
  if (!q.ok()) return VerifyError{Check::kQuoteFormat, q.status()};
  return Verify(*q, at);
}

std::optional<VerifyError> Verifier::CheckCollateral(std::int64_t at) const {
  const State& s = *s_;
  const TcbInfo& tcb = s.tcb_info;
  const QeIdentity& qe = s.qe_identity;
  X509* root = s.root.get();
  // Validity windows first, so that stale collateral is reported as such.
  if (Status st = Window("TCB info", tcb.issue_date, tcb.next_update, at); !st.ok()) {
    return VerifyError{Check::kTcbInfoValidity, st};
  }
  if (Status st = Window("QE identity", qe.issue_date, qe.next_update, at); !st.ok()) {
    return VerifyError{Check::kQeIdentityValidity, st};
  }
  if (Status st = s.root_crl_signature.ok() ? pki::CheckCrlTimes(s.root_crl.get(), at)
                                            : s.root_crl_signature;
      !st.ok()) {
    return VerifyError{Check::kRootCaCrl, st.WithContext("root CA CRL")};
  }
  if (Status st = ChainAt(s.tcb_chain_signatures, s.tcb_chain, root, s.root_crl.get(), at);
      !st.ok()) {
    return VerifyError{Check::kTcbInfoChain, st.WithContext("TCB info issuer chain")};
  }
  if (!s.tcb_info_signed) {
    return Fail(Check::kTcbInfoSignature, "TCB info signature does not verify with the key of " +
                                              pki::SubjectCn(s.tcb_chain[0].get()));
  }
  if (Status st = ChainAt(s.qe_chain_signatures, s.qe_chain, root, s.root_crl.get(), at);
      !st.ok()) {
    return VerifyError{Check::kQeIdentityChain, st.WithContext("QE identity issuer chain")};
  }
  if (!s.qe_identity_signed) {
    return Fail(Check::kQeIdentitySignature,
                "QE identity signature does not verify with the key of " +
                    pki::SubjectCn(s.qe_chain[0].get()));
  }
  if (Status st = ChainAt(s.pck_crl_chain_signatures, s.pck_crl_chain, root, s.root_crl.get(), at);
      !st.ok()) {
    return VerifyError{Check::kPckCrl, st.WithContext("PCK CRL issuer chain")};
  }
  if (Status st =
          s.pck_crl_signature.ok() ? pki::CheckCrlTimes(s.pck_crl.get(), at) : s.pck_crl_signature;
      !st.ok()) {
    return VerifyError{Check::kPckCrl, st.WithContext("PCK CRL")};
  }
  return std::nullopt;
}

const Collateral& Verifier::collateral() const { return s_->raw; }
const TcbInfo& Verifier::tcb_info() const { return s_->tcb_info; }

std::int64_t Verifier::CollateralExpires() const {
  return std::min({s_->tcb_info.next_update, s_->qe_identity.next_update, s_->crl_next_update});
}

Outcome Verifier::Verify(const Quote& q, std::int64_t at) const {
  const State& s = *s_;
  const TcbInfo& tcb = s.tcb_info;
  const QeIdentity& qe = s.qe_identity;
  X509* root = s.root.get();
  Verdict v;
  v.verified_at = at;
  if (auto e = CheckCollateral(at)) return *e;
  v.collateral_expires = CollateralExpires();

  // The quote's PCK chain.
  const std::shared_ptr<const PckChainEntry> entry = s.PckChain(q.pck_chain_pem);
  if (!entry->parsed.ok()) return VerifyError{Check::kPckChain, entry->parsed};
  const std::vector<pki::X509Ptr>& chain = entry->chain;
  X509* pck = chain[0].get();
  if (Status st =
          entry->signatures.ok() ? pki::CheckChainTimes(chain, root, at) : entry->signatures;
      !st.ok()) {
    return VerifyError{Check::kPckChain, st.WithContext("PCK chain")};
  }
  if (X509_NAME_cmp(X509_CRL_get_issuer(s.pck_crl.get()), X509_get_issuer_name(pck)) != 0) {
    return Fail(Check::kPckRevocation, "the PCK CRL is issued by " +
                                           pki::SubjectCn(s.pck_crl_chain[0].get()) +
                                           ", not by the PCK certificate's issuer");
  }
  if (Status st = NotRevoked(pck, s.pck_crl.get(), "PCK certificate"); !st.ok()) {
    return VerifyError{Check::kPckRevocation, st};
  }
  if (Status st = CasNotRevoked(chain, root, s.root_crl.get()); !st.ok()) {
    return VerifyError{Check::kPckRevocation, st.WithContext("PCK chain")};
  }
  const auto& ext = entry->extension;
  if (!ext.ok()) return VerifyError{Check::kPckExtension, ext.status()};
  v.fmspc = ext->fmspc;
  v.ppid = ext->ppid;
  v.development = entry->development;
  v.pce_svn = ext->pce_svn;
  v.tcb_evaluation_data_number = tcb.tcb_evaluation_data_number;
  v.tcb_info_issued = tcb.issue_date;

  if (tcb.id != "TDX" || tcb.version < 3) {
    return Fail(Check::kTcbInfoMatch, "TCB info is \"" + tcb.id + "\" version " +
                                          std::to_string(tcb.version) +
                                          ", a TDX quote needs \"TDX\" version 3 or later");
  }
  if (ext->fmspc != tcb.fmspc) {
    return Fail(Check::kTcbInfoMatch, "TCB info is for FMSPC " + ToHex(tcb.fmspc) +
                                          ", the PCK certificate has " + ToHex(ext->fmspc));
  }
  if (ext->pce_id != tcb.pce_id) {
    return Fail(Check::kTcbInfoMatch, "TCB info is for PCE-ID " + ToHex(tcb.pce_id) +
                                          ", the PCK certificate has " + ToHex(ext->pce_id));
  }

  // The quoting enclave.
  const std::shared_ptr<const QeEntry> qe_entry = s.Qe(q, pck);
  if (!qe_entry->qe_report_signed) {
    return Fail(Check::kQeReportSignature, "QE report signature does not verify with the PCK key");
  }
  Hasher hasher(Hasher::Algorithm::kSha256);
  hasher.Update(q.attestation_key);
  hasher.Update(q.qe_auth_data);
  const Bytes h = hasher.Final();
  const bool zeros = std::all_of(q.qe_report.report_data.begin() + 32,
                                 q.qe_report.report_data.end(), [](auto b) { return b == 0; });
  if (!std::equal(h.begin(), h.end(), q.qe_report.report_data.begin()) || !zeros) {
    return Fail(Check::kQeReportData, "QE report data " + ToHex(q.qe_report.report_data) +
                                          " is not SHA-256(attestation key || QE auth data) = " +
                                          ToHex(h) + " followed by 32 zero bytes");
  }
  if (qe.id != "TD_QE" || qe.version != 2) {
    return Fail(Check::kQeIdentityMatch, "QE identity is \"" + qe.id + "\" version " +
                                             std::to_string(qe.version) +
                                             ", a TDX quote needs \"TD_QE\" version 2");
  }
  if (q.qe_report.mr_signer != qe.mr_signer) {
    return Fail(Check::kQeIdentityMatch,
                "QE MRSIGNER " + ToHex(q.qe_report.mr_signer) + " is not " + ToHex(qe.mr_signer));
  }
  if (q.qe_report.isv_prod_id != qe.isv_prod_id) {
    return Fail(Check::kQeIdentityMatch, "QE ISVPRODID " + std::to_string(q.qe_report.isv_prod_id) +
                                             " is not " + std::to_string(qe.isv_prod_id));
  }
  if ((q.qe_report.misc_select & qe.misc_select_mask) != qe.misc_select) {
    return Fail(Check::kQeIdentityMatch, "QE MISCSELECT does not match the QE identity");
  }
  if (!Masked(q.qe_report.attributes, qe.attributes_mask, qe.attributes)) {
    return Fail(Check::kQeIdentityMatch, "QE ATTRIBUTES " + ToHex(q.qe_report.attributes) +
                                             " do not match the QE identity under its mask");
  }
  const IsvTcbLevel* qe_level = nullptr;
  for (const auto& l : qe.tcb_levels) {
    if (q.qe_report.isv_svn >= l.isv_svn) {
      qe_level = &l;
      break;
    }
  }
  if (qe_level == nullptr) {
    return Fail(Check::kQeIdentityMatch, "QE ISVSVN " + std::to_string(q.qe_report.isv_svn) +
                                             " is below every TCB level of the QE identity");
  }
  v.qe_status = qe_level->status;

  // The quote itself.
  const Result<pki::PkeyPtr>& key = qe_entry->attestation_key;
  if (!key.ok()) return VerifyError{Check::kQuoteSignature, key.status()};
  const Bytes signed_part = SerializeSignedPart(q);
  if (!pki::VerifyRawEcdsa(key->get(), signed_part, q.signature)) {
    return Fail(Check::kQuoteSignature,
                "quote signature does not verify with its attestation key over the " +
                    std::to_string(signed_part.size()) + " bytes of header and TD report");
  }

  // TDX module identity.
  const auto& tee = q.report.tee_tcb_svn;
  const std::uint8_t module_version = tee[1];
  const TdxModuleIdentity* module = nullptr;
  if (module_version > 0) {
    v.tdx_module_id = "TDX_" + HexByte(module_version);
    for (const auto& m : tcb.tdx_module_identities) {
      std::string id = m.id;
      std::transform(id.begin(), id.end(), id.begin(),
                     [](unsigned char c) { return std::toupper(c); });
      if (id == v.tdx_module_id) module = &m;
    }
    if (module == nullptr) {
      return Fail(Check::kTdxModuleIdentity,
                  "TCB info has no TDX module identity " + v.tdx_module_id);
    }
  } else if (tcb.tdx_module) {
    module = &*tcb.tdx_module;
  } else {
    return Fail(Check::kTdxModuleIdentity, "TCB info has no tdxModule");
  }
  if (q.report.mr_signer_seam != module->mr_signer) {
    return Fail(Check::kTdxModuleIdentity, "MRSIGNERSEAM " + ToHex(q.report.mr_signer_seam) +
                                               " is not the TDX module signer " +
                                               ToHex(module->mr_signer));
  }
  for (std::size_t i = 0; i < 8; ++i) {
    // Intel QVL requires SEAMATTRIBUTES to be zero and equal to the identity's attributes.
    if (q.report.seam_attributes[i] != 0 || module->attributes[i] != 0) {
      return Fail(Check::kTdxModuleIdentity, "SEAMATTRIBUTES " + ToHex(q.report.seam_attributes) +
                                                 " (expected " + ToHex(module->attributes) +
                                                 ", all zero)");
    }
  }
  if (module_version > 0) {
    const IsvTcbLevel* ml = nullptr;
    for (const auto& l : module->tcb_levels) {
      if (tee[0] >= l.isv_svn) {
        ml = &l;
        break;
      }
    }
    if (ml == nullptr) {
      return Fail(Check::kTdxModuleIdentity, "TDX module " + v.tdx_module_id + " SVN " +
                                                 std::to_string(tee[0]) +
                                                 " is below every TCB level of its identity");
    }
    v.tdx_module_status = ml->status;
  }

  // TCB level.
  const PlatformTcbLevel* level = nullptr;
  bool sgx_matched = false;
  for (const auto& l : tcb.tcb_levels) {
    bool sgx_ok = ext->pce_svn >= l.pce_svn;
    for (std::size_t i = 0; i < 16 && sgx_ok; ++i)
      sgx_ok = ext->sgx_components[i] >= l.sgx_components[i];
    if (!sgx_ok) continue;
    sgx_matched = true;
    bool tdx_ok = true;
    for (std::size_t i = module_version > 0 ? 2 : 0; i < 16 && tdx_ok; ++i) {
      tdx_ok = tee[i] >= l.tdx_components[i];
    }
    if (tdx_ok) {
      level = &l;
      break;
    }
  }
  if (level == nullptr) {
    return Fail(Check::kTcbLevel,
                std::string("TCB not supported: no TCB level matches the platform's ") +
                    (sgx_matched ? "TDX components (TEE_TCB_SVN " + ToHex(tee) + ")"
                                 : "SGX components and PCESVN (PCK certificate)"));
  }
  v.platform_status = level->status;
  v.tcb_date = level->tcb_date;
  TcbStatus status = level->status;
  if (v.tdx_module_status) status = ConvergeWithModule(status, *v.tdx_module_status);
  status = ConvergeWithQe(status, v.qe_status);
  v.status = status;
  std::set<std::string> ids(level->advisory_ids.begin(), level->advisory_ids.end());
  ids.insert(qe_level->advisory_ids.begin(), qe_level->advisory_ids.end());
  v.advisory_ids.assign(ids.begin(), ids.end());
  v.td_debug = (q.report.td_attributes[0] & 1) != 0;
  return v;
}

}  // namespace tdxrt
