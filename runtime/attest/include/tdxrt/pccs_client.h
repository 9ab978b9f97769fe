// Collateral from Intel's PCS or a PCCS (libcurl), and a cache for long-running verifiers.
//
// PcsClient fetches the TDX collateral of one platform (FMSPC, PCK CA) in the PCS API v4 shape
// (tdxrt/pcs.h): TCB info, QE identity, PCK CRL, root CA CRL, with the issuer chains from the
// response headers. HTTPS uses the system CA store unless a CA file is pinned. Each GET has a
// connect and a total timeout; network errors, HTTP 5xx and 429 are retried with exponential
// backoff, other statuses are not. Errors name the URL and the HTTP status. Nothing fetched is
// trusted: whoever uses it verifies it (Verifier::CheckCollateral).
//
// When the PCCS has no rootcacrl endpoint (Intel's PCS does not: it answers 404), the root CA CRL
// is fetched from the CRL distribution point of the root certificate in the TCB info chain.
//
// CollateralCache keeps, per (FMSPC, PCK CA), the last collateral that passed its own checks
// against the configured root, and hands out a Verifier for it:
//   - an entry younger than refresh_interval and not within refresh_margin of its nextUpdate is
//     served as is;
//   - otherwise it is refetched; a fetched collateral that fails any collateral check is refused
//     (the error names the check) and never replaces a good entry;
//   - when the fetch fails, the last good entry is served while it is at most max_staleness old
//     (since it was fetched) and still current; after that the error names both the fetch error
//     and the age;
//   - with a directory, good entries are also written there (atomically) and read back after a
//     restart, re-checked like a fetch.
// GetForQuote keeps which platform each PCK chain it saw names (parsing a chain costs more than
// verifying a quote whose chain the Verifier already knows), at most 256 chains.
// Thread-safe; one fetch at a time per cache.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "tdxrt/collateral.h"
#include "tdxrt/dcap.h"
#include "tdxrt/pcs.h"

namespace tdxrt {

struct PcsClientOptions {
  std::string base_url;  // e.g. https://pccs.example:8081 (a trailing /sgx|tdx/certification/v4
                         // is dropped)
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{30000};  // per request, all included
  int attempts = 3;                          // per URL
  std::chrono::milliseconds backoff{250};    // before the 2nd attempt; doubled after each
  std::string ca_file;                       // pin these CAs for HTTPS instead of the system's
  std::size_t max_body = 4 << 20;
};

class PcsClient {
 public:
  explicit PcsClient(PcsClientOptions options);
  Result<Collateral> Fetch(const std::array<std::uint8_t, 6>& fmspc, PckCa ca) const;
  Result<Collateral> FetchForQuote(const Quote& quote) const;
  const PcsClientOptions& options() const { return options_; }

 private:
  PcsClientOptions options_;
  std::string base_;
};

struct CollateralCacheOptions {
  std::string trusted_root_pem;  // empty: the shipped Intel SGX Root CA
  std::int64_t refresh_interval = 3600;
  std::int64_t refresh_margin = 86400;
  std::int64_t max_staleness = 7 * 86400;
  std::filesystem::path directory;      // empty: memory only
  std::function<std::int64_t()> clock;  // seconds since the epoch; default: the system clock
};

struct CachedCollateral {
  std::shared_ptr<const Verifier> verifier;
  std::int64_t fetched_at = 0;
  bool stale = false;         // served because the PCCS was unreachable
  std::string refresh_error;  // why, when stale
};

class CollateralCache {
 public:
  // fetch: normally PcsClient::Fetch; tests may wrap it to count calls.
  using Fetcher = std::function<Result<Collateral>(const std::array<std::uint8_t, 6>&, PckCa)>;
  CollateralCache(Fetcher fetch, CollateralCacheOptions options);
  static Fetcher FromClient(std::shared_ptr<const PcsClient> client);

  Result<CachedCollateral> Get(const std::array<std::uint8_t, 6>& fmspc, PckCa ca);
  Result<CachedCollateral> GetForQuote(const Quote& quote);

 private:
  struct Entry {
    std::shared_ptr<const Verifier> verifier;
    std::int64_t fetched_at = 0;
  };
  std::int64_t Now() const;
  Result<Entry> Admit(const Collateral& c, std::int64_t now, const std::string& from) const;
  std::filesystem::path FileFor(const std::array<std::uint8_t, 6>& fmspc, PckCa ca) const;

  Fetcher fetch_;
  CollateralCacheOptions options_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
  std::map<std::string, PckIdentity> identities_;  // by PCK chain PEM
};

}  // namespace tdxrt
