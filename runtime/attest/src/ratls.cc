// RA-TLS certificates and handshake verification (tdxrt/ratls.h).
#include "tdxrt/ratls.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "issue.h"
#include "pki.h"
#include "tdxrt/hex.h"
#include "tdxrt/sha.h"
#include "tdxrt/sim_tdx.h"
#include "tdxrt/text.h"

namespace tdxrt {
namespace {

std::int64_t SystemNow() { return static_cast<std::int64_t>(std::time(nullptr)); }

Bytes SpkiDer(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int n = i2d_PUBKEY(key, &der);
  if (n <= 0) return {};
  Bytes out(der, der + n);
  OPENSSL_free(der);
  return out;
}

// DER OCTET STRING of `content`, as the extension's value.
Bytes OctetStringDer(ByteSpan content) {
  ASN1_OCTET_STRING* s = ASN1_OCTET_STRING_new();
  ASN1_OCTET_STRING_set(s, content.data(), static_cast<int>(content.size()));
  unsigned char* der = nullptr;
  const int n = i2d_ASN1_OCTET_STRING(s, &der);
  Bytes out;
  if (n > 0) out.assign(der, der + n);
  OPENSSL_free(der);
  ASN1_OCTET_STRING_free(s);
  return out;
}

Status AddOpaqueExtension(X509* cert, const char* oid, ByteSpan value) {
  ASN1_OBJECT* obj = OBJ_txt2obj(oid, 1);
  const Bytes der = OctetStringDer(value);
  ASN1_OCTET_STRING* data = ASN1_OCTET_STRING_new();
  ASN1_OCTET_STRING_set(data, der.data(), static_cast<int>(der.size()));
  X509_EXTENSION* ext = X509_EXTENSION_create_by_OBJ(nullptr, obj, 0, data);
  const bool ok = ext != nullptr && X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  ASN1_OCTET_STRING_free(data);
  ASN1_OBJECT_free(obj);
  return ok ? Status::Ok() : Status::IoError(std::string("cannot add extension ") + oid);
}

Status AddExt(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  const bool ok = ext != nullptr && X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok ? Status::Ok() : Status::IoError("cannot add extension " + std::string(value));
}

// The content of the extension `oid`: one occurrence at most, a DER OCTET STRING filling the
// extension value exactly.
Result<std::optional<Bytes>> OpaqueExtension(X509* cert, const char* oid) {
  ASN1_OBJECT* obj = OBJ_txt2obj(oid, 1);
  const int at = X509_get_ext_by_OBJ(cert, obj, -1);
  const int again = at >= 0 ? X509_get_ext_by_OBJ(cert, obj, at) : -1;
  ASN1_OBJECT_free(obj);
  if (at < 0) return std::optional<Bytes>();
  const std::string what = std::string("extension ") + oid;
  if (again >= 0) return Status::Corrupt(what + " appears twice");
  const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(X509_get_ext(cert, at));
  const int len = ASN1_STRING_length(value);
  if (len < 0 || static_cast<std::size_t>(len) > kRatlsMaxExtension + 16) {
    return Status::Corrupt(what + " is larger than " + std::to_string(kRatlsMaxExtension) +
                           " bytes");
  }
  const unsigned char* p = ASN1_STRING_get0_data(value);
  const unsigned char* start = p;
  ASN1_OCTET_STRING* inner = d2i_ASN1_OCTET_STRING(nullptr, &p, len);
  if (inner == nullptr) return Status::Corrupt(what + ": not a DER OCTET STRING");
  const long used = p - start;
  Bytes content(ASN1_STRING_get0_data(inner),
                ASN1_STRING_get0_data(inner) + ASN1_STRING_length(inner));
  ASN1_OCTET_STRING_free(inner);
  if (used != len) {
    return Status::Corrupt(what + ": " + std::to_string(len - used) +
                           " bytes after its OCTET STRING");
  }
  return std::optional<Bytes>(std::move(content));
}

Result<std::vector<RuntimeEvent>> ParseEventLogArray(const Bytes& bytes) {
  auto j = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (j.is_discarded() || !j.is_array()) {
    return Status::Corrupt("the event log is not a JSON array");
  }
  std::string lines;
  for (const auto& e : j) lines += e.dump() + "\n";
  return ParseRuntimeEventLog(lines);
}

}  // namespace

ReportData RatlsReportData(ByteSpan spki_der) {
  static constexpr std::string_view kLabel = "ratls-cert:";
  Hasher h(Hasher::Algorithm::kSha512);
  h.Update(ByteSpan(reinterpret_cast<const std::uint8_t*>(kLabel.data()), kLabel.size()));
  h.Update(spki_der);
  const Bytes d = h.Final();
  ReportData out{};
  std::copy(d.begin(), d.end(), out.begin());
  return out;
}

Result<RatlsIdentity> MakeRatlsIdentity(QuoteProvider& provider, const RatlsCertOptions& o) {
  pki::PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return Status::IoError("cannot generate a P-256 key");
  const Bytes spki = SpkiDer(key.get());
  const ReportData rd = o.report_data_override ? *o.report_data_override : RatlsReportData(spki);
  TDX_ASSIGN_OR_RETURN(Bytes quote, provider.GetQuote(rd));

  pki::X509Ptr cert(X509_new());
  const std::int64_t nb = o.not_before != 0 ? o.not_before : SystemNow() - 3600;
  X509_set_version(cert.get(), 2);
  const Sha256Digest serial = Sha256(spki);
  BIGNUM* bn = BN_bin2bn(serial.data(), 16, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(nb));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(nb + o.validity));
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(o.common_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key.get());
  TDX_TRY(AddExt(cert.get(), NID_basic_constraints, "critical,CA:FALSE"));
  TDX_TRY(AddExt(cert.get(), NID_key_usage, "critical,digitalSignature"));
  TDX_TRY(AddExt(cert.get(), NID_ext_key_usage, "serverAuth,clientAuth"));
  TDX_TRY(AddOpaqueExtension(cert.get(), kRatlsQuoteOid, quote));
  if (o.event_log) {
    std::string array = "[";
    for (std::size_t i = 0; i < o.event_log->size(); ++i) {
      array += (i ? "," : "") + RuntimeEventLine((*o.event_log)[i]);
    }
    array += "]";
    TDX_TRY(AddOpaqueExtension(
        cert.get(), kRatlsEventLogOid,
        ByteSpan(reinterpret_cast<const std::uint8_t*>(array.data()), array.size())));
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) {
    return Status::IoError("cannot sign the RA-TLS certificate");
  }
  RatlsIdentity id;
  id.cert_pem = pki::CertPem(cert.get());
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  id.key_pem.assign(data, static_cast<std::size_t>(n));
  BIO_free(b);
  id.quote = std::move(quote);
  return id;
}

