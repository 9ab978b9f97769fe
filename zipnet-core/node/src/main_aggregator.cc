// zipnet-aggregator: folds client envelopes for the committee (zipnet-protocol.md, step 2).
#include <cstdio>

#include "main_common.h"
#include "tdxrt/cli.h"
#include "tdxrt/hex.h"

using namespace zipnet;
using namespace zipnet::node;

int main(int argc, char** argv) {
  const std::string tool = "zipnet-aggregator";
  CLI::App app{
      "zipnet aggregator: relays round openings to clients, folds their envelopes and "
      "sends the aggregate to every committee server"};
  CommonFlags common_flags;
  AddCommonFlags(app, common_flags);
  std::string listen = "0.0.0.0:7800", bootstrap, identity = "zipnet-aggregator.key";
  bool show_identity = false;
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
  if (auto code = tdxrt::ParseCommandLine(app, argc, argv, tool, 2)) return *code;

  bool created = false;
  auto id = LoadOrCreateIdentity(identity, &created);
  if (!Check(tool, id, "identity")) return 1;
  if (show_identity) {
    std::printf("peer=%s ed25519=%s\n", tdxrt::ToHex(PeerIdOf(id->ed25519.public_key)).c_str(),
                tdxrt::ToHex(id->ed25519.public_key).c_str());
    return 0;
  }
  if (bootstrap.empty()) {
    std::fprintf(stderr, "%s: usage error: ZIPNET_BOOTSTRAP is required\n", tool.c_str());
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
  auto servers = ParsePeerList(bootstrap);
  if (!Check(tool, servers, "ZIPNET_BOOTSTRAP")) return 2;
  config.servers = *servers;
  Loop loop;
  auto node = AggregatorNode::Create(loop, std::move(config));
  if (!Check(tool, node, "")) return 1;
  loop.OnTerminationSignal([&](int sig) {
    log->info("signal {}: shutting down", sig);
    (*node)->Stop();
    loop.Stop();
  });
  loop.Run();
  return 0;
}
