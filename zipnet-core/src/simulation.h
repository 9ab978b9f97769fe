// In-process simulation of a zipnet deployment: N servers, an aggregator (or a tree of them),
// M clients, all driven round by round from one seed. Used by the protocol tests and the
// benchmarks; it plays every role through the library's public API, and plays the attacker
// (a faulty aggregator or server, a replaying client) with the keys it generated.
//
// Every party's keys come from its own RNG stream (seed, role, index), so adding clients or
// changing the aggregator tree does not change anyone else's keys; arrival order has its own
// stream (arrival_seed).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "zipnet/aggregator.h"
#include "zipnet/client.h"
#include "zipnet/server.h"

namespace zipnet::sim {

struct SimConfig {
  std::uint64_t seed = 1;
  std::uint64_t arrival_seed = 1;
  std::size_t servers = 3;
  std::size_t clients = 8;
  std::size_t leaf_aggregators = 0;  // 0: one aggregator; k: k leaves under a root
  RoundParams params;
  std::string universe = std::string(kDefaultUniverse);
  std::string instance = "sim";
  unsigned threads = 1;
  std::uint32_t cadence = 1;
};

struct Faults {
  std::optional<std::size_t> withhold_share;      // this server never reveals
  std::optional<std::size_t> flip_aggregate_bit;  // faulty aggregator (bit index, signed)
  std::optional<std::pair<std::size_t, std::size_t>> flip_share_bit;  // faulty server, bit
  std::optional<std::size_t> list_without_envelope;  // aggregator lists a client, omits its vector
};

struct RoundOutcome {
  std::uint64_t round = 0;
  std::vector<SealResult> seals;  // per client
  Aggregate aggregate;
  std::vector<ShareCommit> commits;
  std::vector<Share> shares;
  std::optional<BroadcastRecord> record;
  std::optional<AbortRecord> abort;
};

class Simulation {
 public:
  static Result<std::unique_ptr<Simulation>> Create(SimConfig config);

  const SimConfig& config() const { return config_; }
  const Hash& instance_id() const { return instance_id_; }
  const Committee& committee() const { return committee_; }
  Client& client(std::size_t i) { return *clients_[i]; }
  Server& server(std::size_t i) { return *servers_[i]; }
  std::size_t num_clients() const { return clients_.size(); }
  const ClientKeys& client_keys(std::size_t i) const { return client_keys_[i]; }
  const Ed25519KeyPair& server_identity(std::size_t i) const { return server_ids_[i]; }
  std::uint64_t next_round() const { return next_round_; }

  // Runs round next_round(); records and aborts are delivered to every client.
  Result<RoundOutcome> RunRound(const Faults& faults = {});
  // Skips a round for one client (it does not seal; the others do).
  void SetAbsent(std::size_t client, bool absent);

 private:
  explicit Simulation(SimConfig config);
  Result<Aggregate> AggregateRound(std::uint64_t round, std::vector<Envelope> envelopes,
                                   const Faults& faults);

  SimConfig config_;
  Hash instance_id_{};
  Committee committee_;
  std::vector<Ed25519KeyPair> server_ids_;
  std::vector<std::unique_ptr<Server>> servers_;
  std::vector<ClientKeys> client_keys_;
  std::vector<std::unique_ptr<Client>> clients_;
  std::vector<std::unique_ptr<DeterministicRng>> client_rngs_;
  std::vector<bool> absent_;
  Ed25519KeyPair root_key_;
  std::vector<Ed25519KeyPair> leaf_keys_;
  std::unique_ptr<DeterministicRng> arrival_rng_;
  std::unique_ptr<Aggregator> root_;
  std::vector<std::unique_ptr<Aggregator>> leaves_;
  std::uint64_t next_round_ = 0;
};

// An RNG stream for (seed, role, index).
std::unique_ptr<DeterministicRng> Stream(std::uint64_t seed, std::string_view role,
                                         std::uint64_t index);

}  // namespace zipnet::sim
