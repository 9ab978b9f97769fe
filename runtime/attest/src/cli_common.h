// Shared by the tdx-attest command files: exit codes, error printing, reading evidence.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tdxrt/evidence.h"
#include "tdxrt/file.h"
#include "tdxrt/provider.h"

namespace tdx_attest {

enum class ExitCode : int {
  kOk = 0,
  kFailure = 1,
  kUsage = 2,
  kRejected = 3,
  kStatusNotAccepted = 4,
};

constexpr const char* kExitCodesHelp =
    "Exit codes:\n"
    "  0  success: the quote verified with an accepted TCB status / the policy admits it\n"
    "  1  failure: unreadable or malformed input, or no quote could be obtained\n"
    "  2  usage error\n"
    "  3  rejected: a verification check failed, or the policy does not admit the quote\n"
    "  4  (verify) genuine, but its TCB status is not among --accept\n";

inline int Code(ExitCode c) { return static_cast<int>(c); }

inline int Fail(const std::string& msg) {
  std::fprintf(stderr, "tdx-attest: error: %s\n", msg.c_str());
  return Code(ExitCode::kFailure);
}

inline int Usage(const std::string& msg) {
  std::fprintf(stderr, "tdx-attest: usage error: %s\n", msg.c_str());
  return Code(ExitCode::kUsage);
}

constexpr std::uint64_t kMaxQuoteFile = 4 << 20;  // a quote as hex or base64 text included

struct Loaded {
  tdxrt::Bytes bytes;  // binary, whatever form the file had
  tdxrt::EvidenceEncoding encoding = tdxrt::EvidenceEncoding::kBinary;
  tdxrt::Evidence evidence;
};

// A quote or mock evidence, binary or as hex/base64 text; errors say which form was read.
inline tdxrt::Result<Loaded> LoadEvidence(const std::string& path) {
  auto file = tdxrt::ReadFile(path, kMaxQuoteFile);
  if (!file.ok()) return file.status();
  auto decoded = tdxrt::DecodeEvidenceFile(*file);
  if (!decoded.ok()) return decoded.status().WithContext(path);
  auto e = tdxrt::ParseEvidence(decoded->bytes);
  if (!e.ok()) {
    if (decoded->encoding == tdxrt::EvidenceEncoding::kBinary) return e.status().WithContext(path);
    return e.status().WithContext(path + " (read as " +
                                  std::string(tdxrt::EvidenceEncodingName(decoded->encoding)) +
                                  " text)");
  }
  return Loaded{std::move(decoded->bytes), decoded->encoding, std::move(e).value()};
}

// " (read as hex text)" when the evidence was not binary; what show, verify and check print.
inline std::string ReadAs(const Loaded& l) {
  if (l.encoding == tdxrt::EvidenceEncoding::kBinary) return "";
  return " (read as " + std::string(tdxrt::EvidenceEncodingName(l.encoding)) + " text)";
}

// Where evidence comes from (quote, cert make): cli_provider.cc.
struct ProviderArgs {
  std::string name = "configfs-tsm", tsm_root, mock_mrtd, mock_from, sim_seed, rtmr3_log;
};
void AddProviderOptions(CLI::App* sub, ProviderArgs& a);
// Flag errors are InvalidArgument (usage, exit 2); unreadable files fail (exit 1).
tdxrt::Result<std::unique_ptr<tdxrt::QuoteProvider>> MakeProvider(const ProviderArgs& a);
int ProviderFailure(const tdxrt::Status& st);
std::string ProviderWhat(const ProviderArgs& a);

// A command file adds its subcommands and a runner per subcommand: nullopt when that
// subcommand was not the one given.
using Runner = std::function<std::optional<int>(bool json)>;
void AddCollateralCommands(CLI::App& app, std::vector<Runner>& runners);
void AddRtmrCommands(CLI::App& app, std::vector<Runner>& runners);
void AddRatlsCommands(CLI::App& app, std::vector<Runner>& runners);

}  // namespace tdx_attest
