// The zipnet programs' command lines (CLI11, every flag also read from its ZIPNET_* variable),
// in one translation unit so that CLI11 is compiled once for the three thin mains.
#include "programs.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "attest_setup.h"
#include "main_common.h"
#include "tdxrt/cli.h"
#include "tdxrt/collateral.h"
#include "tdxrt/dcap.h"
#include "tdxrt/file.h"
#include "tdxrt/hex.h"
#include "tdxrt/json.h"
#include "tdxrt/policy.h"
#include "tdxrt/provider.h"
#include "tdxrt/text.h"

namespace zipnet::node {

namespace {

// Restarts this server with the committee list its operator sent (Configure): the same program
// and arguments, minus any --committee/--aggregator, with ZIPNET_COMMITTEE and ZIPNET_AGGREGATOR
// set. The identity file persists, so the peer id stays; every descriptor is closed on exec, so
// the listening port is free for the new process. Returns only when exec fails.
void RestartWithCommittee(char** argv, const std::vector<PeerAddress>& committee,
                          const PeerAddress& aggregator, spdlog::logger& log) {
  std::string list;
  for (const auto& p : committee) list += (list.empty() ? "" : ",") + p.ToString();
  ::setenv("ZIPNET_COMMITTEE", list.c_str(), 1);
  ::setenv("ZIPNET_AGGREGATOR", aggregator.ToString().c_str(), 1);
  std::vector<char*> args;
  for (char** a = argv; *a != nullptr; ++a) {
    const std::string_view s(*a);
    if (s == "--committee" || s == "--aggregator") {
      if (a[1] != nullptr) ++a;  // and its value
      continue;
    }
    if (s.rfind("--committee=", 0) == 0 || s.rfind("--aggregator=", 0) == 0) continue;
    args.push_back(*a);
  }
  args.push_back(nullptr);
  if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    // Kernels before 5.11: mark each open descriptor by hand.
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
      int fd = -1;
      const std::string name = e.path().filename().string();
      std::from_chars(name.data(), name.data() + name.size(), fd);
      if (fd > 2) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
  }
  ::execv("/proc/self/exe", args.data());
  log.error("cannot restart with the operator's committee: exec /proc/self/exe: {}",
            std::strerror(errno));
}

}  // namespace

// --show-identity: "peer=... ed25519=... [x25519=...]", or with --json {"peer", "ed25519",
// "x25519"}.
void PrintIdentity(bool json, const NodeIdentity& id, bool with_x25519) {
  const std::string peer = tdxrt::ToHex(PeerIdOf(id.ed25519.public_key));
  const std::string ed = tdxrt::ToHex(id.ed25519.public_key);
  const std::string x = tdxrt::ToHex(id.x25519.public_key);
  if (json) {
    nlohmann::ordered_json j;
    j["peer"] = peer;
    j["ed25519"] = ed;
    if (with_x25519) j["x25519"] = x;
    std::printf("%s\n", tdxrt::DumpJson(j).c_str());
  } else if (with_x25519) {
    std::printf("peer=%s ed25519=%s x25519=%s\n", peer.c_str(), ed.c_str(), x.c_str());
  } else {
    std::printf("peer=%s ed25519=%s\n", peer.c_str(), ed.c_str());
  }
}

int ConfigureServer(const std::string& tool, const CommonFlags& flags, const AttestFlags& attest,
                    const std::string& operator_identity, const std::string& target,
                    const std::string& committee, const std::string& aggregator);

// zipnet-server: a committee server (zipnet-protocol.md). Configuration from flags or ZIPNET_*.

