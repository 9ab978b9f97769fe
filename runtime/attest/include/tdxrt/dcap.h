// DCAP verification of TDX quotes, offline, with OpenSSL: given Intel PCS collateral and a
// verification time, decide whether a quote is genuine and which TCB status Intel gives it.
//
// The checks, in the order they run (each failure names its check, see CheckName):
//   tcb-info.validity      issueDate <= time <= nextUpdate of the TCB info
//   qe-identity.validity   same for the QE identity
//   root-ca.crl            root CA CRL signed by the trusted root, current at the time
//   tcb-info.chain         TCB signing chain to the trusted root, not revoked
//   tcb-info.signature     ECDSA signature over the exact TCB info text
//   qe-identity.chain      QE identity signing chain to the trusted root, not revoked
//   qe-identity.signature  ECDSA signature over the exact QE identity text
//   pck-crl                PCK CRL issuer chain to the root; CRL signed by it and current
//   pck.chain              the quote's PCK chain to the trusted root at the time
//   pck.revocation         PCK certificate not on the PCK CRL, its CA not on the root CA CRL
//   pck.extension          the PCK certificate's SGX extension (FMSPC, PCE-ID, TCB)
//   tcb-info.match         TCB info is for TDX (id "TDX", version >= 3), FMSPC and PCE-ID match
//   qe-report.signature    QE report signed by the PCK key
//   qe-report.data         QE report data = SHA-256(attestation key || QE auth data) || zeros
//   qe-identity.match      QE MRSIGNER, ISVPRODID, MISCSELECT and ATTRIBUTES (masked) match
//                          the TD_QE identity; QE TCB level by ISVSVN
//   quote.signature        attestation-key ECDSA signature over header (+ v5 descriptor) + body
//   tdx-module.identity    MRSIGNERSEAM and SEAMATTRIBUTES match the TDX module identity
//                          (TDX_<minor> from TEE_TCB_SVN[1] when non-zero, else tdxModule)
//   tcb.level              first TCB level with every SGX component, PCESVN and TDX component
//                          (from index 2 when TEE_TCB_SVN[1] > 0) at or above it; its status
//                          converged with the TDX module's and the QE's (Intel QVL rules)
//
// Deliberately not done: TD 1.5 relaunch advice (TDRelaunchAdvised); the TD's own attributes
// (debug) are reported in the verdict and judged by the measurement policy, not here.
//
// Thread safety: a Verifier is immutable after Create and may be shared between threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tdxrt/collateral.h"
#include "tdxrt/quote.h"

namespace tdxrt {

// The shipped trust anchor (intel_root_ca.cc) and the SHA-256 of its DER form, lowercase hex.
extern const char kIntelSgxRootCaPem[];
extern const char kIntelSgxRootCaSha256[];

enum class Check {
  kTcbInfoValidity,
  kQeIdentityValidity,
  kRootCaCrl,
  kTcbInfoChain,
  kTcbInfoSignature,
  kQeIdentityChain,
  kQeIdentitySignature,
  kPckCrl,
  kPckChain,
  kPckRevocation,
  kPckExtension,
  kTcbInfoMatch,
  kQeReportSignature,
  kQeReportData,
  kQeIdentityMatch,
  kQuoteSignature,
  kTdxModuleIdentity,
  kTcbLevel,
  // Not a verification step: the inputs themselves are malformed.
  kQuoteFormat,
  kCollateralFormat,
};
std::string_view CheckName(Check check);

struct Verdict {
  TcbStatus status = TcbStatus::kUpToDate;           // final, after convergence
  std::vector<std::string> advisory_ids;             // sorted, unique
  TcbStatus platform_status = TcbStatus::kUpToDate;  // the matched TCB level's own status
  std::int64_t tcb_date = 0;
  std::string tdx_module_id;  // "TDX_03", or "" when TEE_TCB_SVN[1] is 0
  std::optional<TcbStatus> tdx_module_status;
  TcbStatus qe_status = TcbStatus::kUpToDate;
  std::array<std::uint8_t, 6> fmspc{};
  std::array<std::uint8_t, 16> ppid{};
  std::uint16_t pce_svn = 0;           // from the PCK certificate (not the quote header)
  int tcb_evaluation_data_number = 0;  // of the TCB info
  std::int64_t tcb_info_issued = 0;    // the TCB info's issueDate
  std::int64_t verified_at = 0;
  std::int64_t collateral_expires = 0;  // earliest nextUpdate among TCB info, QE identity, CRLs
  bool td_debug = false;                // TDATTRIBUTES.TUD.DEBUG (bit 0)
  // The PCK chain is a development PKI's (sim_tdx.h): only possible under a root given
  // explicitly. A label, decided once per PCK chain.
  bool development = false;
};

// A failed verification: which check, and why.
struct VerifyError {
  Check check;
  Status status;
};

class Verifier {
 public:
  // Parses and keeps the collateral. trusted_root_pem empty means the shipped Intel SGX Root CA
  // (its fingerprint is checked against kIntelSgxRootCaSha256). Tests pass their own root.
  static Result<Verifier> Create(const Collateral& collateral,
                                 std::string_view trusted_root_pem = {});

  // Verifies at `at` (seconds since the epoch). On failure returns the failing check.
  std::variant<Verdict, VerifyError> Verify(const Quote& quote, std::int64_t at) const;
  // Parses first (kQuoteFormat on malformed bytes).
  std::variant<Verdict, VerifyError> Verify(ByteSpan quote, std::int64_t at) const;

  // The checks of the collateral alone (validity windows, root CA CRL, issuer chains,
  // signatures, PCK CRL) at `at`: what a cache runs before it keeps or serves collateral.
  std::optional<VerifyError> CheckCollateral(std::int64_t at) const;
  // The earliest nextUpdate among TCB info, QE identity and both CRLs.
  std::int64_t CollateralExpires() const;
  // The collateral this verifier was made from.
  const Collateral& collateral() const;
  const TcbInfo& tcb_info() const;

  Verifier(Verifier&&) noexcept;
  Verifier& operator=(Verifier&&) noexcept;
  ~Verifier();

 private:
  struct State;
  explicit Verifier(std::unique_ptr<State> state);
  std::unique_ptr<State> s_;
};

// "tcb.level: ..." style one-line text of an error.
std::string FormatVerifyError(const VerifyError& error);

// Where the verifier for a quote comes from: one fixed collateral, or a CollateralCache that
// fetches the quote's platform's (tdxrt/verifier_source.h makes either from a configuration).
using VerifierSource = std::function<Result<std::shared_ptr<const Verifier>>(const Quote&)>;

}  // namespace tdxrt
