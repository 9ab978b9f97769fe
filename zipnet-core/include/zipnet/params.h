// zipnet names and round parameters (../shared/design/zipnet-protocol.md, "Names and
// parameters"). Every peer of an instance must agree on RoundParams; their encoding is hashed
// into the committee id, so peers with different parameters derive different pads and their
// traffic decodes to garbage.
//
// Vector layout (length V = 4 * sched_slots + num_slots * slot_bytes):
//   [0, 4 * sched_slots)   schedule: sched_slots u32 LE words (footprints of reservations)
//   then num_slots slots   each: payload (zero padded to slot_bytes - tag_len) || tag
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string_view>

#include "tdxrt/bytes.h"

namespace zipnet {

using tdxrt::Bytes;
using tdxrt::ByteSpan;
using tdxrt::Result;
using tdxrt::Status;

using Hash = std::array<std::uint8_t, 32>;
using PeerId = std::array<std::uint8_t, 16>;
using ClientId = std::array<std::uint8_t, 16>;
// What an aggregate names a client by: the first 8 bytes of its id (servers refuse to register
// a second client with the same 8 bytes, so it names one client in every registry).
using ShortClientId = std::array<std::uint8_t, 8>;
inline ShortClientId ShortIdOf(const ClientId& id) {
  ShortClientId s{};
  std::copy_n(id.begin(), s.size(), s.begin());
  return s;
}

// Hashes an id or a nonce (a hash output, or random bytes) by its first 8 bytes, for hash
// tables keyed by them.
struct PrefixHash {
  template <std::size_t N>
  std::size_t operator()(const std::array<std::uint8_t, N>& a) const {
    static_assert(N >= 8);
    std::size_t h = 0;
    for (std::size_t i = 0; i < 8; ++i) h = (h << 8) | a[i];
    return h;
  }
};

// Version 2: 16-byte nonces and aggregates naming clients by ShortClientId (24 bytes per client
// instead of 48); version 1 is refused.
inline constexpr std::uint16_t kWireVersion = 2;

struct RoundParams {
  std::uint16_t wire_version = kWireVersion;
  std::uint32_t num_slots = 64;
  std::uint32_t slot_bytes = 256;
  std::uint32_t tag_len = 16;
  std::uint32_t sched_factor = 4;
  std::uint32_t rounds_per_window = 100;
  std::uint32_t msgs_per_window = 10;
  std::uint32_t epoch_rounds = 16;

  std::uint32_t sched_slots() const { return sched_factor * num_slots; }
  std::size_t schedule_bytes() const { return 4 * std::size_t{sched_slots()}; }
  std::size_t vector_len() const { return schedule_bytes() + std::size_t{num_slots} * slot_bytes; }
  std::size_t payload_len() const { return slot_bytes - tag_len; }
  std::size_t slot_offset(std::uint32_t slot) const {
    return schedule_bytes() + std::size_t{slot} * slot_bytes;
  }
  std::uint64_t window(std::uint64_t round) const { return round / rounds_per_window; }
  std::uint64_t epoch(std::uint64_t round) const { return round / epoch_rounds; }

  // Ranges that keep every size computation far from overflow and every vector <= 64 MiB.
  Status Validate() const;
  // 30 bytes: u16 wire_version, then the seven u32 fields in declaration order, little-endian.
  Bytes Encode() const;
  static Result<RoundParams> Decode(tdxrt::Cursor& c);
  // SHA-256("zipnet/params/v1" || Encode()).
  Hash ParamsHash() const;

  bool operator==(const RoundParams&) const = default;
};

inline constexpr std::size_t kMaxVectorLen = 64u << 20;

// SHA-256("zipnet/instance/v1" || universe || 0x00 || name).
Hash InstanceId(std::string_view universe, std::string_view name);
inline constexpr std::string_view kDefaultUniverse = "zipnet";

// PeerId = first 16 bytes of SHA-256(Ed25519 public key).
PeerId PeerIdOf(const std::array<std::uint8_t, 32>& ed25519_public);
// client_id = first 16 bytes of SHA-256("zipnet/client/v1" || X25519 public key).
ClientId ClientIdOf(const std::array<std::uint8_t, 32>& x25519_public);

}  // namespace zipnet
