// zipnet wire encoding, version 1, of the messages only the networked nodes exchange (session
// set-up, rosters, registration answers, round opening, admissions, record signatures). Same
// rules as zipnet/wire.h: little-endian, u16 wire_version first, every length checked against
// a limit and the bytes left, trailing bytes are an error. doc/wire_format.md has the layouts.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "zipnet/committee.h"

namespace zipnet {

enum class NodeRole : std::uint8_t {
  kServer = 1,
  kAggregator = 2,
  kClient = 3,
  kWatcher = 4,   // read-only subscriber of records
  kOperator = 5,  // configures a server (Configure); accepted only from ZIPNET_OPERATOR
};
std::string_view NodeRoleName(NodeRole role);

inline constexpr std::uint64_t kNoRound = ~std::uint64_t{0};

// Link attestation: each side's Hello carries evidence of what runs at its end, made for this
// TLS session. The quote's REPORTDATA is LinkReportData(session binding, the sender's role,
// instance, its Ed25519 key (the TLS certificate's) and its X25519 key (the one in its Hello;
// zeros for roles without one)), so a quote copied from another connection, or made for other
// keys, binds nothing here. The event log is the sender's RTMR3 log (tdxrt/rtmr.h JSON lines,
// with its launch record, tdxrt/launch.h).
struct Attestation {
  EvidenceKind kind = EvidenceKind::kMock;  // kMock: no quote (development)
  Bytes quote;
  std::string event_log;
};

// The TLS exporter value of a connection (zipnet/node/transport.h, Connection::binding).
using LinkBinding = std::array<std::uint8_t, 32>;

// SHA-512("zipnet/link/v1" || binding || u8 role || instance_id || ed25519 || x25519).
std::array<std::uint8_t, 64> LinkReportData(const LinkBinding& binding, NodeRole role,
                                            const Hash& instance_id, const PublicKey& ed25519,
                                            const PublicKey& x25519);

// First frame on every connection, both ways after TLS. Servers and clients put their X25519
// key (bound by their Attestation), a server the last round it knows; the others send zeros /
// kNoRound.
struct Hello {
  NodeRole role = NodeRole::kClient;
  Hash instance_id{};
  RoundParams params;
  PublicKey x25519{};
  std::uint64_t last_round = kNoRound;
  Attestation attestation;  // what runs at the sender's end, made for this session
};

// A server's view of the committee, sent to clients, watchers and the aggregator after their
// Hello (the TLS session pins which server says it).
struct Roster {
  Hash instance_id{};
  RoundParams params;
  std::vector<ServerInfo> servers;  // sorted by peer id
  PeerId aggregator{};
  std::string aggregator_address;  // host:port clients dial (when there are no leaves)
  // An aggregator tree's leaves (ZIPNET_LEAVES): clients dial one of these instead, spread by
  // client id; the aggregator above is then the root, which folds the leaves' aggregates.
  struct Leaf {
    PeerId peer{};
    std::string address;
    bool operator==(const Leaf&) const = default;
  };
  std::vector<Leaf> leaves;
};
inline constexpr std::size_t kMaxLeaves = 256;

struct Registered {
  ClientId client_id{};
};

// Strict surfacing of a refused registration (otherwise the server stays silent).
struct Rejected {
  ClientId client_id{};
  std::string reason;
};

// The round leader's clock: round `round` opens now; the aggregator folds for fold_ms, every
// server gives up on the round after deadline_ms. Signed by the opener (a committee server).
struct RoundOpen {
  std::uint64_t round = 0;
  PeerId opener{};
  std::uint32_t fold_ms = 0;
  std::uint32_t deadline_ms = 0;
  Signature signature{};
};

// The operator's settings for a server started without a committee list: a server's identity
// is born inside its TD, so the list naming every member's peer id can only be made after they
// have all booted; after a member's reboot (a new identity) the others get a new list the same
// way. Only the operator the server was started with (ZIPNET_OPERATOR) may send it.
struct Configure {
  Hash instance_id{};
  std::vector<std::pair<PeerId, std::string>> committee;  // every server: peer id, host:port
  PeerId aggregator{};
  std::string aggregator_address;  // host:port clients dial
};

// The server's answer to Configure: accepted (it restarts with the settings), or why not.
struct ConfigureResult {
  bool accepted = false;
  std::string detail;
};

// Clients a server has admitted (server -> aggregator): a full snapshot on connect, then news.
struct Admitted {
  std::vector<std::pair<ClientId, PublicKey>> clients;  // client id, Ed25519 key
};

// One server's signature over the record it computed for `round` (server -> servers).
struct RecordVote {
  std::uint64_t round = 0;
  Hash record_digest{};
  RecordSignature signature;
};

Bytes Encode(const Hello& m);
Bytes Encode(const Roster& m);
Bytes Encode(const Registered& m);
Bytes Encode(const Rejected& m);
Bytes Encode(const RoundOpen& m);
Bytes Encode(const Admitted& m);
Bytes Encode(const RecordVote& m);
Bytes Encode(const Configure& m);
Bytes Encode(const ConfigureResult& m);

// The quote and the event log are each at most limits.max_evidence bytes.
Result<Hello> DecodeHello(ByteSpan body, const WireLimits& limits = {});
Result<Roster> DecodeRoster(ByteSpan body, const WireLimits& limits = {});
Result<Registered> DecodeRegistered(ByteSpan body, const WireLimits& limits = {});
Result<Rejected> DecodeRejected(ByteSpan body, const WireLimits& limits = {});
Result<RoundOpen> DecodeRoundOpen(ByteSpan body, const WireLimits& limits = {});
Result<Admitted> DecodeAdmitted(ByteSpan body, const WireLimits& limits = {});
Result<RecordVote> DecodeRecordVote(ByteSpan body, const WireLimits& limits = {});
Result<Configure> DecodeConfigure(ByteSpan body, const WireLimits& limits = {});
Result<ConfigureResult> DecodeConfigureResult(ByteSpan body, const WireLimits& limits = {});
// A Ping is the version byte alone.
Bytes EncodePing();
Status DecodePing(ByteSpan body);

// SHA-256("zipnet/round-open/v1" || instance_id || params hash || LE64(round) || opener ||
// LE32(fold_ms) || LE32(deadline_ms)).
Hash RoundOpenDigest(const Hash& instance_id, const Hash& params_hash, const RoundOpen& m);

}  // namespace zipnet
