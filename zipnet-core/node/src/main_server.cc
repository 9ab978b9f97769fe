// zipnet-server: a committee server (zipnet-protocol.md). Configuration from flags or ZIPNET_*.
#include <cstdio>

#include "main_common.h"
#include "tdxrt/cli.h"
#include "tdxrt/collateral.h"
#include "tdxrt/dcap.h"
#include "tdxrt/file.h"
#include "tdxrt/hex.h"
#include "tdxrt/policy.h"

using namespace zipnet;
using namespace zipnet::node;

int main(int argc, char** argv) {
  const std::string tool = "zipnet-server";
  CLI::App app{
      "zipnet committee server: registers attested clients, unblinds rounds with the "
      "other servers, signs and publishes records"};
  CommonFlags common_flags;
  AddCommonFlags(app, common_flags);
  std::string listen = "0.0.0.0:7801", committee, aggregator, identity = "zipnet-server.key";
  std::string policy_file, collateral_file, gating = "on";
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
  app.add_option("--collateral", collateral_file,
                 "DCAP collateral JSON: quotes are verified with it (without it no TDX quote "
                 "is admitted)")
      ->envname("ZIPNET_TDX_COLLATERAL");
  app.add_flag("--strict-attestation", strict,
               "Tell refused clients why (Attestation error) instead of staying silent")
      ->envname("ZIPNET_STRICT_ATTESTATION");
  app.add_option("--threads", threads, "Threads for unblinding")
      ->envname("ZIPNET_THREADS")
      ->check(CLI::Range(1u, 256u))
      ->capture_default_str();
  if (auto code = tdxrt::ParseCommandLine(app, argc, argv, tool, 2)) return *code;

  bool created = false;
  auto id = LoadOrCreateIdentity(identity, &created);
  if (!Check(tool, id, "identity")) return 1;
  if (show_identity) {
    std::printf(
        "peer=%s ed25519=%s x25519=%s\n", tdxrt::ToHex(PeerIdOf(id->ed25519.public_key)).c_str(),
        tdxrt::ToHex(id->ed25519.public_key).c_str(), tdxrt::ToHex(id->x25519.public_key).c_str());
    return 0;
  }
  if (committee.empty() || aggregator.empty()) {
    std::fprintf(stderr, "%s: usage error: ZIPNET_COMMITTEE and ZIPNET_AGGREGATOR are required\n",
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
  auto members = ParsePeerList(committee);
  if (!Check(tool, members, "ZIPNET_COMMITTEE")) return 2;
  config.committee = *members;
  auto agg = ParsePeerAddress(aggregator);
  if (!Check(tool, agg, "ZIPNET_AGGREGATOR")) return 2;
  config.aggregator = *agg;
  config.period = Millis(period);
  config.fold = Millis(fold);
  config.deadline = Millis(deadline);
  config.min_participants = min_participants;
  config.tdx_gating = gating == "on";
  config.strict_attestation = strict;
  config.threads = threads;
  if (config.tdx_gating) {
    if (policy_file.empty()) {
      std::fprintf(stderr,
                   "%s: error: TDX gating is on: ZIPNET_TDX_POLICY must name a measurement "
                   "policy (or set ZIPNET_TDX_GATING=off for development)\n",
                   tool.c_str());
      return 2;
    }
    auto text = tdxrt::ReadFile(policy_file);
    if (!Check(tool, text, "")) return 1;
    auto policy = tdxrt::ParsePolicy(std::string(text->begin(), text->end()), policy_file);
    if (!Check(tool, policy, "")) return 1;
    std::shared_ptr<const tdxrt::Verifier> verifier;
    if (!collateral_file.empty()) {
      auto ctext = tdxrt::ReadFile(collateral_file);
      if (!Check(tool, ctext, "")) return 1;
      auto coll = tdxrt::ParseCollateralJson(std::string(ctext->begin(), ctext->end()));
      if (!Check(tool, coll, collateral_file)) return 1;
      auto v = tdxrt::Verifier::Create(*coll);
      if (!Check(tool, v, collateral_file)) return 1;
      verifier = std::make_shared<const tdxrt::Verifier>(std::move(v).value());
    } else {
      log->warn(
          "no ZIPNET_TDX_COLLATERAL: quotes cannot be verified, so no TDX client will be "
          "admitted");
    }
    config.evidence_check = MakeEvidenceCheck(
        std::make_shared<const tdxrt::Policy>(std::move(policy).value()), std::move(verifier));
  }
  Loop loop;
  auto node = ServerNode::Create(loop, std::move(config));
  if (!Check(tool, node, "")) return 1;
  loop.OnTerminationSignal([&](int sig) {
    log->info("signal {}: shutting down", sig);
    (*node)->Stop();
    loop.Stop();
  });
  loop.Run();
  return 0;
}
