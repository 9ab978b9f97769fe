// PCCS server over a directory of collateral files (tdxrt/pccs_server.h), with cpp-httplib.
#include "tdxrt/pccs_server.h"

#include <httplib.h>

#include <algorithm>
#include <optional>
#include <thread>
#include <vector>

#include "pki.h"
#include "tdxrt/collateral.h"
#include "tdxrt/file.h"
#include "tdxrt/hex.h"
#include "tdxrt/pcs.h"
#include "tdxrt/text.h"

namespace tdxrt {
namespace {

struct Item {
  std::string file;
  Collateral collateral;
  TcbInfo tcb;
  std::optional<PckCa> pck_ca;  // from the PCK CRL issuer chain's first certificate
};

std::vector<Item> Scan(const std::filesystem::path& dir,
                       const std::function<void(const std::string&)>& log) {
  std::vector<Item> items;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".json" || !entry.is_regular_file()) continue;
    auto text = ReadFile(entry.path(), 16 << 20);
    auto c = text.ok() ? ParseCollateralJson(std::string(text->begin(), text->end()))
                       : Result<Collateral>(text.status());
    auto tcb = c.ok() ? ParseTcbInfo(c->tcb_info) : Result<TcbInfo>(c.status());
    if (!tcb.ok()) {
      if (log) log("skipped " + entry.path().string() + ": " + tcb.status().message());
      continue;
    }
    Item item{entry.path().string(), *c, *tcb, std::nullopt};
    if (auto chain = pki::ParsePemChain(c->pck_crl_issuer_chain); chain.ok()) {
      const std::string cn = pki::SubjectCn((*chain)[0].get());
      if (cn.find("Platform CA") != std::string::npos) item.pck_ca = PckCa::kPlatform;
      if (cn.find("Processor CA") != std::string::npos) item.pck_ca = PckCa::kProcessor;
    }
    items.push_back(std::move(item));
  }
  // Newest TCB info first; the file name breaks ties so the choice never depends on the order
  // the directory lists.
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    if (a.tcb.issue_date != b.tcb.issue_date) return a.tcb.issue_date > b.tcb.issue_date;
    return a.file < b.file;
  });
  return items;
}

void NotFound(httplib::Response& res, const std::string& why) {
  res.status = 404;
  res.set_content(why + "\n", "text/plain");
}

}  // namespace

struct PccsServer::State {
  PccsServerOptions options;
  std::unique_ptr<httplib::Server> server;
  std::thread thread;
  int port = 0;
};

PccsServer::PccsServer(PccsServerOptions options) : s_(std::make_unique<State>()) {
  s_->options = std::move(options);
}

PccsServer::~PccsServer() { Stop(); }

Status PccsServer::Start() {
  State& s = *s_;
  const bool tls = !s.options.cert_file.empty() || !s.options.key_file.empty();
  if (tls) {
    if (s.options.cert_file.empty() || s.options.key_file.empty()) {
      return Status::InvalidArgument("HTTPS needs both a certificate and a key file");
    }
    auto server = std::make_unique<httplib::SSLServer>(s.options.cert_file.c_str(),
                                                       s.options.key_file.c_str());
    if (!server->is_valid()) {
      return Status::InvalidArgument("cannot use " + s.options.cert_file + " and " +
                                     s.options.key_file + " for HTTPS");
    }
    s.server = std::move(server);
  } else {
    s.server = std::make_unique<httplib::Server>();
  }
  const std::filesystem::path dir = s.options.directory;
  const auto log = s.options.log;
  s.server->set_read_timeout(std::chrono::seconds(10));
  s.server->set_payload_max_length(1 << 16);
  s.server->Get(
      "/tdx/certification/v4/tcb", [dir, log](const httplib::Request& req, httplib::Response& res) {
        auto fmspc = FromHex(req.get_param_value("fmspc"), 6);
        if (!fmspc.ok()) return NotFound(res, "fmspc: " + fmspc.status().message());
        for (const Item& item : Scan(dir, log)) {
          if (std::equal(fmspc->begin(), fmspc->end(), item.tcb.fmspc.begin())) {
            res.set_header(std::string(kTcbInfoChainHeader),
                           EncodeIssuerChainHeader(item.collateral.tcb_info_issuer_chain));
            res.set_content(MakeSignedPcsBody("tcbInfo", item.collateral.tcb_info,
                                              item.collateral.tcb_info_signature),
                            "application/json");
            return;
          }
        }
        NotFound(res, "no TCB info for FMSPC " + ToHex(*fmspc));
      });
  s.server->Get("/tdx/certification/v4/qe/identity", [dir, log](const httplib::Request&,
                                                                httplib::Response& res) {
    const auto items = Scan(dir, log);
    if (items.empty()) return NotFound(res, "no collateral");
    const Collateral& c = items.front().collateral;
    res.set_header(std::string(kQeIdentityChainHeader),
                   EncodeIssuerChainHeader(c.qe_identity_issuer_chain));
    res.set_content(MakeSignedPcsBody("enclaveIdentity", c.qe_identity, c.qe_identity_signature),
                    "application/json");
  });
  s.server->Get("/sgx/certification/v4/pckcrl",
                [dir, log](const httplib::Request& req, httplib::Response& res) {
                  auto ca = ParsePckCa(req.get_param_value("ca"));
                  if (!ca.ok()) return NotFound(res, ca.status().message());
                  for (const Item& item : Scan(dir, log)) {
                    if (item.pck_ca != *ca) continue;
                    res.set_header(std::string(kPckCrlChainHeader),
                                   EncodeIssuerChainHeader(item.collateral.pck_crl_issuer_chain));
                    const Bytes& der = item.collateral.pck_crl;
                    if (req.get_param_value("encoding") == "der") {
                      res.set_content(std::string(der.begin(), der.end()), "application/pkix-crl");
                    } else {
                      res.set_content(ToHex(der), "text/plain");
                    }
                    return;
                  }
                  NotFound(res, "no PCK CRL of the " + std::string(PckCaName(*ca)) + " CA");
                });
  s.server->Get("/sgx/certification/v4/rootcacrl",
                [dir, log](const httplib::Request&, httplib::Response& res) {
                  const auto items = Scan(dir, log);
                  if (items.empty()) return NotFound(res, "no collateral");
                  res.set_content(ToHex(items.front().collateral.root_ca_crl), "text/plain");
                });
  if (log) {
    s.server->set_logger([log](const httplib::Request& req, const httplib::Response& res) {
      log(std::to_string(res.status) + " " + EscapeText(req.method) + " " + EscapeText(req.target));
    });
  }
  if (s.options.port == 0) {
    s.port = s.server->bind_to_any_port(s.options.host);
    if (s.port <= 0) return Status::IoError("cannot bind to " + s.options.host);
  } else {
    if (!s.server->bind_to_port(s.options.host, s.options.port)) {
      return Status::IoError("cannot bind to " + s.options.host + ":" +
                             std::to_string(s.options.port));
    }
    s.port = s.options.port;
  }
  s.thread = std::thread([&s] { s.server->listen_after_bind(); });
  return Status::Ok();
}

int PccsServer::port() const { return s_->port; }

std::string PccsServer::url() const {
  const bool tls = !s_->options.cert_file.empty();
  return std::string(tls ? "https://" : "http://") + s_->options.host + ":" +
         std::to_string(s_->port);
}

void PccsServer::Stop() {
  if (s_->server) s_->server->stop();
  if (s_->thread.joinable()) s_->thread.join();
}

}  // namespace tdxrt
