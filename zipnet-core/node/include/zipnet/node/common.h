// What every zipnet node program shares: identity files, logging in the documented format,
// the Prometheus endpoint, the refused-peers metric.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "zipnet/crypto.h"
#include "zipnet/node_wire.h"
#include "zipnet/server.h"

namespace spdlog {
class logger;
}
namespace prometheus {
class Registry;
class Exposer;
class Counter;
template <typename T>
class Family;
}  // namespace prometheus

namespace zipnet::node {

struct NodeCommon;
class Connection;
class Loop;
struct Refusal;
using ConnectionPtr = std::shared_ptr<Connection>;

// A node's long-lived keys.
struct NodeIdentity {
  Ed25519KeyPair ed25519;
  X25519KeyPair x25519;
};
NodeIdentity GenerateIdentity(Rng& rng);

// Loads the identity secret file, or creates it (mode 0600, written to a temporary name and
// renamed) when absent. Refuses a file that group or others may read, or that is malformed.
// `created` says which happened.
Result<NodeIdentity> LoadOrCreateIdentity(const std::filesystem::path& path, bool* created);

// Logs go to stderr as "2026-11-22T10:00:00.123Z INFO zipnet_client: message" (UTC).
// `level` is trace, debug, info, warn, error or off.
Status ConfigureLogging(const std::string& level);
std::shared_ptr<spdlog::logger> Logger(const std::string& name);

// Serves `registry` at http://<address>/metrics until destroyed.
class MetricsEndpoint {
 public:
  static Result<std::unique_ptr<MetricsEndpoint>> Start(const std::string& address,
                                                        std::shared_ptr<prometheus::Registry> r);
  ~MetricsEndpoint();

 private:
  MetricsEndpoint() = default;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

// zipnet_peers_refused_total{role, reason}: peers refused at their Hello (attestation.h).
prometheus::Family<prometheus::Counter>& RefusedPeersMetric(prometheus::Registry& r);

// --- evidence off the loop ----------------------------------------------------------------------
// Making a quote (the TD's configfs-tsm, milliseconds) and judging one (DCAP signatures and
// certificate chains, the policy) would stall every other link if done on the loop. A node runs
// them on these threads; the link waits (its reads paused, or its output held behind its Hello) and
// everything else goes on.
class AttestationWorkers {
 public:
  // threads == 0: jobs run at once on the caller's thread (the loop), as before.
  AttestationWorkers(Loop& loop, unsigned threads);
  // Waits for the jobs running; continuations not run yet never run (their owner is going).
  ~AttestationWorkers();
  AttestationWorkers(const AttestationWorkers&) = delete;
  AttestationWorkers& operator=(const AttestationWorkers&) = delete;
  // Runs `job` on a worker thread, then `then` on the loop, unless these workers are gone.
  void Run(std::function<void()> job, std::function<void()> then);
  // CPU time the worker threads spent in jobs (seconds; 0 without threads: the loop's own).
  double cpu_seconds() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Sends this node's Hello as `role` on `c` (its X25519 key, for servers and clients, and its
// evidence made for that session on `workers`); frames sent on `c` meanwhile follow the Hello.
// `finish` (optional) completes it just before it leaves (a server's last round). When no evidence
// can be made, `failed` gets why (the caller closes the link or exits: a node never falls back to
// weaker evidence).
void SendHello(AttestationWorkers& workers, const NodeCommon& common, NodeRole role,
               const ConnectionPtr& c, const PublicKey& ed25519, const PublicKey& x25519,
               std::function<void(Hello&)> finish, std::function<void(const Status&)> failed);

// What a node does with a judged Hello, on the loop: `verdict` is OK when the peer's attestation
// is admitted (its policy set logged) or its role is not judged, else "attestation: ..." (the
// refusal already logged and counted in `refused`), `refusal` its reason. A failed status
// returned closes the link.
using HelloJudged =
    std::function<Status(Hello hello, Status verdict, std::optional<Refusal> refusal)>;

// Judges the attestation in a peer's Hello by the peer's role (PeerJudges) on `workers`: `c`
// reads nothing more until `judged` has run (on the loop, `c` still open). Roles this node does not
// judge are decided at once. Returns what `judged` returned when it ran at once, else OK.
Status AdmitHelloOffLoop(AttestationWorkers& workers, const NodeCommon& common, Hello hello,
                         const ConnectionPtr& c, spdlog::logger& log,
                         prometheus::Family<prometheus::Counter>* refused, HelloJudged judged);

// DecodeHello for a Hello that came on `c`; a Hello of another wire version (a peer running an
// older or newer zipnet) is logged at INFO, with the peer's address: an operator mixing versions
// sees why the link is refused without debug logs.
Result<Hello> DecodePeerHello(ByteSpan body, const WireLimits& limits, const Connection& c,
                              spdlog::logger& log);

// Decodes a peer's Hello: one that is not from `role` of this instance with these params is
// refused at once (the status returned); AdmitHelloOffLoop judges the rest.
Status ExpectHelloOffLoop(AttestationWorkers& workers, ByteSpan body, const NodeCommon& common,
                          const ConnectionPtr& c, NodeRole role, spdlog::logger& log,
                          prometheus::Family<prometheus::Counter>* refused, HelloJudged judged);

// The largest frame a peer of each role may send once its Hello is accepted (every other
// accepted peer stays at TransportOptions::unauthenticated_max_frame): a client's bundle (its
// keys: its evidence was in its Hello), a client's envelope (a vector of these params), an
// operator's Configure.
inline constexpr std::size_t kBundleFrameLimit = 4096;
std::size_t EnvelopeFrameLimit(const RoundParams& params);
inline constexpr std::size_t kConfigureFrameLimit = 512 * 1024;

// First `n` hex digits of an id, for logs.
std::string ShortHex(ByteSpan id, std::size_t n = 10);

}  // namespace zipnet::node
