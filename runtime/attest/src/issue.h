// Issuing side of the PKI plumbing (pki.h verifies): P-256 keys derived from a seed, ECDSA
// signatures with a nonce derived from the key and the message (so a seed and the same inputs
// give the same bytes), certificates and CRLs signed that way, and the DER of a PCK
// certificate's SGX extension. Used by the simulated TDX (sim_tdx.h: a development PKI that must
// be reproducible from its seed) and by the test quote builder. Internal to the attest library.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pki.h"

namespace tdxrt::pki {

// A P-256 key pair whose private scalar is derived from (seed, label): HMAC-SHA-512 reduced to
// [1, n-1]. Different labels give independent keys.
PkeyPtr DeriveP256Key(ByteSpan seed, std::string_view label);

// ECDSA P-256 over SHA-256(data), raw r||s. The nonce is HMAC-SHA-512(private key, digest)
// reduced to [1, n-1] (deterministic, in the spirit of RFC 6979): no randomness is needed and a
// nonce never repeats for different messages.
std::array<std::uint8_t, 64> SignP256(EVP_PKEY* key, ByteSpan data);

struct CertSpec {
  std::string cn;  // any bytes (a T61String): tests forge hostile names
  std::string organization;
  long serial = 1;
  std::int64_t not_before = 0;
  std::int64_t not_after = 0;
  bool ca = false;
  std::optional<Bytes> sgx_extension;  // DER of the SGX extension's value (PCK certificates)
  std::string subject_alt_name;        // e.g. "DNS:localhost,IP:127.0.0.1" (TLS servers)
};
// issuer == nullptr: self-signed with subject_key.
X509Ptr IssueCertificate(const CertSpec& spec, EVP_PKEY* subject_key, X509* issuer,
                         EVP_PKEY* issuer_key);

// A DER CRL of `issuer` listing `revoked` serials (revoked one hour before this_update).
Bytes IssueCrl(X509* issuer, EVP_PKEY* issuer_key, const std::vector<long>& revoked,
               std::int64_t this_update, std::int64_t next_update);

std::string CertPem(X509* cert);
std::string PrivateKeyPem(EVP_PKEY* key);

// The SGX extension (OID 1.2.840.113741.1.13.1) value for these fields (SGX Type: Standard).
Bytes SgxExtensionDer(const PckExtension& fields);

// x||y of a P-256 public key (what a quote carries as its attestation key).
std::array<std::uint8_t, 64> P256PublicRaw(EVP_PKEY* key);

}  // namespace tdxrt::pki
