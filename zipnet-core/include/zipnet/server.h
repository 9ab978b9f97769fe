// A zipnet committee server (zipnet-protocol.md, "Registration and attestation" and steps 3-4):
// its client registry, the share (XOR of the listed clients' pads, computed on several threads
// with a deterministic result), commit-then-reveal, combining shares into the round's output,
// and signing records and abort records.
//
// Anonymity needs every server's pads removed, so Combine refuses to produce a record without
// a share (matching its commitment) from every committee server. Not thread-safe: one driver
// calls it; ComputeShare spreads its own work over `threads`.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <span>
#include <unordered_map>

#include "zipnet/committee.h"
#include "zipnet/ratchet.h"
#include "zipnet/registry_file.h"

namespace zipnet {

// report_data a client's evidence must carry: SHA-512("zipnet/bundle/v1" || instance_id ||
// ed25519_pub || x25519_pub).
std::array<std::uint8_t, 64> BundleReportData(const ClientBundle& bundle);

// Checks TDX evidence (quote verification + measurement policy); given the report_data the
// quote must carry. Returns a failed Status (its message is surfaced as Attestation("...")).
using EvidenceCheck =
    std::function<Status(const ClientBundle&, const std::array<std::uint8_t, 64>& report_data)>;

struct ServerConfig {
  RoundParams params;
  Hash instance_id{};
  Ed25519KeyPair identity;
  X25519KeyPair dh;
  bool tdx_gating = true;        // refuse mock evidence; require evidence_check to pass
  EvidenceCheck evidence_check;  // required when tdx_gating
  unsigned threads = 1;          // for ComputeShare
};

class Server {
 public:
  static Result<Server> Create(ServerConfig config, Committee committee);

  const PeerId& peer() const { return peer_; }
  ServerInfo info() const;

  // Admits a client. Errors start with "Attestation: " when the evidence is refused.
  Status Register(const ClientBundle& bundle);
  std::optional<PublicKey> Lookup(const ClientId& id) const;
  // The registered client an aggregate's short id names.
  std::optional<ClientId> Resolve(const ShortClientId& client) const;
  std::size_t registry_size() const { return registry_.size(); }
  // What registration established about every client (their keys and evidence kind), ordered
  // by client id: what a registry file keeps (zipnet/registry_file.h).
  std::vector<RegistryEntry> Clients() const;

  // Derives every registered client's pad key for `round` ahead of the aggregate (a node calls
  // it when the round opens, while the aggregator folds), so that unblinding on the aggregate's
  // arrival is AES only. The keys are wiped when the round's share is computed or the next
  // round is prepared.
  Status PrepareRound(std::uint64_t round);
  // XOR of the pads of `ids` for `round`; every id must be registered.
  Result<Bytes> ComputeShare(std::uint64_t round, std::span<const ClientId> ids);

  // Step 3: verifies the aggregate (signature, registration of every listed client), computes
  // and keeps this server's share, and commits to it.
  Result<ShareCommit> Commit(const Aggregate& aggregate, const PublicKey& aggregator_key);
  // Reveals the share once a valid commitment from every committee server is in `commits`.
  Result<Share> Reveal(std::uint64_t round, std::span<const ShareCommit> commits);
  // Step 4: output = aggregate XOR every share; each share must carry a valid signature and
  // match its commitment. The record is returned unsigned.
  Result<BroadcastRecord> Combine(const Aggregate& aggregate, std::span<const Share> shares) const;
  // Recomputes the record from the same inputs and signs it if it is identical.
  Result<RecordSignature> SignRecord(const BroadcastRecord& record, const Aggregate& aggregate,
                                     std::span<const Share> shares) const;
  AbortRecord MakeAbort(std::uint64_t round, AbortReason reason, std::string detail) const;
  RecordSignature SignAbort(const AbortRecord& record) const;

 private:
  Server(ServerConfig config, Committee committee);
  struct Registered {
    ClientId id{};
    PublicKey ed25519{};
    PublicKey x25519{};
    EvidenceKind evidence_kind = EvidenceKind::kMock;
    EpochRatchet ratchet;
    std::optional<std::pair<std::uint64_t, Key16>> prepared;  // PrepareRound's key
  };
  void WipePrepared();
  struct RoundState {
    Hash aggregate_hash{};
    Bytes share;
    std::map<PeerId, Hash> commits;  // share hash per server, once all are in
  };

  ServerConfig config_;
  Committee committee_;
  PeerId peer_{};
  Hash committee_id_{};
  Hash params_hash_{};
  // Keyed by short id (no two registered clients share one). Looked up concurrently (reads
  // only) by ComputeShare's threads.
  const Registered* Find(const ClientId& id) const;
  std::unordered_map<ShortClientId, Registered, PrefixHash> registry_;
  std::map<std::uint64_t, RoundState> rounds_;
};

}  // namespace zipnet