Result<RatlsEvidence> ReadRatlsCertificate(X509* cert) {
  RatlsEvidence out;
  TDX_ASSIGN_OR_RETURN(auto quote, OpaqueExtension(cert, kRatlsQuoteOid));
  if (!quote) {
    return Status::NotFound(std::string("not an RA-TLS certificate: no extension ") +
                            kRatlsQuoteOid + " (TDX quote)");
  }
  out.evidence = std::move(*quote);
  TDX_ASSIGN_OR_RETURN(auto log, OpaqueExtension(cert, kRatlsEventLogOid));
  if (log) {
    auto events = ParseEventLogArray(*log);
    if (!events.ok()) {
      return events.status().WithContext(std::string("extension ") + kRatlsEventLogOid);
    }
    out.event_log = std::move(events).value();
  }
  out.spki_der = SpkiDer(X509_get0_pubkey(cert));
  if (out.spki_der.empty()) return Status::Corrupt("the certificate has no usable public key");
  out.subject_cn = pki::SubjectCn(cert);
  return out;
}

Result<RatlsEvidence> ReadRatlsCertificate(ByteSpan pem_or_der) {
  auto cert = pki::ParseCertificate(
      std::string_view(reinterpret_cast<const char*>(pem_or_der.data()), pem_or_der.size()));
  if (!cert.ok()) return cert.status();
  return ReadRatlsCertificate(cert->get());
}

