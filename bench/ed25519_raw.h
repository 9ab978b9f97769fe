// The raw baseline of the zipnet benchmarks' signature figures: one OpenSSL Ed25519 verify of a
// 32-byte digest with a key decoded once, on one thread, as fast as this machine does it.
#pragma once

#include <openssl/evp.h>

#include <cstdio>
#include <vector>

#include "bench_util.h"
#include "zipnet/crypto.h"

namespace bench {

// Seconds per verify: the median of 5 runs of `n`.
inline double RawEd25519Verify(zipnet::DeterministicRng& rng, int n = 200) {
  const zipnet::Ed25519KeyPair id = zipnet::Ed25519Generate(rng);
  zipnet::Hash digest{};
  rng.Fill(digest);
  const zipnet::Signature sig = zipnet::Ed25519Sign(id.seed, digest);
  EVP_PKEY* pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, id.public_key.data(),
                                               id.public_key.size());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  int ok = 0;
  std::vector<double> t;
  for (int rep = 0; rep < 5; ++rep) {
    t.push_back(Seconds([&] {
                  for (int i = 0; i < n; ++i) {
                    EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, pkey);
                    ok +=
                        EVP_DigestVerify(ctx, sig.data(), sig.size(), digest.data(), digest.size());
                  }
                }) /
                n);
  }
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  if (ok != 5 * n) std::printf("   (raw verify failed)\n");
  return Median(t);
}

}  // namespace bench
