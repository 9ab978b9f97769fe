// zipnet_net_bench [--quick]: the zipnet nodes over real TLS on loopback, in one process (three
// servers, the aggregator and the clients each on their own event-loop thread), with 1, 100 and
// 1000 connected clients (--quick: 1 and 100). Per configuration it prints:
//   - round latency (opening to finalized record, mean at server 0) and what it adds after the
//     fold deadline (commit, reveal and signature exchanges);
//   - CPU per round of a server, the aggregator and the clients (per client), each thread's
//     own CPU clock; a server's against a raw AES-128-CTR pass over the same bytes it unblinds
//     (clients x vector), measured in the same run;
//   - bytes on the wire per round per client (TLS included, both directions) against the
//     protocol's minimum: one envelope frame up and one record frame down;
//   - registration: from the clients' start until every one is registered with every server,
//     and a server's CPU for it per client (its loop thread and its attestation threads) —
//     once without attestation (mock evidence, gating off) and once with simulated TDX evidence
//     on every link (each Hello a fresh development-PKI quote with its launch record, judged by
//     its policy: DCAP verification with warm collateral — each node's own CollateralCache, as
//     a node with ZIPNET_PCCS_URL has, filled before the clock starts —, RTMR3 replay,
//     measurements), the same run's figures side by side.
#include <prometheus/registry.h>
#include <pthread.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <random>
#include <thread>

#include "bench_util.h"
#include "tdxrt/dcap.h"
#include "tdxrt/hex.h"
#include "tdxrt/launch.h"
#include "tdxrt/pccs_client.h"
#include "tdxrt/policy.h"
#include "tdxrt/quote.h"
#include "tdxrt/sim_tdx.h"
#include "tdxrt/verifier_source.h"
#include "zipnet/node/common.h"
#include "zipnet/node/node.h"

using namespace zipnet;
using namespace zipnet::node;

