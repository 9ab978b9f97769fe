// A program's verifier of quotes, from its configuration: the DCAP collateral of one platform
// (a file, or the JSON itself: it is signed data, checked against the root, so it may come from
// anywhere, a host's command line included), or a PCS/PCCS URL whose collateral is fetched per
// platform (the quote's FMSPC and PCK CA) and cached (tdxrt/pccs_client.h: refreshed before it
// expires, never replaced by collateral that fails its checks). Either way every chain must
// reach the configured root (Intel's SGX Root CA unless a PEM file is given).
//
// tdx-attest (verify, appraise, ratls) and the zipnet nodes share this, so one setting means the
// same thing everywhere. Both a collateral and a URL is an error: nothing falls back silently
// from one to the other.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "tdxrt/dcap.h"
#include "tdxrt/pccs_client.h"

namespace tdxrt {

inline constexpr std::uint64_t kMaxCollateralFile = 16 << 20;

struct VerifierConfig {
  std::string collateral;               // a file, or inline JSON ("{...}")
  std::string collateral_name;          // names inline JSON in errors (e.g. its setting)
  std::string pccs_url;                 // http(s)://host:port of a PCS or PCCS
  std::string pccs_ca_file;             // HTTPS CAs for the PCCS (default: the system's)
  std::string root_ca_file;             // PEM; empty: Intel's SGX Root CA
  std::function<std::int64_t()> clock;  // the cache's "now" (default: the system clock)
  // Fetch limits (PcsClientOptions); a node judging a peer waits for at most
  // attempts x timeout plus the backoffs.
  std::chrono::milliseconds pccs_timeout{30000};
  int pccs_attempts = 3;
};

// The root CA's PEM text; empty for an empty path (Intel's).
Result<std::string> ReadRootCa(const std::string& file);

// One collateral (file or inline JSON) checked in against `root_pem` (empty: Intel's). Errors
// name the file (or `inline_name`).
Result<Verifier> LoadVerifier(const std::string& collateral, const std::string& root_pem,
                              const std::string& inline_name = "inline collateral JSON");

// Verifiers from `cache`, for the platform each quote names.
VerifierSource VerifierSourceOf(std::shared_ptr<CollateralCache> cache);

// An empty source when neither a collateral nor a URL is configured (no quote can then be
// verified); an error when both are.
Result<VerifierSource> MakeVerifierSource(const VerifierConfig& config);

}  // namespace tdxrt
