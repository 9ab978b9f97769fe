// zipnet_bench [--quick]: the DC-net's hot paths against raw baselines of this machine, measured
// in the same run.
//
//   1. Server unblinding (Server::ComputeShare): pad bytes per second for M = 1k and 8k clients,
//      at the default vector (64 x 256 B slots, 17,408 B) and at 1024 slots x 160 B (180,224 B),
//      on 1 thread and on all threads, against raw AES-128-CTR (EVP, in place) on one thread.
//      Goal: one thread >= 80% of raw AES-CTR; threads scale near-linearly.
//   2. Aggregator fold (Aggregator::AddEnvelope: signature check + XOR) against XOR of buffers;
//      then the signatures checked on 1..all threads (AddEnvelopes): envelopes per second and
//      CPU per envelope against one raw Ed25519 verify of this machine.
//   3. Client seal time against the number of servers (1, 5, 16, 64).
//
// Each figure is a median of paired repetitions: the baseline is timed right before the
// candidate, because this shared VM changes speed from second to second.
#include <openssl/evp.h>
#include <time.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <thread>

#include "bench_util.h"
#include "ed25519_raw.h"
#include "zipnet/aggregator.h"
#include "zipnet/client.h"
#include "zipnet/server.h"

namespace {

using bench::Median;
using bench::Seconds;
using namespace zipnet;  // NOLINT(google-build-using-namespace)

// Raw AES-128-CTR: one key, one context, the keystream XORed in place over a vector-sized
// buffer `times` times (the buffer stays in cache, as a server's accumulator does). This is
// the machine's keystream rate with none of the per-client work (key derivation, key schedule).
void RawAesCtr(Bytes& buf, std::size_t times) {
  static const std::uint8_t key[16] = {1, 2, 3};
  static const std::uint8_t iv[16] = {};
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), nullptr, key, iv);
  int n = 0;
  for (std::size_t i = 0; i < times; ++i) {
    EVP_EncryptUpdate(ctx, buf.data(), &n, buf.data(), static_cast<int>(buf.size()));
  }
  EVP_CIPHER_CTX_free(ctx);
}

struct Deployment {
  RoundParams params;
  Hash instance{};
  std::unique_ptr<Server> server;
  std::vector<ClientId> ids;
};

Deployment MakeServer(const RoundParams& params, std::size_t clients, unsigned threads) {
  Deployment d;
  d.params = params;
  d.instance = InstanceId("zipnet", "bench");
  DeterministicRng rng(42);
  const Ed25519KeyPair sid = Ed25519Generate(rng);
  const X25519KeyPair sdh = X25519Generate(rng);
  auto committee = Committee::Make({{PeerIdOf(sid.public_key), sid.public_key, sdh.public_key}});
  ServerConfig sc;
  sc.params = params;
  sc.instance_id = d.instance;
  sc.identity = sid;
  sc.dh = sdh;
  sc.tdx_gating = false;
  sc.threads = threads;
  d.server = std::make_unique<Server>(Server::Create(sc, *committee).value());
  for (std::size_t i = 0; i < clients; ++i) {
    ClientBundle b;
    b.instance_id = d.instance;
    b.ed25519 = Ed25519Generate(rng).public_key;
    b.x25519 = X25519Generate(rng).public_key;
    (void)d.server->Register(b);
    d.ids.push_back(ClientIdOf(b.x25519));
  }
  return d;
}