namespace {

double ThreadCpu(std::thread& t) {
  clockid_t cid;
  if (pthread_getcpuclockid(t.native_handle(), &cid) != 0) return 0;
  timespec ts{};
  clock_gettime(cid, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

template <typename F>
auto OnLoop(Loop& loop, F fn) -> decltype(fn()) {
  std::promise<decltype(fn())> p;
  loop.Post([&] { p.set_value(fn()); });
  return p.get_future().get();
}

double RawAesSeconds(std::size_t bytes) {
  PadXor pad;
  Key16 key;
  key.bytes().fill(7);
  Bytes buf(std::min<std::size_t>(bytes, 16u << 20));
  std::vector<double> runs;
  for (int i = 0; i < 3; ++i) {
    runs.push_back(bench::Seconds([&] {
      std::size_t left = bytes;
      while (left > 0) {
        const std::size_t n = std::min(left, buf.size());
        pad.Apply(key, std::span<std::uint8_t>(buf.data(), n));
        left -= n;
      }
    }));
  }
  return bench::Median(runs);
}

double HistogramMean(prometheus::Registry& r, const std::string& family, const std::string& phase) {
  for (const auto& f : r.Collect()) {
    if (f.name != family) continue;
    for (const auto& m : f.metric) {
      for (const auto& l : m.label) {
        if (l.name == "phase" && l.value == phase && m.histogram.sample_count > 0) {
          return m.histogram.sample_sum / double(m.histogram.sample_count);
        }
      }
    }
  }
  return 0;
}

// Simulated TDX for every node: images by one byte each (servers 0x10, clients 0x20, the
// aggregator 0x30), one development PKI, each node's collateral cache warm.
struct Attestation {
  std::shared_ptr<const tdxrt::DevPki> pki =
      std::make_shared<const tdxrt::DevPki>(tdxrt::DevPki::FromSeed("zipnet bench").value());
  tdxrt::Collateral collateral = pki->MakeCollateral(std::time(nullptr) - 3600);
  tdxrt::Quote sample = tdxrt::ParseQuote(pki->MakeQuote(tdxrt::DevPki::DefaultReport())).value();
  // A node's verifier source: its own cache, filled by a fetch (in process: the PCCS is not
  // what is measured) before the clock starts.
  VerifierSource WarmSource() const {
    tdxrt::CollateralCacheOptions o;
    o.trusted_root_pem = pki->RootPem();
    auto cache = std::make_shared<tdxrt::CollateralCache>(
        [c = collateral](const std::array<std::uint8_t, 6>&,
                         tdxrt::PckCa) -> Result<tdxrt::Collateral> { return c; },
        o);
    if (!cache->GetForQuote(sample).ok()) std::abort();
    return tdxrt::VerifierSourceOf(std::move(cache));
  }
  static tdxrt::TdReport Image(std::uint8_t id) {
    tdxrt::TdReport r = tdxrt::DevPki::DefaultReport();
    r.mr_td.fill(id);
    r.rtmr[1].fill(static_cast<std::uint8_t>(id + 1));
    r.rtmr[2].fill(static_cast<std::uint8_t>(id + 2));
    return r;
  }
  std::shared_ptr<Attester> Of(std::uint8_t image, const char* program) const {
    return SimulatedAttester(pki, Image(image), tdxrt::LaunchRecord{program, false, {}}).value();
  }
  static std::shared_ptr<const PeerJudge> Judge(std::uint8_t image, const char* program,
                                                const VerifierSource& verifier) {
    const tdxrt::LaunchRecord launch{program, false, {}};  // no host settings pinned
    tdxrt::LearnedSetOptions o;
    o.name = "image";
    o.rtmrs = {1, 2};
    o.launch = &launch;
    tdxrt::Policy p;
    p.sets.push_back(tdxrt::MeasurementSetOf(Image(image), o));
    return std::make_shared<const PeerJudge>(
        PeerRequirement{std::make_shared<const tdxrt::Policy>(p), program, verifier});
  }
};

struct Figures {
  std::uint64_t rounds = 0;
  double register_s = 0, register_server_cpu_ms = 0;
  double round_ms = 0, fold_ms = 0, server_cpu_ms = 0, agg_cpu_ms = 0, client_cpu_us = 0;
  double bytes_per_client = 0, min_bytes = 0, raw_aes_ms = 0;
};

Result<Figures> Run(std::size_t clients, std::uint64_t measure_rounds, bool attested) {
  std::optional<Attestation> att;
  if (attested) att.emplace();
  RoundParams params;
  // Below the ephemeral range (32768 and up), where outgoing connections could hold a port.
  const std::uint16_t base = static_cast<std::uint16_t>(20000 + std::random_device{}() % 12000);
  SystemRng rng;
  const std::size_t n = 3;
  std::vector<NodeIdentity> ids;
  std::vector<PeerAddress> committee;
  for (std::size_t i = 0; i < n; ++i) {
    ids.push_back(GenerateIdentity(rng));
    committee.push_back(PeerAddress{PeerIdOf(ids.back().ed25519.public_key),
                                    Endpoint{"127.0.0.1", std::uint16_t(base + 1 + i)}});
  }
  const NodeIdentity agg_id = GenerateIdentity(rng);
  const PeerAddress agg_addr{PeerIdOf(agg_id.ed25519.public_key), Endpoint{"127.0.0.1", base}};
  NodeCommon common;
  common.instance = "bench";
  common.params = params;
  // Every client connects from 127.0.0.1: the per-address caps that hold a flood from one
  // address back would hold the benchmark's own clients back too.
  common.transport.max_connections_per_address = 4 * std::size_t(clients) + 16;
  common.transport.max_unauthenticated_per_address = 4 * std::size_t(clients) + 16;
  // Timing scaled to the work: sealing 1000 clients on one thread takes ~0.3 s.
  const Millis fold(100 + clients);
  const Millis deadline = fold + Millis(2000 + 2 * clients);
  const Millis period = fold + Millis(300 + clients / 2);

  std::vector<std::unique_ptr<Loop>> server_loops;
  std::vector<std::unique_ptr<ServerNode>> servers;
  auto server_metrics = std::make_shared<prometheus::Registry>();
  for (std::size_t i = 0; i < n; ++i) {
    server_loops.push_back(std::make_unique<Loop>());
    ServerNodeConfig sc;
    sc.common = common;
    if (i == 0) sc.common.metrics = server_metrics;
    sc.identity = ids[i].ed25519;
    sc.dh = ids[i].x25519;
    sc.listen = committee[i].endpoint;
    sc.committee = committee;
    sc.aggregator = agg_addr;
    sc.period = period;
    sc.fold = fold;
    sc.deadline = deadline;
    sc.tdx_gating = attested;
    if (att) {
      const VerifierSource v = att->WarmSource();
      sc.common.attester = att->Of(0x10, "zipnet-server");
      sc.common.judges.client = att->Judge(0x20, "zipnet-client", v);
      sc.common.judges.server = att->Judge(0x10, "zipnet-server", v);
      sc.common.judges.aggregator = att->Judge(0x30, "zipnet-aggregator", v);
    }
    TDX_ASSIGN_OR_RETURN(auto s, ServerNode::Create(*server_loops.back(), std::move(sc)));
    servers.push_back(std::move(s));
  }
  Loop agg_loop;
  AggregatorNodeConfig ac;
  ac.common = common;
  ac.identity = agg_id.ed25519;
  ac.listen = agg_addr.endpoint;
  ac.servers = committee;
  if (att) {
    ac.common.attester = att->Of(0x30, "zipnet-aggregator");
    ac.common.judges.server = att->Judge(0x10, "zipnet-server", att->WarmSource());
  }
  TDX_ASSIGN_OR_RETURN(auto aggregator, AggregatorNode::Create(agg_loop, std::move(ac)));
  Loop client_loop;
  std::vector<std::unique_ptr<ClientNode>> nodes;
  const auto client_attester = att ? att->Of(0x20, "zipnet-client") : nullptr;
  for (std::size_t i = 0; i < clients; ++i) {
    ClientNodeConfig cc;
    cc.common = common;
    cc.bootstrap = committee;
    cc.keys = ClientKeys::Generate(rng);
    if (att) {
      cc.common.attester = client_attester;
      const VerifierSource v = att->WarmSource();
      cc.common.judges.server = att->Judge(0x10, "zipnet-server", v);
      cc.common.judges.aggregator = att->Judge(0x30, "zipnet-aggregator", v);
    }
    if (i < 2) cc.message = "bench talker " + std::to_string(i);
    cc.connect_timeout = Millis(120000);
    TDX_ASSIGN_OR_RETURN(auto c, ClientNode::Create(client_loop, std::move(cc)));
    nodes.push_back(std::move(c));
  }

  std::vector<std::thread> server_threads;
  for (auto& l : server_loops) server_threads.emplace_back([&l] { l->Run(); });
  std::thread agg_thread([&] { agg_loop.Run(); });
  std::thread client_thread([&] { client_loop.Run(); });

  auto registered = [&] {
    return OnLoop(client_loop, [&] {
      std::size_t k = 0;
      for (auto& c : nodes)
        if (c->registered()) ++k;
      return k;
    });
  };
  auto finalized = [&] {
    return OnLoop(*server_loops[0], [&] { return servers[0]->stats().finalized; });
  };
  auto traffic = [&] {
    return OnLoop(client_loop, [&] {
      std::uint64_t b = 0;
      for (auto& c : nodes) b += c->traffic().bytes_in + c->traffic().bytes_out;
      return b;
    });
  };
  Status status;
  const auto start = std::chrono::steady_clock::now();
  // A server's CPU: its loop thread's and its attestation threads' (quotes made and judged).
  double reg_cpu0 = 0;
  for (auto& t : server_threads) reg_cpu0 += ThreadCpu(t);
  for (auto& s : servers) reg_cpu0 += s->stats().attestation_cpu_s;
  while (registered() < clients) {
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(120)) {
      status = Status::IoError("clients did not all register within 120 s");
      break;
    }
    std::this_thread::sleep_for(Millis(5));
  }
  Figures f;
  f.register_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double reg_cpu1 = 0;
  for (auto& t : server_threads) reg_cpu1 += ThreadCpu(t);
  for (auto& s : servers) reg_cpu1 += s->stats().attestation_cpu_s;
  // Rounds run meanwhile too (they are cheap while few clients are registered).
  f.register_server_cpu_ms = (reg_cpu1 - reg_cpu0) / double(n) / double(clients) * 1e3;
  if (status.ok()) {
    // Let the registrations settle into rounds, then measure. Both ends of the window are taken
    // the same time after a round finalized at server 0: once its record has reached the
    // clients, and before the next round opens, so the window holds whole rounds of traffic.
    const Millis settle(100 + clients / 10);
    const std::uint64_t warm = finalized() + 2;
    while (finalized() < warm) std::this_thread::sleep_for(Millis(10));
    std::this_thread::sleep_for(settle);
    const std::uint64_t r0 = finalized();
    const std::uint64_t b0 = traffic();
    std::vector<double> cpu0;
    for (auto& t : server_threads) cpu0.push_back(ThreadCpu(t));
    const double a0 = ThreadCpu(agg_thread), c0 = ThreadCpu(client_thread);
    while (finalized() < r0 + measure_rounds) std::this_thread::sleep_for(Millis(10));
    std::this_thread::sleep_for(settle);
    const std::uint64_t r1 = finalized();
    const std::uint64_t b1 = traffic();
    double server_cpu = 0;
    for (std::size_t i = 0; i < server_threads.size(); ++i) {
      server_cpu += ThreadCpu(server_threads[i]) - cpu0[i];
    }
    f.rounds = r1 - r0;
    const double rounds = double(f.rounds);
    f.server_cpu_ms = server_cpu / double(n) / rounds * 1e3;
    f.agg_cpu_ms = (ThreadCpu(agg_thread) - a0) / rounds * 1e3;
    f.client_cpu_us = (ThreadCpu(client_thread) - c0) / rounds / double(clients) * 1e6;
    f.round_ms = HistogramMean(*server_metrics, "zipnet_server_phase_seconds", "round") * 1e3;
    f.fold_ms = double(fold.count());
    f.bytes_per_client = double(b1 - b0) / rounds / double(clients);
    // The protocol's minimum per client and round: its envelope up, the record down.
    Envelope e;
    e.vector.assign(params.vector_len(), 0);
    BroadcastRecord rec;
    rec.output.assign(params.vector_len(), 0);
    rec.signatures.resize(n);
    f.min_bytes = double(EncodeFrame(MessageType::kEnvelope, Encode(e)).size() +
                         EncodeFrame(MessageType::kBroadcastRecord, Encode(rec)).size());
    f.raw_aes_ms = RawAesSeconds(clients * params.vector_len()) * 1e3;
  }
  for (auto& c : nodes)
    OnLoop(client_loop, [&] {
      c->Stop();
      return 0;
    });
  OnLoop(agg_loop, [&] {
    aggregator->Stop();
    return 0;
  });
  for (std::size_t i = 0; i < n; ++i)
    OnLoop(*server_loops[i], [&] {
      servers[i]->Stop();
      return 0;
    });
  client_loop.Stop();
  agg_loop.Stop();
  for (auto& l : server_loops) l->Stop();
  client_thread.join();
  agg_thread.join();
  for (auto& t : server_threads) t.join();
  if (!status.ok()) return status;
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  (void)ConfigureLogging("error");
  std::printf(
      "zipnet nodes over TLS on loopback: 3 servers, 1 aggregator, 2 talkers, default "
      "params (vector %zu B)\n",
      RoundParams{}.vector_len());
  std::printf("%8s %6s %9s %8s %10s %12s %10s %12s %12s %10s %8s\n", "clients", "rounds",
              "round_ms", "fold_ms", "after_fold", "server_cpu", "vs_raw_aes", "agg_cpu_ms",
              "client_us/c", "bytes/c/rnd", "vs_min");
  std::vector<std::size_t> sizes =
      quick ? std::vector<std::size_t>{1, 100} : std::vector<std::size_t>{1, 100, 1000};
  std::vector<std::pair<Figures, Figures>> both;
  for (std::size_t clients : sizes) {
    std::pair<Figures, Figures> pair;
    for (bool attested : {false, true}) {
      auto f = Run(clients, quick ? 4 : (clients >= 1000 ? 6 : 10), attested);
      if (!f.ok()) {
        std::printf("%8zu  error: %s\n", clients, f.status().message().c_str());
        return 1;
      }
      std::printf("%8zu %6llu %9.1f %8.0f %10.1f %10.2fms %10.2f %12.2f %12.1f %12.0f %8.3f%s\n",
                  clients, static_cast<unsigned long long>(f->rounds), f->round_ms, f->fold_ms,
                  f->round_ms - f->fold_ms, f->server_cpu_ms,
                  f->raw_aes_ms > 0 ? f->server_cpu_ms / f->raw_aes_ms : 0.0, f->agg_cpu_ms,
                  f->client_cpu_us, f->bytes_per_client, f->bytes_per_client / f->min_bytes,
                  attested ? "  (attested)" : "");
      (attested ? pair.second : pair.first) = *f;
    }
    both.push_back(pair);
  }
  std::printf(
      "\nregistration (every client with every server; from the clients' start), without and "
      "with attestation on every link (simulated TDX, warm collateral):\n");
  std::printf("%8s %12s %12s %8s %16s %16s %10s %14s %14s\n", "clients", "plain_ms", "attested_ms",
              "ratio", "srv_cpu/c_plain", "srv_cpu/c_att", "cpu_ratio", "round_plain", "round_att");
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    const auto& [p, a] = both[i];
    std::printf("%8zu %12.1f %12.1f %8.2f %14.3fms %14.3fms %10.2f %12.1fms %12.1fms\n", sizes[i],
                p.register_s * 1e3, a.register_s * 1e3, a.register_s / p.register_s,
                p.register_server_cpu_ms, a.register_server_cpu_ms,
                a.register_server_cpu_ms / p.register_server_cpu_ms, p.round_ms, a.round_ms);
  }
  std::printf(
      "server_cpu: one server's thread per round; vs_raw_aes: that over raw AES-128-CTR "
      "of clients x vector bytes (this run); bytes/c/rnd: TLS bytes both ways per client "
      "and round; vs_min: over one envelope frame + one record frame\n");
  return 0;
}
