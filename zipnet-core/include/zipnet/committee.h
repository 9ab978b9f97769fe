// The committee (anytrust servers) and the slot/schedule rules every role shares
// (zipnet-protocol.md, "One round r").
#pragma once

#include <optional>
#include <vector>

#include "zipnet/wire.h"

namespace zipnet {

struct ServerInfo {
  PeerId peer{};
  PublicKey ed25519{};
  PublicKey x25519{};
};

struct Committee {
  std::vector<ServerInfo> servers;  // sorted by peer id (Make sorts and checks)

  // Sorts by PeerId and checks each PeerId is the hash of its Ed25519 key and unique.
  static Result<Committee> Make(std::vector<ServerInfo> servers);
  // SHA-256("zipnet/committee/v1" || instance_id || params || (ed25519 || x25519) per server).
  Hash Id(const Hash& instance_id, const RoundParams& params) const;
  // Servers take turns leading: servers[round mod n].
  const ServerInfo& Leader(std::uint64_t round) const;
  const ServerInfo* Find(const PeerId& peer) const;
  // Checks a signature of committee member `peer` (false for a non-member), with its key
  // decoded once by Make.
  bool VerifySignature(const PeerId& peer, ByteSpan message, const Signature& signature) const;

  std::vector<Ed25519Verifier> verifiers;  // parallel to servers
};

// A record counts only with all n committee signatures over RecordDigest, for this instance
// and these params.
Status VerifyRecord(const BroadcastRecord& record, const Committee& committee,
                    const Hash& instance_id, const RoundParams& params);
// An abort record needs at least one committee signature (the servers that are up sign it).
Status VerifyAbort(const AbortRecord& record, const Committee& committee, const Hash& instance_id);

// --- schedule and slots ---

// PRF(client secret, label || LE64(round)) = HMAC-SHA256.
std::uint32_t ReservationWord(const Secret32& sched_secret, std::uint64_t round,
                              const RoundParams& params);
std::uint32_t Footprint(const Secret32& sched_secret, std::uint64_t round);  // never 0
std::uint32_t ScheduleWord(ByteSpan vector, std::uint32_t index);
void XorScheduleWord(std::span<std::uint8_t> vector, std::uint32_t index, std::uint32_t value);
// The slot a reservation at `word` owns in the next round: its rank among the non-zero
// schedule words of `published`; nullopt when the word is not exactly `footprint` (collision)
// or the rank is >= num_slots.
std::optional<std::uint32_t> ReservedSlot(ByteSpan published, std::uint32_t word,
                                          std::uint32_t footprint, const RoundParams& params);

// Tag = first tag_len bytes of HMAC-SHA256(key = SHA-256("zipnet/tag/v1" || instance_id ||
// LE64(round) || LE32(slot)), payload). Public: anyone can check a slot.
Bytes SlotTag(const Hash& instance_id, std::uint64_t round, std::uint32_t slot, ByteSpan payload,
              const RoundParams& params);
// Writes payload (zero padded) || tag into `slot` of `vector` (XOR, so on a zero plaintext).
void WriteSlot(std::span<std::uint8_t> vector, const Hash& instance_id, std::uint64_t round,
               std::uint32_t slot, ByteSpan message, const RoundParams& params);
// The payload of a slot whose tag is valid (trailing zero bytes removed); nullopt for an empty
// slot (all zero) or a disturbed one (bad tag).
std::optional<Bytes> ReadSlot(ByteSpan vector, const Hash& instance_id, std::uint64_t round,
                              std::uint32_t slot, const RoundParams& params);
enum class SlotState { kEmpty, kValid, kGarbled };
SlotState InspectSlot(ByteSpan vector, const Hash& instance_id, std::uint64_t round,
                      std::uint32_t slot, const RoundParams& params);

}  // namespace zipnet
