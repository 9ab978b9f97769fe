// attest_bench: TDX quote verifications per second with warm collateral (a Verifier built once,
// as a committee server keeps it), against this machine's raw ECDSA P-256 verifications per
// second measured in the same run.
//
// Inputs: the real dcap-qvl quote and Intel collateral when ../shared is present (verified at
// 2025-07-01T00:00:00Z), otherwise a builder quote under a test root. The raw baseline is one
// EVP_DigestVerify (SHA-256 + ECDSA P-256) over a message of the quote's signed size with a
// fresh key. Method: paired blocks, median of kReps ratios (baseline_time / candidate_time per
// operation), because this shared VM changes speed from second to second.
//
// Also measured: a cold verification (Verifier::Create from the collateral, then Verify: parse
// the collateral and verify its chains and signatures every time), which is what verifiers
// without a kept state (dcap-qvl's verify()) do per quote; attest_peer.sh compares both with
// dcap-qvl's JavaScript and WebAssembly builds on the same quote.
#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <vector>

#include "bench_util.h"
#include "quote_builder.h"
#include "tdxrt/dcap.h"
#include "tdxrt/file.h"

namespace {

using bench::Median;
using bench::Seconds;

constexpr int kReps = 9;
constexpr int kBlock = 200;  // operations per timed block

}  // namespace

int main() {
  namespace fs = std::filesystem;
  const fs::path v = fs::path(TDX_SHARED_DIR) / "vectors/dcap-qvl";
  tdxrt::Bytes quote;
  tdxrt::Collateral collateral;
  std::string root;
  std::int64_t at = 0;
  const char* source = nullptr;
  if (fs::exists(v / "tdx_quote")) {
    quote = tdxrt::ReadFile(v / "tdx_quote").value();
    auto text = tdxrt::ReadFile(v / "tdx_quote_collateral.json").value();
    collateral = tdxrt::ParseCollateralJson(std::string(text.begin(), text.end())).value();
    at = tdxrt::ParseRfc3339("2025-07-01T00:00:00Z").value();
    source = "real dcap-qvl quote, Intel collateral";
  } else {
    tdxrt::testing::QuoteBuilder b;
    auto built = b.Build();
    quote = built.quote;
    collateral = built.collateral;
    root = built.root_pem;
    at = b.now;
    source = "builder quote, test root";
  }
  auto verifier = tdxrt::Verifier::Create(collateral, root);
  if (!verifier.ok()) {
    std::fprintf(stderr, "attest_bench: %s\n", verifier.status().message().c_str());
    return 1;
  }
  auto first = verifier->Verify(quote, at);
  if (!std::holds_alternative<tdxrt::Verdict>(first)) {
    std::fprintf(stderr, "attest_bench: %s\n",
                 tdxrt::FormatVerifyError(std::get<tdxrt::VerifyError>(first)).c_str());
    return 1;
  }

  // Raw baseline: ECDSA P-256 verify of a valid signature over 632 bytes.
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  std::vector<unsigned char> msg(632, 0x5a);
  std::vector<unsigned char> sig(80);
  std::size_t sig_len = sig.size();
  EVP_MD_CTX* sctx = EVP_MD_CTX_new();
  EVP_DigestSignInit(sctx, nullptr, EVP_sha256(), nullptr, key);
  EVP_DigestSign(sctx, sig.data(), &sig_len, msg.data(), msg.size());
  EVP_MD_CTX_free(sctx);
  volatile int sink = 0;
  auto raw_verify = [&] {
    EVP_MD_CTX* c = EVP_MD_CTX_new();
    EVP_DigestVerifyInit(c, nullptr, EVP_sha256(), nullptr, key);
    sink = sink + EVP_DigestVerify(c, sig.data(), sig_len, msg.data(), msg.size());
    EVP_MD_CTX_free(c);
  };
  auto quote_verify = [&] {
    auto r = verifier->Verify(quote, at);
    sink = sink + static_cast<int>(r.index());
  };

  auto cold_verify = [&] {
    auto fresh = tdxrt::Verifier::Create(collateral, root);
    auto r = fresh->Verify(quote, at);
    sink = sink + static_cast<int>(r.index());
  };

  std::vector<double> ratios, raw_rates, quote_rates, cold_rates;
  for (int rep = 0; rep < kReps; ++rep) {
    const double raw = Seconds([&] {
      for (int i = 0; i < kBlock; ++i) raw_verify();
    });
    const double q = Seconds([&] {
      for (int i = 0; i < kBlock; ++i) quote_verify();
    });
    constexpr int kColdBlock = 20;
    cold_rates.push_back(kColdBlock / Seconds([&] {
                           for (int i = 0; i < kColdBlock; ++i) cold_verify();
                         }));
    raw_rates.push_back(kBlock / raw);
    quote_rates.push_back(kBlock / q);
    ratios.push_back(raw / q);
  }
  EVP_PKEY_free(key);
  const double ratio = Median(ratios);
  std::printf("attest_bench (%s), %d paired blocks of %d\n", source, kReps, kBlock);
  std::printf("  raw ECDSA P-256 verify (SHA-256, 632 B): %8.0f /s (median)\n", Median(raw_rates));
  std::printf("  quote verification, warm collateral:     %8.0f /s (median)\n",
              Median(quote_rates));
  std::printf("  ratio quote/raw: %.3f  (one quote costs %.1f raw ECDSA verifies)\n", ratio,
              1.0 / ratio);
  std::printf("  cold verification (collateral parsed and checked each time): %8.0f /s (median)\n",
              Median(cold_rates));
  return sink == -1;
}
