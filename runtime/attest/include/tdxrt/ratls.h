// RA-TLS: TLS certificates that carry a TDX quote binding the certificate's key, so a peer
// proves in the handshake itself which image it runs and that the TLS key was born in that TD.
//
// Format (dstack's, so either tool reads the other's certificates):
//   extension 1.3.6.1.4.1.62397.1.1 (non-critical): DER OCTET STRING of the quote
//   extension 1.3.6.1.4.1.62397.1.2 (optional):     DER OCTET STRING of the RTMR3 event log, a
//                                                   JSON array of rtmr.h event objects
//   REPORTDATA = SHA-512( "ratls-cert:" || DER SubjectPublicKeyInfo of the certificate )
// The certificate is self-signed by that key (ECDSA P-256); the TLS handshake proves the peer
// holds it. Nothing about the certificate chain is trusted: a peer is admitted only when its
// quote verifies (DCAP, against the configured root and collateral), REPORTDATA binds the
// certificate's key, the self-signature holds, the event log (if any) replays to RTMR3, and the
// measurement policy admits it.
//
// Library use: MakeRatlsIdentity inside a TD (any QuoteProvider: configfs-tsm; simulated or mock
// for development); UseRatlsIdentity + RequireRatlsPeer on an SSL_CTX, for servers and clients
// (mutual attestation is both on both sides); RatlsPeerOf after the handshake says what the peer
// proved, or which check refused it. TLS 1.3 only.
#pragma once

#include <openssl/ssl.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tdxrt/dcap.h"
#include "tdxrt/evidence.h"
#include "tdxrt/policy.h"
#include "tdxrt/provider.h"
#include "tdxrt/rtmr.h"

namespace tdxrt {

inline constexpr char kRatlsQuoteOid[] = "1.3.6.1.4.1.62397.1.1";
inline constexpr char kRatlsEventLogOid[] = "1.3.6.1.4.1.62397.1.2";
inline constexpr std::size_t kRatlsMaxExtension = 1 << 20;

ReportData RatlsReportData(ByteSpan spki_der);

struct RatlsIdentity {
  std::string cert_pem;
  std::string key_pem;
  Bytes quote;
};

struct RatlsCertOptions {
  std::string common_name = "tdxrt-ratls";
  std::int64_t not_before = 0;  // 0: now - 1 h
  std::int64_t validity = 7 * 86400;
  std::optional<std::vector<RuntimeEvent>> event_log;
  // Development only (simulated/mock providers, tests): claim this REPORTDATA instead of the
  // binding, to show that verifiers refuse it.
  std::optional<ReportData> report_data_override;
};

// A fresh P-256 key, a quote from `provider` binding its SPKI, and the self-signed certificate.
Result<RatlsIdentity> MakeRatlsIdentity(QuoteProvider& provider, const RatlsCertOptions& options);

// What a certificate carries (untrusted: every length checked, errors name the extension).
struct RatlsEvidence {
  Bytes evidence;  // quote or mock evidence
  std::optional<std::vector<RuntimeEvent>> event_log;
  Bytes spki_der;
  std::string subject_cn;
};
Result<RatlsEvidence> ReadRatlsCertificate(X509* cert);
// PEM or DER text of one certificate.
Result<RatlsEvidence> ReadRatlsCertificate(ByteSpan pem_or_der);

struct RatlsPolicy {
  Policy policy;
  VerifierSource verifiers;             // may be empty when the policy admits only mock evidence
  std::function<std::int64_t()> clock;  // verification time; default the system clock
};

struct RatlsPeer {
  bool admitted = false;
  std::string check;   // when refused: "certificate", "quote", "binding", "event-log", "policy"
  std::string reason;  // one line
  Evidence evidence;
  std::optional<Verdict> verdict;
  Decision decision;
  bool development = false;  // the quote was signed by a development PKI (sim_tdx.h)
  std::string subject_cn;
};

// The whole check of a peer certificate (see the header comment), in that order.
RatlsPeer VerifyRatlsCertificate(X509* cert, const RatlsPolicy& policy);

// SSL_CTX plumbing. UseRatlsIdentity sets the certificate and key and TLS 1.3 only;
// RequireRatlsPeer makes the context demand a peer certificate and replaces certificate-chain
// verification with VerifyRatlsCertificate; the handshake fails when it refuses.
Status UseRatlsIdentity(SSL_CTX* ctx, const RatlsIdentity& identity);
void RequireRatlsPeer(SSL_CTX* ctx, std::shared_ptr<const RatlsPolicy> policy);
// After a handshake (or a failed one): what VerifyRatlsCertificate said; nullptr when it did
// not run.
const RatlsPeer* RatlsPeerOf(const SSL* ssl);

}  // namespace tdxrt
