// A committee server's client registry on disk, so that a restarted server (same identity)
// knows its clients at once instead of waiting for every one of them to register again.
//
// What is kept is what registration established: each client's two public keys and the kind of
// evidence its link showed. Nothing secret and no ratchet state: a server re-derives each
// client's pads from its own X25519 secret and the client's key, as at registration, so no pad
// or epoch key ever reaches storage. The file is bound to the server (an HMAC under a key
// derived from the server's identity secrets, so a file the host altered or took from another
// server is refused), to the instance and round parameters, and to the admission settings the
// clients were judged by (a digest the program computes from its gating, client policy and
// trust anchor): a server started with other admission settings does not load it, since its
// clients were admitted by rules that no longer hold.
//
// Layout (little-endian): [16] "zipnet/registry\0", u16 format (1), [32] instance_id,
// [32] params_hash, [16] server PeerId, [32] admission digest, u32 count (<= max_clients),
// count x ([32] ed25519, [32] x25519, u8 evidence kind), [32] HMAC-SHA256 of all that precedes.
#pragma once

#include <vector>

#include "zipnet/crypto.h"
#include "zipnet/wire.h"

namespace zipnet {

struct RegistryEntry {
  PublicKey ed25519{};
  PublicKey x25519{};
  EvidenceKind evidence_kind = EvidenceKind::kMock;
  bool operator==(const RegistryEntry&) const = default;
};

// Whom and what a registry file belongs to.
struct RegistryBinding {
  Hash instance_id{};
  Hash params_hash{};
  PeerId server{};
  Hash admission{};
};

struct RegistryFile {
  RegistryBinding binding;
  std::vector<RegistryEntry> clients;
};

// The MAC key of a server's registry files: HKDF-SHA256 of its Ed25519 seed and X25519 secret
// (salt "zipnet/registry/v1", info "mac").
Secret32 RegistryMacKey(const Ed25519KeyPair& identity, const X25519KeyPair& dh);

Bytes EncodeRegistry(const RegistryFile& file, const Secret32& mac_key);

// Decodes a registry file and checks its MAC: errors name the field and its offset, or say the
// MAC does not match (a file altered, or another server's).
Result<RegistryFile> DecodeRegistry(ByteSpan data, const Secret32& mac_key,
                                    std::size_t max_clients = 1u << 20);

// Whether a (decoded, authentic) file belongs to this server as it runs now: the first of
// instance, round parameters, server and admission settings that differs, named.
Status CheckRegistryBinding(const RegistryBinding& file, const RegistryBinding& now);

}  // namespace zipnet