namespace {

// The registry file: ZIPNET_REGISTRY, or beside the identity file.
std::filesystem::path RegistryPath(const std::string& identity, const std::string& setting) {
  if (!setting.empty()) return setting;
  std::filesystem::path p = identity;
  if (p.extension() == ".key") return p.replace_extension(".registry");
  p += ".registry";
  return p;
}

// What clients are admitted by: gating, the client policy and the trust anchor quotes chain to
// (each as given: a file's bytes, or the inline value; empty for none or the default). A
// registry written under another digest is not loaded (registry_file.h).
Result<Hash> AdmissionDigest(bool gating, const std::string& policy, const std::string& root_ca) {
  auto value = [](const std::string& v) -> Result<Hash> {
    if (v.empty() || v.front() == '{') return Sha256({Text(v)});
    TDX_ASSIGN_OR_RETURN(tdxrt::Bytes b, tdxrt::ReadFile(v, 16u << 20));
    return Sha256({b});
  };
  TDX_ASSIGN_OR_RETURN(Hash p, value(policy));
  TDX_ASSIGN_OR_RETURN(Hash r, value(root_ca));
  const std::uint8_t g = gating ? 1 : 0;
  return Sha256({Text("zipnet/admission/v1"), ByteSpan(&g, 1), p, r});
}

}  // namespace

