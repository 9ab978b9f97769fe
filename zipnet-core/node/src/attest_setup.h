// How a zipnet program attests itself and judges its peers (zipnet/node/attestation.h), from
// its settings: the evidence it presents (a TD's quotes, simulated TDX, mock), the launch record
// it extends into RTMR3 before anything else, the trust root and collateral quotes are verified
// with (one collateral, or a PCCS the collateral of each peer's platform is fetched from and
// cached, tdxrt/verifier_source.h), and the policies each peer role is judged by.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "tdxrt/launch.h"
#include "tdxrt/rtmr.h"
#include "zipnet/node/node.h"

namespace spdlog {
class logger;
}

namespace zipnet::node {

struct AttestFlags {
  std::string evidence = "auto";  // auto, tdx, mock, simulated
  std::string sim_seed;           // simulated: the development PKI's seed
  std::string sim_measurements;   // simulated: the measurements the quotes claim
  std::string collateral;         // DCAP collateral JSON (a file, or the JSON itself)
  std::string pccs_url;           // or where peers' collateral is fetched from (PCS/PCCS)
  std::string pccs_ca_file;       // HTTPS CAs of that PCCS (default: the system's)
  std::string root_ca;            // PEM file of the trusted root (default: Intel's)
  std::string committee_policy;   // how committee servers are judged (path or inline)
  std::string aggregator_policy;  // how the aggregator is judged (path or inline)
  bool strict = false;
  // Servers: peers must also show this server's RTMR0 (identical hosts: the same QEMU, memory,
  // CPUs and devices), not only its MRTD, RTMR1 and RTMR2.
  bool committee_same_host = false;
};

// kOperator: zipnet-server --configure, which judges the server it sends a list to.
enum class Program { kServer, kAggregator, kClient, kOperator };

// The options; which ones a program has depends on what it judges.
void AddAttestFlags(CLI::App& app, AttestFlags& f, Program program);

// What SetUpAttestation needs beyond the flags.
struct AttestContext {
  Program program;
  // Servers: how clients are judged (gating on), and whether peer servers must match this
  // server's own image (gating on).
  std::string client_policy;
  bool gating = false;
};

// The launch record goes into RTMR3 once per boot of the TD: a program restarted in the same TD
// (a server taking its operator's committee list) finds it in the log and extends nothing; a
// different record there (another program, other host settings) is an error, since this start's
// quotes would show the first one.
Status RecordLaunch(const tdxrt::LaunchRecord& record, const tdxrt::Rtmr3Device::Options& o,
                    spdlog::logger& log);

// Extends the launch record (once per TD boot), makes common.attester and common.judges, and
// logs what it chose. On failure prints "<tool>: error: ..." and returns false.
bool SetUpAttestation(const std::string& tool, const AttestFlags& f, const AttestContext& ctx,
                      NodeCommon& common);

}  // namespace zipnet::node
