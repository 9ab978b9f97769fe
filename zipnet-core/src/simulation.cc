// In-process zipnet deployment (see simulation.h).
#include "simulation.h"

#include <algorithm>

#include "tdxrt/hex.h"

namespace zipnet::sim {

std::unique_ptr<DeterministicRng> Stream(std::uint64_t seed, std::string_view role,
                                         std::uint64_t index) {
  const auto s = Le64(seed);
  const auto i = Le64(index);
  const Hash h = Sha256({Text("zipnet/sim/v1"), s, Text(role), i});
  std::uint64_t derived = 0;
  for (int b = 7; b >= 0; --b) derived = (derived << 8) | h[static_cast<std::size_t>(b)];
  return std::make_unique<DeterministicRng>(derived);
}

Simulation::Simulation(SimConfig config) : config_(std::move(config)) {}

Result<std::unique_ptr<Simulation>> Simulation::Create(SimConfig config) {
  TDX_TRY(config.params.Validate());
  std::unique_ptr<Simulation> s(new Simulation(std::move(config)));
  const SimConfig& c = s->config_;
  s->instance_id_ = InstanceId(c.universe, c.instance);

  std::vector<ServerInfo> infos;
  std::vector<X25519KeyPair> dhs;
  for (std::size_t i = 0; i < c.servers; ++i) {
    auto rng = Stream(c.seed, "server", i);
    s->server_ids_.push_back(Ed25519Generate(*rng));
    dhs.push_back(X25519Generate(*rng));
    infos.push_back(ServerInfo{PeerIdOf(s->server_ids_.back().public_key),
                               s->server_ids_.back().public_key, dhs.back().public_key});
  }
  TDX_ASSIGN_OR_RETURN(s->committee_, Committee::Make(infos));
  for (std::size_t i = 0; i < c.servers; ++i) {
    ServerConfig sc;
    sc.params = c.params;
    sc.instance_id = s->instance_id_;
    sc.identity = s->server_ids_[i];
    sc.dh = dhs[i];
    sc.tdx_gating = false;  // the simulation's clients present mock evidence
    sc.threads = c.threads;
    TDX_ASSIGN_OR_RETURN(Server server, Server::Create(std::move(sc), s->committee_));
    s->servers_.push_back(std::make_unique<Server>(std::move(server)));
  }
  for (std::size_t i = 0; i < c.clients; ++i) {
    auto rng = Stream(c.seed, "client", i);
    s->client_keys_.push_back(ClientKeys::Generate(*rng));
    ClientConfig cc{c.params, s->instance_id_, c.cadence};
    TDX_ASSIGN_OR_RETURN(Client client, Client::Create(cc, s->committee_, s->client_keys_.back()));
    for (auto& server : s->servers_) {
      TDX_TRY(server->Register(client.Bundle(EvidenceKind::kMock, {})));
    }
    s->clients_.push_back(std::make_unique<Client>(std::move(client)));
    s->client_rngs_.push_back(std::move(rng));
  }
  s->absent_.assign(c.clients, false);
  auto agg_rng = Stream(c.seed, "aggregator", 0);
  s->root_key_ = Ed25519Generate(*agg_rng);
  for (std::size_t i = 0; i < c.leaf_aggregators; ++i) {
    auto rng = Stream(c.seed, "leaf-aggregator", i);
    s->leaf_keys_.push_back(Ed25519Generate(*rng));
  }
  s->arrival_rng_ = Stream(c.arrival_seed, "arrival", 0);
  return s;
}

void Simulation::SetAbsent(std::size_t client, bool absent) { absent_[client] = absent; }

Result<Aggregate> Simulation::AggregateRound(std::uint64_t round, std::vector<Envelope> envelopes,
                                             const Faults& faults) {
  Simulation* self = this;
  ClientLookup lookup = [self](const ClientId& id) -> std::optional<PublicKey> {
    std::optional<PublicKey> key;
    for (auto& server : self->servers_) {
      auto k = server->Lookup(id);
      if (!k || (key && *key != *k)) return std::nullopt;
      key = k;
    }
    return key;
  };
  const Hash params_hash = config_.params.ParamsHash();
  // Aggregators keep their nonce windows across rounds, so they live as long as the simulation.
  if (!root_)
    root_ = std::make_unique<Aggregator>(AggregatorConfig{config_.params, instance_id_, root_key_},
                                         lookup);
  if (leaves_.empty()) {
    for (const auto& k : leaf_keys_) {
      leaves_.push_back(
          std::make_unique<Aggregator>(AggregatorConfig{config_.params, instance_id_, k}, lookup));
    }
  }
  std::optional<Envelope> omitted;
  if (faults.list_without_envelope) {
    const ClientId victim = clients_[*faults.list_without_envelope]->id();
    auto it = std::find_if(envelopes.begin(), envelopes.end(),
                           [&](const Envelope& e) { return e.client_id == victim; });
    if (it != envelopes.end()) {
      omitted = *it;
      envelopes.erase(it);
    }
  }
  TDX_TRY(root_->BeginRound(round));
  if (leaves_.empty()) {
    for (const auto& e : envelopes) TDX_TRY(root_->AddEnvelope(e));
  } else {
    for (auto& leaf : leaves_) TDX_TRY(leaf->BeginRound(round));
    for (std::size_t i = 0; i < envelopes.size(); ++i) {
      TDX_TRY(leaves_[i % leaves_.size()]->AddEnvelope(envelopes[i]));
    }
    for (std::size_t i = 0; i < leaves_.size(); ++i) {
      TDX_TRY(root_->AddAggregate(leaves_[i]->Finish(), leaf_keys_[i].public_key));
    }
  }
  Aggregate a = root_->Finish();
  bool resign = false;
  if (omitted) {
    // A faulty aggregator: lists the client but leaves its envelope out of the vector.
    a.entries.push_back({ShortIdOf(omitted->client_id), omitted->nonce});
    std::sort(a.entries.begin(), a.entries.end(),
              [](const AggregateEntry& x, const AggregateEntry& y) { return x.client < y.client; });
    resign = true;
  }
  if (faults.flip_aggregate_bit) {
    a.vector[*faults.flip_aggregate_bit / 8] ^=
        static_cast<std::uint8_t>(1u << (*faults.flip_aggregate_bit % 8));
    resign = true;
  }
  if (resign) {
    a.signature = Ed25519Sign(root_key_.seed, AggregateDigest(instance_id_, params_hash, a));
  }
  return a;
}

Result<RoundOutcome> Simulation::RunRound(const Faults& faults) {
  RoundOutcome out;
  const std::uint64_t r = next_round_++;
  out.round = r;
  std::vector<Envelope> envelopes;
  out.seals.resize(clients_.size());
  for (std::size_t i = 0; i < clients_.size(); ++i) {
    if (absent_[i]) continue;
    TDX_ASSIGN_OR_RETURN(out.seals[i], clients_[i]->Seal(r, *client_rngs_[i]));
    envelopes.push_back(out.seals[i].envelope);
  }
  // Arrival order.
  for (std::size_t i = envelopes.size(); i > 1; --i) {
    std::swap(envelopes[i - 1], envelopes[arrival_rng_->U64() % i]);
  }
  TDX_ASSIGN_OR_RETURN(out.aggregate, AggregateRound(r, std::move(envelopes), faults));

  // Commit. A faulty server (flip_share_bit) computes its share itself and commits to the
  // flipped share, so that commit and reveal agree.
  constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  const std::size_t faulty = faults.flip_share_bit ? faults.flip_share_bit->first : kNone;
  const std::size_t withheld = faults.withhold_share.value_or(kNone);
  std::optional<Bytes> faulty_share;
  for (std::size_t i = 0; i < servers_.size(); ++i) {
    if (faulty == i) {
      std::vector<ClientId> ids;
      for (const auto& e : out.aggregate.entries) ids.push_back(*servers_[i]->Resolve(e.client));
      TDX_ASSIGN_OR_RETURN(Bytes share, servers_[i]->ComputeShare(r, ids));
      const std::size_t bit = faults.flip_share_bit->second;
      share[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
      ShareCommit c;
      c.round = r;
      c.server = servers_[i]->peer();
      c.aggregate_hash = AggregateContentHash(out.aggregate);
      c.share_hash = Sha256({share});
      c.signature = Ed25519Sign(server_ids_[i].seed, CommitDigest(instance_id_, c));
      out.commits.push_back(c);
      faulty_share = std::move(share);
      continue;
    }
    TDX_ASSIGN_OR_RETURN(ShareCommit c, servers_[i]->Commit(out.aggregate, root_key_.public_key));
    out.commits.push_back(c);
  }
  // Reveal.
  for (std::size_t i = 0; i < servers_.size(); ++i) {
    if (withheld == i) continue;
    if (faulty == i) {
      Share s;
      s.round = r;
      s.server = servers_[i]->peer();
      s.aggregate_hash = AggregateContentHash(out.aggregate);
      s.share = *faulty_share;
      s.signature = Ed25519Sign(server_ids_[i].seed, ShareDigest(instance_id_, s));
      out.shares.push_back(std::move(s));
      continue;
    }
    TDX_ASSIGN_OR_RETURN(Share s, servers_[i]->Reveal(r, out.commits));
    out.shares.push_back(std::move(s));
  }
  // Finalize: the round's leader combines (the next honest server if the leader is faulty).
  std::size_t leader = 0;
  for (std::size_t k = 0; k < servers_.size(); ++k) {
    const PeerId want = committee_.servers[(r + k) % servers_.size()].peer;
    auto it = std::find_if(servers_.begin(), servers_.end(),
                           [&](const auto& s) { return s->peer() == want; });
    leader = static_cast<std::size_t>(it - servers_.begin());
    if (faulty != leader && withheld != leader) break;
  }
  auto record = servers_[leader]->Combine(out.aggregate, out.shares);
  if (!record.ok()) {
    // Abort, signed by the servers that are up.
    const AbortReason reason =
        faults.withhold_share ? AbortReason::kMissingShare : AbortReason::kShareMismatch;
    AbortRecord a = servers_[leader]->MakeAbort(r, reason, record.status().message());
    for (std::size_t i = 0; i < servers_.size(); ++i) {
      if (withheld == i) continue;
      a.signatures.push_back(servers_[i]->SignAbort(a));
    }
    std::sort(
        a.signatures.begin(), a.signatures.end(),
        [](const RecordSignature& x, const RecordSignature& y) { return x.server < y.server; });
    for (auto& c : clients_) TDX_TRY(c->OnAbort(a));
    out.abort = std::move(a);
    return out;
  }
  BroadcastRecord rec = std::move(record).value();
  for (std::size_t i = 0; i < servers_.size(); ++i) {
    if (faulty == i) {
      rec.signatures.push_back(RecordSignature{
          servers_[i]->peer(), Ed25519Sign(server_ids_[i].seed, RecordDigest(rec))});
      continue;
    }
    TDX_ASSIGN_OR_RETURN(RecordSignature sig,
                         servers_[i]->SignRecord(rec, out.aggregate, out.shares));
    rec.signatures.push_back(sig);
  }
  std::sort(rec.signatures.begin(), rec.signatures.end(),
            [](const RecordSignature& x, const RecordSignature& y) { return x.server < y.server; });
  for (auto& c : clients_) TDX_TRY(c->OnRecord(rec));
  out.record = std::move(rec);
  return out;
}

}  // namespace zipnet::sim
