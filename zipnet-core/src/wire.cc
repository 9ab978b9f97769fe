// zipnet wire encoding (see zipnet/wire.h and doc/wire_format.md).
#include "zipnet/wire.h"

#include <algorithm>

#include "tdxrt/report_data.h"
#include "zipnet/node_wire.h"

namespace zipnet {
namespace {

using tdxrt::AppendLe;
using tdxrt::Cursor;
using tdxrt::HexOffset;

template <std::size_t N>
void Put(Bytes& out, const std::array<std::uint8_t, N>& a) {
  out.insert(out.end(), a.begin(), a.end());
}

void PutBytes32(Bytes& out, ByteSpan b) {
  AppendLe<std::uint32_t>(out, static_cast<std::uint32_t>(b.size()));
  out.insert(out.end(), b.begin(), b.end());
}

void PutSignatures(Bytes& out, const std::vector<RecordSignature>& sigs) {
  AppendLe<std::uint16_t>(out, static_cast<std::uint16_t>(sigs.size()));
  for (const auto& s : sigs) {
    Put(out, s.server);
    Put(out, s.signature);
  }
}

Bytes Start() {
  Bytes out;
  AppendLe<std::uint16_t>(out, kWireVersion);
  return out;
}

// Reading, with the message name in every error.
class Reader {
 public:
  Reader(ByteSpan body, std::string_view message) : c_(body), message_(message) {}

  Status Version() {
    TDX_ASSIGN_OR_RETURN(std::uint16_t v, c_.U16(Field("wire_version")));
    if (v != kWireVersion) {
      return Status::Unsupported(
          std::string(message_) + ": wire_version " + std::to_string(v) +
          " at offset 0x0 is not supported: this node speaks zipnet wire version " +
          std::to_string(kWireVersion) +
          (v < kWireVersion ? " (the peer runs an older zipnet)" : ""));
    }
    return Status::Ok();
  }
  template <std::size_t N>
  Status Array(std::array<std::uint8_t, N>& out, std::string_view field) {
    TDX_ASSIGN_OR_RETURN(ByteSpan b, c_.Take(N, Field(field)));
    std::copy(b.begin(), b.end(), out.begin());
    return Status::Ok();
  }
  Result<std::uint8_t> U8(std::string_view f) { return c_.U8(Field(f)); }
  Result<std::uint16_t> U16(std::string_view f) { return c_.U16(Field(f)); }
  Result<std::uint32_t> U32(std::string_view f) { return c_.U32(Field(f)); }
  Result<std::uint64_t> U64(std::string_view f) { return c_.U64(Field(f)); }
  // A u32 count or length, checked against a limit and against the bytes left (each item
  // `item_size` bytes) before the caller allocates anything.
  Result<std::size_t> Count32(std::string_view field, std::size_t limit, std::size_t item_size) {
    const std::uint64_t at = c_.abs_pos();
    TDX_ASSIGN_OR_RETURN(std::uint32_t n, c_.U32(Field(field)));
    return CheckCount(field, at, n, limit, item_size);
  }
  Result<std::size_t> Count16(std::string_view field, std::size_t limit, std::size_t item_size) {
    const std::uint64_t at = c_.abs_pos();
    TDX_ASSIGN_OR_RETURN(std::uint16_t n, c_.U16(Field(field)));
    return CheckCount(field, at, n, limit, item_size);
  }
  Result<Bytes> Blob32(std::string_view field, std::size_t limit) {
    TDX_ASSIGN_OR_RETURN(std::size_t n, Count32(field, limit, 1));
    TDX_ASSIGN_OR_RETURN(ByteSpan b, c_.Take(n, Field(field)));
    return Bytes(b.begin(), b.end());
  }
  Result<std::vector<RecordSignature>> Signatures(std::size_t limit) {
    TDX_ASSIGN_OR_RETURN(std::size_t n, Count16("signature count", limit, 16 + 64));
    std::vector<RecordSignature> out(n);
    for (auto& s : out) {
      TDX_TRY(Array(s.server, "signature server"));
      TDX_TRY(Array(s.signature, "signature"));
    }
    return out;
  }
  Status End() {
    if (!c_.empty()) {
      return Status::Corrupt(std::string(message_) + ": " + std::to_string(c_.remaining()) +
                             " trailing bytes at offset " + HexOffset(c_.abs_pos()));
    }
    return Status::Ok();
  }
  Result<ByteSpan> Take(std::size_t n, std::string_view f) { return c_.Take(n, Field(f)); }
  Status Skip(std::size_t n, std::string_view f) { return c_.Skip(n, Field(f)); }
  Status Bad(std::string why) const { return Status::Corrupt(std::string(message_) + ": " + why); }
  std::uint64_t pos() const { return c_.abs_pos(); }

