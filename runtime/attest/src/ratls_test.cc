// RA-TLS: certificates from the simulated TDX, their extension corruptions with exact diagnoses,
// and TLS 1.3 handshakes in memory (a BIO pair) that succeed with a matching policy and fail,
// naming the check, with a wrong MRTD, a wrong key binding and expired collateral.
#include "tdxrt/ratls.h"

#include <doctest/doctest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "issue.h"
#include "tdxrt/hex.h"
#include "tdxrt/sim_tdx.h"

namespace tdxrt {
namespace {

constexpr std::int64_t kIssued = 1798761600;  // 2027-01-01T00:00:00Z

struct Sim {
  std::shared_ptr<const DevPki> pki =
      std::make_shared<const DevPki>(std::move(DevPki::FromSeed("ratls-test").value()));
  std::shared_ptr<const Verifier> verifier = std::make_shared<const Verifier>(
      std::move(Verifier::Create(pki->MakeCollateral(kIssued), pki->RootPem()).value()));

  RatlsIdentity Identity(std::uint8_t mrtd_fill, RatlsCertOptions o = {}) const {
    TdReport id = DevPki::DefaultReport();
    id.mr_td.fill(mrtd_fill);
    SimulatedTdxProvider provider(pki, id);
    o.not_before = kIssued;
    auto r = MakeRatlsIdentity(provider, o);
    REQUIRE_MESSAGE(r.ok(), r.status().message());
    return *r;
  }
  std::shared_ptr<RatlsPolicy> PolicyFor(std::uint8_t mrtd_fill, std::int64_t at) const {
    auto p = std::make_shared<RatlsPolicy>();
    p->policy = ParsePolicy("version: 1\nsets:\n  - {name: v1, mr_td: \"" +
                                std::string(96, "0123456789abcdef"[mrtd_fill & 15]) + "\"}\n",
                            "p.yaml")
                    .value();
    auto v = verifier;
    p->verifiers = [v](const Quote&) -> Result<std::shared_ptr<const Verifier>> { return v; };
    p->clock = [at] { return at; };
    return p;
  }
};

struct CtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};

struct Handshake {
  bool ok = false;
  std::unique_ptr<SSL, SslFree> client, server;
};

// Both ends in one thread over a BIO pair: each side attests itself and checks the other.
Handshake Run(const RatlsIdentity& client_id, std::shared_ptr<const RatlsPolicy> client_policy,
              const RatlsIdentity& server_id, std::shared_ptr<const RatlsPolicy> server_policy) {
  std::unique_ptr<SSL_CTX, CtxFree> cctx(SSL_CTX_new(TLS_client_method()));
  std::unique_ptr<SSL_CTX, CtxFree> sctx(SSL_CTX_new(TLS_server_method()));
  REQUIRE(UseRatlsIdentity(cctx.get(), client_id).ok());
  REQUIRE(UseRatlsIdentity(sctx.get(), server_id).ok());
  RequireRatlsPeer(cctx.get(), std::move(client_policy));
  RequireRatlsPeer(sctx.get(), std::move(server_policy));
  Handshake h;
  h.client.reset(SSL_new(cctx.get()));
  h.server.reset(SSL_new(sctx.get()));
  BIO *a = nullptr, *b = nullptr;
  REQUIRE(BIO_new_bio_pair(&a, 0, &b, 0) == 1);
  SSL_set_bio(h.client.get(), a, a);
  SSL_set_bio(h.server.get(), b, b);
  SSL_set_connect_state(h.client.get());
  SSL_set_accept_state(h.server.get());
  bool cdone = false, sdone = false, failed = false;
  for (int i = 0; i < 100 && !(cdone && sdone) && !failed; ++i) {
    for (SSL* s : {h.client.get(), h.server.get()}) {
      bool& done = s == h.client.get() ? cdone : sdone;
      if (done) continue;
      const int r = SSL_do_handshake(s);
      if (r == 1) {
        done = true;
      } else {
        const int e = SSL_get_error(s, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) failed = true;
      }
    }
  }
  ERR_clear_error();
  // TLS 1.3: the server's verdict on the client arrives after the client finished; read once.
  if (cdone && sdone) {
    char byte;
    SSL_read(h.client.get(), &byte, 0);
    h.ok = !failed;
  }
  return h;
}

TEST_CASE("RA-TLS certificates carry the quote, bound to the certificate's key") {
  Sim sim;
  const RatlsIdentity id = sim.Identity(0x4c);
  auto ev = ReadRatlsCertificate(
      ByteSpan(reinterpret_cast<const std::uint8_t*>(id.cert_pem.data()), id.cert_pem.size()));
  REQUIRE_MESSAGE(ev.ok(), ev.status().message());
  CHECK(ev->evidence == id.quote);
  CHECK_FALSE(ev->event_log.has_value());
  auto q = ParseQuote(ev->evidence);
  REQUIRE(q.ok());
  CHECK(q->report.report_data == RatlsReportData(ev->spki_der));
  CHECK(ev->subject_cn == "tdxrt-ratls");

  RatlsCertOptions o;
  o.event_log = std::vector<RuntimeEvent>{{"config", {1, 2}}};
  const RatlsIdentity with_log = sim.Identity(0x4c, o);
  auto ev2 = ReadRatlsCertificate(ByteSpan(
      reinterpret_cast<const std::uint8_t*>(with_log.cert_pem.data()), with_log.cert_pem.size()));
  REQUIRE(ev2.ok());
  REQUIRE(ev2->event_log.has_value());
  CHECK(ev2->event_log->at(0).name == "config");
}

TEST_CASE("RA-TLS handshakes: admitted with the right policy, refused naming the check") {
  Sim sim;
  const std::int64_t now = kIssued + 86400;
  const RatlsIdentity a = sim.Identity(0x44), b = sim.Identity(0x55);

  Handshake ok = Run(a, sim.PolicyFor(5, now), b, sim.PolicyFor(4, now));
  REQUIRE(ok.ok);
  const RatlsPeer* server_seen_by_client = RatlsPeerOf(ok.client.get());
  const RatlsPeer* client_seen_by_server = RatlsPeerOf(ok.server.get());
  REQUIRE(server_seen_by_client != nullptr);
  REQUIRE(client_seen_by_server != nullptr);
  CHECK(server_seen_by_client->admitted);
  CHECK(server_seen_by_client->development);
  CHECK(server_seen_by_client->decision.matched_set == "v1");
  CHECK(server_seen_by_client->evidence.report.mr_td[0] == 0x55);
  CHECK(client_seen_by_server->admitted);

  // Wrong MRTD: the client expects 0x66.. and refuses the server.
  Handshake wrong = Run(a, sim.PolicyFor(6, now), b, sim.PolicyFor(4, now));
  CHECK_FALSE(wrong.ok);
  const RatlsPeer* p = RatlsPeerOf(wrong.client.get());
  REQUIRE(p != nullptr);
  CHECK(p->check == "policy");
  CHECK(p->reason == "set 'v1': MRTD 5555555555555555... is not 6666666666666666...");

  // Wrong key binding: the quote binds some other REPORTDATA.
  RatlsCertOptions o;
  ReportData other{};
  other.fill(7);
  o.report_data_override = other;
  const RatlsIdentity unbound = sim.Identity(0x55, o);
  Handshake bad = Run(a, sim.PolicyFor(5, now), unbound, sim.PolicyFor(4, now));
  CHECK_FALSE(bad.ok);
  p = RatlsPeerOf(bad.client.get());
  REQUIRE(p != nullptr);
  CHECK(p->check == "binding");
  CHECK(p->reason.rfind("REPORTDATA 0707070707070707... is not SHA-512(\"ratls-cert:\" || the "
                        "certificate's public key)",
                        0) == 0);

  // Expired collateral at the verification time.
  Handshake late = Run(a, sim.PolicyFor(5, kIssued + 40 * 86400), b, sim.PolicyFor(4, now));
  CHECK_FALSE(late.ok);
  p = RatlsPeerOf(late.client.get());
  REQUIRE(p != nullptr);
  CHECK(p->check == "quote");
  CHECK(p->reason.rfind("tcb-info.validity: collateral expired", 0) == 0);

  // The server refuses a client whose MRTD it does not expect.
  Handshake client_refused = Run(a, sim.PolicyFor(5, now), b, sim.PolicyFor(9, now));
  CHECK_FALSE(client_refused.ok);
  p = RatlsPeerOf(client_refused.server.get());
  REQUIRE(p != nullptr);
  CHECK(p->check == "policy");
}

// A self-signed certificate with the given raw value (extnValue content) under the quote OID.
std::string CertWithQuoteExtension(const std::vector<Bytes>& values) {
  pki::PkeyPtr key = pki::DeriveP256Key(Bytes{1}, "x");
  pki::X509Ptr x(X509_new());
  X509_set_version(x.get(), 2);
  ASN1_TIME_set(X509_getm_notBefore(x.get()), 0);
  ASN1_TIME_set(X509_getm_notAfter(x.get()), 2000000000);
  X509_set_pubkey(x.get(), key.get());
  for (const Bytes& v : values) {
    ASN1_OBJECT* obj = OBJ_txt2obj(kRatlsQuoteOid, 1);
    ASN1_OCTET_STRING* data = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(data, v.data(), static_cast<int>(v.size()));
    X509_EXTENSION* ext = X509_EXTENSION_create_by_OBJ(nullptr, obj, 0, data);
    X509_add_ext(x.get(), ext, -1);
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(data);
    ASN1_OBJECT_free(obj);
  }
  X509_sign(x.get(), key.get(), EVP_sha256());
  return pki::CertPem(x.get());
}

std::string ReadError(const std::string& pem) {
  return ReadRatlsCertificate(
             ByteSpan(reinterpret_cast<const std::uint8_t*>(pem.data()), pem.size()))
      .status()
      .message();
}

TEST_CASE("RA-TLS extension corruptions get exact diagnoses") {
  CHECK(ReadError(CertWithQuoteExtension({})) ==
        "not an RA-TLS certificate: no extension 1.3.6.1.4.1.62397.1.1 (TDX quote)");
  CHECK(ReadError(CertWithQuoteExtension({{0x04, 0x01, 0xaa}, {0x04, 0x01, 0xbb}})) ==
        "extension 1.3.6.1.4.1.62397.1.1 appears twice");
  CHECK(ReadError(CertWithQuoteExtension({{0x02, 0x01, 0x01}})) ==
        "extension 1.3.6.1.4.1.62397.1.1: not a DER OCTET STRING");
  CHECK(ReadError(CertWithQuoteExtension({{0x04, 0x01, 0xaa, 0x00}})) ==
        "extension 1.3.6.1.4.1.62397.1.1: 1 bytes after its OCTET STRING");
  CHECK(ReadError(CertWithQuoteExtension({{0x04, 0x05, 0xaa}})) ==
        "extension 1.3.6.1.4.1.62397.1.1: not a DER OCTET STRING");
  // Parsed, but the quote inside is not one: the verifier names the quote check.
  const std::string junk = CertWithQuoteExtension({{0x04, 0x02, 0xaa, 0xbb}});
  auto cert = pki::ParseCertificate(junk);
  REQUIRE(cert.ok());
  RatlsPolicy p;
  const RatlsPeer peer = VerifyRatlsCertificate(cert->get(), p);
  CHECK(peer.check == "quote");
}

}  // namespace
}  // namespace tdxrt