int ServerMain(int argc, char** argv, const char* settings) {
  const std::string tool = "zipnet-server";
  CLI::App app{
      "zipnet committee server: registers attested clients, unblinds rounds with the "
      "other servers, signs and publishes records"};
  CommonFlags common_flags;
  AddCommonFlags(app, common_flags);
  AddConnectionFlags(app, common_flags);
  std::string listen = "0.0.0.0:7801", committee, aggregator, identity = "zipnet-server.key";
  std::string policy_file, gating = "on", operator_peer, configure_target, operator_identity;
  AttestFlags attest;
  unsigned period = 1000, fold = 300, deadline = 3000, threads = 1;
  std::uint32_t min_participants = 1;
  bool strict = false, show_identity = false;
  app.add_option("--listen", listen, "Address to listen on")
      ->envname("ZIPNET_LISTEN")
      ->capture_default_str();
  app.add_option("--committee", committee,
                 "Every committee server, this one included: <peer id>@host:port,...")
      ->envname("ZIPNET_COMMITTEE");
  app.add_option("--aggregator", aggregator,
                 "The aggregator: <peer id>@host:port (the address clients dial)")
      ->envname("ZIPNET_AGGREGATOR");
  app.add_option("--identity", identity,
                 "Identity secret file (created with mode 0600 on first start)")
      ->envname("ZIPNET_IDENTITY")
      ->capture_default_str();
  app.add_flag("--show-identity", show_identity,
               "Print this server's peer id and public keys (creating the identity) and exit");
  app.add_option("--operator", operator_peer,
                 "Peer id of the operator who may send this server its committee list; without "
                 "ZIPNET_COMMITTEE the server waits for it (see --configure)")
      ->envname("ZIPNET_OPERATOR");
  app.add_option("--configure", configure_target,
                 "As the operator: send ZIPNET_COMMITTEE and ZIPNET_AGGREGATOR to the server "
                 "<peer id>@host:port, print its answer and exit (needs --operator-identity)");
  app.add_option("--operator-identity", operator_identity,
                 "With --configure: the operator's identity file (created 0600 if absent; its "
                 "peer id is what servers take as ZIPNET_OPERATOR)");
  app.add_option("--round-period-ms", period, "From one round's opening to the next")
      ->envname("ZIPNET_ROUND_PERIOD_MS")
      ->check(CLI::Range(10u, 3600000u))
      ->capture_default_str();
  app.add_option("--fold-ms", fold, "Aggregator fold deadline after a round opens")
      ->envname("ZIPNET_FOLD_MS")
      ->check(CLI::Range(1u, 600000u))
      ->capture_default_str();
  app.add_option("--round-deadline-ms", deadline, "A round not finished by then is aborted")
      ->envname("ZIPNET_ROUND_DEADLINE_MS")
      ->check(CLI::Range(2u, 600000u))
      ->capture_default_str();
  app.add_option("--min-participants", min_participants, "Rounds with fewer envelopes are aborted")
      ->envname("ZIPNET_MIN_PARTICIPANTS")
      ->capture_default_str();
  app.add_option("--tdx-gating", gating,
                 "on: admit only clients whose TDX quote passes the "
                 "policy; off: admit mock evidence (development)")
      ->envname("ZIPNET_TDX_GATING")
      ->check(CLI::IsMember({"on", "off"}))
      ->capture_default_str();
  app.add_option("--policy", policy_file, "Measurement policy (YAML/JSON, see tdx-attest)")
      ->envname("ZIPNET_TDX_POLICY");
  app.add_option("--collateral", attest.collateral,
                 "DCAP collateral JSON: quotes are verified with it (without it no TDX quote "
                 "is admitted)")
      ->envname("ZIPNET_TDX_COLLATERAL");
  AddAttestFlags(app, attest, Program::kServer);
  app.add_flag("--strict-attestation", strict,
               "Tell refused clients why (Attestation error) instead of staying silent")
      ->envname("ZIPNET_STRICT_ATTESTATION");
  app.add_option("--threads", threads, "Threads for unblinding")
      ->envname("ZIPNET_THREADS")
      ->check(CLI::Range(1u, 256u))
      ->capture_default_str();
  std::string leaves;
  app.add_option("--leaves", leaves,
                 "An aggregator tree's leaves, which clients dial instead of --aggregator (then "
                 "the root): <peer id>@host:port,...")
      ->envname("ZIPNET_LEAVES");
  std::string registry;
  app.add_option("--registry", registry,
                 "Where the client registry is kept across restarts (default: beside the "
                 "identity file, its .key replaced by .registry; 'none': in memory only)")
      ->envname("ZIPNET_REGISTRY");
  if (auto code = PrintSettings(argc, argv, settings)) return *code;
  if (auto code = tdxrt::ParseCommandLine(app, argc, argv, tool, 2)) return *code;
  if (auto code = CheckSettings(tool, settings)) return *code;

  if (!configure_target.empty()) {
    return ConfigureServer(tool, common_flags, attest, operator_identity, configure_target,
                           committee, aggregator);
  }
  bool created = false;
  auto id = LoadOrCreateIdentity(identity, &created);
  if (!Check(tool, id, "identity")) return 1;
  if (show_identity) {
    PrintIdentity(common_flags.json, *id, true);
    return 0;
  }
  // Without a committee list, a server with an operator waits for the operator's (which
  // carries the aggregator too).
  const bool awaiting = committee.empty() && !operator_peer.empty();
  if (!awaiting && (committee.empty() || aggregator.empty())) {
    std::fprintf(stderr,
                 "%s: usage error: --committee (or ZIPNET_COMMITTEE) and --aggregator (or "
                 "ZIPNET_AGGREGATOR) are required, or --operator (or ZIPNET_OPERATOR), whose "
                 "operator sends them\n",
                 tool.c_str());
    return 2;
  }
  ServerNodeConfig config;
  std::unique_ptr<MetricsEndpoint> metrics;
  if (!SetUpCommon(tool, common_flags, config.common, metrics)) return 1;
  auto log = Logger("zipnet_server");
  if (created) log->info("created identity file {} (mode 0600)", identity);
  config.identity = id->ed25519;
  config.dh = id->x25519;
  auto ep = ParseEndpoint(listen);
  if (!Check(tool, ep, "ZIPNET_LISTEN")) return 2;
  config.listen = *ep;
  if (!awaiting) {
    auto members = ParsePeerList(committee);
    if (!Check(tool, members, "ZIPNET_COMMITTEE")) return 2;
    config.committee = *members;
    auto agg = ParsePeerAddress(aggregator);
    if (!Check(tool, agg, "ZIPNET_AGGREGATOR")) return 2;
    config.aggregator = *agg;
  }
  if (!operator_peer.empty()) {
    auto op = tdxrt::FromHex(operator_peer, PeerId{}.size());
    if (!Check(tool, op, "ZIPNET_OPERATOR")) return 2;
    config.operator_peer.emplace();
    std::copy(op->begin(), op->end(), config.operator_peer->begin());
    config.on_configure = [argv, log](const std::vector<PeerAddress>& list,
                                      const PeerAddress& agg_address) {
      RestartWithCommittee(argv, list, agg_address, *log);
      std::exit(1);
    };
  }
  if (!leaves.empty()) {
    auto list = ParsePeerList(leaves);
    if (!Check(tool, list, "ZIPNET_LEAVES")) return 2;
    if (list->size() > kMaxLeaves) {
      std::fprintf(stderr, "%s: error: ZIPNET_LEAVES: %zu leaves, at most %zu\n", tool.c_str(),
                   list->size(), kMaxLeaves);
      return 2;
    }
    config.leaves = *list;
  }
  config.period = Millis(period);
  config.fold = Millis(fold);
  config.deadline = Millis(deadline);
  config.min_participants = min_participants;
  config.tdx_gating = gating == "on";
  config.strict_attestation = strict;
  config.threads = threads;
  if (config.tdx_gating && policy_file.empty()) {
    std::fprintf(stderr,
                 "%s: error: TDX gating is on: ZIPNET_TDX_POLICY must name a measurement "
                 "policy (or set ZIPNET_TDX_GATING=off for development)\n",
                 tool.c_str());
    return 2;
  }
  // Gating off admits mock evidence: a development image, which the launch record says.
  if (!SetUpAttestation(
          tool, attest,
          {.program = Program::kServer, .client_policy = policy_file, .gating = config.tdx_gating},
          config.common)) {
    return 1;
  }
  if (registry != "none") {
    config.registry_file = RegistryPath(identity, registry);
    auto admission = AdmissionDigest(config.tdx_gating, policy_file, attest.root_ca);
    if (!Check(tool, admission, "")) return 1;
    config.admission = *admission;
  }
  Loop loop;
  auto node = ServerNode::Create(loop, std::move(config));
  if (!Check(tool, node, "")) return 1;
  return RunUntilSignal(loop, **node, *log);
}

