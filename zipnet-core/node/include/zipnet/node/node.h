// The zipnet node roles over the network (zipnet-protocol.md): committee server, aggregator,
// client (and a read-only watcher). Each runs on a Loop (one thread); several may share one
// Loop or one process (tests, benchmarks, a process hosting many clients). The programs
// zipnet-server, zipnet-aggregator and zipnet-client are thin mains over these classes.
//
// Topology: every server listens; servers dial each other (each keeps one outgoing connection
// per peer server for what it sends); the aggregator dials every server and listens for
// clients; a client dials every server (roster, registration), then the aggregator the
// servers name (envelopes up; round openings, records and aborts down). Watchers dial servers.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "zipnet/client.h"
#include "zipnet/node/attestation.h"
#include "zipnet/node/transport.h"
#include "zipnet/node_wire.h"
#include "zipnet/server.h"

namespace spdlog {
class logger;
}
namespace prometheus {
class Registry;
}

namespace zipnet::node {

using Millis = std::chrono::milliseconds;

struct NodeCommon {
  std::string universe{kDefaultUniverse};
  std::string instance;  // ZIPNET_INSTANCE (required)
  RoundParams params;
  TransportOptions transport;
  std::shared_ptr<prometheus::Registry> metrics;  // optional
  // What this node presents on every link (null: mock evidence), and how it judges its peers
  // (zipnet/node/attestation.h).
  std::shared_ptr<Attester> attester;
  PeerJudges judges;
  // Threads making this node's quotes and judging its peers' (AttestationWorkers, common.h);
  // 0: on the loop.
  unsigned attestation_threads = 2;
  Hash instance_id() const { return InstanceId(universe, instance); }
};

// --- committee server ---------------------------------------------------------------------------

struct ServerNodeConfig {
  NodeCommon common;
  Ed25519KeyPair identity;
  X25519KeyPair dh;
  Endpoint listen;
  std::vector<PeerAddress> committee;  // every server, this one included
  PeerAddress aggregator;              // its peer id, and the address clients dial
  // An aggregator tree's leaves (ZIPNET_LEAVES): announced in the roster, clients dial one of
  // them instead of the aggregator above, which is then the tree's root.
  std::vector<PeerAddress> leaves;
  Millis period{1000};    // from one round's opening to the next
  Millis fold{300};       // the aggregator's fold deadline after opening
  Millis deadline{3000};  // a round not finished by then is aborted
  std::uint32_t min_participants = 1;
  // Clients must present TDX evidence, judged by common.judges.client (required); off: mock
  // evidence is admitted (development).
  bool tdx_gating = true;
  bool strict_attestation = false;  // answer a refused registration with Rejected
  unsigned threads = 1;
  // Where the client registry is kept across restarts (zipnet/registry_file.h); empty: in memory
  // only. `admission` digests the settings clients are admitted by (gating, client policy,
  // trust anchor): a registry written under other ones is not loaded.
  std::filesystem::path registry_file;
  Hash admission{};
  // The operator (ZIPNET_OPERATOR): the one peer that may send this server a committee list
  // (Configure). A server's identity is born where it runs (inside its TD), so the list naming
  // every member can only be made once they have all started: a server without a committee
  // waits for the operator's. on_configure gets a checked list (this server in it, no peer
  // twice, parsed addresses); the program restarts with it. Required with operator_peer.
  std::optional<PeerId> operator_peer;
  std::function<void(const std::vector<PeerAddress>& committee, const PeerAddress& aggregator)>
      on_configure;
};

struct ServerStats {
  std::uint64_t finalized = 0;
  std::uint64_t aborted = 0;
  std::optional<std::uint64_t> round;
  std::size_t registry = 0;
  double attestation_cpu_s = 0;  // its attestation threads' CPU (AttestationWorkers)
};

class ServerNode {
 public:
  static Result<std::unique_ptr<ServerNode>> Create(Loop& loop, ServerNodeConfig config);
  ~ServerNode();
  Endpoint bound() const;
  ServerStats stats() const;
  void Stop();

  struct State;