 private:
  std::string Field(std::string_view f) const {
    return std::string(message_) + " " + std::string(f);
  }
  Result<std::size_t> CheckCount(std::string_view field, std::uint64_t at, std::uint64_t n,
                                 std::size_t limit, std::size_t item_size) {
    if (n > limit) {
      return Status::Corrupt(std::string(message_) + ": " + std::string(field) + " " +
                             std::to_string(n) + " at offset " + HexOffset(at) +
                             " exceeds the limit (" + std::to_string(limit) + ")");
    }
    if (n * item_size > c_.remaining()) {
      return Status::Corrupt(std::string(message_) + ": " + std::string(field) + " " +
                             std::to_string(n) + " at offset " + HexOffset(at) + " needs " +
                             std::to_string(n * item_size) + " bytes, " +
                             std::to_string(c_.remaining()) + " left");
    }
    return static_cast<std::size_t>(n);
  }

  Cursor c_;
  std::string_view message_;
};

}  // namespace

std::string_view AbortReasonName(AbortReason reason) {
  switch (reason) {
    case AbortReason::kMissingShare:
      return "missing-share";
    case AbortReason::kShareMismatch:
      return "share-mismatch";
    case AbortReason::kBadAggregate:
      return "bad-aggregate";
    case AbortReason::kTooFewParticipants:
      return "too-few-participants";
  }
  return "unknown";
}

bool IsMessageType(std::uint8_t type) {
  return (type >= 1 && type <= 7) || (type >= 16 && type <= 25);
}

// --- encoding -----------------------------------------------------------------------------------

Bytes Encode(const ClientBundle& m) {
  Bytes out = Start();
  Put(out, m.instance_id);
  Put(out, m.ed25519);
  Put(out, m.x25519);
  out.push_back(static_cast<std::uint8_t>(m.evidence_kind));
  PutBytes32(out, m.evidence);
  return out;
}

Bytes Encode(const Envelope& m) {
  Bytes out = Start();
  AppendLe<std::uint64_t>(out, m.round);
  Put(out, m.client_id);
  Put(out, m.nonce);
  PutBytes32(out, m.vector);
  Put(out, m.signature);
  return out;
}

Bytes Encode(const Aggregate& m) {
  Bytes out = Start();
  AppendLe<std::uint64_t>(out, m.round);
  AppendLe<std::uint32_t>(out, static_cast<std::uint32_t>(m.entries.size()));
  for (const auto& e : m.entries) {
    Put(out, e.client);
    Put(out, e.nonce);
  }
  PutBytes32(out, m.vector);
  Put(out, m.aggregator);
  Put(out, m.signature);
  return out;
}

Bytes Encode(const ShareCommit& m) {
  Bytes out = Start();
  AppendLe<std::uint64_t>(out, m.round);
  Put(out, m.server);
  Put(out, m.aggregate_hash);
  Put(out, m.share_hash);
  Put(out, m.signature);
  return out;
}

Bytes Encode(const Share& m) {
  Bytes out = Start();
  AppendLe<std::uint64_t>(out, m.round);
  Put(out, m.server);
  Put(out, m.aggregate_hash);
  PutBytes32(out, m.share);
  Put(out, m.signature);
  return out;
}

Bytes Encode(const BroadcastRecord& m) {
  Bytes out = Start();
  Put(out, m.instance_id);
  AppendLe<std::uint64_t>(out, m.round);
  Put(out, m.params_hash);
  Put(out, m.aggregate_hash);
  AppendLe<std::uint32_t>(out, m.participants);
  PutBytes32(out, m.output);
  PutSignatures(out, m.signatures);
  return out;
}

Bytes Encode(const AbortRecord& m) {
  Bytes out = Start();
  Put(out, m.instance_id);
  AppendLe<std::uint64_t>(out, m.round);
  out.push_back(static_cast<std::uint8_t>(m.reason));
  AppendLe<std::uint16_t>(out, static_cast<std::uint16_t>(m.detail.size()));
  out.insert(out.end(), m.detail.begin(), m.detail.end());
  PutSignatures(out, m.signatures);
  return out;
}

// --- decoding -----------------------------------------------------------------------------------

Result<ClientBundle> DecodeClientBundle(ByteSpan body, const WireLimits& limits) {
  Reader r(body, "ClientBundle");
  ClientBundle m;
  TDX_TRY(r.Version());
  TDX_TRY(r.Array(m.instance_id, "instance_id"));
  TDX_TRY(r.Array(m.ed25519, "ed25519 key"));
  TDX_TRY(r.Array(m.x25519, "x25519 key"));
  const std::uint64_t at = r.pos();
  TDX_ASSIGN_OR_RETURN(std::uint8_t kind, r.U8("evidence kind"));
  if (kind > 1) {
    return r.Bad("evidence kind " + std::to_string(kind) + " at offset " + HexOffset(at) +
                 " is not 0 (mock) or 1 (tdx)");
  }
  m.evidence_kind = static_cast<EvidenceKind>(kind);
  TDX_ASSIGN_OR_RETURN(m.evidence, r.Blob32("evidence length", limits.max_evidence));
  TDX_TRY(r.End());
  return m;
}

Result<Envelope> DecodeEnvelope(ByteSpan body, const WireLimits& limits) {
  Reader r(body, "Envelope");
  Envelope m;
  TDX_TRY(r.Version());
  TDX_ASSIGN_OR_RETURN(m.round, r.U64("round"));
  TDX_TRY(r.Array(m.client_id, "client_id"));
  TDX_TRY(r.Array(m.nonce, "nonce"));
  TDX_ASSIGN_OR_RETURN(m.vector, r.Blob32("vector length", limits.max_vector));
  TDX_TRY(r.Array(m.signature, "signature"));
  TDX_TRY(r.End());
  return m;
}

Result<Aggregate> DecodeAggregate(ByteSpan body, const WireLimits& limits) {
  Reader r(body, "Aggregate");
  Aggregate m;
  TDX_TRY(r.Version());
  TDX_ASSIGN_OR_RETURN(m.round, r.U64("round"));
  TDX_ASSIGN_OR_RETURN(std::size_t n,
                       r.Count32("entry count", limits.max_clients,
                                 std::tuple_size_v<ShortClientId> + std::tuple_size_v<Nonce>));
  m.entries.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    TDX_TRY(r.Array(m.entries[i].client, "client"));
    TDX_TRY(r.Array(m.entries[i].nonce, "nonce"));
    if (i > 0 && !(m.entries[i - 1].client < m.entries[i].client)) {
      return r.Bad("entry " + std::to_string(i) +
                   ": client ids are not strictly increasing (duplicate or unsorted)");
    }
  }
  TDX_ASSIGN_OR_RETURN(m.vector, r.Blob32("vector length", limits.max_vector));
  TDX_TRY(r.Array(m.aggregator, "aggregator"));
  TDX_TRY(r.Array(m.signature, "signature"));
  TDX_TRY(r.End());
  return m;
}

