// Options every zipnet program takes (CLI flags, each also read from its ZIPNET_* variable).
#pragma once

#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "zipnet/node/common.h"
#include "zipnet/node/node.h"

namespace zipnet::node {

struct CommonFlags {
  std::string instance;
  std::string universe{kDefaultUniverse};
  std::string metrics;
  std::string log_level = "info";
  std::size_t max_frame = 16u << 20;
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