// zipnet-server --configure: the operator sends a server its committee list.
int ConfigureServer(const std::string& tool, const CommonFlags& flags, const AttestFlags& attest,
                    const std::string& operator_identity, const std::string& target,
                    const std::string& committee, const std::string& aggregator) {
  if (operator_identity.empty() || committee.empty() || aggregator.empty()) {
    std::fprintf(stderr,
                 "%s: usage error: --configure needs --operator-identity, --committee (or "
                 "ZIPNET_COMMITTEE) and --aggregator (or ZIPNET_AGGREGATOR)\n",
                 tool.c_str());
    return 2;
  }
  auto server = ParsePeerAddress(target);
  if (!Check(tool, server, "--configure")) return 2;
  auto members = ParsePeerList(committee);
  if (!Check(tool, members, "ZIPNET_COMMITTEE")) return 2;
  auto agg = ParsePeerAddress(aggregator);
  if (!Check(tool, agg, "ZIPNET_AGGREGATOR")) return 2;
  bool created = false;
  auto id = LoadOrCreateIdentity(operator_identity, &created);
  if (!Check(tool, id, "operator identity")) return 1;
  NodeCommon common;
  std::unique_ptr<MetricsEndpoint> no_metrics;
  CommonFlags quiet = flags;
  quiet.metrics.clear();
  if (!SetUpCommon(tool, quiet, common, no_metrics)) return 1;
  // With ZIPNET_COMMITTEE_POLICY the list goes only to a server whose attestation it admits.
  if (!SetUpAttestation(tool, attest,
                        {.program = Program::kOperator, .client_policy = {}, .gating = false},
                        common)) {
    return 1;
  }
  Loop loop;
  int rc = 1;
  SendConfiguration(
      loop, common, id->ed25519, *server, *members, *agg, Millis(15000),
      [&](Result<ConfigureResult> r) {
        if (!r.ok()) {
          std::fprintf(stderr, "%s: error: %s\n", tool.c_str(), r.status().message().c_str());
        } else if (!r->accepted) {
          std::fprintf(stderr, "%s: error: %s refused the committee list: %s\n", tool.c_str(),
                       target.c_str(), tdxrt::EscapeText(r->detail).c_str());
          rc = 3;
        } else {
          if (flags.json) {
            nlohmann::ordered_json j;
            j["server"] = target;
            j["accepted"] = true;
            j["detail"] = r->detail;
            std::printf("%s\n", tdxrt::DumpJson(j).c_str());
          } else {
            std::printf("%s: %s\n", target.c_str(), tdxrt::EscapeText(r->detail).c_str());
          }
          rc = 0;
        }
        loop.Stop();
      });
  loop.Run();
  return rc;
}