void Unblinding(bool quick) {
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  RoundParams def;
  RoundParams wide;
  wide.num_slots = 1024;
  wide.slot_bytes = 160;
  std::printf(
      "1. server unblinding (pad bytes/s) against raw AES-128-CTR keystream on one "
      "thread\n");
  std::printf(
      "   cold: pad keys derived on the aggregate's arrival (HKDF + AES per client);\n"
      "   prepared: keys derived by PrepareRound while the aggregator folds (AES only)\n");
  std::printf("   %-22s %6s %7s %12s %12s %8s %12s %8s %14s\n", "layout", "M", "threads",
              "cold MiB/s", "raw MiB/s", "ratio", "prep MiB/s", "ratio", "prepare us/M");
  const int reps = quick ? 3 : 5;
  for (const auto& [name, params] : {std::pair<const char*, RoundParams>{"64x256 (17,408 B)", def},
                                     {"1024x160 (180,224 B)", wide}}) {
    for (std::size_t m : {std::size_t{1000}, std::size_t{8000}}) {
      if (quick && m > 1000) continue;
      for (unsigned threads : {1u, hw}) {
        Deployment d = MakeServer(params, m, threads);
        const std::size_t bytes = m * params.vector_len();
        Bytes raw(params.vector_len(), 0);
        std::vector<double> ratios, rate, raw_rate, pratios, prate, prep;
        std::uint64_t round = 0;
        for (int i = 0; i < reps; ++i) {
          const double b = Seconds([&] { RawAesCtr(raw, m); });
          const double c = Seconds([&] { (void)d.server->ComputeShare(round++, d.ids); });
          const double pr = Seconds([&] { (void)d.server->PrepareRound(round); });
          const double b2 = Seconds([&] { RawAesCtr(raw, m); });
          const double c2 = Seconds([&] { (void)d.server->ComputeShare(round++, d.ids); });
          const double raw_bps = static_cast<double>(bytes) / b;
          const double pad_bps = static_cast<double>(bytes) / c;
          ratios.push_back(pad_bps / raw_bps);
          rate.push_back(pad_bps / (1 << 20));
          raw_rate.push_back(raw_bps / (1 << 20));
          pratios.push_back(b2 / c2);
          prate.push_back(static_cast<double>(bytes) / c2 / (1 << 20));
          prep.push_back(pr * 1e6 / static_cast<double>(m));
        }
        std::printf("   %-22s %6zu %7u %12.0f %12.0f %8.3f %12.0f %8.3f %14.2f\n", name, m, threads,
                    Median(rate), Median(raw_rate), Median(ratios), Median(prate), Median(pratios),
                    Median(prep));
      }
    }
  }
}

// 2b. Aggregator::AddEnvelopes: the same fold with the signatures checked on 1..all threads;
// wall rate and CPU per envelope (all threads) against raw Ed25519 verify on one thread.
void FoldOnThreads(const RoundParams& params, const Hash& instance,
                   const std::vector<Envelope>& envs, const std::map<ClientId, PublicKey>& keys,
                   DeterministicRng& rng) {
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  std::printf(
      "2b. the same fold, signatures checked on threads (Aggregator::AddEnvelopes); raw = one "
      "OpenSSL Ed25519 verify of a 32-byte digest, one thread\n"
      "   threads  envelopes/s  x1-thread  CPU us/envelope  raw verify us  raw/CPU\n");
  double one = 0;
  std::vector<unsigned> counts = {1};
  for (unsigned t = 2; t <= hw; t *= 2) counts.push_back(t);
  if (counts.back() != hw) counts.push_back(hw);
  for (unsigned threads : counts) {
    std::vector<double> rate, cpu, raw;
    for (int rep = 0; rep < 5; ++rep) {
      raw.push_back(bench::RawEd25519Verify(rng, 40));
      Aggregator agg({params, instance, Ed25519Generate(rng)},
                     [&](const ClientId& id) -> std::optional<PublicKey> { return keys.at(id); });
      (void)agg.BeginRound(1);
      std::vector<Status> got;
      const double c0 = bench::ProcessCpu();
      const double w = Seconds([&] { got = agg.AddEnvelopes(envs, threads); });
      if (agg.count() != envs.size()) {
        std::printf("   (only %zu of %zu envelopes folded)\n", agg.count(), envs.size());
      }
      cpu.push_back((bench::ProcessCpu() - c0) / static_cast<double>(envs.size()));
      rate.push_back(static_cast<double>(envs.size()) / w);
    }
    if (threads == 1) one = Median(rate);
    std::printf("   %7u %12.0f %10.2f %16.1f %14.1f %8.3f\n", threads, Median(rate),
                Median(rate) / one, Median(cpu) * 1e6, Median(raw) * 1e6,
                Median(raw) / Median(cpu));
  }
}