RatlsPeer VerifyRatlsCertificate(X509* cert, const RatlsPolicy& p) {
  RatlsPeer peer;
  auto refuse = [&](std::string check, std::string reason) {
    peer.admitted = false;
    peer.check = std::move(check);
    peer.reason = std::move(reason);
    return peer;
  };
  // 1. The certificate: RA-TLS extensions, self-signed by its key.
  auto ev = ReadRatlsCertificate(cert);
  if (!ev.ok()) return refuse("certificate", ev.status().message());
  peer.subject_cn = ev->subject_cn;
  if (X509_verify(cert, X509_get0_pubkey(cert)) != 1) {
    return refuse("certificate", "the certificate is not signed by its own key");
  }
  auto evidence = ParseEvidence(ev->evidence);
  if (!evidence.ok()) return refuse("quote", evidence.status().message());
  peer.evidence = *evidence;
  const std::int64_t at = p.clock ? p.clock() : SystemNow();
  // 2. The quote, DCAP-verified.
  if (evidence->quote) {
    if (!p.verifiers) return refuse("quote", "no collateral source to verify the quote with");
    auto verifier = p.verifiers(*evidence->quote);
    if (!verifier.ok()) return refuse("quote", "no collateral: " + verifier.status().message());
    auto r = (*verifier)->Verify(*evidence->quote, at);
    if (auto* e = std::get_if<VerifyError>(&r)) return refuse("quote", FormatVerifyError(*e));
    peer.verdict = std::get<Verdict>(r);
    peer.development = peer.verdict->development;
  }
  // 3. REPORTDATA binds this certificate's key.
  const ReportData expected = RatlsReportData(ev->spki_der);
  if (evidence->report.report_data != expected) {
    return refuse("binding", "REPORTDATA " + ToHex(evidence->report.report_data).substr(0, 16) +
                                 "... is not SHA-512(\"ratls-cert:\" || the certificate's public "
                                 "key) " +
                                 ToHex(expected).substr(0, 16) +
                                 "...: the quote was made for another key");
  }
  // 4 and 5. The event log replays (inside Evaluate), and the policy admits.
  peer.decision = Evaluate(p.policy, peer.evidence, peer.verdict ? &*peer.verdict : nullptr,
                           ev->event_log ? &*ev->event_log : nullptr);
  if (!peer.decision.admitted) {
    std::string why;
    for (const auto& r : peer.decision.reasons) why += (why.empty() ? "" : "; ") + r;
    return refuse(peer.decision.failed_rule == "rtmr3.replay" ? "event-log" : "policy", why);
  }
  peer.admitted = true;
  return peer;
}

namespace {

int PeerIndex() {
  static const int index = SSL_get_ex_new_index(
      0, nullptr, nullptr, nullptr, [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
        delete static_cast<RatlsPeer*>(ptr);
      });
  return index;
}

struct PolicyHolder {
  std::shared_ptr<const RatlsPolicy> policy;
};

int VerifyCallback(X509_STORE_CTX* store, void* arg) {
  const auto* holder = static_cast<const PolicyHolder*>(arg);
  SSL* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  X509* cert = X509_STORE_CTX_get0_cert(store);
  auto* peer =
      new RatlsPeer(cert != nullptr ? VerifyRatlsCertificate(cert, *holder->policy) : RatlsPeer{});
  if (cert == nullptr) {
    peer->check = "certificate";
    peer->reason = "the peer sent no certificate";
  }
  const bool ok = peer->admitted;
  if (ssl != nullptr) {
    delete static_cast<RatlsPeer*>(SSL_get_ex_data(ssl, PeerIndex()));
    SSL_set_ex_data(ssl, PeerIndex(), peer);
  } else {
    delete peer;
  }
  if (!ok) X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
  return ok ? 1 : 0;
}

int HolderIndex() {
  static const int index = SSL_CTX_get_ex_new_index(
      0, nullptr, nullptr, nullptr, [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
        delete static_cast<PolicyHolder*>(ptr);
      });
  return index;
}

}  // namespace

Status UseRatlsIdentity(SSL_CTX* ctx, const RatlsIdentity& id) {
  auto cert = pki::ParseCertificate(id.cert_pem);
  if (!cert.ok()) return cert.status();
  BIO* b = BIO_new_mem_buf(id.key_pem.data(), static_cast<int>(id.key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  if (key == nullptr) return Status::Corrupt("the RA-TLS key is not a PEM private key");
  const bool ok = SSL_CTX_use_certificate(ctx, cert->get()) == 1 &&
                  SSL_CTX_use_PrivateKey(ctx, key) == 1 && SSL_CTX_check_private_key(ctx) == 1;
  EVP_PKEY_free(key);
  if (!ok) return Status::Mismatch("the RA-TLS key does not match its certificate");
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  return Status::Ok();
}

void RequireRatlsPeer(SSL_CTX* ctx, std::shared_ptr<const RatlsPolicy> policy) {
  auto* holder = new PolicyHolder{std::move(policy)};
  delete static_cast<PolicyHolder*>(SSL_CTX_get_ex_data(ctx, HolderIndex()));
  SSL_CTX_set_ex_data(ctx, HolderIndex(), holder);
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_cert_verify_callback(ctx, VerifyCallback, holder);
}

const RatlsPeer* RatlsPeerOf(const SSL* ssl) {
  return static_cast<const RatlsPeer*>(SSL_get_ex_data(ssl, PeerIndex()));
}

}  // namespace tdxrt