 private:
  explicit ServerNode(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

// --- aggregator ---------------------------------------------------------------------------------

struct AggregatorNodeConfig {
  NodeCommon common;
  Ed25519KeyPair identity;
  Endpoint listen;
  std::vector<PeerAddress> servers;  // ZIPNET_BOOTSTRAP: every committee server
  // Threads checking envelope signatures (the fold itself stays on the loop); 0: on the loop.
  unsigned verify_threads = 0;
  // An aggregator tree (docs/zipnet.md). A leaf (`parent` set; `servers` unused) dials its
  // parent instead of the committee: it learns the roster, the admitted clients and each round
  // from it, folds its own clients' envelopes and sends the parent its signed aggregate a
  // quarter of the fold time early. A parent takes the aggregates of the peers in `children`
  // (each checked by its one signature, their clients disjoint) besides its clients' envelopes.
  std::optional<PeerAddress> parent;
  std::set<PeerId> children;
};

class AggregatorNode {
 public:
  static Result<std::unique_ptr<AggregatorNode>> Create(Loop& loop, AggregatorNodeConfig config);
  ~AggregatorNode();
  Endpoint bound() const;
  void Stop();

  struct State;

 private:
  explicit AggregatorNode(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

// --- client and watcher -------------------------------------------------------------------------

// What ends a client: the errors surfaced to users.
struct ClientExit {
  enum class Kind { kDone, kConnectTimeout, kAttestation, kFatal } kind = Kind::kDone;
  std::string detail;
  std::string ToString() const;  // "ConnectTimeout: ...", "Attestation(\"...\")"
};

struct ClientNodeConfig {
  NodeCommon common;
  std::vector<PeerAddress> bootstrap;  // every committee server
  ClientKeys keys;
  // A committee server (or the aggregator) whose attestation is refused ends the client with
  // Attestation("...") instead of being treated as absent (ConnectTimeout).
  bool strict_attestation = false;
  std::optional<std::string> message;  // re-queued whenever delivered; none = cover traffic
  std::uint32_t cadence = 1;
  Millis connect_timeout{30000};
  std::uint64_t max_messages = 0;  // exit (kDone) after this many deliveries; 0 = never
  std::function<void(const ClientExit&)> on_exit;
  // Called with each delivered message (after the log line).
  std::function<void(std::uint64_t round, const Bytes& message)> on_delivered;
};

class ClientNode {
 public:
  static Result<std::unique_ptr<ClientNode>> Create(Loop& loop, ClientNodeConfig config);
  ~ClientNode();
  const ClientId& id() const;
  bool registered() const;
  Traffic traffic() const;  // all its connections, closed ones included
  void Stop();

  struct State;

 private:
  explicit ClientNode(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

// Sends a committee list and aggregator to the server at `server` as its operator (the identity
// the server was started with, ZIPNET_OPERATOR); done() gets the server's answer, or why there
// was none (dial, handshake, refusal, timeout).
void SendConfiguration(Loop& loop, const NodeCommon& common, const Ed25519KeyPair& identity,
                       const PeerAddress& server, const std::vector<PeerAddress>& committee,
                       const PeerAddress& aggregator, Millis timeout,
                       std::function<void(Result<ConfigureResult>)> done);

// Read-only subscriber: prints every record (decoded messages, per-slot tag status) and abort.
struct WatcherConfig {
  NodeCommon common;
  std::vector<PeerAddress> bootstrap;
  Ed25519KeyPair identity;
  Millis connect_timeout{30000};
  std::uint64_t max_rounds = 0;  // exit after this many records or aborts; 0 = never
  std::function<void(const std::string& line)> print;
  std::function<void(const ClientExit&)> on_exit;
  bool json = false;  // print one JSON object per record, abort or refusal (docs/zipnet.md)
};

class Watcher {
 public:
  static Result<std::unique_ptr<Watcher>> Create(Loop& loop, WatcherConfig config);
  ~Watcher();
  void Stop();

  struct State;

 private:
  explicit Watcher(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

// The lines Watcher prints for a verified record.
std::vector<std::string> DescribeRecord(const BroadcastRecord& record, const Hash& instance_id,
                                        const RoundParams& params);
std::string DescribeAbort(const AbortRecord& record, std::size_t committee_size);
// The same as one-line JSON objects: {"round", "event": "finalized", "participants",
// "signatures", "slots": [{"slot", "state": "valid"|"garbled", "message" (UTF-8, invalid bytes
// replaced), "message_hex"}]} and {"round", "event": "aborted", "reason", "detail",
// "signatures", "committee"}.
std::string DescribeRecordJson(const BroadcastRecord& record, const Hash& instance_id,
                               const RoundParams& params);
std::string DescribeAbortJson(const AbortRecord& record, std::size_t committee_size);

}  // namespace zipnet::node