void Fold(bool quick) {
  RoundParams params;
  const Hash instance = InstanceId("zipnet", "bench");
  DeterministicRng rng(7);
  const std::size_t m = quick ? 200 : 1000;
  // Clients' envelopes: random vectors, really signed.
  std::vector<Envelope> envs;
  std::map<ClientId, PublicKey> keys;
  for (std::size_t i = 0; i < m; ++i) {
    const Ed25519KeyPair id = Ed25519Generate(rng);
    Envelope e;
    e.round = 1;
    e.client_id = ClientIdOf(X25519Generate(rng).public_key);
    rng.Fill(e.nonce);
    e.vector.resize(params.vector_len());
    rng.Fill(e.vector);
    e.signature = Ed25519Sign(id.seed, EnvelopeDigest(instance, e));
    keys[e.client_id] = id.public_key;
    envs.push_back(std::move(e));
  }
  std::vector<double> fold_rate, xor_rate, ratio;
  for (int rep = 0; rep < 5; ++rep) {
    Bytes acc(params.vector_len(), 0);
    const double x = Seconds([&] {
      for (const auto& e : envs) XorInto(acc, e.vector);
    });
    Aggregator agg({params, instance, Ed25519Generate(rng)},
                   [&](const ClientId& id) -> std::optional<PublicKey> { return keys.at(id); });
    // A new aggregator each time: the same signed envelopes are new to it.
    (void)agg.BeginRound(1);
    std::size_t folded = 0;
    const double f = Seconds([&] {
      for (const auto& e : envs) folded += agg.AddEnvelope(e).ok();
    });
    if (folded != m) std::printf("   (only %zu of %zu envelopes folded)\n", folded, m);
    const double bytes = static_cast<double>(m * params.vector_len());
    fold_rate.push_back(bytes / f / (1 << 20));
    xor_rate.push_back(bytes / x / (1 << 20));
    ratio.push_back(x / f);
  }
  std::printf(
      "2. aggregator fold of %zu envelopes (17,408 B): %.0f MiB/s (%.0f envelopes/s) "
      "against XOR of buffers %.0f MiB/s: ratio %.4f (Ed25519 verification dominates)\n",
      m, Median(fold_rate),
      Median(fold_rate) * (1 << 20) / static_cast<double>(params.vector_len()), Median(xor_rate),
      Median(ratio));
  FoldOnThreads(params, instance, envs, keys, rng);
}

void Seal() {
  std::printf("3. client seal time against the number of servers (default params)\n");
  RoundParams params;
  const Hash instance = InstanceId("zipnet", "bench");
  DeterministicRng rng(9);
  double t1 = 0;
  for (std::size_t n : {std::size_t{1}, std::size_t{5}, std::size_t{16}, std::size_t{64}}) {
    std::vector<ServerInfo> servers;
    for (std::size_t i = 0; i < n; ++i) {
      const Ed25519KeyPair id = Ed25519Generate(rng);
      servers.push_back({PeerIdOf(id.public_key), id.public_key, X25519Generate(rng).public_key});
    }
    auto committee = Committee::Make(servers).value();
    auto client = Client::Create({params, instance, 1}, committee, ClientKeys::Generate(rng));
    std::vector<double> times;
    for (std::uint64_t r = 0; r < 30; ++r) {
      if (r % 2 == 0) (void)client->Enqueue(Bytes(100, 'x'));
      times.push_back(Seconds([&] { (void)client->Seal(r, rng); }));
    }
    const double med = Median(times);
    if (n == 1) t1 = med;
    std::printf("   servers %3zu: %8.1f us per seal (%.1fx one server)\n", n, med * 1e6, med / t1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  Unblinding(quick);
  Fold(quick);
  Seal();
  return 0;
}