Result<ShareCommit> DecodeShareCommit(ByteSpan body, const WireLimits&) {
  Reader r(body, "ShareCommit");
  ShareCommit m;
  TDX_TRY(r.Version());
  TDX_ASSIGN_OR_RETURN(m.round, r.U64("round"));
  TDX_TRY(r.Array(m.server, "server"));
  TDX_TRY(r.Array(m.aggregate_hash, "aggregate_hash"));
  TDX_TRY(r.Array(m.share_hash, "share_hash"));
  TDX_TRY(r.Array(m.signature, "signature"));
  TDX_TRY(r.End());
  return m;
}

Result<Share> DecodeShare(ByteSpan body, const WireLimits& limits) {
  Reader r(body, "Share");
  Share m;
  TDX_TRY(r.Version());
  TDX_ASSIGN_OR_RETURN(m.round, r.U64("round"));
  TDX_TRY(r.Array(m.server, "server"));
  TDX_TRY(r.Array(m.aggregate_hash, "aggregate_hash"));
  TDX_ASSIGN_OR_RETURN(m.share, r.Blob32("share length", limits.max_vector));
  TDX_TRY(r.Array(m.signature, "signature"));
  TDX_TRY(r.End());
  return m;
}

Result<BroadcastRecord> DecodeBroadcastRecord(ByteSpan body, const WireLimits& limits) {
  Reader r(body, "BroadcastRecord");
  BroadcastRecord m;
  TDX_TRY(r.Version());
  TDX_TRY(r.Array(m.instance_id, "instance_id"));
  TDX_ASSIGN_OR_RETURN(m.round, r.U64("round"));
  TDX_TRY(r.Array(m.params_hash, "params_hash"));
  TDX_TRY(r.Array(m.aggregate_hash, "aggregate_hash"));
  TDX_ASSIGN_OR_RETURN(m.participants, r.U32("participants"));
  TDX_ASSIGN_OR_RETURN(m.output, r.Blob32("output length", limits.max_vector));
  TDX_ASSIGN_OR_RETURN(m.signatures, r.Signatures(limits.max_signatures));
  TDX_TRY(r.End());
  return m;
}

