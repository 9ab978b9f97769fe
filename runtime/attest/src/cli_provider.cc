// Quote providers from the command line (quote, cert make): configfs-tsm inside a TD, or the
// development providers (mock, simulated) claiming an image's measurements.
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "tdxrt/hex.h"
#include "tdxrt/json.h"
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
      // An image's <name>-measurements.json (tdximage build): MR_TD (single-pass), RTMR1, RTMR2.
      auto text = tdxrt::ReadFile(a.mock_from, 1 << 20);
      if (!text.ok()) return text.status();
      auto parsed = tdxrt::ParseJson(
          std::string_view(reinterpret_cast<const char*>(text->data()), text->size()), a.mock_from);
      if (!parsed.ok()) return parsed.status();
      const nlohmann::json& j = *parsed;
      auto get = [&](const nlohmann::json& v, tdxrt::Measurement& m) {
        if (!v.is_string()) return false;
        auto b = tdxrt::FromHex(v.get<std::string>(), 48);
        if (!b.ok()) return false;
        std::copy(b->begin(), b->end(), m.begin());
        return true;
      };
      if (!j.is_object() || !j.contains("mr_td") || !j["mr_td"].is_object() ||
          !get(j["mr_td"].value("single-pass", nlohmann::json()), id.mr_td) ||
          !get(j.value("rtmr1", nlohmann::json()), id.rtmr[1]) ||
          !get(j.value("rtmr2", nlohmann::json()), id.rtmr[2])) {
        return tdxrt::Status::Corrupt(
            a.mock_from + ": not a tdximage measurements file (mr_td.single-pass, rtmr1, rtmr2)");
      }
    }
    if (!a.mock_mrtd.empty()) {
      auto m = tdxrt::FromHex(a.mock_mrtd, 48);
      if (!m.ok()) return tdxrt::Status::InvalidArgument("--mock-mrtd: " + m.status().message());
      std::copy(m->begin(), m->end(), id.mr_td.begin());
    }
    if (!a.rtmr3_log.empty()) {
      auto text = tdxrt::ReadFile(a.rtmr3_log, 64 << 20);
      if (!text.ok()) return text.status();
      auto events = tdxrt::ParseRuntimeEventLog(std::string(text->begin(), text->end()));
      if (!events.ok())
        return tdxrt::Status::Corrupt(a.rtmr3_log + ": " + events.status().message());
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
