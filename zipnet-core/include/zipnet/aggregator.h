// A zipnet aggregator (zipnet-protocol.md, "One round r", step 2): verifies each envelope's
// signature and registration, rejects duplicate client ids (per round) and duplicate nonces
// (per window), XORs the envelopes, and signs the Aggregate. Aggregators may form a tree: a
// parent folds its children's aggregates (their client sets must be disjoint) like envelopes.
//
// The aggregator is untrusted for anonymity: it sees only blinded envelopes. It is trusted for
// nothing else either: servers re-check registration and every signature.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "zipnet/committee.h"

namespace zipnet {

struct AggregatorConfig {
  RoundParams params;
  Hash instance_id{};
  Ed25519KeyPair identity;
};

// Answers "is this client registered with every server, and with which Ed25519 key?".
using ClientLookup = std::function<std::optional<PublicKey>(const ClientId&)>;

class Aggregator {
 public:
  Aggregator(AggregatorConfig config, ClientLookup lookup);

  const PeerId& peer() const { return peer_; }
  const PublicKey& ed25519_public() const { return config_.identity.public_key; }

  // Starts collecting round `round` (rounds increase). The nonce history of the window is kept.
  Status BeginRound(std::uint64_t round);
  // Errors (each rejects just this envelope): wrong round, wrong vector length, unregistered
  // client, bad signature, duplicate client id this round, nonce already used this window.
  // The three steps below, one after the other.
  Status AddEnvelope(const Envelope& envelope);
  // The same for a batch, the signatures checked on `threads` threads (the folding stays in
  // order, on this thread): one status per envelope, and the same aggregate as adding them one
  // by one (an envelope refused for two reasons may be refused for the other).
  std::vector<Status> AddEnvelopes(std::span<const Envelope> envelopes, unsigned threads);

  // AddEnvelope in steps, for a driver that checks signatures on other threads:
  // 1. (this thread) round, vector length, registration, and no envelope of this client
  //    folded this round yet; the client's key, decoded once.
  Result<Ed25519Verifier> Precheck(const Envelope& envelope);
  // 2. (any thread) VerifyEnvelopeSignature below.
  // 3. (this thread) an envelope whose signature was verified: still this round's, no
  //    duplicate client id or nonce; XORed in.
  Status FoldVerified(const Envelope& envelope);
  // A child aggregator's aggregate: signed by `child_key`, same round, disjoint clients.
  Status AddAggregate(const Aggregate& child, const PublicKey& child_key);
  std::size_t count() const { return entries_.size(); }
  // The signed aggregate of everything added this round.
  Aggregate Finish() const;

 private:
  Status Admit(const ShortClientId& client, const Nonce& nonce, const std::string& who);

  AggregatorConfig config_;
  ClientLookup lookup_;
  PeerId peer_{};
  Hash params_hash_{};
  std::optional<std::uint64_t> round_;
  // Hash tables: a root folds its leaves' entries in no useful order (sorted at Finish).
  std::unordered_map<ShortClientId, Nonce, PrefixHash> entries_;
  std::unordered_map<ClientId, Ed25519Verifier, PrefixHash> verifiers_;  // decoded keys
  Bytes vector_;
  std::uint64_t window_ = 0;
  std::unordered_set<Nonce, PrefixHash> window_nonces_;
};

// The client's signature over an envelope (safe on any thread; the key decoded by Precheck).
Status VerifyEnvelopeSignature(const Hash& instance_id, const Envelope& envelope,
                               const Ed25519Verifier& key);

Status VerifyAggregateSignature(const Aggregate& aggregate, const PublicKey& aggregator_key,
                                const Hash& instance_id, const RoundParams& params);

}  // namespace zipnet
