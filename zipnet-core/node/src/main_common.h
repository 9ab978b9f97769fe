// Options every zipnet program takes (CLI flags, each also read from its ZIPNET_* variable).
#pragma once

#include <prometheus/registry.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "tdxrt/guest_settings.h"
#include "zipnet/node/common.h"
#include "zipnet/node/node.h"

namespace zipnet::node {

struct CommonFlags {
  std::string instance;
  std::string universe{kDefaultUniverse};
  std::string metrics;
  std::string log_level = "info";
  std::size_t max_frame = 16u << 20;
  unsigned idle_timeout_ms = 60000, hello_timeout_ms = 10000;
  std::size_t max_connections = 0, max_connections_per_address = 256;
  bool print_settings = false;  // handled by PrintSettings before parsing
  bool json = false;            // --show-identity, --configure and --watch print JSON
};

inline void AddCommonFlags(CLI::App& app, CommonFlags& f) {
  app.add_option("--instance", f.instance, "Instance name (peers of other instances never match)")
      ->envname("ZIPNET_INSTANCE")
      ->required();
  app.add_option("--universe", f.universe, "Universe the instance lives in")
      ->envname("ZIPNET_UNIVERSE")
      ->capture_default_str();
  app.add_option("--metrics", f.metrics,
                 "Serve Prometheus metrics at this address (host:port, /metrics)")
      ->envname("ZIPNET_METRICS");
  app.add_option("--log-level", f.log_level, "trace, debug, info, warn, error or off")
      ->envname("ZIPNET_LOG")
      ->capture_default_str();
  app.add_option("--max-frame", f.max_frame, "Largest frame accepted, bytes")
      ->envname("ZIPNET_MAX_FRAME")
      ->check(CLI::Range(std::size_t{1024}, std::size_t{256} << 20))
      ->capture_default_str();
  app.add_option("--idle-timeout-ms", f.idle_timeout_ms,
                 "Close a link that carried nothing for this long; a quarter of it without "
                 "sending anything sends a keep-alive (use one value across a deployment)")
      ->envname("ZIPNET_IDLE_TIMEOUT_MS")
      ->check(CLI::Range(400u, 3600000u))
      ->capture_default_str();
  app.add_option("--hello-timeout-ms", f.hello_timeout_ms,
                 "Close an accepted connection whose peer has not said who it is by then")
      ->envname("ZIPNET_HELLO_TIMEOUT_MS")
      ->check(CLI::Range(100u, 600000u))
      ->capture_default_str();
  app.add_flag("--json", f.json,
               "Print the result as JSON: --show-identity, --configure, and --watch (one object "
               "per line)");
  app.add_flag("--settings", f.print_settings,
               "Print which ZIPNET_* settings the host may set at launch and which must be "
               "measured (the declaration tdximage reads from this binary), and exit");
}

// The programs that accept connections (server, aggregator) cap them.
inline void AddConnectionFlags(CLI::App& app, CommonFlags& f) {
  app.add_option("--max-connections", f.max_connections,
                 "Accepted connections open at once (0: the descriptor limit, less a reserve)")
      ->envname("ZIPNET_MAX_CONNECTIONS")
      ->capture_default_str();
  app.add_option(
         "--max-connections-per-address", f.max_connections_per_address,
         "Accepted connections open at once from one address (an eighth of them, at least 32, "
         "before their peer has said who it is)")
      ->envname("ZIPNET_MAX_CONNECTIONS_PER_ADDRESS")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20))
      ->capture_default_str();
}

// The soft limit on open descriptors raised to the hard one: connection caps are derived from it.
inline void RaiseDescriptorLimit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &r);
  }
}

// --settings prints the declaration, whatever else the command line says (before it is parsed:
// required options need not be there).
inline std::optional<int> PrintSettings(int argc, char** argv, const char* declaration) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--settings") {
      std::fputs(declaration, stdout);
      return 0;
    }
  }
  return std::nullopt;
}

// After the command line: a protected setting that /init took from the host (TDX_HOST_SETTINGS)
// stops the program. Returns the exit code, or nothing to go on.
inline std::optional<int> CheckSettings(const std::string& tool, const char* declaration) {
  auto parsed = tdxrt::ParseGuestSettings(declaration);
  if (!parsed.ok() || parsed->size() != 1) {
    std::fprintf(stderr, "%s: error: internal: settings declaration: %s\n", tool.c_str(),
                 parsed.status().message().c_str());
    return 1;
  }
  const char* host = std::getenv("TDX_HOST_SETTINGS");
  const auto refused = tdxrt::ProtectedFromHost((*parsed)[0], host ? host : "");
  for (const auto& name : refused) {
    std::fprintf(stderr,
                 "%s: error: %s came from the host (TDX_HOST_SETTINGS), but it decides security "
                 "(%s): an image must set it in payload.env, where it is measured\n",
                 tool.c_str(), name.c_str(), (*parsed)[0].Find(name)->note.c_str());
  }
  if (!refused.empty()) return 2;
  return std::nullopt;
}

// Fills `common`; on failure prints "<tool>: error: ..." and returns false.
inline bool SetUpCommon(const std::string& tool, const CommonFlags& f, NodeCommon& common,
                        std::unique_ptr<MetricsEndpoint>& endpoint) {
  if (Status st = ConfigureLogging(f.log_level); !st.ok()) {
    std::fprintf(stderr, "%s: error: %s\n", tool.c_str(), st.message().c_str());
    return false;
  }
  if (f.instance.empty()) {
    std::fprintf(stderr, "%s: error: ZIPNET_INSTANCE is empty\n", tool.c_str());
    return false;
  }
  common.instance = f.instance;
  common.universe = f.universe;
  common.transport.limits.max_frame = f.max_frame;
  common.transport.idle_timeout = Millis(f.idle_timeout_ms);
  common.transport.keepalive = Millis(f.idle_timeout_ms / 4);
  common.transport.hello_timeout = Millis(f.hello_timeout_ms);
  common.transport.max_connections = f.max_connections;
  common.transport.max_connections_per_address = f.max_connections_per_address;
  // Of which not yet identified: an eighth, at least 32 (load tests from one address raise both).
  common.transport.max_unauthenticated_per_address =
      std::max<std::size_t>(32, f.max_connections_per_address / 8);
  RaiseDescriptorLimit();
  if (!f.metrics.empty()) {
    common.metrics = std::make_shared<prometheus::Registry>();
    auto m = MetricsEndpoint::Start(f.metrics, common.metrics);
    if (!m.ok()) {
      std::fprintf(stderr, "%s: error: %s\n", tool.c_str(), m.status().message().c_str());
      return false;
    }
    endpoint = std::move(m).value();
  }
  return true;
}

// Runs `loop` until SIGINT or SIGTERM, then stops `node`.
template <typename Node>
int RunUntilSignal(Loop& loop, Node& node, spdlog::logger& log) {
  loop.OnTerminationSignal([&](int sig) {
    log.info("signal {}: shutting down", sig);
    node.Stop();
    loop.Stop();
  });
  loop.Run();
  return 0;
}

template <typename T>
bool Check(const std::string& tool, Result<T>& r, const std::string& what) {
  if (r.ok()) return true;
  std::fprintf(stderr, "%s: error: %s%s\n", tool.c_str(), what.empty() ? "" : (what + ": ").c_str(),
               r.status().message().c_str());
  return false;
}

}  // namespace zipnet::node
