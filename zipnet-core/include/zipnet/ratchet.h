// The forward-secure epoch ratchet of one client-server pair (zipnet-protocol.md, "Keys per
// round"):
//
//   s    = X25519(client_x, server_x)
//   k_0  = HKDF-Extract(salt = "zipnet/ratchet/v1" || committee_id, s)
//   k_e+1 = HKDF-Expand(k_e, "zipnet/ratchet/next", 32)          (k_e is erased)
//   pad key for round r (epoch e = r / epoch_rounds) = HKDF-Expand(k_e, "zipnet/pad/v1" || LE64(r),
//   16)
//
// Only the current k_e is stored, so once the ratchet has moved past an epoch nothing kept can
// regenerate that epoch's pads. Both ends compute the same chain, so a client that was absent
// for several epochs catches up by ratcheting forward.
#pragma once

#include "zipnet/crypto.h"

namespace zipnet {

class EpochRatchet {
 public:
  // `shared` is s; it is not kept.
  EpochRatchet(const Secret32& shared, const Hash& committee_id);
  EpochRatchet(EpochRatchet&&) noexcept = default;
  EpochRatchet& operator=(EpochRatchet&&) noexcept = default;

  std::uint64_t epoch() const { return epoch_; }
  // Moves forward to `epoch`, erasing every key before it. Moving backwards is an error.
  Status AdvanceTo(std::uint64_t epoch);
  // The pad key of `round`, advancing to its epoch first; a round of an erased epoch is an error.
  Result<Key16> PadKey(const RoundParams& params, std::uint64_t round);

 private:
  struct MacFree {
    void operator()(EVP_MAC_CTX* c) const;
  };
  // An HMAC context keyed with k_e (its inner and outer pads precomputed): a pad key then costs
  // two SHA-256 blocks instead of four. Re-keyed on every epoch step; freeing it wipes it.
  void Rekey();

  Secret32 key_;
  std::uint64_t epoch_ = 0;
  std::unique_ptr<EVP_MAC_CTX, MacFree> keyed_;
};

}  // namespace zipnet
