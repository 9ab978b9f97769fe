// tdx-attest RA-TLS commands (tdxrt/ratls.h):
//   cert make --out-cert C --out-key K      inside a TD (or simulated): a key and its certificate
//   cert show CERT                           what a certificate carries
//   cert verify CERT --policy P ...          the whole peer check, offline
//   connect HOST:PORT --policy P ...         a TLS 1.3 handshake; prints what the peer proved
//   ratls-serve --cert C --key K             a small RA-TLS server (tests, demonstrations)
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "pki.h"
#include "tdxrt/hex.h"
#include "tdxrt/json.h"
#include "tdxrt/ratls.h"
#include "tdxrt/sim_tdx.h"
#include "tdxrt/text.h"
#include "tdxrt/verifier_source.h"

namespace tdx_attest {
namespace {

// How a peer is judged: the policy and where collateral comes from.
struct JudgeArgs {
  std::string policy, collateral, pccs, ca_file, root, at;
};

void AddJudgeOptions(CLI::App* sub, JudgeArgs& a, bool policy_required) {
  auto* p = sub->add_option("--policy", a.policy, "Measurement policy the peer must satisfy");
  if (policy_required) p->required();
  sub->add_option("--collateral", a.collateral, "Collateral JSON for the peer's quote");
  sub->add_option("--pccs", a.pccs, "Fetch the peer's collateral from this PCS/PCCS");
  sub->add_option("--ca-file", a.ca_file, "HTTPS CA file for --pccs");
  sub->add_option("--root-ca", a.root, "Trust this root CA (PEM) instead of Intel's");
  sub->add_option("--at", a.at, "Verification time, RFC 3339 (default: now)");
}

tdxrt::Result<std::shared_ptr<tdxrt::RatlsPolicy>> MakeJudge(const JudgeArgs& a) {
  auto out = std::make_shared<tdxrt::RatlsPolicy>();
  TDX_ASSIGN_OR_RETURN(out->policy, tdxrt::LoadPolicy(a.policy));
  if (!a.at.empty()) {
    TDX_ASSIGN_OR_RETURN(std::int64_t at, tdxrt::ParseRfc3339(a.at));
    out->clock = [at] { return at; };
  }
  tdxrt::VerifierConfig v;
  v.collateral = a.collateral;
  v.pccs_url = a.pccs;
  v.pccs_ca_file = a.ca_file;
  v.root_ca_file = a.root;
  v.clock = out->clock;
  TDX_ASSIGN_OR_RETURN(out->verifiers, tdxrt::MakeVerifierSource(v));
  return out;
}

// --json: {"peer", "admitted", and either "check"/"reason" or "set", "evidence" (tdx,
// development or mock), "subject_cn", "mr_td", "rtmr" [4], "tcb_status"}.
nlohmann::ordered_json PeerJson(const std::string& who, const tdxrt::RatlsPeer& p) {
  nlohmann::ordered_json j;
  j["peer"] = who;
  j["admitted"] = p.admitted;
  if (!p.admitted) {
    j["check"] = p.check;
    j["reason"] = p.reason;
    return j;
  }
  const tdxrt::TdReport& r = p.evidence.report;
  j["set"] = p.decision.matched_set;
  j["evidence"] = p.development ? "development" : p.decision.mock ? "mock" : "tdx";
  j["subject_cn"] = p.subject_cn;
  j["mr_td"] = tdxrt::ToHex(r.mr_td);
  j["rtmr"] = nlohmann::ordered_json::array();
  for (const auto& m : r.rtmr) j["rtmr"].push_back(tdxrt::ToHex(m));
  if (p.verdict) j["tcb_status"] = std::string(tdxrt::TcbStatusName(p.verdict->status));
  return j;
}

// What a peer proved: --json prints PeerJson (with what the peer `says`, connect); the text
// shows an admitted peer; a refusal goes to stderr either way.
void PrintPeer(const std::string& who, const tdxrt::RatlsPeer& p, bool json,
               const std::optional<std::string>& says = std::nullopt) {
  if (json) {
    nlohmann::ordered_json j = PeerJson(who, p);
    if (says) j["says"] = *says;
    std::printf("%s\n", tdxrt::DumpJson(j).c_str());
  }
  if (!p.admitted) {
    std::fprintf(stderr, "tdx-attest: rejected: %s: %s: %s\n", who.c_str(), p.check.c_str(),
                 p.reason.c_str());
    return;
  }
  if (json) return;
  const tdxrt::TdReport& r = p.evidence.report;
  std::printf("%s: admitted by set '%s'%s\n", who.c_str(), p.decision.matched_set.c_str(),
              p.development     ? " (DEVELOPMENT quote: simulated TDX, not Intel-signed)"
              : p.decision.mock ? " (MOCK evidence, allowed by allow_mock)"
                                : "");
  std::printf("  certificate CN  %s (its key is bound by REPORTDATA)\n", p.subject_cn.c_str());
  std::printf("  mr_td           %s\n", tdxrt::ToHex(r.mr_td).c_str());
  for (int i = 0; i < 4; ++i) {
    std::printf("  rtmr%d           %s\n", i,
                tdxrt::ToHex(r.rtmr[static_cast<std::size_t>(i)]).c_str());
  }
  if (p.verdict) {
    std::printf("  tcb status      %s\n",
                std::string(tdxrt::TcbStatusName(p.verdict->status)).c_str());
  }
}

struct CertMakeArgs {
  ProviderArgs provider;
  std::string out_cert, out_key, cn = "tdxrt-ratls", bind_report_data;
  int validity_days = 7;
};

int RunCertMake(const CertMakeArgs& a, bool json) {
  auto provider = MakeProvider(a.provider);
  if (!provider.ok()) return ProviderFailure(provider.status());
  tdxrt::RatlsCertOptions o;
  o.common_name = a.cn;
  o.validity = a.validity_days * 86400LL;
  if (!a.provider.rtmr3_log.empty()) {
    auto events = tdxrt::ReadRuntimeEventLog(a.provider.rtmr3_log);
    if (!events.ok()) return Fail(events.status().message());
    o.event_log = std::move(events).value();
  }
  if (!a.bind_report_data.empty()) {
    if (a.provider.name == "configfs-tsm") {
      return Usage("--bind-report-data is for the development providers only");
    }
    auto rd = tdxrt::FromHex(a.bind_report_data, 64);
    if (!rd.ok()) return Usage("--bind-report-data: " + rd.status().message());
    tdxrt::ReportData r{};
    std::copy(rd->begin(), rd->end(), r.begin());
    o.report_data_override = r;
  }
  auto id = tdxrt::MakeRatlsIdentity(**provider, o);
  if (!id.ok()) return Fail((*provider)->Name() + ": " + id.status().message());
  for (auto st : {tdxrt::WriteFileAtomic(a.out_key, std::string_view(id->key_pem), 0600),
                  tdxrt::WriteFileAtomic(a.out_cert, std::string_view(id->cert_pem), 0644)}) {
    if (!st.ok()) return Fail(st.message());
  }
  if (json) {
    nlohmann::ordered_json j;
    j["cert"] = a.out_cert;
    j["key"] = a.out_key;
    j["evidence"] = ProviderWhat(a.provider);
    std::printf("%s\n", tdxrt::DumpJson(j).c_str());
  }
  std::fprintf(stderr, "tdx-attest: wrote %s (RA-TLS certificate, %s) and its key %s\n",
               a.out_cert.c_str(), ProviderWhat(a.provider).c_str(), a.out_key.c_str());
  return Code(ExitCode::kOk);
}

tdxrt::Result<tdxrt::RatlsEvidence> LoadCert(const std::string& path) {
  TDX_ASSIGN_OR_RETURN(tdxrt::Bytes bytes, tdxrt::ReadFile(path, 4 << 20));
  auto ev = tdxrt::ReadRatlsCertificate(bytes);
  if (!ev.ok()) return ev.status().WithContext(path);
  return ev;
}

int RunCertShow(const std::string& path, bool json) {
  auto ev = LoadCert(path);
  if (!ev.ok()) return Fail(ev.status().message());
  auto e = tdxrt::ParseEvidence(ev->evidence);
  if (!e.ok()) return Fail(path + ": the quote extension: " + e.status().message());
  const bool dev = e->quote && tdxrt::IsDevelopmentQuote(*e->quote);
  const bool bound = e->report.report_data == tdxrt::RatlsReportData(ev->spki_der);
  if (json) {
    nlohmann::ordered_json j;
    j["cert"] = path;
    j["subject_cn"] = ev->subject_cn;
    j["evidence"] = e->kind == tdxrt::EvidenceKind::kMock ? "mock" : dev ? "development" : "tdx";
    j["evidence_size"] = ev->evidence.size();
    j["key_bound"] = bound;
    j["mr_td"] = tdxrt::ToHex(e->report.mr_td);
    j["rtmr3"] = tdxrt::ToHex(e->report.rtmr[3]);
    if (ev->event_log) {
      j["event_log_events"] = ev->event_log->size();
      j["event_log_replays"] = tdxrt::CheckRtmr3Replay(*ev->event_log, e->report.rtmr[3]).ok();
    }
    j["verified"] = false;  // show checks nothing cryptographic
    std::printf("%s\n", tdxrt::DumpJson(j).c_str());
    return Code(ExitCode::kOk);
  }
  std::printf("%s: RA-TLS certificate, CN %s\n", path.c_str(), ev->subject_cn.c_str());
  std::printf("  evidence        %s, %zu bytes\n",
              e->kind == tdxrt::EvidenceKind::kMock ? "MOCK evidence (not TDX)"
              : dev ? "DEVELOPMENT quote (simulated TDX, not Intel-signed)"
                    : "TDX quote",
              ev->evidence.size());
  std::printf("  key binding     %s\n",
              bound ? "REPORTDATA = SHA-512(\"ratls-cert:\" || public key): bound"
                    : "REPORTDATA does NOT bind this certificate's key");
  std::printf("  mr_td           %s\n", tdxrt::ToHex(e->report.mr_td).c_str());
  std::printf("  rtmr3           %s\n", tdxrt::ToHex(e->report.rtmr[3]).c_str());
  if (ev->event_log) {
    std::printf("  event log       %zu events, %s\n", ev->event_log->size(),
                tdxrt::CheckRtmr3Replay(*ev->event_log, e->report.rtmr[3]).ok()
                    ? "replays to RTMR3"
                    : "does NOT replay to RTMR3");
  }
  std::printf("  (show checks nothing cryptographic: use cert verify)\n");
  return Code(ExitCode::kOk);
}

int RunCertVerify(const std::string& path, const JudgeArgs& j, bool json) {
  auto judge = MakeJudge(j);
  if (!judge.ok()) return Fail(judge.status().message());
  auto bytes = tdxrt::ReadFile(path, 4 << 20);
  if (!bytes.ok()) return Fail(bytes.status().message());
  auto cert = tdxrt::pki::ParseCertificate(
      std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()));
  if (!cert.ok()) return Fail(path + ": " + cert.status().message());
  const tdxrt::RatlsPeer p = tdxrt::VerifyRatlsCertificate(cert->get(), **judge);
  PrintPeer(path, p, json);
  return Code(p.admitted ? ExitCode::kOk : ExitCode::kRejected);
}

// host:port -> connected TCP socket with send/receive timeouts.
tdxrt::Result<int> Connect(const std::string& target, int timeout_s) {
  const std::size_t colon = target.rfind(':');
  if (colon == std::string::npos) return tdxrt::Status::InvalidArgument("expected HOST:PORT");
  const std::string host = target.substr(0, colon), port = target.substr(colon + 1);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr) {
    return tdxrt::Status::NotFound("cannot resolve " + target);
  }
  int fd = -1;
  for (addrinfo* ai = res; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    timeval tv{timeout_s, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(res);
  if (fd < 0) return tdxrt::Status::IoError("cannot connect to " + target);
  return fd;
}

struct SslCtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};

tdxrt::Result<tdxrt::RatlsIdentity> LoadIdentity(const std::string& cert, const std::string& key) {
  TDX_ASSIGN_OR_RETURN(tdxrt::Bytes c, tdxrt::ReadFile(cert, 4 << 20));
  TDX_ASSIGN_OR_RETURN(tdxrt::Bytes k, tdxrt::ReadFile(key, 1 << 20));
  tdxrt::RatlsIdentity id;
  id.cert_pem.assign(c.begin(), c.end());
  id.key_pem.assign(k.begin(), k.end());
  return id;
}

struct ConnectArgs {
  std::string target, cert, key;
  JudgeArgs judge;
  int timeout_s = 10;
};

int RunConnect(const ConnectArgs& a, bool json) {
  auto judge = MakeJudge(a.judge);
  if (!judge.ok()) return Fail(judge.status().message());
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(TLS_client_method()));
  if (!a.cert.empty()) {
    auto id = LoadIdentity(a.cert, a.key);
    if (!id.ok()) return Fail(id.status().message());
    if (auto st = tdxrt::UseRatlsIdentity(ctx.get(), *id); !st.ok()) return Fail(st.message());
  }
  tdxrt::RequireRatlsPeer(ctx.get(), *judge);
  auto fd = Connect(a.target, a.timeout_s);
  if (!fd.ok()) return Fail(fd.status().message());
  std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx.get()));
  SSL_set_fd(ssl.get(), *fd);
  const bool handshake = SSL_connect(ssl.get()) == 1;
  const tdxrt::RatlsPeer* peer = tdxrt::RatlsPeerOf(ssl.get());
  int code = Code(ExitCode::kOk);
  if (peer != nullptr && !json) {
    PrintPeer(a.target, *peer, false);
  }
  if (peer != nullptr && !peer->admitted) code = Code(ExitCode::kRejected);
  std::optional<std::string> says;
  if (handshake && peer != nullptr && peer->admitted) {
    char buf[256];
    const int n = SSL_read(ssl.get(), buf, sizeof buf - 1);
    if (n > 0) {
      std::string_view said(buf, static_cast<std::size_t>(n));
      while (!said.empty() && (said.back() == '\n' || said.back() == '\r')) said.remove_suffix(1);
      says = std::string(said);
      if (!json) std::printf("  says            %s\n", tdxrt::EscapeText(said).c_str());
    } else {
      // TLS 1.3: a server refusing our certificate says so after our handshake completed.
      std::fflush(stdout);
      const unsigned long e = ERR_peek_last_error();
      std::fprintf(stderr, "tdx-attest: rejected by %s: %s\n", a.target.c_str(),
                   e != 0 ? ERR_reason_error_string(e) : "connection closed");
      code = Code(ExitCode::kRejected);
    }
  } else if (peer == nullptr) {
    const unsigned long e = ERR_peek_last_error();
    code = Fail(a.target + ": TLS handshake failed: " +
                (e != 0 ? std::string(ERR_reason_error_string(e)) : "connection closed"));
  }
  if (peer != nullptr && json) PrintPeer(a.target, *peer, true, says);
  SSL_shutdown(ssl.get());
  ::close(*fd);
  return code;
}

