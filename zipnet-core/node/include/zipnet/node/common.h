// What every zipnet node program shares: identity files, logging in the documented format,
// the Prometheus endpoint, and evidence checking through the runtime's policy and DCAP verifier.
#pragma once

#include <filesystem>
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
}  // namespace prometheus
namespace tdxrt {
struct Policy;
class Verifier;
}  // namespace tdxrt

namespace zipnet::node {

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

// Evidence check for a TDX-gated committee: the quote's REPORTDATA must bind the bundle's keys;
// with a verifier the quote is DCAP-verified at the current time; then the policy decides.
// Without a verifier the policy admits no TDX quote (an unverified quote proves nothing).
EvidenceCheck MakeEvidenceCheck(std::shared_ptr<const tdxrt::Policy> policy,
                                std::shared_ptr<const tdxrt::Verifier> verifier);

// Decodes a peer's Hello and checks it comes from `role` of this instance with these params.
Result<Hello> ExpectHello(ByteSpan body, const WireLimits& limits, NodeRole role,
                          const Hash& instance_id, const RoundParams& params);

// The largest frame a peer of each role may send once its Hello is accepted (every other
// accepted peer stays at TransportOptions::unauthenticated_max_frame): a client's bundle (its
// evidence and keys), a client's envelope (a vector of these params), an operator's Configure.
std::size_t BundleFrameLimit(const WireLimits& limits);
std::size_t EnvelopeFrameLimit(const RoundParams& params);
inline constexpr std::size_t kConfigureFrameLimit = 512 * 1024;

// First `n` hex digits of an id, for logs.
std::string ShortHex(ByteSpan id, std::size_t n = 10);

}  // namespace zipnet::node
