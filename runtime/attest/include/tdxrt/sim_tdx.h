// Simulated TDX for development and CI: quotes in the real format (v4, ECDSA P-256, QE report
// certification data, PCK chain), signed by a development PKI instead of Intel's, carrying the
// measurement registers the caller states, and the collateral (TCB info, QE identity, CRLs) that
// verifies them. CI exercises the whole TDX-gated path with it: DCAP verification, the PCCS
// client and cache, policies, RA-TLS.
//
// Never trusted by default. The development root is not Intel's, so the shipped trust anchor
// refuses every such quote (pck.chain); a verifier admits them only when the development root is
// configured explicitly (--root-ca / trusted_root_pem). Every certificate of the PKI has the
// organization kDevPkiOrganization and "DEVELOPMENT" in its CN, and IsDevelopmentQuote lets
// `show`/`verify` label such quotes loudly. That label informs humans; trust is only ever
// decided by the configured root.
//
// The PKI is derived from a seed: the same seed gives the same keys, certificates (byte for
// byte), quotes and collateral, so a CI job and a developer can pin the development root by its
// SHA-256. Layout: Root CA -> PCK Platform CA -> PCK certificate (SGX extension: FMSPC
// kDevFmspc, PCE-ID 0000, TCB components); Root CA -> TCB Signing certificate (signs TCB info and
// QE identity); the QE's attestation key and report are derived from the seed too.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "tdxrt/collateral.h"
#include "tdxrt/provider.h"
#include "tdxrt/quote.h"

namespace tdxrt {

inline constexpr std::string_view kDevPkiOrganization = "tdxrt DEVELOPMENT PKI - NOT INTEL";
inline constexpr std::array<std::uint8_t, 6> kDevFmspc = {0xde, 0x70, 0x00, 0x00, 0x00, 0x00};

class DevPki {
 public:
  // Any non-empty seed; the same seed always gives the same PKI.
  static Result<DevPki> FromSeed(std::string_view seed);

  const std::string& RootPem() const;
  std::string RootSha256() const;  // of the root certificate's DER, lowercase hex
  const std::string& Seed() const;

  // A TD report with the TDX module and TD fields of a typical production TD (TEE_TCB_SVN of
  // an UpToDate level, SEPT_VE_DISABLE set, debug off, XFAM of AVX-512 guests) and all
  // measurement registers zero: callers set MRTD, RTMRs, REPORTDATA.
  static TdReport DefaultReport();

  // A v4 quote (TD report 1.0) carrying `report`, signed by the PKI's attestation key.
  Bytes MakeQuote(const TdReport& report) const;

  // TCB info, QE identity and CRLs valid from `issued` for `lifetime` seconds (Intel issues for
  // 30 days). The TCB info has two levels: the quote's (UpToDate) and an older OutOfDate one.
  Collateral MakeCollateral(std::int64_t issued, std::int64_t lifetime = 30 * 86400) const;

  DevPki(DevPki&&) noexcept;
  DevPki& operator=(DevPki&&) noexcept;
  ~DevPki();

 private:
  struct State;
  explicit DevPki(std::unique_ptr<State> state);
  std::unique_ptr<State> s_;
};

// Sets the measurements an image's development evidence claims (mock or simulated quotes):
// MRTD (single-pass), RTMR1 and RTMR2 from `source`, which is either the image's
// <name>-measurements.json (tdximage build) or inline text "mr_td=HEX rtmr1=HEX rtmr2=HEX"
// (spaces or commas between; any of rtmr0..rtmr2 may be given), as a host passes it at launch.
Status ClaimImageMeasurements(std::string_view source, TdReport& report);

// The quote's PCK chain was issued by a development PKI (a certificate of it carries
// kDevPkiOrganization). For labels only; see the header comment.
bool IsDevelopmentQuote(const Quote& quote);

// Quotes from a DevPki for a fixed identity (DefaultReport() with the caller's measurements);
// each GetQuote sets REPORTDATA.
class SimulatedTdxProvider : public QuoteProvider {
 public:
  SimulatedTdxProvider(std::shared_ptr<const DevPki> pki, TdReport identity)
      : pki_(std::move(pki)), identity_(identity) {}
  Result<Bytes> GetQuote(const ReportData& report_data) override;
  std::string Name() const override { return "simulated-tdx"; }

 private:
  std::shared_ptr<const DevPki> pki_;
  TdReport identity_;
};

}  // namespace tdxrt