struct RatlsServeArgs {
  std::string cert, key, listen = "127.0.0.1:0", port_file, message = "hello from ratls-serve";
  JudgeArgs judge;
  int max_seconds = 0, max_connections = 0;
};

int RunRatlsServe(const RatlsServeArgs& a) {
  auto id = LoadIdentity(a.cert, a.key);
  if (!id.ok()) return Fail(id.status().message());
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(TLS_server_method()));
  if (auto st = tdxrt::UseRatlsIdentity(ctx.get(), *id); !st.ok()) return Fail(st.message());
  if (!a.judge.policy.empty()) {
    auto judge = MakeJudge(a.judge);
    if (!judge.ok()) return Fail(judge.status().message());
    tdxrt::RequireRatlsPeer(ctx.get(), *judge);
  }
  const std::size_t colon = a.listen.rfind(':');
  if (colon == std::string::npos) return Usage("--listen must be HOST:PORT");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (::inet_pton(AF_INET, a.listen.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
    return Usage("--listen: an IPv4 address is expected");
  }
  addr.sin_port = htons(static_cast<std::uint16_t>(std::atoi(a.listen.c_str() + colon + 1)));
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  socklen_t len = sizeof addr;
  if (::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(s, 16) != 0 ||
      ::getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return Fail("cannot listen on " + a.listen);
  }
  const int port = ntohs(addr.sin_port);
  if (!a.port_file.empty()) {
    auto st = tdxrt::WriteFileAtomic(a.port_file, std::string_view(std::to_string(port)), 0644);
    if (!st.ok()) return Fail(st.message());
  }
  std::printf("ratls-serve: listening on 127.0.0.1:%d\n", port);
  std::fflush(stdout);
  const std::int64_t start = std::time(nullptr);
  int served = 0;
  while ((a.max_seconds <= 0 || std::time(nullptr) - start < a.max_seconds) &&
         (a.max_connections <= 0 || served < a.max_connections)) {
    pollfd p{s, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    const int c = ::accept4(s, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    ++served;
    timeval tv{10, 0};
    ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx.get()));
    SSL_set_fd(ssl.get(), c);
    const bool ok = SSL_accept(ssl.get()) == 1;
    const tdxrt::RatlsPeer* peer = tdxrt::RatlsPeerOf(ssl.get());
    if (peer != nullptr) {
      if (peer->admitted) {
        std::fprintf(stderr, "ratls-serve: client admitted by set '%s'\n",
                     peer->decision.matched_set.c_str());
      } else {
        std::fprintf(stderr, "ratls-serve: client refused: %s: %s\n", peer->check.c_str(),
                     peer->reason.c_str());
      }
    }
    if (ok) {
      const std::string line = a.message + "\n";
      SSL_write(ssl.get(), line.data(), static_cast<int>(line.size()));
      SSL_shutdown(ssl.get());
    }
    ERR_clear_error();
    ::close(c);
  }
  ::close(s);
  return Code(ExitCode::kOk);
}

}  // namespace