// zipnet-aggregator: folds client envelopes for the committee (zipnet-protocol.md, step 2).

int AggregatorMain(int argc, char** argv, const char* settings) {
  const std::string tool = "zipnet-aggregator";
  CLI::App app{
      "zipnet aggregator: relays round openings to clients, folds their envelopes and "
      "sends the aggregate to every committee server"};
  CommonFlags common_flags;
  AddCommonFlags(app, common_flags);
  AddConnectionFlags(app, common_flags);
  std::string listen = "0.0.0.0:7800", bootstrap, identity = "zipnet-aggregator.key";
  bool show_identity = false;
  AttestFlags attest;
  AddAttestFlags(app, attest, Program::kAggregator);
  app.add_option("--listen", listen, "Address clients connect to")
      ->envname("ZIPNET_LISTEN")
      ->capture_default_str();
  app.add_option("--bootstrap", bootstrap, "Every committee server: <peer id>@host:port,...")
      ->envname("ZIPNET_BOOTSTRAP");
  app.add_option("--identity", identity,
                 "Identity secret file (created with mode 0600 on first start)")
      ->envname("ZIPNET_IDENTITY")
      ->capture_default_str();
  app.add_flag("--show-identity", show_identity,
               "Print this aggregator's peer id (creating the identity) and exit");
  std::string parent, children;
  app.add_option("--parent", parent,
                 "Be a leaf of an aggregator tree: the parent aggregator, <peer id>@host:port "
                 "(instead of --bootstrap)")
      ->envname("ZIPNET_PARENT");
  app.add_option("--children", children,
                 "The child aggregators (tree leaves) whose aggregates this one folds: peer ids, "
                 "comma-separated")
      ->envname("ZIPNET_CHILDREN");
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  app.add_option("--threads", threads,
                 "Threads checking envelope signatures (default: one per CPU; the fold stays on "
                 "the event loop)")
      ->envname("ZIPNET_THREADS")
      ->check(CLI::Range(1u, 256u));
  if (auto code = PrintSettings(argc, argv, settings)) return *code;
  if (auto code = tdxrt::ParseCommandLine(app, argc, argv, tool, 2)) return *code;
  if (auto code = CheckSettings(tool, settings)) return *code;

  bool created = false;
  auto id = LoadOrCreateIdentity(identity, &created);
  if (!Check(tool, id, "identity")) return 1;
  if (show_identity) {
    PrintIdentity(common_flags.json, *id, false);
    return 0;
  }
  if (bootstrap.empty() == parent.empty()) {
    std::fprintf(stderr,
                 "%s: usage error: --bootstrap (or ZIPNET_BOOTSTRAP) is required, or --parent (or "
                 "ZIPNET_PARENT) for a leaf of an aggregator tree, not both\n",
                 tool.c_str());
    return 2;
  }
  AggregatorNodeConfig config;
  std::unique_ptr<MetricsEndpoint> metrics;
  if (!SetUpCommon(tool, common_flags, config.common, metrics)) return 1;
  auto log = Logger("zipnet_aggregator");
  if (created) log->info("created identity file {} (mode 0600)", identity);
  config.identity = id->ed25519;
  auto ep = ParseEndpoint(listen);
  if (!Check(tool, ep, "ZIPNET_LISTEN")) return 2;
  config.listen = *ep;
  if (!parent.empty()) {
    auto up = ParsePeerAddress(parent);
    if (!Check(tool, up, "ZIPNET_PARENT")) return 2;
    config.parent = *up;
  } else {
    auto servers = ParsePeerList(bootstrap);
    if (!Check(tool, servers, "ZIPNET_BOOTSTRAP")) return 2;
    config.servers = *servers;
  }
  auto child_ids = ParsePeerIds(children);
  if (!Check(tool, child_ids, "ZIPNET_CHILDREN")) return 2;
  config.children = *child_ids;
  config.verify_threads = threads;
  if (!SetUpAttestation(tool, attest,
                        {.program = Program::kAggregator, .client_policy = {}, .gating = false},
                        config.common)) {
    return 1;
  }
  Loop loop;
  auto node = AggregatorNode::Create(loop, std::move(config));
  if (!Check(tool, node, "")) return 1;
  return RunUntilSignal(loop, **node, *log);
}

