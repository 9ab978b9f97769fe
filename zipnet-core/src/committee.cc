// Committee, record verification, schedule and slot rules (see zipnet/committee.h).
#include "zipnet/committee.h"

#include <algorithm>

#include "tdxrt/hex.h"
#include "tdxrt/sha.h"

namespace zipnet {

Result<Committee> Committee::Make(std::vector<ServerInfo> servers) {
  if (servers.empty()) return Status::InvalidArgument("committee: no servers");
  std::sort(servers.begin(), servers.end(),
            [](const ServerInfo& a, const ServerInfo& b) { return a.peer < b.peer; });
  for (std::size_t i = 0; i < servers.size(); ++i) {
    if (PeerIdOf(servers[i].ed25519) != servers[i].peer) {
      return Status::InvalidArgument("committee: server " + tdxrt::ToHex(servers[i].peer) +
                                     " is not the PeerId of its Ed25519 key");
    }
    if (i > 0 && servers[i - 1].peer == servers[i].peer) {
      return Status::InvalidArgument("committee: server " + tdxrt::ToHex(servers[i].peer) +
                                     " is listed twice");
    }
  }
  Committee c;
  c.servers = std::move(servers);
  for (const auto& s : c.servers) c.verifiers.emplace_back(s.ed25519);
  return c;
}

Hash Committee::Id(const Hash& instance_id, const RoundParams& params) const {
  tdxrt::Hasher h(tdxrt::Hasher::Algorithm::kSha256);
  h.Update(Text("zipnet/committee/v1"));
  h.Update(instance_id);
  h.Update(params.Encode());
  for (const auto& s : servers) {
    h.Update(s.ed25519);
    h.Update(s.x25519);
  }
  const Bytes d = h.Final();
  Hash out{};
  std::copy(d.begin(), d.end(), out.begin());
  return out;
}

const ServerInfo& Committee::Leader(std::uint64_t round) const {
  return servers[static_cast<std::size_t>(round % servers.size())];
}

bool Committee::VerifySignature(const PeerId& peer, ByteSpan message,
                                const Signature& signature) const {
  for (std::size_t i = 0; i < servers.size(); ++i) {
    if (servers[i].peer == peer) return verifiers[i].Verify(message, signature);
  }
  return false;
}

const ServerInfo* Committee::Find(const PeerId& peer) const {
  for (const auto& s : servers) {
    if (s.peer == peer) return &s;
  }
  return nullptr;
}

Status VerifyRecord(const BroadcastRecord& record, const Committee& committee,
                    const Hash& instance_id, const RoundParams& params) {
  const std::string r = "record for round " + std::to_string(record.round);
  if (record.instance_id != instance_id) return Status::Mismatch(r + ": another instance");
  if (record.params_hash != params.ParamsHash()) return Status::Mismatch(r + ": other params");
  if (record.output.size() != params.vector_len()) {
    return Status::Mismatch(r + ": output is " + std::to_string(record.output.size()) +
                            " bytes, not " + std::to_string(params.vector_len()));
  }
  const Hash digest = RecordDigest(record);
  for (const auto& s : committee.servers) {
    auto it = std::find_if(record.signatures.begin(), record.signatures.end(),
                           [&](const RecordSignature& rs) { return rs.server == s.peer; });
    if (it == record.signatures.end()) {
      return Status::Mismatch(r + ": no signature of server " + tdxrt::ToHex(s.peer) +
                              " (a record counts only with all " +
                              std::to_string(committee.servers.size()) + ")");
    }
    if (!committee.VerifySignature(s.peer, digest, it->signature)) {
      return Status::Mismatch(r + ": bad signature of server " + tdxrt::ToHex(s.peer));
    }
  }
  if (record.signatures.size() != committee.servers.size()) {
    return Status::Mismatch(r + ": signatures of servers outside the committee");
  }
  return Status::Ok();
}

Status VerifyAbort(const AbortRecord& record, const Committee& committee, const Hash& instance_id) {
  const std::string r = "abort record for round " + std::to_string(record.round);
  if (record.instance_id != instance_id) return Status::Mismatch(r + ": another instance");
  if (record.signatures.empty()) return Status::Mismatch(r + ": unsigned");
  const Hash digest = AbortDigest(record);
  for (const auto& rs : record.signatures) {
    if (!committee.VerifySignature(rs.server, digest, rs.signature)) {
      return Status::Mismatch(r + ": bad signature of " + tdxrt::ToHex(rs.server));
    }
  }
  return Status::Ok();
}

namespace {

std::uint32_t Prf32(const Secret32& secret, std::string_view label, std::uint64_t round) {
  const auto r = Le64(round);
  const Hash h = HmacSha256(secret.bytes(), {Text(label), r});
  return std::uint32_t{h[0]} | (std::uint32_t{h[1]} << 8) | (std::uint32_t{h[2]} << 16) |
         (std::uint32_t{h[3]} << 24);
}

}  // namespace

std::uint32_t ReservationWord(const Secret32& sched_secret, std::uint64_t round,
                              const RoundParams& params) {
  return Prf32(sched_secret, "sched-slot", round) % params.sched_slots();
}

std::uint32_t Footprint(const Secret32& sched_secret, std::uint64_t round) {
  const std::uint32_t f = Prf32(sched_secret, "sched-fp", round);
  return f == 0 ? 1 : f;
}

std::uint32_t ScheduleWord(ByteSpan vector, std::uint32_t index) {
  return *tdxrt::LoadLe<std::uint32_t>(vector, 4 * std::size_t{index});
}

void XorScheduleWord(std::span<std::uint8_t> vector, std::uint32_t index, std::uint32_t value) {
  const std::size_t at = 4 * std::size_t{index};
  tdxrt::StoreLe<std::uint32_t>(vector, at, ScheduleWord(vector, index) ^ value);
}

std::optional<std::uint32_t> ReservedSlot(ByteSpan published, std::uint32_t word,
                                          std::uint32_t footprint, const RoundParams& params) {
  if (ScheduleWord(published, word) != footprint) return std::nullopt;
  std::uint32_t rank = 0;
  for (std::uint32_t i = 0; i < word; ++i) {
    if (ScheduleWord(published, i) != 0) ++rank;
  }
  if (rank >= params.num_slots) return std::nullopt;
  return rank;
}

Bytes SlotTag(const Hash& instance_id, std::uint64_t round, std::uint32_t slot, ByteSpan payload,
              const RoundParams& params) {
  const auto r = Le64(round);
  const auto s = Le32(slot);
  const Hash key = Sha256({Text("zipnet/tag/v1"), instance_id, r, s});
  const Hash mac = HmacSha256(key, {payload});
  return Bytes(mac.begin(), mac.begin() + params.tag_len);
}

void WriteSlot(std::span<std::uint8_t> vector, const Hash& instance_id, std::uint64_t round,
               std::uint32_t slot, ByteSpan message, const RoundParams& params) {
  Bytes payload(params.payload_len(), 0);
  std::copy(message.begin(), message.end(), payload.begin());
  const Bytes tag = SlotTag(instance_id, round, slot, payload, params);
  std::uint8_t* at = vector.data() + params.slot_offset(slot);
  for (std::size_t i = 0; i < payload.size(); ++i) at[i] ^= payload[i];
  for (std::size_t i = 0; i < tag.size(); ++i) at[payload.size() + i] ^= tag[i];
}

SlotState InspectSlot(ByteSpan vector, const Hash& instance_id, std::uint64_t round,
                      std::uint32_t slot, const RoundParams& params) {
  const ByteSpan s = vector.subspan(params.slot_offset(slot), params.slot_bytes);
  if (std::all_of(s.begin(), s.end(), [](std::uint8_t b) { return b == 0; })) {
    return SlotState::kEmpty;
  }
  const ByteSpan payload = s.first(params.payload_len());
  const Bytes tag = SlotTag(instance_id, round, slot, payload, params);
  return std::equal(tag.begin(), tag.end(), s.begin() + static_cast<long>(params.payload_len()))
             ? SlotState::kValid
             : SlotState::kGarbled;
}

std::optional<Bytes> ReadSlot(ByteSpan vector, const Hash& instance_id, std::uint64_t round,
                              std::uint32_t slot, const RoundParams& params) {
  if (InspectSlot(vector, instance_id, round, slot, params) != SlotState::kValid) {
    return std::nullopt;
  }
  const ByteSpan payload = vector.subspan(params.slot_offset(slot), params.payload_len());
  std::size_t n = payload.size();
  while (n > 0 && payload[n - 1] == 0) --n;
  return Bytes(payload.begin(), payload.begin() + static_cast<long>(n));
}

}  // namespace zipnet
