// zipnet wire encoding, version 2: every message of the protocol, its binary layout, and the
// digests that are signed. Layouts are documented byte by byte in zipnet-core/doc/wire_format.md.
//
// All integers are little-endian; every body starts with u16 wire_version (2); variable-length
// fields carry a u32 (or u16) length that is checked against both the bytes left and a limit
// before anything is allocated; trailing bytes are an error. Decoders never trust a count to
// size an allocation without checking it against what is actually there.
#pragma once

#include <string>
#include <vector>

#include "zipnet/crypto.h"
#include "zipnet/params.h"

namespace zipnet {

enum class MessageType : std::uint8_t {
  kClientBundle = 1,
  kEnvelope = 2,
  kAggregate = 3,
  kShareCommit = 4,
  kShare = 5,
  kBroadcastRecord = 6,
  kAbortRecord = 7,
  // Node session messages (zipnet/node_wire.h).
  kHello = 16,
  kRoster = 17,
  kRegistered = 18,
  kRejected = 19,
  kRoundOpen = 20,
  kAdmitted = 21,
  kRecordVote = 22,
  kConfigure = 23,
  kConfigureResult = 24,
  // Transport keep-alive (no body after the version): sent on an idle link, never handed to a
  // role's handler (zipnet/node/transport.h).
  kPing = 25,
};
// Whether `type` is one of the values above.
bool IsMessageType(std::uint8_t type);

struct WireLimits {
  std::size_t max_vector = kMaxVectorLen;
  std::size_t max_clients = 1u << 20;
  std::size_t max_evidence = 1u << 20;
  std::size_t max_signatures = 1024;
  std::size_t max_detail = 1024;
  std::size_t max_frame = 16u << 20;  // transport frames (issue 7 default)
};

// A rate-limit nonce (zipnet-protocol.md): the first 16 bytes of the client's HMAC, or 16
// random bytes for cover traffic.
using Nonce = std::array<std::uint8_t, 16>;

enum class EvidenceKind : std::uint8_t { kMock = 0, kTdx = 1 };

struct ClientBundle {
  Hash instance_id{};
  PublicKey ed25519{};
  PublicKey x25519{};
  EvidenceKind evidence_kind = EvidenceKind::kMock;
  Bytes evidence;  // a TDX quote, or empty for mock
};

struct Envelope {
  std::uint64_t round = 0;
  ClientId client_id{};
  Nonce nonce{};
  Bytes vector;
  Signature signature{};
};

struct AggregateEntry {
  ShortClientId client{};
  Nonce nonce{};
  bool operator==(const AggregateEntry&) const = default;
};

struct Aggregate {
  std::uint64_t round = 0;
  std::vector<AggregateEntry> entries;  // sorted by short client id, unique
  Bytes vector;
  PeerId aggregator{};
  Signature signature{};
};

struct ShareCommit {
  std::uint64_t round = 0;
  PeerId server{};
  Hash aggregate_hash{};
  Hash share_hash{};
  Signature signature{};
};

struct Share {
  std::uint64_t round = 0;
  PeerId server{};
  Hash aggregate_hash{};
  Bytes share;
  Signature signature{};
};

struct RecordSignature {
  PeerId server{};
  Signature signature{};
};

struct BroadcastRecord {
  Hash instance_id{};
  std::uint64_t round = 0;
  Hash params_hash{};
  Hash aggregate_hash{};
  std::uint32_t participants = 0;
  Bytes output;
  std::vector<RecordSignature> signatures;  // sorted by server peer id
};

enum class AbortReason : std::uint8_t {
  kMissingShare = 1,
  kShareMismatch = 2,
  kBadAggregate = 3,
  kTooFewParticipants = 4,
};
std::string_view AbortReasonName(AbortReason reason);

struct AbortRecord {
  Hash instance_id{};
  std::uint64_t round = 0;
  AbortReason reason = AbortReason::kMissingShare;
  std::string detail;
  std::vector<RecordSignature> signatures;
};

Bytes Encode(const ClientBundle& m);
Bytes Encode(const Envelope& m);
Bytes Encode(const Aggregate& m);
Bytes Encode(const ShareCommit& m);
Bytes Encode(const Share& m);
Bytes Encode(const BroadcastRecord& m);
Bytes Encode(const AbortRecord& m);

Result<ClientBundle> DecodeClientBundle(ByteSpan body, const WireLimits& limits = {});
Result<Envelope> DecodeEnvelope(ByteSpan body, const WireLimits& limits = {});
Result<Aggregate> DecodeAggregate(ByteSpan body, const WireLimits& limits = {});
Result<ShareCommit> DecodeShareCommit(ByteSpan body, const WireLimits& limits = {});
Result<Share> DecodeShare(ByteSpan body, const WireLimits& limits = {});
Result<BroadcastRecord> DecodeBroadcastRecord(ByteSpan body, const WireLimits& limits = {});
Result<AbortRecord> DecodeAbortRecord(ByteSpan body, const WireLimits& limits = {});

// Transport frame: u32 LE length of what follows, u8 type, body.
Bytes EncodeFrame(MessageType type, ByteSpan body);
struct Frame {
  MessageType type;
  ByteSpan body;
};
// Decodes one whole frame (the buffer holds exactly one).
Result<Frame> DecodeFrame(ByteSpan frame, const WireLimits& limits = {});

// What is signed (zipnet-protocol.md; doc/wire_format.md lists the exact concatenations).
Hash EnvelopeDigest(const Hash& instance_id, const Envelope& m);
// Content of an aggregate, independent of which aggregator made it (recorded in BroadcastRecord).
Hash AggregateContentHash(const Aggregate& m);
Hash AggregateDigest(const Hash& instance_id, const Hash& params_hash, const Aggregate& m);
Hash CommitDigest(const Hash& instance_id, const ShareCommit& m);
Hash ShareDigest(const Hash& instance_id, const Share& m);
Hash RecordDigest(const BroadcastRecord& m);
Hash AbortDigest(const AbortRecord& m);

}  // namespace zipnet
