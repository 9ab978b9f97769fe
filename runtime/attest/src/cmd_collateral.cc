// tdx-attest commands around collateral and the development PKI:
//   collateral fetch QUOTE --pccs URL   fetch, check against the root, write the collateral JSON
//   pccs-serve DIR                       serve a directory in the PCS API shape (air-gapped sites)
//   sim-pki --seed S --out DIR           the development PKI's root and current collateral
#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <ctime>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli_common.h"
#include "tdxrt/hex.h"
#include "tdxrt/json.h"
#include "tdxrt/pccs_client.h"
#include "tdxrt/pccs_server.h"
#include "tdxrt/sim_tdx.h"

namespace tdx_attest {
namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

tdxrt::Result<std::string> ReadText(const std::string& path) {
  auto b = tdxrt::ReadFile(path, 1 << 20);
  if (!b.ok()) return b.status();
  return std::string(b->begin(), b->end());
}

std::int64_t Now() { return static_cast<std::int64_t>(std::time(nullptr)); }

struct FetchArgs {
  std::string quote, pccs, out, ca_file, root, at;
  int timeout_s = 30;
  int attempts = 3;
};

int RunFetch(const FetchArgs& a, bool json) {
  auto l = LoadEvidence(a.quote);
  if (!l.ok()) return Fail(l.status().message());
  if (!l->evidence.quote) return Fail(a.quote + " is mock evidence: it has no collateral");
  std::int64_t at = Now();
  if (!a.at.empty()) {
    auto t = tdxrt::ParseRfc3339(a.at);
    if (!t.ok()) return Usage("--at: " + t.status().message());
    at = *t;
  }
  std::string root;
  if (!a.root.empty()) {
    auto r = ReadText(a.root);
    if (!r.ok()) return Fail(r.status().message());
    root = *r;
  }
  auto id = tdxrt::PckIdentityOf(*l->evidence.quote);
  if (!id.ok()) return Fail(a.quote + ": " + id.status().message());
  tdxrt::PcsClientOptions o;
  o.base_url = a.pccs;
  o.ca_file = a.ca_file;
  o.timeout = std::chrono::seconds(a.timeout_s);
  o.attempts = a.attempts;
  tdxrt::PcsClient client(o);
  auto c = client.Fetch(id->fmspc, id->ca);
  if (!c.ok()) return Fail(c.status().message());
  // Nothing unverified is written: the collateral must pass its own checks against the root.
  auto v = tdxrt::Verifier::Create(*c, root);
  if (!v.ok()) return Fail("fetched collateral: " + v.status().message());
  if (auto e = v->CheckCollateral(at)) {
    std::fprintf(stderr, "tdx-attest: rejected: collateral from %s: %s\n", a.pccs.c_str(),
                 tdxrt::FormatVerifyError(*e).c_str());
    return Code(ExitCode::kRejected);
  }
  const std::string text = tdxrt::SerializeCollateralJson(*c);
  if (!a.out.empty()) {
    auto st = tdxrt::WriteFileAtomic(a.out, std::string_view(text), 0644);
    if (!st.ok()) return Fail(st.message());
  } else if (!json) {
    std::cout << text << "\n";
  }
  const std::string summary = "collateral for FMSPC " + tdxrt::ToHex(id->fmspc) + " (" +
                              std::string(tdxrt::PckCaName(id->ca)) + " CA) from " + a.pccs +
                              ": checked at " + tdxrt::FormatRfc3339(at) + ", current until " +
                              tdxrt::FormatRfc3339(v->CollateralExpires()) +
                              (a.out.empty() ? "" : "; wrote " + a.out);
  if (json) {
    nlohmann::ordered_json j;
    j["fmspc"] = tdxrt::ToHex(id->fmspc);
    j["ca"] = tdxrt::PckCaName(id->ca);
    j["pccs"] = a.pccs;
    j["checked_at"] = tdxrt::FormatRfc3339(at);
    j["current_until"] = tdxrt::FormatRfc3339(v->CollateralExpires());
    j["out"] = a.out;
    std::cout << tdxrt::DumpJson(j) << "\n";
  } else {
    std::fprintf(stderr, "tdx-attest: %s\n", summary.c_str());
  }
  return Code(ExitCode::kOk);
}

struct PccsServeArgs {
  std::string dir, listen = "127.0.0.1:0", cert, key, port_file;
  int max_seconds = 0;
};

int RunPccsServe(const PccsServeArgs& a) {
  tdxrt::PccsServerOptions o;
  o.directory = a.dir;
  const std::size_t colon = a.listen.rfind(':');
  if (colon == std::string::npos) return Usage("--listen must be HOST:PORT");
  o.host = a.listen.substr(0, colon);
  try {
    o.port = std::stoi(a.listen.substr(colon + 1));
  } catch (const std::exception&) {
    return Usage("--listen: bad port in " + a.listen);
  }
  o.cert_file = a.cert;
  o.key_file = a.key;
  o.log = [](const std::string& line) { std::fprintf(stderr, "pccs-serve: %s\n", line.c_str()); };
  if (!std::filesystem::is_directory(a.dir)) return Fail(a.dir + ": not a directory");
  tdxrt::PccsServer server(o);
  if (auto st = server.Start(); !st.ok()) return Fail(st.message());
  if (!a.port_file.empty()) {
    auto st =
        tdxrt::WriteFileAtomic(a.port_file, std::string_view(std::to_string(server.port())), 0644);
    if (!st.ok()) return Fail(st.message());
  }
  std::printf("pccs-serve: serving %s at %s\n", a.dir.c_str(), server.url().c_str());
  std::fflush(stdout);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  const std::int64_t start = Now();
  while (!g_stop && (a.max_seconds <= 0 || Now() - start < a.max_seconds)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  server.Stop();
  return Code(ExitCode::kOk);
}

struct SimArgs {
  std::string seed, out, issued;
  int lifetime_days = 30;
};

int RunSimPki(const SimArgs& a, bool json) {
  auto pki = tdxrt::DevPki::FromSeed(a.seed);
  if (!pki.ok()) return Usage("--seed: " + pki.status().message());
  std::int64_t issued = Now() / 86400 * 86400;  // midnight UTC: reruns in a day agree
  if (!a.issued.empty()) {
    auto t = tdxrt::ParseRfc3339(a.issued);
    if (!t.ok()) return Usage("--issued: " + t.status().message());
    issued = *t;
  }
  if (a.lifetime_days <= 0) return Usage("--lifetime-days must be positive");
  std::error_code ec;
  std::filesystem::create_directories(a.out, ec);
  const std::filesystem::path out = a.out;
  const tdxrt::Collateral c = pki->MakeCollateral(issued, a.lifetime_days * 86400LL);
  for (auto st :
       {tdxrt::WriteFileAtomic(out / "dev-root.pem", std::string_view(pki->RootPem()), 0644),
        tdxrt::WriteFileAtomic(out / "collateral.json",
                               std::string_view(tdxrt::SerializeCollateralJson(c)), 0644)}) {
    if (!st.ok()) return Fail(st.message());
  }
  if (json) {
    nlohmann::ordered_json j;
    j["development"] = true;
    j["root"] = (out / "dev-root.pem").string();
    j["root_sha256"] = pki->RootSha256();
    j["collateral"] = (out / "collateral.json").string();
    j["fmspc"] = tdxrt::ToHex(tdxrt::kDevFmspc);
    j["issued"] = tdxrt::FormatRfc3339(issued);
    j["next_update"] = tdxrt::FormatRfc3339(issued + a.lifetime_days * 86400LL);
    std::printf("%s\n", tdxrt::DumpJson(j).c_str());
    return Code(ExitCode::kOk);
  }
  std::printf(
      "DEVELOPMENT PKI (simulated TDX; never trust it in production)\n"
      "  root          %s/dev-root.pem  sha256 %s\n"
      "  collateral    %s/collateral.json  FMSPC %s, %s .. %s\n",
      a.out.c_str(), pki->RootSha256().c_str(), a.out.c_str(),
      tdxrt::ToHex(tdxrt::kDevFmspc).c_str(), tdxrt::FormatRfc3339(issued).c_str(),
      tdxrt::FormatRfc3339(issued + a.lifetime_days * 86400LL).c_str());
  return Code(ExitCode::kOk);
}

}  // namespace

void AddCollateralCommands(CLI::App& app, std::vector<Runner>& runners) {
  auto fa = std::make_shared<FetchArgs>();
  auto* collateral = app.add_subcommand("collateral", "Collateral from Intel's PCS or a PCCS");
  collateral->require_subcommand(1);
  auto* fetch = collateral->add_subcommand(
      "fetch", "Fetch a quote's collateral, check it against the root, write the JSON");
  fetch->add_option("quote", fa->quote, "Quote file (binary, hex or base64)")->required();
  fetch->add_option("--pccs", fa->pccs, "PCS or PCCS base URL (http:// or https://)")->required();
  fetch->add_option("--out", fa->out, "Write here (atomically) instead of stdout");
  fetch->add_option("--ca-file", fa->ca_file, "Trust these CAs for HTTPS instead of the system's");
  fetch->add_option("--root-ca", fa->root,
                    "Check the collateral against this root (PEM) instead of Intel's");
  fetch->add_option("--at", fa->at, "Check time, RFC 3339 (default: now)");
  fetch->add_option("--timeout", fa->timeout_s, "Seconds per request (default 30)");
  fetch->add_option("--attempts", fa->attempts, "Attempts per URL (default 3)");
  fetch->fallthrough();
  runners.push_back([fetch, fa](bool json) -> std::optional<int> {
    if (!fetch->parsed()) return std::nullopt;
    return RunFetch(*fa, json);
  });

  auto sa = std::make_shared<PccsServeArgs>();
  auto* serve = app.add_subcommand("pccs-serve",
                                   "Serve a directory of collateral files in the PCS API v4 shape");
  serve->add_option("dir", sa->dir, "Directory of collateral JSON files")->required();
  serve->add_option("--listen", sa->listen, "HOST:PORT (default 127.0.0.1:0, any free port)");
  serve->add_option("--cert", sa->cert, "HTTPS certificate (PEM)");
  serve->add_option("--key", sa->key, "HTTPS private key (PEM)");
  serve->add_option("--port-file", sa->port_file, "Write the bound port here");
  serve->add_option("--max-seconds", sa->max_seconds, "Stop after this long (default: never)");
  serve->fallthrough();
  runners.push_back([serve, sa](bool) -> std::optional<int> {
    if (!serve->parsed()) return std::nullopt;
    return RunPccsServe(*sa);
  });

  auto ma = std::make_shared<SimArgs>();
  auto* sim = app.add_subcommand(
      "sim-pki", "Write the development PKI's root and collateral (simulated TDX; development)");
  sim->add_option("--seed", ma->seed, "Seed the PKI is derived from")->required();
  sim->add_option("--out", ma->out, "Output directory")->required();
  sim->add_option("--issued", ma->issued,
                  "Collateral issue time, RFC 3339 (default: today 00:00Z)");
  sim->add_option("--lifetime-days", ma->lifetime_days, "Collateral lifetime (default 30)");
  sim->fallthrough();
  runners.push_back([sim, ma](bool json) -> std::optional<int> {
    if (!sim->parsed()) return std::nullopt;
    return RunSimPki(*ma, json);
  });
}

}  // namespace tdx_attest
