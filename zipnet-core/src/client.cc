// zipnet client state machine (see zipnet/client.h).
#include "zipnet/client.h"

#include <algorithm>
#include <string>

#include "tdxrt/hex.h"

namespace zipnet {

ClientKeys ClientKeys::Generate(Rng& rng) {
  ClientKeys k;
  k.identity = Ed25519Generate(rng);
  k.dh = X25519Generate(rng);
  rng.Fill(k.sched_secret.bytes());
  rng.Fill(k.nonce_key.bytes());
  return k;
}

Client::Client(ClientConfig config, Committee committee, ClientKeys keys,
               std::vector<EpochRatchet> ratchets)
    : config_(std::move(config)),
      committee_(std::move(committee)),
      keys_(std::move(keys)),
      id_(ClientIdOf(keys_.dh.public_key)),
      ratchets_(std::move(ratchets)) {}

Result<Client> Client::Create(ClientConfig config, Committee committee, ClientKeys keys) {
  TDX_TRY(config.params.Validate());
  if (config.cadence == 0) return Status::InvalidArgument("client: cadence must be at least 1");
  const Hash committee_id = committee.Id(config.instance_id, config.params);
  std::vector<EpochRatchet> ratchets;
  for (const auto& s : committee.servers) {
    auto shared = X25519Shared(keys.dh.secret, s.x25519);
    if (!shared.ok()) return shared.status().WithContext("client: server " + tdxrt::ToHex(s.peer));
    ratchets.emplace_back(*shared, committee_id);
  }
  return Client(std::move(config), std::move(committee), std::move(keys), std::move(ratchets));
}

ClientBundle Client::Bundle(EvidenceKind kind, Bytes evidence) const {
  ClientBundle b;
  b.instance_id = config_.instance_id;
  b.ed25519 = keys_.identity.public_key;
  b.x25519 = keys_.dh.public_key;
  b.evidence_kind = kind;
  b.evidence = std::move(evidence);
  return b;
}

Status Client::Enqueue(ByteSpan message) {
  if (message.size() > config_.params.payload_len()) {
    return Status::InvalidArgument(std::string(kMessageTooLong) + ": the message is " +
                                   std::to_string(message.size()) + " bytes, a slot carries " +
                                   std::to_string(config_.params.payload_len()));
  }
  queue_.emplace_back(message.begin(), message.end());
  return Status::Ok();
}

std::vector<Bytes> Client::TakeDelivered() {
  std::vector<Bytes> out;
  out.swap(delivered_);
  return out;
}

Nonce Client::RateLimitNonce(std::uint64_t window, std::uint32_t count) const {
  const auto w = Le64(window);
  const auto c = Le32(count);
  const Hash mac =
      HmacSha256(keys_.nonce_key.bytes(), {Text("zipnet/rl/v1"), config_.instance_id, w, c});
  Nonce n{};
  std::copy_n(mac.begin(), n.size(), n.begin());
  return n;
}

Result<SealResult> Client::Seal(std::uint64_t round, Rng& rng) {
  const RoundParams& p = config_.params;
  if (last_round_ && round <= *last_round_) {
    return Status::InvalidArgument("client: round " + std::to_string(round) +
                                   " is not after the last sealed round " +
                                   std::to_string(*last_round_));
  }
  last_round_ = round;
  // Records older than a window are not coming any more.
  while (!sent_.empty() && sent_.begin()->first + p.rounds_per_window < round) {
    sent_.erase(sent_.begin());
  }
  if (p.window(round) != window_) {
    window_ = p.window(round);
    window_count_ = 0;
  }

  SealResult out;
  Bytes plain(p.vector_len(), 0);
  bool counted = false;
  // Cadence: talk only in rounds r with r % cadence == 0, so reserve only in the round before
  // one (a reservation is for the next round).
  const bool may_talk = round % config_.cadence == 0;
  const bool may_reserve = (round + 1) % config_.cadence == 0;
  std::optional<std::uint32_t> slot;
  if (forced_slot_) {
    slot = *forced_slot_ % p.num_slots;
  } else if (may_talk && owned_ && owned_->first == round) {
    slot = owned_->second;
  }
  if (!queue_.empty() && (slot || may_reserve)) {
    if (window_count_ >= p.msgs_per_window) {
      out.kind = SealKind::kRateLimited;
    } else {
      forced_slot_.reset();
      Sent s;
      if (slot) {
        WriteSlot(plain, config_.instance_id, round, *slot, queue_.front(), p);
        s.talk_slot = slot;
        s.talk_message = queue_.front();
        out.kind = SealKind::kTalk;
        out.slot = slot;
      } else {
        out.kind = SealKind::kReserve;
      }
      if (may_reserve) {
        const std::uint32_t word = ReservationWord(keys_.sched_secret, round, p);
        const std::uint32_t fp = Footprint(keys_.sched_secret, round);
        XorScheduleWord(plain, word, fp);
        s.reservation = std::make_pair(word, fp);
      }
      out.envelope.nonce = RateLimitNonce(window_, window_count_++);
      counted = true;
      sent_[round] = std::move(s);
    }
  }
  if (owned_ && owned_->first <= round) owned_.reset();
  if (!counted) rng.Fill(out.envelope.nonce);

  PadXor pads;
  for (auto& ratchet : ratchets_) {
    TDX_ASSIGN_OR_RETURN(Key16 key, ratchet.PadKey(p, round));
    pads.Apply(key, plain);
  }
  out.envelope.round = round;
  out.envelope.client_id = id_;
  out.envelope.vector = std::move(plain);
  out.envelope.signature =
      Ed25519Sign(keys_.identity, EnvelopeDigest(config_.instance_id, out.envelope));
  return out;
}

Status Client::OnRecord(const BroadcastRecord& record) {
  const RoundParams& p = config_.params;
  TDX_TRY(VerifyRecord(record, committee_, config_.instance_id, p));
  auto it = sent_.find(record.round);
  if (it == sent_.end()) return Status::Ok();
  const Sent& s = it->second;
  if (s.talk_slot) {
    Bytes padded(p.payload_len(), 0);
    std::copy(s.talk_message.begin(), s.talk_message.end(), padded.begin());
    const ByteSpan payload =
        ByteSpan(record.output).subspan(p.slot_offset(*s.talk_slot), p.payload_len());
    const bool delivered = InspectSlot(record.output, config_.instance_id, record.round,
                                       *s.talk_slot, p) == SlotState::kValid &&
                           std::equal(padded.begin(), padded.end(), payload.begin());
    if (delivered && !queue_.empty() && queue_.front() == s.talk_message) {
      delivered_.push_back(queue_.front());
      queue_.pop_front();
    }
  }
  if (s.reservation) {
    const auto slot = ReservedSlot(record.output, s.reservation->first, s.reservation->second, p);
    if (slot) owned_ = std::make_pair(record.round + 1, *slot);
  }
  sent_.erase(it);
  return Status::Ok();
}

Status Client::OnAbort(const AbortRecord& record) {
  TDX_TRY(VerifyAbort(record, committee_, config_.instance_id));
  sent_.erase(record.round);
  return Status::Ok();
}

}  // namespace zipnet
