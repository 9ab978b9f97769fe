// zipnet_scale_bench [--quick] [CLIENTS...]: one zipnet round at 1k, 10k and 100k clients (--quick:
// 1k and 10k) with 1 and 3 leaf aggregators, in one process on the protocol library (no TLS: the
// networked nodes are zipnet_net_bench's subject, which cannot hold 100k TLS sessions on this
// 2-core VM). Every client is registered with each of 3 committee servers (its X25519 shared
// secret and ratchet, as at registration); its envelope is pre-sealed (a random vector, really
// signed: the sealing is not timed). Per configuration it prints:
//   - the round's latency, assembled from the measured phases as they would overlap on separate
//     machines: the slowest leaf's fold, the root's fold of the leaves' aggregates, the slowest
//     server's commit (check the aggregate, compute its share), reveal and combine;
//   - a leaf's CPU per envelope (its signature checks on all threads) against one raw Ed25519
//     verify of this machine, measured in the same run;
//   - the bytes a server receives per client per round (the aggregate frame / clients) against the
//     goal of 32, and what wire version 1 would have sent (48 per client);
//   - a server's resident memory per registered client (VmRSS growth while the 3 registries
//     fill, / 3 / clients).
#include <openssl/evp.h>
#include <time.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include "bench_util.h"
#include "ed25519_raw.h"
#include "zipnet/aggregator.h"
#include "zipnet/server.h"

