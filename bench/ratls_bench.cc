// ratls_bench: RA-TLS handshakes per second against plain TLS 1.3 handshakes, in the same run.
//
// Both are complete TLS 1.3 handshakes in memory (a BIO pair, one thread: no network in the
// figure), with an ECDSA P-256 server certificate. Plain: the client does not check the
// certificate (the cheapest TLS 1.3 handshake there is, so the ratio is conservative). RA-TLS:
// the client runs VerifyRatlsCertificate on the server's simulated-TDX certificate (quote DCAP
// verification with a warm Verifier, key binding, policy) — server-only attestation, the common
// case; mutual attestation costs the same again on the server side. Paired blocks, median of 9
// ratios, because this shared VM changes speed from second to second.
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstdio>
#include <memory>

#include "bench_util.h"
#include "tdxrt/ratls.h"
#include "tdxrt/sim_tdx.h"

namespace {

using bench::Median;
using bench::Seconds;

constexpr int kReps = 9;
constexpr int kBlock = 100;
constexpr std::int64_t kIssued = 1798761600;  // 2027-01-01T00:00:00Z

struct CtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};

bool Handshake(SSL_CTX* cctx, SSL_CTX* sctx) {
  SSL* c = SSL_new(cctx);
  SSL* s = SSL_new(sctx);
  BIO *a = nullptr, *b = nullptr;
  BIO_new_bio_pair(&a, 0, &b, 0);
  SSL_set_bio(c, a, a);
  SSL_set_bio(s, b, b);
  SSL_set_connect_state(c);
  SSL_set_accept_state(s);
  bool cdone = false, sdone = false, failed = false;
  for (int i = 0; i < 50 && !(cdone && sdone) && !failed; ++i) {
    for (SSL* x : {c, s}) {
      bool& done = x == c ? cdone : sdone;
      if (done) continue;
      const int r = SSL_do_handshake(x);
      if (r == 1) {
        done = true;
      } else {
        const int e = SSL_get_error(x, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) failed = true;
      }
    }
  }
  SSL_free(c);
  SSL_free(s);
  ERR_clear_error();
  return cdone && sdone && !failed;
}

}  // namespace

int main() {
  auto pki =
      std::make_shared<const tdxrt::DevPki>(std::move(tdxrt::DevPki::FromSeed("bench").value()));
  tdxrt::TdReport id = tdxrt::DevPki::DefaultReport();
  id.mr_td.fill(0x4c);
  tdxrt::SimulatedTdxProvider provider(pki, id);
  tdxrt::RatlsCertOptions o;
  o.not_before = kIssued;
  auto identity = tdxrt::MakeRatlsIdentity(provider, o);
  auto verifier = tdxrt::Verifier::Create(pki->MakeCollateral(kIssued), pki->RootPem());
  if (!identity.ok() || !verifier.ok()) {
    std::fprintf(stderr, "ratls_bench: setup failed\n");
    return 1;
  }
  auto policy = std::make_shared<tdxrt::RatlsPolicy>();
  policy->policy = tdxrt::ParsePolicy("version: 1\nsets:\n  - {name: b, mr_td: \"" +
                                          std::string(96, 'c') + "\"}\n",
                                      "bench.yaml")
                       .value();
  policy->policy.sets[0].mr_td.fill(0x4c);
  auto shared = std::make_shared<const tdxrt::Verifier>(std::move(verifier).value());
  policy->verifiers =
      [shared](const tdxrt::Quote&) -> tdxrt::Result<std::shared_ptr<const tdxrt::Verifier>> {
    return shared;
  };
  policy->clock = [] { return kIssued + 86400; };

  std::unique_ptr<SSL_CTX, CtxFree> server(SSL_CTX_new(TLS_server_method()));
  std::unique_ptr<SSL_CTX, CtxFree> plain_client(SSL_CTX_new(TLS_client_method()));
  std::unique_ptr<SSL_CTX, CtxFree> ratls_client(SSL_CTX_new(TLS_client_method()));
  if (!tdxrt::UseRatlsIdentity(server.get(), *identity).ok()) return 1;
  SSL_CTX_set_min_proto_version(plain_client.get(), TLS1_3_VERSION);
  SSL_CTX_set_verify(plain_client.get(), SSL_VERIFY_NONE, nullptr);
  tdxrt::RequireRatlsPeer(ratls_client.get(), policy);
  if (!Handshake(plain_client.get(), server.get()) ||
      !Handshake(ratls_client.get(), server.get())) {
    std::fprintf(stderr, "ratls_bench: a handshake failed\n");
    return 1;
  }

  std::vector<double> ratios, plain_rates, ratls_rates;
  int ok = 0;
  for (int rep = 0; rep < kReps; ++rep) {
    const double plain = Seconds([&] {
      for (int i = 0; i < kBlock; ++i) ok += Handshake(plain_client.get(), server.get());
    });
    const double ratls = Seconds([&] {
      for (int i = 0; i < kBlock; ++i) ok += Handshake(ratls_client.get(), server.get());
    });
    plain_rates.push_back(kBlock / plain);
    ratls_rates.push_back(kBlock / ratls);
    ratios.push_back(plain / ratls);
  }
  std::printf("ratls_bench: TLS 1.3 handshakes in memory, %d paired blocks of %d (%d ok)\n", kReps,
              kBlock, ok);
  std::printf("  plain TLS 1.3 (P-256 certificate, unchecked): %7.0f /s (median)\n",
              Median(plain_rates));
  std::printf("  RA-TLS (quote verified, key bound, policy):   %7.0f /s (median)\n",
              Median(ratls_rates));
  std::printf("  ratio RA-TLS/plain: %.3f\n", Median(ratios));
  return ok == 2 * kReps * kBlock ? 0 : 1;
}
