// Forward-secure epoch ratchet (see zipnet/ratchet.h).
#include "zipnet/ratchet.h"

#include <openssl/core_names.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace zipnet {

EpochRatchet::EpochRatchet(const Secret32& shared, const Hash& committee_id) {
  const std::string_view label = "zipnet/ratchet/v1";
  Bytes salt(label.begin(), label.end());
  salt.insert(salt.end(), committee_id.begin(), committee_id.end());
  key_ = HkdfExtract(salt, shared.bytes());
  Rekey();
}

void EpochRatchet::MacFree::operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }

void EpochRatchet::Rekey() {
  static EVP_MAC* const hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (!keyed_) {
    keyed_.reset(hmac != nullptr ? EVP_MAC_CTX_new(hmac) : nullptr);
    char digest[] = "SHA2-256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    if (!keyed_ || EVP_MAC_CTX_set_params(keyed_.get(), params) != 1) {
      std::fprintf(stderr, "zipnet: OpenSSL failure in HMAC context\n");
      std::abort();
    }
  }
  if (EVP_MAC_init(keyed_.get(), key_.bytes().data(), key_.bytes().size(), nullptr) != 1) {
    std::fprintf(stderr, "zipnet: OpenSSL failure in HMAC init\n");
    std::abort();
  }
}

Status EpochRatchet::AdvanceTo(std::uint64_t epoch) {
  if (epoch < epoch_) {
    return Status::InvalidArgument("ratchet: epoch " + std::to_string(epoch) +
                                   " was erased (the ratchet is at epoch " +
                                   std::to_string(epoch_) + ")");
  }
  const bool stepped = epoch_ < epoch;
  while (epoch_ < epoch) {
    Secret32 next;
    HkdfExpand(key_.bytes(), Text("zipnet/ratchet/next"), next.bytes());
    key_ = next;  // `next` wipes itself; the old key is overwritten
    ++epoch_;
  }
  if (stepped) Rekey();
  return Status::Ok();
}

Result<Key16> EpochRatchet::PadKey(const RoundParams& params, std::uint64_t round) {
  TDX_TRY(AdvanceTo(params.epoch(round)));
  // HKDF-Expand(k_e, "zipnet/pad/v1" || LE64(round), 16) = first 16 bytes of
  // HMAC(k_e, info || 0x01) (RFC 5869: one block suffices).
  static constexpr std::string_view kLabel = "zipnet/pad/v1";
  std::array<std::uint8_t, 13 + 8 + 1> info{};
  std::copy(kLabel.begin(), kLabel.end(), info.begin());
  const auto r = Le64(round);
  std::copy(r.begin(), r.end(), info.begin() + 13);
  info[21] = 1;
  Secret32 block;
  std::size_t n = 0;
  // A null key re-initialises from the stored pads (EVP_MAC_init(3)).
  if (EVP_MAC_init(keyed_.get(), nullptr, 0, nullptr) != 1 ||
      EVP_MAC_update(keyed_.get(), info.data(), info.size()) != 1 ||
      EVP_MAC_final(keyed_.get(), block.bytes().data(), &n, block.bytes().size()) != 1 || n != 32) {
    return Status::IoError("ratchet: HMAC failed");
  }
  Key16 k;
  std::copy(block.bytes().begin(), block.bytes().begin() + 16, k.bytes().begin());
  return k;
}

}  // namespace zipnet
