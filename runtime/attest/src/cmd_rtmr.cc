// tdx-attest commands for RTMR3 runtime measurements (tdxrt/rtmr.h):
//   rtmr3 extend --event NAME --payload HEX   inside a TD: log the event, extend RTMR3
//   rtmr3 replay LOG [--quote Q]              replay a log, compare with a quote's RTMR3
#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "tdxrt/hex.h"
#include "tdxrt/json.h"
#include "tdxrt/rtmr.h"
#include "tdxrt/text.h"

namespace tdx_attest {
namespace {

struct ExtendArgs {
  std::string event, payload, payload_file, log, measurements;
};

int RunExtend(const ExtendArgs& a, bool json) {
  tdxrt::RuntimeEvent e;
  e.name = a.event;
  if (!a.payload_file.empty()) {
    auto b = tdxrt::ReadFile(a.payload_file, 16 << 20);
    if (!b.ok()) return Fail(b.status().message());
    e.payload = std::move(b).value();
  } else {
    auto b = tdxrt::FromHex(a.payload);
    if (!b.ok()) return Usage("--payload: " + b.status().message());
    e.payload = std::move(b).value();
  }
  tdxrt::Rtmr3Device::Options o;
  if (!a.log.empty()) o.log = a.log;
  if (!a.measurements.empty()) o.measurements = a.measurements;
  auto r = tdxrt::Rtmr3Device(o).Extend(e);
  if (!r.ok()) return Fail(r.status().message());
  if (json) {
    nlohmann::ordered_json j;
    j["event"] = e.name;
    j["digest"] = tdxrt::ToHex(e.Digest());
    j["rtmr3"] = tdxrt::ToHex(*r);
    std::printf("%s\n", tdxrt::DumpJson(j).c_str());
    return Code(ExitCode::kOk);
  }
  std::printf("event '%s' digest %s\nrtmr3 %s\n", tdxrt::EscapeText(e.name).c_str(),
              tdxrt::ToHex(e.Digest()).c_str(), tdxrt::ToHex(*r).c_str());
  return Code(ExitCode::kOk);
}

struct ReplayArgs {
  std::string log, quote;
};

int RunReplay(const ReplayArgs& a, bool json) {
  auto events = tdxrt::ReadRuntimeEventLog(a.log);
  if (!events.ok()) return Fail(events.status().message());
  const tdxrt::Measurement replayed = tdxrt::ReplayRtmr3(*events);
  // --json: {"log", "events": [{"digest", "name", "payload_size"}], "rtmr3", and with --quote
  // "quote", "matches"}.
  nlohmann::ordered_json j;
  if (json) {
    j["log"] = a.log;
    j["events"] = nlohmann::ordered_json::array();
    for (const auto& e : *events) {
      j["events"].push_back({{"digest", tdxrt::ToHex(e.Digest())},
                             {"name", e.name},
                             {"payload_size", e.payload.size()}});
    }
    j["rtmr3"] = tdxrt::ToHex(replayed);
  } else {
    for (const auto& e : *events) {
      std::printf("  %s  %s (%zu bytes)\n", tdxrt::ToHex(e.Digest()).c_str(),
                  tdxrt::EscapeText(e.name).c_str(), e.payload.size());
    }
    std::printf("%s: %zu events, RTMR3 %s\n", a.log.c_str(), events->size(),
                tdxrt::ToHex(replayed).c_str());
  }
  if (a.quote.empty()) {
    if (json) std::printf("%s\n", tdxrt::DumpJson(j).c_str());
    return Code(ExitCode::kOk);
  }
  auto l = LoadEvidence(a.quote);
  if (!l.ok()) return Fail(l.status().message());
  const tdxrt::Status matches = tdxrt::CheckRtmr3Replay(*events, l->evidence.report.rtmr[3]);
  if (json) {
    j["quote"] = a.quote;
    j["matches"] = matches.ok();
    std::printf("%s\n", tdxrt::DumpJson(j).c_str());
  }
  if (!matches.ok()) {
    std::fprintf(stderr, "tdx-attest: rejected: %s: %s\n", a.quote.c_str(),
                 matches.message().c_str());
    return Code(ExitCode::kRejected);
  }
  if (!json) std::printf("%s: RTMR3 matches the log\n", a.quote.c_str());
  return Code(ExitCode::kOk);
}

}  // namespace

void AddRtmrCommands(CLI::App& app, std::vector<Runner>& runners) {
  auto* rtmr = app.add_subcommand("rtmr3", "RTMR3 runtime measurements and their event log");
  rtmr->require_subcommand(1);
  auto ea = std::make_shared<ExtendArgs>();
  auto* extend = rtmr->add_subcommand("extend", "Inside a TD: log an event and extend RTMR3");
  extend->add_option("--event", ea->event, "Event name")->required();
  auto* payload = extend->add_option("--payload", ea->payload, "Event payload, hex");
  extend->add_option("--payload-file", ea->payload_file, "Event payload, a file's bytes")
      ->excludes(payload);
  extend->add_option("--log", ea->log, "Event log (default /run/tdxrt/runtime-events.jsonl)");
  extend->add_option("--measurements", ea->measurements,
                     "sysfs directory (default /sys/class/misc/tdx_guest/measurements)");
  extend->fallthrough();
  runners.push_back([extend, ea](bool json) -> std::optional<int> {
    if (!extend->parsed()) return std::nullopt;
    return RunExtend(*ea, json);
  });
  auto ra = std::make_shared<ReplayArgs>();
  auto* replay = rtmr->add_subcommand("replay", "Replay an event log; compare with a quote");
  replay->add_option("log", ra->log, "Event log (JSON lines)")->required();
  replay->add_option("--quote", ra->quote, "Quote whose RTMR3 the log must give");
  replay->fallthrough();
  runners.push_back([replay, ra](bool json) -> std::optional<int> {
    if (!replay->parsed()) return std::nullopt;
    return RunReplay(*ra, json);
  });
}

}  // namespace tdx_attest
