// Test quote builder: makes a valid TDX quote and matching collateral under its own P-256 test
// PKI (root CA, PCK platform CA, PCK certificate with an SGX extension, TCB signing certificate,
// CRLs), so that a test can break exactly one thing and see exactly one check fail.
//
// Nothing here is Intel's: the root CA is generated per builder and given to the Verifier
// through its trusted-root parameter. Keys are generated with OpenSSL at construction (a few ms).
//
// Usage: construct, edit the public knobs (quote fields, TCB info JSON, CRL contents, ...),
// then call Build(). Build() re-signs everything from the knobs, unless a knob says not to.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pki.h"
#include "tdxrt/collateral.h"
#include "tdxrt/quote.h"

namespace tdxrt::testing {

struct BuiltAttestation {
  Bytes quote;
  Collateral collateral;
  std::string root_pem;
};

class QuoteBuilder {
 public:
  QuoteBuilder();

  // --- knobs ---
  // The verification time tests use; certificates, CRLs and collateral are valid around it.
  std::int64_t now = 1751328000;  // 2025-07-01T00:00:00Z
  Quote quote;                    // header and TD report; auth data is filled by Build()
  // PCK certificate SGX extension.
  std::array<std::uint8_t, 6> fmspc = {0x00, 0x90, 0x6e, 0xd5, 0x00, 0x00};
  std::array<std::uint8_t, 2> pce_id = {0, 0};
  std::array<std::uint8_t, 16> sgx_components = {2, 2, 2, 2, 3, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0};
  std::uint16_t pce_svn = 11;
  std::string pck_cn = "Test SGX PCK Certificate";  // any bytes: hostile names in tests
  // Signed JSON, editable before Build().
  nlohmann::ordered_json tcb_info;
  nlohmann::ordered_json qe_identity;
  std::vector<long> revoked_pck_serials;        // the PCK certificate has serial 0x5eed
  std::int64_t tcb_info_issue_offset = -86400;  // relative to now
  std::int64_t tcb_info_next_offset = 29 * 86400;
  std::int64_t pck_valid_after_now = 5 * 365L * 86400;  // the PCK certificate's notAfter
  // Deliberate breakage that re-signing would otherwise repair.
  bool corrupt_qe_report_data = false;    // QE report data no longer binds the attestation key
  bool sign_pck_with_foreign_ca = false;  // PCK chain does not lead to the test root
  bool corrupt_tcb_info_signature = false;

  BuiltAttestation Build();

  // Helpers usable on their own.
  static std::array<std::uint8_t, 64> SignRaw(EVP_PKEY* key, ByteSpan data);
  static long kPckSerial;

 private:
  pki::PkeyPtr root_key_, ca_key_, pck_key_, tcb_key_, att_key_, foreign_key_;
  pki::X509Ptr root_, ca_, tcb_signer_, foreign_ca_;
};

}  // namespace tdxrt::testing
