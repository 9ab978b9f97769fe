// Round parameters, instance ids and peer ids (see zipnet/params.h).
#include "zipnet/params.h"

#include <algorithm>
#include <string>

#include "zipnet/crypto.h"

namespace zipnet {

Status RoundParams::Validate() const {
  auto bad = [](const std::string& what) {
    return Status::InvalidArgument("round params: " + what);
  };
  if (wire_version != kWireVersion) {
    return bad("wire_version " + std::to_string(wire_version) + " is not supported (" +
               std::to_string(kWireVersion) + ")");
  }
  if (num_slots < 1 || num_slots > 65536) return bad("num_slots must be 1..65536");
  if (tag_len < 8 || tag_len > 32) return bad("tag_len must be 8..32");
  if (slot_bytes <= tag_len || slot_bytes > 65536) {
    return bad("slot_bytes must be more than tag_len and at most 65536");
  }
  if (sched_factor < 1 || sched_factor > 64) return bad("sched_factor must be 1..64");
  if (rounds_per_window < 1) return bad("rounds_per_window must be at least 1");
  if (msgs_per_window < 1) return bad("msgs_per_window must be at least 1");
  if (epoch_rounds < 1) return bad("epoch_rounds must be at least 1");
  if (vector_len() > kMaxVectorLen) {
    return bad("the vector (" + std::to_string(vector_len()) + " bytes) exceeds 64 MiB");
  }
  return Status::Ok();
}

Bytes RoundParams::Encode() const {
  Bytes out;
  tdxrt::AppendLe<std::uint16_t>(out, wire_version);
  for (std::uint32_t v : {num_slots, slot_bytes, tag_len, sched_factor, rounds_per_window,
                          msgs_per_window, epoch_rounds}) {
    tdxrt::AppendLe<std::uint32_t>(out, v);
  }
  return out;
}

Result<RoundParams> RoundParams::Decode(tdxrt::Cursor& c) {
  RoundParams p;
  TDX_ASSIGN_OR_RETURN(p.wire_version, c.U16("params wire_version"));
  TDX_ASSIGN_OR_RETURN(p.num_slots, c.U32("params num_slots"));
  TDX_ASSIGN_OR_RETURN(p.slot_bytes, c.U32("params slot_bytes"));
  TDX_ASSIGN_OR_RETURN(p.tag_len, c.U32("params tag_len"));
  TDX_ASSIGN_OR_RETURN(p.sched_factor, c.U32("params sched_factor"));
  TDX_ASSIGN_OR_RETURN(p.rounds_per_window, c.U32("params rounds_per_window"));
  TDX_ASSIGN_OR_RETURN(p.msgs_per_window, c.U32("params msgs_per_window"));
  TDX_ASSIGN_OR_RETURN(p.epoch_rounds, c.U32("params epoch_rounds"));
  TDX_TRY(p.Validate());
  return p;
}

Hash RoundParams::ParamsHash() const {
  const Bytes e = Encode();
  return Sha256({Text("zipnet/params/v1"), e});
}

Hash InstanceId(std::string_view universe, std::string_view name) {
  const std::uint8_t zero = 0;
  return Sha256({Text("zipnet/instance/v1"), Text(universe), ByteSpan(&zero, 1), Text(name)});
}

PeerId PeerIdOf(const std::array<std::uint8_t, 32>& ed25519_public) {
  const Hash h = Sha256({ed25519_public});
  PeerId id{};
  std::copy(h.begin(), h.begin() + 16, id.begin());
  return id;
}

ClientId ClientIdOf(const std::array<std::uint8_t, 32>& x25519_public) {
  const Hash h = Sha256({Text("zipnet/client/v1"), x25519_public});
  ClientId id{};
  std::copy(h.begin(), h.begin() + 16, id.begin());
  return id;
}

}  // namespace zipnet
