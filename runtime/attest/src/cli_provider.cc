// Quote providers from the command line (quote, cert make): configfs-tsm inside a TD, or the
// development providers (mock, simulated) claiming an image's measurements.
#include "cli_common.h"
#include "tdxrt/hex.h"
#include "tdxrt/rtmr.h"
#include "tdxrt/sim_tdx.h"

namespace tdx_attest {

void AddProviderOptions(CLI::App* sub, ProviderArgs& a) {
  sub->add_option("--provider", a.name,
                  "configfs-tsm (default), mock or simulated (development: a quote signed by "
                  "the development PKI of --sim-seed)");
  sub->add_option("--sim-seed", a.sim_seed, "Seed of the development PKI (simulated)");
  sub->add_option("--rtmr3-log", a.rtmr3_log,
                  "Claim the RTMR3 this event log replays to (mock, simulated)");
  sub->add_option("--tsm-root", a.tsm_root,
                  "configfs-tsm report directory (default /sys/kernel/config/tsm/report)");
  sub->add_option("--mock-mrtd", a.mock_mrtd,
                  "MRTD the mock or simulated evidence claims (96 hex)");
  sub->add_option("--mock-from", a.mock_from,
                  "Claim an image's measurements (its <name>-measurements.json)");
}

std::string ProviderWhat(const ProviderArgs& a) {
  if (a.name == "mock") return "MOCK evidence";
  if (a.name == "simulated") return "DEVELOPMENT quote (simulated TDX)";
  return "quote";
}

int ProviderFailure(const tdxrt::Status& st) {
  return st.code() == tdxrt::Status::Code::kInvalidArgument ? Usage(st.message())
                                                            : Fail(st.message());
}

tdxrt::Result<std::unique_ptr<tdxrt::QuoteProvider>> MakeProvider(const ProviderArgs& a) {
  if (a.name == "configfs-tsm") {
    tdxrt::ConfigfsTsmProvider::Options o;
    if (!a.tsm_root.empty()) o.root = a.tsm_root;
    return std::unique_ptr<tdxrt::QuoteProvider>(std::make_unique<tdxrt::ConfigfsTsmProvider>(o));
  } else if (a.name == "mock" || a.name == "simulated") {
    tdxrt::TdReport id = a.name == "simulated" ? tdxrt::DevPki::DefaultReport() : tdxrt::TdReport{};
    if (!a.mock_from.empty()) {
      if (tdxrt::Status st = tdxrt::ClaimImageMeasurements(a.mock_from, id); !st.ok()) return st;
    }
    if (!a.mock_mrtd.empty()) {
      auto m = tdxrt::FromHexArray<48>(a.mock_mrtd);
      if (!m.ok()) return tdxrt::Status::InvalidArgument("--mock-mrtd: " + m.status().message());
      id.mr_td = *m;
    }
    if (!a.rtmr3_log.empty()) {
      auto events = tdxrt::ReadRuntimeEventLog(a.rtmr3_log);
      if (!events.ok()) return events.status();
      id.rtmr[3] = tdxrt::ReplayRtmr3(*events);
    }
    if (a.name == "mock") {
      return std::unique_ptr<tdxrt::QuoteProvider>(std::make_unique<tdxrt::MockProvider>(id));
    } else {
      if (a.sim_seed.empty())
        return tdxrt::Status::InvalidArgument("--provider simulated needs --sim-seed");
      auto pki = tdxrt::DevPki::FromSeed(a.sim_seed);
      if (!pki.ok()) return tdxrt::Status::InvalidArgument("--sim-seed: " + pki.status().message());
      return std::unique_ptr<tdxrt::QuoteProvider>(std::make_unique<tdxrt::SimulatedTdxProvider>(
          std::make_shared<const tdxrt::DevPki>(std::move(pki).value()), id));
    }
  } else {
    return tdxrt::Status::InvalidArgument("--provider must be configfs-tsm, mock or simulated");
  }
}

}  // namespace tdx_attest
