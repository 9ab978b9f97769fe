// A zipnet client (zipnet-protocol.md, "One round r", step 1 and 5): a queue of messages, the
// cadence, sealing (talk / reserve / cover), footprint reservations in the schedule, slots by
// rank, collision detection from the published record, the per-window rate limit, and dequeue
// only on confirmed delivery.
//
// Pure state machine: the caller (a node, or the in-process simulation) feeds it records and
// asks for an envelope per round; it never blocks, sleeps or does I/O.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "zipnet/committee.h"
#include "zipnet/ratchet.h"

namespace zipnet {

struct ClientKeys {
  Ed25519KeyPair identity;  // signs envelopes
  X25519KeyPair dh;         // pads
  Secret32 sched_secret;    // reservation PRF
  Secret32 nonce_key;       // rate-limit nonces
  static ClientKeys Generate(Rng& rng);
};

struct ClientConfig {
  RoundParams params;
  Hash instance_id{};
  std::uint32_t cadence =
      1;  // talks only in rounds r with r % cadence == 0 (reserves the round before)
};

enum class SealKind {
  kCover,        // no queued message (or not a cadence round): all-zero plaintext, random nonce
  kReserve,      // reserved a slot for the next round
  kTalk,         // wrote the front message into its slot (and reserved again)
  kRateLimited,  // had a message but the window's msgs_per_window is used up: sent cover
};

struct SealResult {
  Envelope envelope;
  SealKind kind = SealKind::kCover;
  std::optional<std::uint32_t> slot;  // for kTalk
};

// MessageTooLong, as surfaced to users.
inline constexpr std::string_view kMessageTooLong = "MessageTooLong";

class Client {
 public:
  // Fails if a committee server's X25519 key is of low order.
  static Result<Client> Create(ClientConfig config, Committee committee, ClientKeys keys);

  const ClientId& id() const { return id_; }
  const PublicKey& ed25519_public() const { return keys_.identity.public_key; }
  ClientBundle Bundle(EvidenceKind kind, Bytes evidence) const;

  // Queues a message; longer than slot_bytes - tag_len is refused (kMessageTooLong) before
  // anything is sealed.
  Status Enqueue(ByteSpan message);
  std::size_t queued() const { return queue_.size(); }
  // Messages confirmed delivered (in order), taken by the caller.
  std::vector<Bytes> TakeDelivered();

  // The envelope for `round`. Rounds must increase.
  Result<SealResult> Seal(std::uint64_t round, Rng& rng);

  // A published record: verified (all committee signatures) before anything changes.
  Status OnRecord(const BroadcastRecord& record);
  // An aborted round: its talk and reservation are void; messages stay queued.
  Status OnAbort(const AbortRecord& record);

  // Fault injection for tests of the collision path: the next Seal talks in `slot` as if it
  // held a reservation for it (an honest client never does this).
  void ForceSlotForNextSeal(std::uint32_t slot) { forced_slot_ = slot; }

 private:
  Client(ClientConfig config, Committee committee, ClientKeys keys,
         std::vector<EpochRatchet> ratchets);
  Nonce RateLimitNonce(std::uint64_t window, std::uint32_t count) const;

  ClientConfig config_;
  Committee committee_;
  ClientKeys keys_;
  ClientId id_{};
  std::vector<EpochRatchet> ratchets_;  // one per server, committee order
  std::deque<Bytes> queue_;
  std::vector<Bytes> delivered_;
  std::optional<std::uint64_t> last_round_;
  // Window accounting for the rate limit.
  std::uint64_t window_ = 0;
  std::uint32_t window_count_ = 0;
  // What was sent, per round, awaiting its record.
  struct Sent {
    std::optional<std::uint32_t> talk_slot;
    Bytes talk_message;
    std::optional<std::pair<std::uint32_t, std::uint32_t>> reservation;  // word, footprint
  };
  std::map<std::uint64_t, Sent> sent_;
  // A confirmed reservation: slot owned in round `round`.
  std::optional<std::pair<std::uint64_t, std::uint32_t>> owned_;
  std::optional<std::uint32_t> forced_slot_;
};

}  // namespace zipnet