// zipnet-client: an anonymous broadcaster (or, with --watch, a read-only subscriber).

namespace {

constexpr int kExitConnectTimeout = 3;
constexpr int kExitAttestation = 4;
constexpr int kExitMessageTooLong = 5;

int ExitCode(const ClientExit& e) {
  switch (e.kind) {
    case ClientExit::Kind::kDone:
      return 0;
    case ClientExit::Kind::kConnectTimeout:
      return kExitConnectTimeout;
    case ClientExit::Kind::kAttestation:
      return kExitAttestation;
    case ClientExit::Kind::kFatal:
      return 1;
  }
  return 1;
}

}  // namespace

int ClientMain(int argc, char** argv, const char* settings) {
  const std::string tool = "zipnet-client";
  CLI::App app{
      "zipnet client: registers with the committee (with TDX evidence) and seals one "
      "envelope per round; --watch prints the published records instead"};
  CommonFlags common_flags;
  AddCommonFlags(app, common_flags);
  std::string bootstrap, quote_file, identity;
  AttestFlags attest;
  std::optional<std::string> message;
  std::uint32_t cadence = 1;
  double connect_timeout = 30;
  std::uint64_t max_messages = 0, max_rounds = 0;
  unsigned clients = 1;
  bool watch = false;
  app.add_option("--bootstrap", bootstrap, "Every committee server: <peer id>@host:port,...")
      ->envname("ZIPNET_BOOTSTRAP")
      ->required();
  app.add_option("--message", message,
                 "UTF-8 message to broadcast, re-sent after each delivery (absent: cover "
                 "traffic only)")
      ->envname("ZIPNET_MESSAGE");
  app.add_option("--cadence", cadence, "Talk every Nth round")
      ->envname("ZIPNET_CADENCE")
      ->check(CLI::Range(1u, 1000000u))
      ->capture_default_str();
  app.add_option("--connect-timeout", connect_timeout,
                 "Seconds to get rosters and be registered before giving up (ConnectTimeout)")
      ->envname("ZIPNET_CONNECT_TIMEOUT")
      ->check(CLI::Range(0.1, 86400.0))
      ->capture_default_str();
  AddAttestFlags(app, attest, Program::kClient);
  app.add_option("--quote-file", quote_file,
                 "Present this quote on every link instead of asking the TD for one (a replay: "
                 "it binds another session, so judging servers refuse it; tests)")
      ->envname("ZIPNET_QUOTE_FILE");
  app.add_option("--identity", identity,
                 "Identity secret file (created with mode 0600 if absent); default: fresh "
                 "keys every start")
      ->envname("ZIPNET_IDENTITY");
  app.add_option("--max-messages", max_messages, "Exit after this many deliveries (0: never)")
      ->envname("ZIPNET_MAX_MESSAGES")
      ->capture_default_str();
  app.add_option("--clients", clients,
                 "Host this many independent clients in this process (load tests)")
      ->check(CLI::Range(1u, 100000u))
      ->capture_default_str();
  app.add_flag("--watch", watch,
               "Read-only: print every record's messages and per-slot tag status, and aborts");
  app.add_option("--max-rounds", max_rounds, "With --watch: exit after this many rounds (0: never)")
      ->capture_default_str();
  if (auto code = PrintSettings(argc, argv, settings)) return *code;
  if (auto code = tdxrt::ParseCommandLine(app, argc, argv, tool, 2)) return *code;
  if (auto code = CheckSettings(tool, settings)) return *code;

  NodeCommon common;
  std::unique_ptr<MetricsEndpoint> metrics;
  if (!SetUpCommon(tool, common_flags, common, metrics)) return 1;
  auto servers = ParsePeerList(bootstrap);
  if (!Check(tool, servers, "ZIPNET_BOOTSTRAP")) return 2;
  const Millis timeout(static_cast<std::int64_t>(connect_timeout * 1000));
  if (message && message->size() > common.params.payload_len()) {
    std::fprintf(stderr, "%s: error: %s: ZIPNET_MESSAGE is %zu bytes, at most %zu fit a slot\n",
                 tool.c_str(), std::string(kMessageTooLong).c_str(), message->size(),
                 common.params.payload_len());
    return kExitMessageTooLong;
  }

  // Evidence: what the client presents on every link, and how it judges the committee (a
  // client without a committee policy is a development client, which its launch record says).
  if (!quote_file.empty()) {
    auto q = tdxrt::ReadFile(quote_file);
    if (!Check(tool, q, "")) return 1;
    common.attester = FixedQuoteAttester(std::move(q).value(), quote_file);
    attest.evidence = "mock";  // no launch record of ours: the quote is someone else's
  }
  auto fixed = common.attester;
  if (!SetUpAttestation(tool, attest,
                        {.program = Program::kClient, .client_policy = {}, .gating = false},
                        common)) {
    return 1;
  }
  if (fixed) common.attester = fixed;
  auto log = Logger("zipnet_client");

  Loop loop;
  int exit_code = 0;
  std::size_t running = 0;
  auto on_exit = [&](const ClientExit& e) {
    if (e.kind != ClientExit::Kind::kDone) {
      std::fprintf(stderr, "%s: error: %s\n", tool.c_str(), e.ToString().c_str());
      if (exit_code == 0) exit_code = ExitCode(e);
    }
    if (--running == 0 || exit_code != 0) loop.Post([&] { loop.Stop(); });
  };
  SystemRng rng;

  if (watch) {
    WatcherConfig wc;
    wc.common = common;
    wc.bootstrap = *servers;
    wc.identity = Ed25519Generate(rng);
    wc.connect_timeout = timeout;
    wc.max_rounds = max_rounds;
    wc.json = common_flags.json;
    wc.print = [](const std::string& line) {
      std::printf("%s\n", line.c_str());
      std::fflush(stdout);
    };
    wc.on_exit = on_exit;
    running = 1;
    auto w = Watcher::Create(loop, std::move(wc));
    if (!Check(tool, w, "")) return 1;
    loop.OnTerminationSignal([&](int) { loop.Stop(); });
    loop.Run();
    return exit_code;
  }

  std::vector<std::unique_ptr<ClientNode>> nodes;
  for (unsigned i = 0; i < clients; ++i) {
    ClientNodeConfig cc;
    cc.common = common;
    cc.bootstrap = *servers;
    if (!identity.empty() && clients == 1) {
      bool created = false;
      auto id = LoadOrCreateIdentity(identity, &created);
      if (!Check(tool, id, "identity")) return 1;
      if (created) log->info("created identity file {} (mode 0600)", identity);
      cc.keys.identity = id->ed25519;
      cc.keys.dh = id->x25519;
      // The reservation and nonce secrets are derived from the identity, so that a restarted
      // client keeps its rate-limit accounting.
      const Hash s = Sha256({Text("zipnet/client-sched/v1"), id->ed25519.seed.bytes()});
      const Hash n = Sha256({Text("zipnet/client-nonce/v1"), id->ed25519.seed.bytes()});
      cc.keys.sched_secret = Secret32(s);
      cc.keys.nonce_key = Secret32(n);
    } else {
      cc.keys = ClientKeys::Generate(rng);
    }
    cc.strict_attestation = attest.strict;
    cc.message = message;
    cc.cadence = cadence;
    cc.connect_timeout = timeout;
    cc.max_messages = max_messages;
    cc.on_exit = on_exit;
    auto node = ClientNode::Create(loop, std::move(cc));
    if (!node.ok()) {
      const bool too_long = node.status().message().rfind(kMessageTooLong, 0) == 0;
      std::fprintf(stderr, "%s: error: %s\n", tool.c_str(), node.status().message().c_str());
      return too_long ? kExitMessageTooLong : 1;
    }
    nodes.push_back(std::move(node).value());
    ++running;
  }
  loop.OnTerminationSignal([&](int) { loop.Stop(); });
  loop.Run();
  for (auto& n : nodes) n->Stop();
  return exit_code;
}

}  // namespace zipnet::node
