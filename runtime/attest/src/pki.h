// OpenSSL plumbing for DCAP verification: PEM chains, CRLs, chain verification at a given time
// with CRLs, raw (r||s) ECDSA P-256 signatures, and the SGX extension of PCK certificates.
// Internal to the attest library; tests reach it through dcap.h and the quote builder.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tdxrt/bytes.h"

namespace tdxrt::pki {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct CrlFree {
  void operator()(X509_CRL* x) const { X509_CRL_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* x) const { EVP_PKEY_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using CrlPtr = std::unique_ptr<X509_CRL, CrlFree>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// Every certificate of a PEM text, in order. Text outside BEGIN/END blocks is an error, as is
// an empty chain.
Result<std::vector<X509Ptr>> ParsePemChain(std::string_view pem);
Result<X509Ptr> ParseCertificate(std::string_view pem_or_der);
// A CRL from DER bytes or PEM text.
Result<CrlPtr> ParseCrl(ByteSpan der_or_pem);

Bytes CertDer(X509* cert);
// The subject CN, escaped (tdxrt/text.h): it is the certificate's bytes, not ours.
std::string SubjectCn(X509* cert);
// The subject's O, raw (for comparisons; escape before printing).
std::string Organization(X509* cert);

// Verification is split into what does not depend on the time (signatures, path, CA
// constraints: checked once per collateral or PCK chain and cached) and what does (validity
// windows: checked on every verification). Together they are X.509 path validation at a time.

// Verifies that chain[0] leads to `root`: path, signatures and CA constraints, ignoring validity
// times. Revocation is the caller's (it knows which CRL covers which issuer). The chain may end
// in a copy of the root; any other self-signed certificate is refused. Messages name the
// certificate by position and CN.
Status VerifyChainSignatures(const std::vector<X509Ptr>& chain, X509* root);
// Every certificate of the chain, and the root, is valid at `at` (seconds since the epoch).
Status CheckChainTimes(const std::vector<X509Ptr>& chain, X509* root, std::int64_t at);

// The CRL is issued and signed by `issuer`.
Status CheckCrlSignature(X509_CRL* crl, X509* issuer);
// `at` lies in [thisUpdate, nextUpdate] of the CRL.
Status CheckCrlTimes(X509_CRL* crl, std::int64_t at);

// ECDSA P-256 over SHA-256 with the signature as 64 raw bytes (r||s, big-endian), the way
// quotes and Intel's signed JSON carry it.
bool VerifyRawEcdsa(EVP_PKEY* key, ByteSpan data, std::span<const std::uint8_t, 64> signature);
// A P-256 public key from its 64-byte x||y form (the quote's attestation key).
Result<PkeyPtr> P256KeyFromRaw(std::span<const std::uint8_t, 64> xy);

// SGX extension (OID 1.2.840.113741.1.13.1) of a PCK certificate.
struct PckExtension {
  std::array<std::uint8_t, 16> ppid{};
  std::array<std::uint8_t, 16> sgx_components{};  // TCB comp 01..16 SVNs
  std::uint16_t pce_svn = 0;
  std::array<std::uint8_t, 16> cpu_svn{};
  std::array<std::uint8_t, 2> pce_id{};
  std::array<std::uint8_t, 6> fmspc{};
};
Result<PckExtension> ParsePckExtension(X509* cert);

}  // namespace tdxrt::pki