namespace {

using bench::Median;
using bench::Seconds;
using namespace zipnet;  // NOLINT(google-build-using-namespace)

constexpr std::size_t kServers = 3;
constexpr std::size_t kBatch = 2048;  // envelopes sealed, then folded, at a time (memory)

double RssMiB() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

struct Committee3 {
  RoundParams params;
  Hash instance = InstanceId("zipnet", "scale-bench");
  std::vector<Ed25519KeyPair> ids;
  std::vector<std::unique_ptr<Server>> servers;
  std::vector<Ed25519KeyPair> client_keys;  // signing keys of the clients
  std::vector<ClientId> client_ids;
  std::map<ClientId, PublicKey> lookup;
  double rss_per_client_kib = 0;
  double register_s = 0;
};

Committee3 Make(std::size_t clients, unsigned threads, DeterministicRng& rng) {
  Committee3 c;
  std::vector<ServerInfo> infos;
  std::vector<X25519KeyPair> dhs;
  for (std::size_t i = 0; i < kServers; ++i) {
    c.ids.push_back(Ed25519Generate(rng));
    dhs.push_back(X25519Generate(rng));
    infos.push_back({PeerIdOf(c.ids[i].public_key), c.ids[i].public_key, dhs[i].public_key});
  }
  auto committee = Committee::Make(infos).value();
  for (std::size_t i = 0; i < kServers; ++i) {
    ServerConfig sc;
    sc.params = c.params;
    sc.instance_id = c.instance;
    sc.identity = c.ids[i];
    sc.dh = dhs[i];
    sc.tdx_gating = false;
    sc.threads = threads;
    c.servers.push_back(std::make_unique<Server>(Server::Create(sc, committee).value()));
  }
  std::vector<ClientBundle> bundles;
  for (std::size_t i = 0; i < clients; ++i) {
    c.client_keys.push_back(Ed25519Generate(rng));
    ClientBundle b;
    b.instance_id = c.instance;
    b.ed25519 = c.client_keys.back().public_key;
    b.x25519 = X25519Generate(rng).public_key;
    c.client_ids.push_back(ClientIdOf(b.x25519));
    c.lookup[c.client_ids.back()] = b.ed25519;
    bundles.push_back(b);
  }
  const double rss0 = RssMiB();
  c.register_s = Seconds([&] {
    for (auto& s : c.servers) {
      for (const auto& b : bundles) (void)s->Register(b);
    }
  });
  c.rss_per_client_kib =
      (RssMiB() - rss0) * 1024.0 / double(kServers) / double(std::max<std::size_t>(1, clients));
  return c;
}

struct RoundFigures {
  double leaf_fold_s = 0;       // the slowest leaf
  double leaf_cpu_per_env = 0;  // all leaves' CPU / envelopes
  double root_fold_s = 0;
  double server_commit_s = 0;  // the slowest server
  double reveal_combine_s = 0;
  std::size_t aggregate_bytes = 0;
  std::size_t participants = 0;
};

RoundFigures Round(Committee3& c, std::uint64_t r, std::size_t leaves, unsigned threads,
                   DeterministicRng& rng) {
  RoundFigures f;
  const std::size_t n = c.client_ids.size();
  AggregatorConfig root_config{c.params, c.instance, Ed25519Generate(rng)};
  auto lookup = [&c](const ClientId& id) -> std::optional<PublicKey> {
    auto it = c.lookup.find(id);
    if (it == c.lookup.end()) return std::nullopt;
    return it->second;
  };
  Aggregator root(root_config, lookup);
  (void)root.BeginRound(r);
  std::vector<Aggregate> subs;
  std::vector<PublicKey> sub_keys;
  double cpu = 0;
  for (std::size_t l = 0; l < leaves; ++l) {
    AggregatorConfig lc{c.params, c.instance, Ed25519Generate(rng)};
    Aggregator leaf(lc, lookup);
    (void)leaf.BeginRound(r);
    double wall = 0;
    std::vector<Envelope> batch;
    for (std::size_t i = l; i < n; i += leaves) {
      Envelope e;
      e.round = r;
      e.client_id = c.client_ids[i];
      rng.Fill(e.nonce);
      e.vector.resize(c.params.vector_len());
      rng.Fill(e.vector);
      e.signature = Ed25519Sign(c.client_keys[i], EnvelopeDigest(c.instance, e));
      batch.push_back(std::move(e));
      if (batch.size() == kBatch || i + leaves >= n) {
        const double c0 = bench::ProcessCpu();
        wall += Seconds([&] { (void)leaf.AddEnvelopes(batch, threads); });
        cpu += bench::ProcessCpu() - c0;
        batch.clear();
      }
    }
    double finish = 0;
    subs.push_back([&] {
      Aggregate a;
      finish = Seconds([&] { a = leaf.Finish(); });
      return a;
    }());
    sub_keys.push_back(lc.identity.public_key);
    f.leaf_fold_s = std::max(f.leaf_fold_s, wall + finish);
  }
  f.leaf_cpu_per_env = cpu / double(n);
  Aggregate agg;
  f.root_fold_s = Seconds([&] {
    for (std::size_t l = 0; l < leaves; ++l) (void)root.AddAggregate(subs[l], sub_keys[l]);
    agg = root.Finish();
  });
  f.participants = agg.entries.size();
  f.aggregate_bytes = EncodeFrame(MessageType::kAggregate, Encode(agg)).size();
  std::vector<ShareCommit> commits;
  for (auto& s : c.servers) {
    (void)s->PrepareRound(r);  // while the aggregators fold (not on the critical path)
    double t = Seconds([&] {
      auto cm = s->Commit(agg, root_config.identity.public_key);
      if (cm.ok()) commits.push_back(*cm);
    });
    f.server_commit_s = std::max(f.server_commit_s, t);
  }
  if (commits.size() != kServers) {
    std::printf("   (only %zu of %zu servers committed)\n", commits.size(), kServers);
  }
  f.reveal_combine_s = Seconds([&] {
    std::vector<Share> shares;
    for (auto& s : c.servers) {
      auto sh = s->Reveal(r, commits);
      if (sh.ok()) shares.push_back(*sh);
    }
    auto rec = c.servers[0]->Combine(agg, shares);
    if (!rec.ok()) std::printf("   (combine: %s)\n", rec.status().message().c_str());
  });
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  std::vector<std::size_t> sizes;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else {
      sizes.push_back(std::stoul(argv[i]));
    }
  }
  if (sizes.empty())
    sizes = quick ? std::vector<std::size_t>{1000, 10000}
                  : std::vector<std::size_t>{1000, 10000, 100000};
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  DeterministicRng rng(2026);
  const double raw = bench::RawEd25519Verify(rng);
  std::printf(
      "zipnet round at scale: 3 servers, leaves on %u threads each, default params (vector "
      "17,408 B); raw Ed25519 verify %.1f us\n",
      hw, raw * 1e6);
  std::printf(
      "   clients leaves | round ms = leaf fold + root fold + server commit + reveal/combine | "
      "leaf CPU us/env  raw/CPU | server B/client (v1) | server RSS KiB/client\n");
  for (std::size_t n : sizes) {
    Committee3 c = Make(n, hw, rng);
    std::uint64_t r = 0;
    for (std::size_t leaves : {std::size_t{1}, std::size_t{3}}) {
      const RoundFigures f = Round(c, r++, leaves, hw, rng);
      if (f.participants != n) {
        std::printf("   (only %zu of %zu clients in the aggregate)\n", f.participants, n);
      }
      const double round_ms =
          (f.leaf_fold_s + f.root_fold_s + f.server_commit_s + f.reveal_combine_s) * 1e3;
      const double per_client = double(f.aggregate_bytes) / double(n);
      const double v1 = (double(f.aggregate_bytes) + 24.0 * double(n)) / double(n);
      std::printf(
          "   %7zu %6zu | %8.0f = %7.0f + %6.1f + %7.0f + %6.1f | %15.1f %8.3f | %6.2f (%6.2f) "
          "| %8.2f\n",
          n, leaves, round_ms, f.leaf_fold_s * 1e3, f.root_fold_s * 1e3, f.server_commit_s * 1e3,
          f.reveal_combine_s * 1e3, f.leaf_cpu_per_env * 1e6, raw / f.leaf_cpu_per_env, per_client,
          v1, c.rss_per_client_kib);
    }
    std::printf("   (%zu clients: registering them with 3 servers took %.1f s)\n", n, c.register_s);
  }
  return 0;
}