void AddRatlsCommands(CLI::App& app, std::vector<Runner>& runners) {
  auto* cert = app.add_subcommand("cert", "RA-TLS certificates: make, show, verify");
  cert->require_subcommand(1);
  auto ma = std::make_shared<CertMakeArgs>();
  auto* make = cert->add_subcommand(
      "make", "A P-256 key and a self-signed certificate carrying a quote that binds it");
  AddProviderOptions(make, ma->provider);
  make->add_option("--out-cert", ma->out_cert, "Certificate (PEM)")->required();
  make->add_option("--out-key", ma->out_key, "Private key (PEM, mode 0600)")->required();
  make->add_option("--cn", ma->cn, "Subject CN (default tdxrt-ratls)");
  make->add_option("--validity-days", ma->validity_days, "Validity (default 7)");
  make->add_option("--bind-report-data", ma->bind_report_data,
                   "Development providers only: claim this REPORTDATA instead of the binding");
  make->fallthrough();
  runners.push_back([make, ma](bool json) -> std::optional<int> {
    if (!make->parsed()) return std::nullopt;
    return RunCertMake(*ma, json);
  });
  auto show_path = std::make_shared<std::string>();
  auto* show = cert->add_subcommand("show", "What an RA-TLS certificate carries");
  show->add_option("cert", *show_path, "Certificate (PEM or DER)")->required();
  show->fallthrough();
  runners.push_back([show, show_path](bool json) -> std::optional<int> {
    if (!show->parsed()) return std::nullopt;
    return RunCertShow(*show_path, json);
  });
  auto va = std::make_shared<std::pair<std::string, JudgeArgs>>();
  auto* verify = cert->add_subcommand("verify", "The whole RA-TLS check of a certificate");
  verify->add_option("cert", va->first, "Certificate (PEM or DER)")->required();
  AddJudgeOptions(verify, va->second, true);
  verify->fallthrough();
  runners.push_back([verify, va](bool json) -> std::optional<int> {
    if (!verify->parsed()) return std::nullopt;
    return RunCertVerify(va->first, va->second, json);
  });

  auto ca = std::make_shared<ConnectArgs>();
  auto* connect =
      app.add_subcommand("connect", "RA-TLS handshake with HOST:PORT; print what the peer proved");
  connect->add_option("target", ca->target, "HOST:PORT")->required();
  AddJudgeOptions(connect, ca->judge, true);
  connect->add_option("--cert", ca->cert, "Our RA-TLS certificate (mutual attestation)");
  connect->add_option("--key", ca->key, "Its key");
  connect->add_option("--timeout", ca->timeout_s, "Seconds for connect and each read (10)");
  connect->fallthrough();
  runners.push_back([connect, ca](bool json) -> std::optional<int> {
    if (!connect->parsed()) return std::nullopt;
    return RunConnect(*ca, json);
  });

  auto sa = std::make_shared<RatlsServeArgs>();
  auto* serve = app.add_subcommand("ratls-serve", "A small RA-TLS server (tests, demonstrations)");
  serve->add_option("--cert", sa->cert, "RA-TLS certificate")->required();
  serve->add_option("--key", sa->key, "Its key")->required();
  serve->add_option("--listen", sa->listen, "IPv4:PORT (default 127.0.0.1:0)");
  serve->add_option("--port-file", sa->port_file, "Write the bound port here");
  serve->add_option("--message", sa->message, "Line sent to admitted clients");
  serve->add_option("--max-seconds", sa->max_seconds, "Stop after this long");
  serve->add_option("--max-connections", sa->max_connections, "Stop after this many");
  AddJudgeOptions(serve, sa->judge, false);
  serve->fallthrough();
  runners.push_back([serve, sa](bool) -> std::optional<int> {
    if (!serve->parsed()) return std::nullopt;
    return RunRatlsServe(*sa);
  });
}

}  // namespace tdx_attest