Result<AbortRecord> DecodeAbortRecord(ByteSpan body, const WireLimits& limits) {
  Reader r(body, "AbortRecord");
  AbortRecord m;
  TDX_TRY(r.Version());
  TDX_TRY(r.Array(m.instance_id, "instance_id"));
  TDX_ASSIGN_OR_RETURN(m.round, r.U64("round"));
  const std::uint64_t at = r.pos();
  TDX_ASSIGN_OR_RETURN(std::uint8_t reason, r.U8("reason"));
  if (reason < 1 || reason > 4) {
    return r.Bad("reason " + std::to_string(reason) + " at offset " + HexOffset(at) +
                 " is not 1..4");
  }
  m.reason = static_cast<AbortReason>(reason);
  TDX_ASSIGN_OR_RETURN(std::size_t n, r.Count16("detail length", limits.max_detail, 1));
  for (std::size_t i = 0; i < n; ++i) {
    TDX_ASSIGN_OR_RETURN(std::uint8_t ch, r.U8("detail"));
    m.detail.push_back(static_cast<char>(ch));
  }
  TDX_ASSIGN_OR_RETURN(m.signatures, r.Signatures(limits.max_signatures));
  TDX_TRY(r.End());
  return m;
}

Bytes EncodeFrame(MessageType type, ByteSpan body) {
  Bytes out;
  AppendLe<std::uint32_t>(out, static_cast<std::uint32_t>(body.size() + 1));
  out.push_back(static_cast<std::uint8_t>(type));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Result<Frame> DecodeFrame(ByteSpan frame, const WireLimits& limits) {
  Cursor c(frame);
  TDX_ASSIGN_OR_RETURN(std::uint32_t len, c.U32("frame length"));
  if (len == 0 || len > limits.max_frame) {
    return Status::Corrupt("frame length " + std::to_string(len) + " at offset 0x0 is not 1.." +
                           std::to_string(limits.max_frame));
  }
  if (len != c.remaining()) {
    return Status::Corrupt("frame length " + std::to_string(len) +
                           " at offset 0x0 does not match the " + std::to_string(c.remaining()) +
                           " bytes that follow");
  }
  TDX_ASSIGN_OR_RETURN(std::uint8_t type, c.U8("frame type"));
  if (!IsMessageType(type)) {
    return Status::Corrupt("frame type " + std::to_string(type) +
                           " at offset 0x4 is not 1..7 or 16..25");
  }
  return Frame{static_cast<MessageType>(type), c.rest()};
}

// --- digests ------------------------------------------------------------------------------------

Hash EnvelopeDigest(const Hash& instance_id, const Envelope& m) {
  const Hash vh = Sha256({m.vector});
  const auto r = Le64(m.round);
  return Sha256({instance_id, r, m.client_id, m.nonce, vh});
}

namespace {
Bytes EntryBytes(const Aggregate& m) {
  Bytes out;
  AppendLe<std::uint32_t>(out, static_cast<std::uint32_t>(m.entries.size()));
  for (const auto& e : m.entries) {
    Put(out, e.client);
    Put(out, e.nonce);
  }
  return out;
}
}  // namespace

Hash AggregateContentHash(const Aggregate& m) {
  const Hash vh = Sha256({m.vector});
  const auto r = Le64(m.round);
  const Bytes entries = EntryBytes(m);
  return Sha256({Text("zipnet/aggregate-content/v2"), r, entries, vh});
}

Hash AggregateDigest(const Hash& instance_id, const Hash& params_hash, const Aggregate& m) {
  const Hash content = AggregateContentHash(m);
  return Sha256({Text("zipnet/aggregate/v1"), instance_id, params_hash, m.aggregator, content});
}

Hash CommitDigest(const Hash& instance_id, const ShareCommit& m) {
  const auto r = Le64(m.round);
  return Sha256(
      {Text("zipnet/commit/v1"), instance_id, r, m.server, m.aggregate_hash, m.share_hash});
}

Hash ShareDigest(const Hash& instance_id, const Share& m) {
  const auto r = Le64(m.round);
  const Hash sh = Sha256({m.share});
  return Sha256({Text("zipnet/share/v1"), instance_id, r, m.server, m.aggregate_hash, sh});
}

Hash RecordDigest(const BroadcastRecord& m) {
  const auto r = Le64(m.round);
  const auto p = Le32(m.participants);
  const Hash oh = Sha256({m.output});
  return Sha256(
      {Text("zipnet/record/v1"), m.instance_id, r, m.params_hash, m.aggregate_hash, p, oh});
}

Hash AbortDigest(const AbortRecord& m) {
  const auto r = Le64(m.round);
  const std::uint8_t reason = static_cast<std::uint8_t>(m.reason);
  const auto len = Le32(static_cast<std::uint32_t>(m.detail.size()));
  return Sha256(
      {Text("zipnet/abort/v1"), m.instance_id, r, ByteSpan(&reason, 1), len, Text(m.detail)});
}

// --- node session messages (zipnet/node_wire.h) -----------------------------------------------

namespace {

constexpr std::size_t kMaxAddress = 255;

void PutParams(Bytes& out, const RoundParams& p) {
  const Bytes b = p.Encode();
  out.insert(out.end(), b.begin(), b.end());
}

void PutText16(Bytes& out, std::string_view s) {
  AppendLe<std::uint16_t>(out, static_cast<std::uint16_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}

}  // namespace

std::string_view NodeRoleName(NodeRole role) {
  switch (role) {
    case NodeRole::kServer:
      return "server";
    case NodeRole::kAggregator:
      return "aggregator";
    case NodeRole::kClient:
      return "client";
    case NodeRole::kWatcher:
      return "watcher";
    case NodeRole::kOperator:
      return "operator";
  }
  return "unknown";
}

Bytes Encode(const Hello& m) {
  Bytes out = Start();
  out.push_back(static_cast<std::uint8_t>(m.role));
  Put(out, m.instance_id);
  PutParams(out, m.params);
  Put(out, m.x25519);
  AppendLe<std::uint64_t>(out, m.last_round);
  const Attestation& a = m.attestation;
  out.push_back(static_cast<std::uint8_t>(a.kind));
  AppendLe<std::uint32_t>(out, static_cast<std::uint32_t>(a.quote.size()));
  out.insert(out.end(), a.quote.begin(), a.quote.end());
  AppendLe<std::uint32_t>(out, static_cast<std::uint32_t>(a.event_log.size()));
  out.insert(out.end(), a.event_log.begin(), a.event_log.end());
  return out;
}

Bytes Encode(const Roster& m) {
  Bytes out = Start();
  Put(out, m.instance_id);
  PutParams(out, m.params);
  AppendLe<std::uint16_t>(out, static_cast<std::uint16_t>(m.servers.size()));
  for (const auto& s : m.servers) {
    Put(out, s.peer);
    Put(out, s.ed25519);
    Put(out, s.x25519);
  }
  Put(out, m.aggregator);
  PutText16(out, m.aggregator_address);
  AppendLe<std::uint16_t>(out, static_cast<std::uint16_t>(m.leaves.size()));
  for (const auto& l : m.leaves) {
    Put(out, l.peer);
    PutText16(out, l.address);
  }
  return out;
}

Bytes Encode(const Registered& m) {
  Bytes out = Start();
  Put(out, m.client_id);
  return out;
}

Bytes Encode(const Rejected& m) {
  Bytes out = Start();
  Put(out, m.client_id);
  PutText16(out, m.reason);
  return out;
}

Bytes Encode(const RoundOpen& m) {
  Bytes out = Start();
  AppendLe<std::uint64_t>(out, m.round);
  Put(out, m.opener);
  AppendLe<std::uint32_t>(out, m.fold_ms);
  AppendLe<std::uint32_t>(out, m.deadline_ms);
  Put(out, m.signature);
  return out;
}

Bytes Encode(const Admitted& m) {
  Bytes out = Start();
  AppendLe<std::uint32_t>(out, static_cast<std::uint32_t>(m.clients.size()));
  for (const auto& [id, key] : m.clients) {
    Put(out, id);
    Put(out, key);
  }
  return out;
}

Bytes Encode(const RecordVote& m) {
  Bytes out = Start();
  AppendLe<std::uint64_t>(out, m.round);
  Put(out, m.record_digest);
  Put(out, m.signature.server);
  Put(out, m.signature.signature);
  return out;
}

Bytes Encode(const Configure& m) {
  Bytes out = Start();
  Put(out, m.instance_id);
  AppendLe<std::uint16_t>(out, static_cast<std::uint16_t>(m.committee.size()));
  for (const auto& [peer, address] : m.committee) {
    Put(out, peer);
    PutText16(out, address);
  }
  Put(out, m.aggregator);
  PutText16(out, m.aggregator_address);
  return out;
}

Bytes Encode(const ConfigureResult& m) {
  Bytes out = Start();
  out.push_back(m.accepted ? 1 : 0);
  PutText16(out, m.detail);
  return out;
}

std::array<std::uint8_t, 64> LinkReportData(const LinkBinding& binding, NodeRole role,
                                            const Hash& instance_id, const PublicKey& ed25519,
                                            const PublicKey& x25519) {
  const std::uint8_t r = static_cast<std::uint8_t>(role);
  const std::vector<ByteSpan> fields = {binding, ByteSpan(&r, 1), instance_id, ed25519, x25519};
  return tdxrt::BindReportData("zipnet/link/v1", fields);
}

Bytes EncodePing() { return Start(); }

namespace {

Result<RoundParams> ReadParams(Reader& r, ByteSpan body) {
  const std::uint64_t at = r.pos();
  if (body.size() < at) return r.Bad("params truncated");
  Cursor c(body.subspan(static_cast<std::size_t>(at)), at);
  TDX_ASSIGN_OR_RETURN(RoundParams p, RoundParams::Decode(c));
  TDX_TRY(r.Skip(c.pos(), "params"));
  return p;
}

Result<std::string> ReadText16(Reader& r, std::string_view field, std::size_t limit) {
  TDX_ASSIGN_OR_RETURN(std::size_t n, r.Count16(field, limit, 1));
  TDX_ASSIGN_OR_RETURN(ByteSpan b, r.Take(n, field));
  return std::string(b.begin(), b.end());
}

}  // namespace

Result<Hello> DecodeHello(ByteSpan body, const WireLimits& limits) {
  Reader r(body, "Hello");
  Hello m;
  TDX_TRY(r.Version());
  const std::uint64_t at = r.pos();
  TDX_ASSIGN_OR_RETURN(std::uint8_t role, r.U8("role"));
  if (role < 1 || role > 5) {
    return r.Bad("role " + std::to_string(role) + " at offset " + HexOffset(at) + " is not 1..5");
  }
  m.role = static_cast<NodeRole>(role);
  TDX_TRY(r.Array(m.instance_id, "instance_id"));
  TDX_ASSIGN_OR_RETURN(m.params, ReadParams(r, body));
  TDX_TRY(r.Array(m.x25519, "x25519 key"));
  TDX_ASSIGN_OR_RETURN(m.last_round, r.U64("last_round"));
  const std::uint64_t kind_at = r.pos();
  TDX_ASSIGN_OR_RETURN(std::uint8_t kind, r.U8("evidence kind"));
  if (kind > 1) {
    return r.Bad("evidence kind " + std::to_string(kind) + " at offset " + HexOffset(kind_at) +
                 " is not 0 (mock) or 1 (tdx)");
  }
  Attestation& a = m.attestation;
  a.kind = static_cast<EvidenceKind>(kind);
  TDX_ASSIGN_OR_RETURN(a.quote, r.Blob32("quote length", limits.max_evidence));
  if (a.kind == EvidenceKind::kMock && !a.quote.empty()) {
    return r.Bad("mock evidence carries a quote of " + std::to_string(a.quote.size()) + " bytes");
  }
  TDX_ASSIGN_OR_RETURN(Bytes log, r.Blob32("event log length", limits.max_evidence));
  a.event_log.assign(log.begin(), log.end());
  TDX_TRY(r.End());
  return m;
}

Result<Roster> DecodeRoster(ByteSpan body, const WireLimits& limits) {
  Reader r(body, "Roster");
  Roster m;
  TDX_TRY(r.Version());
  TDX_TRY(r.Array(m.instance_id, "instance_id"));
  TDX_ASSIGN_OR_RETURN(m.params, ReadParams(r, body));
  TDX_ASSIGN_OR_RETURN(std::size_t n, r.Count16("server count", limits.max_signatures, 80));
  m.servers.resize(n);
  for (auto& s : m.servers) {
    TDX_TRY(r.Array(s.peer, "server peer"));
    TDX_TRY(r.Array(s.ed25519, "server ed25519 key"));
    TDX_TRY(r.Array(s.x25519, "server x25519 key"));
  }
  TDX_TRY(r.Array(m.aggregator, "aggregator peer"));
  TDX_ASSIGN_OR_RETURN(m.aggregator_address,
                       ReadText16(r, "aggregator address length", kMaxAddress));
  TDX_ASSIGN_OR_RETURN(std::size_t leaves, r.Count16("leaf count", kMaxLeaves, 16 + 2));
  m.leaves.resize(leaves);
  for (auto& l : m.leaves) {
    TDX_TRY(r.Array(l.peer, "leaf peer"));
    TDX_ASSIGN_OR_RETURN(l.address, ReadText16(r, "leaf address length", kMaxAddress));
  }
  TDX_TRY(r.End());
  return m;
}

Result<Registered> DecodeRegistered(ByteSpan body, const WireLimits&) {
  Reader r(body, "Registered");
  Registered m;
  TDX_TRY(r.Version());
  TDX_TRY(r.Array(m.client_id, "client_id"));
  TDX_TRY(r.End());
  return m;
}

Result<Rejected> DecodeRejected(ByteSpan body, const WireLimits& limits) {
  Reader r(body, "Rejected");
  Rejected m;
  TDX_TRY(r.Version());
  TDX_TRY(r.Array(m.client_id, "client_id"));
  TDX_ASSIGN_OR_RETURN(m.reason, ReadText16(r, "reason length", limits.max_detail));
  TDX_TRY(r.End());
  return m;
}

Result<RoundOpen> DecodeRoundOpen(ByteSpan body, const WireLimits&) {
  Reader r(body, "RoundOpen");
  RoundOpen m;
  TDX_TRY(r.Version());
  TDX_ASSIGN_OR_RETURN(m.round, r.U64("round"));
  TDX_TRY(r.Array(m.opener, "opener"));
  TDX_ASSIGN_OR_RETURN(m.fold_ms, r.U32("fold_ms"));
  TDX_ASSIGN_OR_RETURN(m.deadline_ms, r.U32("deadline_ms"));
  TDX_TRY(r.Array(m.signature, "signature"));
  TDX_TRY(r.End());
  return m;
}

Result<Admitted> DecodeAdmitted(ByteSpan body, const WireLimits& limits) {
  Reader r(body, "Admitted");
  Admitted m;
  TDX_TRY(r.Version());
  TDX_ASSIGN_OR_RETURN(std::size_t n, r.Count32("client count", limits.max_clients, 48));
  m.clients.resize(n);
  for (auto& [id, key] : m.clients) {
    TDX_TRY(r.Array(id, "client_id"));
    TDX_TRY(r.Array(key, "client ed25519 key"));
  }
  TDX_TRY(r.End());
  return m;
}

Result<RecordVote> DecodeRecordVote(ByteSpan body, const WireLimits&) {
  Reader r(body, "RecordVote");
  RecordVote m;
  TDX_TRY(r.Version());
  TDX_ASSIGN_OR_RETURN(m.round, r.U64("round"));
  TDX_TRY(r.Array(m.record_digest, "record digest"));
  TDX_TRY(r.Array(m.signature.server, "server"));
  TDX_TRY(r.Array(m.signature.signature, "signature"));
  TDX_TRY(r.End());
  return m;
}

Result<Configure> DecodeConfigure(ByteSpan body, const WireLimits& limits) {
  Reader r(body, "Configure");
  Configure m;
  TDX_TRY(r.Version());
  TDX_TRY(r.Array(m.instance_id, "instance_id"));
  // Each entry: a 16-byte peer id and an address of at least one byte after its length.
  TDX_ASSIGN_OR_RETURN(std::size_t n, r.Count16("committee size", limits.max_signatures, 16 + 3));
  m.committee.resize(n);
  for (auto& [peer, address] : m.committee) {
    TDX_TRY(r.Array(peer, "committee peer"));
    TDX_ASSIGN_OR_RETURN(address, ReadText16(r, "committee address length", kMaxAddress));
  }
  TDX_TRY(r.Array(m.aggregator, "aggregator peer"));
  TDX_ASSIGN_OR_RETURN(m.aggregator_address,
                       ReadText16(r, "aggregator address length", kMaxAddress));
  TDX_TRY(r.End());
  return m;
}

Result<ConfigureResult> DecodeConfigureResult(ByteSpan body, const WireLimits& limits) {
  Reader r(body, "ConfigureResult");
  ConfigureResult m;
  TDX_TRY(r.Version());
  const std::uint64_t at = r.pos();
  TDX_ASSIGN_OR_RETURN(std::uint8_t accepted, r.U8("accepted"));
  if (accepted > 1) {
    return r.Bad("accepted flag " + std::to_string(accepted) + " at offset " + HexOffset(at) +
                 " is not 0 or 1");
  }
  m.accepted = accepted == 1;
  TDX_ASSIGN_OR_RETURN(m.detail, ReadText16(r, "detail length", limits.max_detail));
  TDX_TRY(r.End());
  return m;
}

Status DecodePing(ByteSpan body) {
  Reader r(body, "Ping");
  TDX_TRY(r.Version());
  return r.End();
}

Hash RoundOpenDigest(const Hash& instance_id, const Hash& params_hash, const RoundOpen& m) {
  const auto r = Le64(m.round);
  const auto f = Le32(m.fold_ms);
  const auto d = Le32(m.deadline_ms);
  return Sha256({Text("zipnet/round-open/v1"), instance_id, params_hash, r, m.opener, f, d});
}

}  // namespace zipnet
