// Forward-secure epoch ratchet (see zipnet/ratchet.h).
#include "zipnet/ratchet.h"

#include <string>

namespace zipnet {

EpochRatchet::EpochRatchet(const Secret32& shared, const Hash& committee_id) {
  const std::string_view label = "zipnet/ratchet/v1";
  Bytes salt(label.begin(), label.end());
  salt.insert(salt.end(), committee_id.begin(), committee_id.end());
  key_ = HkdfExtract(salt, shared.bytes());
}

Status EpochRatchet::AdvanceTo(std::uint64_t epoch) {
  if (epoch < epoch_) {
    return Status::InvalidArgument("ratchet: epoch " + std::to_string(epoch) +
                                   " was erased (the ratchet is at epoch " +
                                   std::to_string(epoch_) + ")");
  }
  while (epoch_ < epoch) {
    Secret32 next;
    HkdfExpand(key_.bytes(), Text("zipnet/ratchet/next"), next.bytes());
    key_ = next;  // `next` wipes itself; the old key is overwritten
    ++epoch_;
  }
  return Status::Ok();
}

Result<Key16> EpochRatchet::PadKey(const RoundParams& params, std::uint64_t round) {
  TDX_TRY(AdvanceTo(params.epoch(round)));
  const std::string_view label = "zipnet/pad/v1";
  std::array<std::uint8_t, 13 + 8> info{};
  std::copy(label.begin(), label.end(), info.begin());
  const auto r = Le64(round);
  std::copy(r.begin(), r.end(), info.begin() + 13);
  Key16 k;
  HkdfExpand(key_.bytes(), info, k.bytes());
  return k;
}

}  // namespace zipnet
