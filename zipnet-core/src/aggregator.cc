// zipnet aggregator (see zipnet/aggregator.h).
#include "zipnet/aggregator.h"

#include <algorithm>
#include <string>

#include "parallel.h"
#include "tdxrt/hex.h"

namespace zipnet {

Aggregator::Aggregator(AggregatorConfig config, ClientLookup lookup)
    : config_(std::move(config)),
      lookup_(std::move(lookup)),
      peer_(PeerIdOf(config_.identity.public_key)),
      params_hash_(config_.params.ParamsHash()) {}

Status Aggregator::BeginRound(std::uint64_t round) {
  if (round_ && round <= *round_) {
    return Status::InvalidArgument("aggregator: round " + std::to_string(round) +
                                   " is not after round " + std::to_string(*round_));
  }
  round_ = round;
  entries_.clear();
  vector_.assign(config_.params.vector_len(), 0);
  const std::uint64_t w = config_.params.window(round);
  if (w != window_) {
    window_ = w;
    window_nonces_.clear();
  }
  return Status::Ok();
}

Status Aggregator::Admit(const ShortClientId& client, const Nonce& nonce, const std::string& who) {
  if (entries_.count(client)) {
    return Status::Mismatch("duplicate client id " + who + " in round " + std::to_string(*round_));
  }
  if (window_nonces_.count(nonce)) {
    return Status::Mismatch("nonce of client " + who + " was already used in window " +
                            std::to_string(window_));
  }
  return Status::Ok();
}

namespace {
std::string EnvelopeWho(const Envelope& e) {
  return "envelope of " + tdxrt::ToHex(e.client_id) + ": ";
}
}  // namespace

Result<Ed25519Verifier> Aggregator::Precheck(const Envelope& e) {
  if (!round_) return Status::InvalidArgument("aggregator: no round begun");
  if (e.round != *round_) {
    return Status::Mismatch(EnvelopeWho(e) + "round " + std::to_string(e.round) + ", collecting " +
                            std::to_string(*round_));
  }
  if (e.vector.size() != config_.params.vector_len()) {
    return Status::Mismatch(EnvelopeWho(e) + "vector is " + std::to_string(e.vector.size()) +
                            " bytes, not " + std::to_string(config_.params.vector_len()));
  }
  const auto key = lookup_(e.client_id);
  if (!key) return Status::NotFound(EnvelopeWho(e) + "client is not registered with every server");
  if (entries_.count(ShortIdOf(e.client_id))) {
    return Status::Mismatch("duplicate client id " + tdxrt::ToHex(e.client_id) + " in round " +
                            std::to_string(*round_));
  }
  Ed25519Verifier& verifier = verifiers_[e.client_id];
  if (verifier.public_key() != *key) verifier = Ed25519Verifier(*key);
  return verifier;
}

Status VerifyEnvelopeSignature(const Hash& instance_id, const Envelope& e,
                               const Ed25519Verifier& key) {
  if (!key.Verify(EnvelopeDigest(instance_id, e), e.signature)) {
    return Status::Mismatch(EnvelopeWho(e) + "bad signature");
  }
  return Status::Ok();
}

Status Aggregator::FoldVerified(const Envelope& e) {
  if (!round_ || e.round != *round_) {
    return Status::Mismatch(EnvelopeWho(e) + "round " + std::to_string(e.round) + " is over");
  }
  const ShortClientId client = ShortIdOf(e.client_id);
  if (Status st = Admit(client, e.nonce, tdxrt::ToHex(e.client_id)); !st.ok()) return st;
  entries_.emplace(client, e.nonce);
  window_nonces_.insert(e.nonce);
  XorInto(vector_, e.vector);
  return Status::Ok();
}

Status Aggregator::AddEnvelope(const Envelope& e) {
  TDX_ASSIGN_OR_RETURN(Ed25519Verifier key, Precheck(e));
  TDX_TRY(VerifyEnvelopeSignature(config_.instance_id, e, key));
  return FoldVerified(e);
}

std::vector<Status> Aggregator::AddEnvelopes(std::span<const Envelope> envelopes,
                                             unsigned threads) {
  std::vector<Status> out(envelopes.size(), Status::Ok());
  std::vector<Ed25519Verifier> keys(envelopes.size());
  for (std::size_t i = 0; i < envelopes.size(); ++i) {
    auto key = Precheck(envelopes[i]);
    if (key.ok()) {
      keys[i] = std::move(key).value();
    } else {
      out[i] = key.status();
    }
  }
  ForEachOnThreads(threads, envelopes.size(), [&](std::size_t i) {
    if (out[i].ok()) out[i] = VerifyEnvelopeSignature(config_.instance_id, envelopes[i], keys[i]);
  });
  for (std::size_t i = 0; i < envelopes.size(); ++i) {
    if (out[i].ok()) out[i] = FoldVerified(envelopes[i]);
  }
  return out;
}

Status Aggregator::AddAggregate(const Aggregate& child, const PublicKey& child_key) {
  if (!round_) return Status::InvalidArgument("aggregator: no round begun");
  if (child.round != *round_) {
    return Status::Mismatch("child aggregate: round " + std::to_string(child.round) +
                            ", collecting " + std::to_string(*round_));
  }
  TDX_TRY(VerifyAggregateSignature(child, child_key, config_.instance_id, config_.params));
  for (const auto& e : child.entries) {
    if (Status st = Admit(e.client, e.nonce, tdxrt::ToHex(e.client)); !st.ok()) {
      return st.WithContext("child aggregate");
    }
  }
  std::unordered_set<Nonce, PrefixHash> seen;
  seen.reserve(child.entries.size());
  for (const auto& e : child.entries) {
    if (!seen.insert(e.nonce).second) {
      return Status::Mismatch("child aggregate: a nonce appears twice");
    }
  }
  for (const auto& e : child.entries) {
    entries_.emplace(e.client, e.nonce);
    window_nonces_.insert(e.nonce);
  }
  XorInto(vector_, child.vector);
  return Status::Ok();
}

Aggregate Aggregator::Finish() const {
  Aggregate a;
  a.round = round_.value_or(0);
  a.entries.reserve(entries_.size());
  for (const auto& [id, nonce] : entries_) a.entries.push_back({id, nonce});
  std::sort(a.entries.begin(), a.entries.end(),
            [](const AggregateEntry& x, const AggregateEntry& y) { return x.client < y.client; });
  a.vector = vector_;
  a.aggregator = peer_;
  a.signature =
      Ed25519Sign(config_.identity, AggregateDigest(config_.instance_id, params_hash_, a));
  return a;
}

Status VerifyAggregateSignature(const Aggregate& a, const PublicKey& aggregator_key,
                                const Hash& instance_id, const RoundParams& params) {
  if (PeerIdOf(aggregator_key) != a.aggregator) {
    return Status::Mismatch("aggregate: aggregator " + tdxrt::ToHex(a.aggregator) +
                            " does not match the given key");
  }
  if (a.vector.size() != params.vector_len()) {
    return Status::Mismatch("aggregate: vector is " + std::to_string(a.vector.size()) +
                            " bytes, not " + std::to_string(params.vector_len()));
  }
  for (std::size_t i = 1; i < a.entries.size(); ++i) {
    if (!(a.entries[i - 1].client < a.entries[i].client)) {
      return Status::Mismatch("aggregate: client ids not strictly increasing");
    }
  }
  if (!Ed25519Verify(aggregator_key, AggregateDigest(instance_id, params.ParamsHash(), a),
                     a.signature)) {
    return Status::Mismatch("aggregate: bad signature of aggregator " + tdxrt::ToHex(a.aggregator));
  }
  return Status::Ok();
}

}  // namespace zipnet
