// PCS response shapes, the PCCS client and the collateral cache, against a PCCS server on
// 127.0.0.1 serving the real dcap-qvl collateral and development-PKI collateral from a
// directory. Loopback only, a few requests per case, every request bounded by timeouts.
#include <doctest/doctest.h>

#include <filesystem>

#include "issue.h"
#include "tdx_test/support.h"
#include "tdxrt/file.h"
#include "tdxrt/hex.h"
#include "tdxrt/pccs_client.h"
#include "tdxrt/pccs_server.h"
#include "tdxrt/pcs.h"
#include "tdxrt/sim_tdx.h"
#include "tdxrt/verifier_source.h"

namespace tdxrt {
namespace {

namespace fs = std::filesystem;
constexpr std::int64_t kT0 = 1798761600;  // 2027-01-01T00:00:00Z
constexpr std::int64_t kDay = 86400;

using tdx_test::TempDir;

void Put(const fs::path& file, const Collateral& c) {
  REQUIRE(WriteFileAtomic(file, std::string_view(SerializeCollateralJson(c)), 0644).ok());
}

PcsClientOptions Fast(const std::string& url) {
  PcsClientOptions o;
  o.base_url = url;
  o.connect_timeout = std::chrono::milliseconds(2000);
  o.timeout = std::chrono::milliseconds(5000);
  o.attempts = 2;
  o.backoff = std::chrono::milliseconds(20);
  return o;
}

PccsServerOptions Serving(const fs::path& dir) {
  PccsServerOptions o;
  o.directory = dir;
  return o;
}

struct Dev {
  DevPki pki = std::move(DevPki::FromSeed("pccs-test").value());
  Quote quote = ParseQuote(pki.MakeQuote(DevPki::DefaultReport())).value();
};

TEST_CASE("PCS bodies: the signed member is cut out byte for byte, malformed bodies named") {
  const std::string inner = "{\"id\":\"TDX\",  \"x\":[1,{\"y\":\"}\\\"\"}]}";
  std::array<std::uint8_t, 64> sig{};
  sig.fill(0xab);
  const std::string body =
      "{ \"tcbInfo\" : " + inner + " ,\n \"signature\":\"" + ToHex(sig) + "\"}";
  auto parsed = ParseSignedPcsBody(body, "tcbInfo");
  REQUIRE_MESSAGE(parsed.ok(), parsed.status().message());
  CHECK(parsed->signed_text == inner);
  CHECK(parsed->signature == sig);
  auto again = ParseSignedPcsBody(MakeSignedPcsBody("tcbInfo", inner, sig), "tcbInfo");
  REQUIRE(again.ok());
  CHECK(again->signed_text == inner);

  auto err = [](const std::string& b) {
    return ParseSignedPcsBody(b, "tcbInfo").status().message();
  };
  const std::string s = "\"signature\":\"" + ToHex(sig) + "\"";
  CHECK(err("{\"tcbInfo\":{}") == "response body is not JSON");
  CHECK(err("[1]") == "response body is not a JSON object");
  CHECK(err("{\"tcbInfo\":{},\"tcbInfo\":{\"a\":1}," + s + "}") ==
        "response body: member 'tcbInfo' appears twice");
  CHECK(err("{\"tcbInfo\":{},\"extra\":1," + s + "}") ==
        "response body: unexpected member 'extra'");
  CHECK(err("{" + s + "}") == "response body: no 'tcbInfo' member");
  CHECK(err("{\"tcbInfo\":[]," + s + "}") == "response body: 'tcbInfo' is not an object");
  CHECK(err("{\"tcbInfo\":{}}") == "response body: no 'signature' string");
  CHECK(err("{\"tcbInfo\":{},\"signature\":\"abcd\"}") ==
        "response body: signature: expected 128 hex digits (64 bytes), got 4");

  CHECK(*DecodeIssuerChainHeader(EncodeIssuerChainHeader("-----BEGIN CERTIFICATE-----\nA+/=\n"),
                                 "X") == "-----BEGIN CERTIFICATE-----\nA+/=\n");
  CHECK(DecodeIssuerChainHeader("%2", "SGX-PCK-CRL-Issuer-Chain").status().message() ==
        "header SGX-PCK-CRL-Issuer-Chain: bad percent-escape at offset 0");
  CHECK(DecodeIssuerChainHeader("abc", "H").status().message() ==
        "header H: no PEM certificate in it");

  const Bytes der = {0x30, 0x03, 0x02, 0x01, 0x00};
  CHECK(*DecodeCrlBody(der) == der);
  const std::string hex = ToHex(der) + "\n";
  CHECK(*DecodeCrlBody(ByteSpan(reinterpret_cast<const std::uint8_t*>(hex.data()), hex.size())) ==
        der);
  CHECK(DecodeCrlBody({}).status().message() == "CRL body is empty");
  const std::string junk = "zz";
  CHECK(DecodeCrlBody(ByteSpan(reinterpret_cast<const std::uint8_t*>(junk.data()), 2))
            .status()
            .message() ==
        "CRL body is neither DER, PEM nor hex text: invalid hex character 'z' "
        "at position 1");
}

TEST_CASE("the PCCS client fetches the real collateral byte for byte from a local PCCS") {
  const fs::path v = fs::path(TDX_SHARED_DIR) / "vectors/dcap-qvl";
  if (!fs::exists(v / "tdx_quote")) {
    MESSAGE("skipped: ../shared/vectors/dcap-qvl is absent");
    return;
  }
  TempDir dir;
  auto text = ReadFile(v / "tdx_quote_collateral.json");
  REQUIRE(text.ok());
  const Collateral real = ParseCollateralJson(std::string(text->begin(), text->end())).value();
  Put(dir.path / "b0c06f000000.json", real);
  PccsServer server(Serving(dir.path));
  REQUIRE(server.Start().ok());

  const Quote quote = ParseQuote(ReadFile(v / "tdx_quote").value()).value();
  auto id = PckIdentityOf(quote);
  REQUIRE(id.ok());
  CHECK(ToHex(id->fmspc) == "b0c06f000000");
  CHECK(id->ca == PckCa::kPlatform);
  PcsClient client(Fast(server.url() + "/sgx/certification/v4/"));  // the tail is dropped
  auto fetched = client.FetchForQuote(quote);
  REQUIRE_MESSAGE(fetched.ok(), fetched.status().message());
  CHECK(SerializeCollateralJson(*fetched) == SerializeCollateralJson(real));
  auto verifier = Verifier::Create(*fetched);
  REQUIRE(verifier.ok());
  auto r = verifier->Verify(quote, ParseRfc3339("2025-07-01T00:00:00Z").value());
  CHECK(std::holds_alternative<Verdict>(r));

  // Another platform: 404, named with its URL, not retried.
  auto other = client.Fetch({1, 2, 3, 4, 5, 6}, PckCa::kPlatform);
  CHECK(other.status().message() ==
        "GET " + server.url() + "/tdx/certification/v4/tcb?fmspc=010203040506: HTTP 404");
}

TEST_CASE("the cache: fresh, expired then refreshed, PCCS down with and without an entry") {
  Dev dev;
  TempDir dir;
  Put(dir.path / "dev.json", dev.pki.MakeCollateral(kT0));
  auto server = std::make_unique<PccsServer>(Serving(dir.path));
  REQUIRE(server->Start().ok());
  const std::string url = server->url();
  auto client = std::make_shared<const PcsClient>(Fast(url));
  int fetches = 0;
  std::int64_t now = kT0 + kDay;
  CollateralCacheOptions o;
  o.trusted_root_pem = dev.pki.RootPem();
  o.clock = [&] { return now; };
  o.refresh_interval = 3600;
  o.refresh_margin = kDay;
  o.max_staleness = 2 * kDay;
  CollateralCache cache(
      [&](const std::array<std::uint8_t, 6>& f, PckCa ca) {
        ++fetches;
        return client->Fetch(f, ca);
      },
      o);

  // Fresh: fetched once, then served from memory.
  auto a = cache.GetForQuote(dev.quote);
  REQUIRE_MESSAGE(a.ok(), a.status().message());
  CHECK_FALSE(a->stale);
  CHECK(std::holds_alternative<Verdict>(a->verifier->Verify(dev.quote, now)));
  now += 600;
  CHECK(cache.GetForQuote(dev.quote).ok());
  CHECK(fetches == 1);

  // Within a day of nextUpdate (kT0 + 30 days): refetched; the PCCS now has newer collateral.
  Put(dir.path / "dev.json", dev.pki.MakeCollateral(kT0 + 29 * kDay));
  now = kT0 + 29 * kDay + 3600;
  auto b = cache.GetForQuote(dev.quote);
  REQUIRE_MESSAGE(b.ok(), b.status().message());
  CHECK(fetches == 2);
  CHECK(b->verifier->CollateralExpires() == kT0 + 59 * kDay);
  now = kT0 + 31 * kDay;  // the first collateral has expired; the refreshed one verifies
  CHECK(std::holds_alternative<Verdict>(b->verifier->Verify(dev.quote, now)));

  // PCCS down: the last good entry is served, marked stale, for max_staleness after its fetch.
  server.reset();
  now = kT0 + 29 * kDay + 3600 + 2 * 3600;
  auto c = cache.GetForQuote(dev.quote);
  REQUIRE_MESSAGE(c.ok(), c.status().message());
  CHECK(c->stale);
  CHECK(c->refresh_error.find("GET " + url + "/tdx/certification/v4/tcb?fmspc=DE7000000000: ") ==
        0);
  CHECK(c->refresh_error.find("(after 2 attempts)") != std::string::npos);
  now = kT0 + 29 * kDay + 3600 + 3 * kDay;
  auto d = cache.GetForQuote(dev.quote);
  REQUIRE_FALSE(d.ok());
  CHECK(d.status().message().find("the cached copy is 72 h old, beyond the allowed 48 h") !=
        std::string::npos);

  // PCCS down and nothing cached.
  CollateralCache empty(CollateralCache::FromClient(client), o);
  auto e = empty.GetForQuote(dev.quote);
  REQUIRE_FALSE(e.ok());
  CHECK(e.status().message().rfind(
            "no collateral for FMSPC de7000000000 (platform CA): GET " + url + "/tdx/", 0) == 0);
  CHECK(e.status().message().find("; nothing cached") != std::string::npos);
}

TEST_CASE("the cache never takes collateral that fails its own checks") {
  Dev dev;
  TempDir dir;
  const Collateral good = dev.pki.MakeCollateral(kT0);
  Put(dir.path / "dev.json", good);
  PccsServer server(Serving(dir.path));
  REQUIRE(server.Start().ok());
  std::int64_t now = kT0 + kDay;
  CollateralCacheOptions o;
  o.trusted_root_pem = dev.pki.RootPem();
  o.clock = [&] { return now; };
  o.refresh_interval = 3600;
  CollateralCache cache(
      CollateralCache::FromClient(std::make_shared<const PcsClient>(Fast(server.url()))), o);
  REQUIRE(cache.GetForQuote(dev.quote).ok());

  // A tampered TCB info body (still valid JSON, same signature): refused, the good entry stays.
  Collateral tampered = good;
  const std::size_t pos = tampered.tcb_info.find("\"pcesvn\":11");
  REQUIRE(pos != std::string::npos);
  tampered.tcb_info.replace(pos, 11, "\"pcesvn\":10");
  Put(dir.path / "dev.json", tampered);
  now += 2 * 3600;
  auto a = cache.GetForQuote(dev.quote);
  REQUIRE(a.ok());
  CHECK(a->stale);
  CHECK(a->refresh_error ==
        "fetched collateral for FMSPC de7000000000 (platform CA): refused: tcb-info.signature: "
        "TCB info signature does not verify with the key of DEVELOPMENT SGX TCB Signing");
  CHECK(a->verifier->collateral().tcb_info == good.tcb_info);

  // A TCB-Info-Issuer-Chain header of another PKI.
  auto other = DevPki::FromSeed("another seed");
  REQUIRE(other.ok());
  Collateral wrong_chain = good;
  wrong_chain.tcb_info_issuer_chain = other->MakeCollateral(kT0).tcb_info_issuer_chain;
  Put(dir.path / "dev.json", wrong_chain);
  now += 2 * 3600;
  auto b = cache.GetForQuote(dev.quote);
  REQUIRE(b.ok());
  CHECK(b->stale);
  CHECK(b->refresh_error.find("refused: tcb-info.chain: TCB info issuer chain: its second "
                              "certificate (CN=DEVELOPMENT SGX Root CA) is not the trusted root "
                              "CA") != std::string::npos);

  // Without an earlier good entry, nothing is served at all.
  CollateralCache fresh(
      CollateralCache::FromClient(std::make_shared<const PcsClient>(Fast(server.url()))), o);
  auto c = fresh.GetForQuote(dev.quote);
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().message().find("refused: tcb-info.chain") != std::string::npos);
}

TEST_CASE("the cache's directory survives a restart while the PCCS is down") {
  Dev dev;
  TempDir dir, store;
  Put(dir.path / "dev.json", dev.pki.MakeCollateral(kT0));
  std::int64_t now = kT0 + kDay;
  CollateralCacheOptions o;
  o.trusted_root_pem = dev.pki.RootPem();
  o.clock = [&] { return now; };
  o.directory = store.path;
  {
    PccsServer server(Serving(dir.path));
    REQUIRE(server.Start().ok());
    CollateralCache cache(
        CollateralCache::FromClient(std::make_shared<const PcsClient>(Fast(server.url()))), o);
    REQUIRE(cache.GetForQuote(dev.quote).ok());
  }
  CHECK(fs::exists(store.path / "de7000000000-platform.json"));
  CollateralCache restarted(
      [](const std::array<std::uint8_t, 6>&, PckCa) -> Result<Collateral> {
        return Status::IoError("PCCS unreachable");
      },
      o);
  auto a = restarted.GetForQuote(dev.quote);
  REQUIRE_MESSAGE(a.ok(), a.status().message());
  CHECK(std::holds_alternative<Verdict>(a->verifier->Verify(dev.quote, now)));
}

TEST_CASE("HTTPS with a pinned CA file, the system store does not know a private CA") {
  Dev dev;
  TempDir dir;
  Put(dir.path / "dev.json", dev.pki.MakeCollateral(kT0));
  const std::string seed = "tls";
  auto key =
      pki::DeriveP256Key(ByteSpan(reinterpret_cast<const std::uint8_t*>(seed.data()), 3), "server");
  pki::CertSpec spec;
  spec.cn = "localhost";
  spec.organization = "tdxrt test";
  spec.not_before = 1577836800;
  spec.not_after = 2524607999;
  spec.subject_alt_name = "DNS:localhost,IP:127.0.0.1";
  auto cert = pki::IssueCertificate(spec, key.get(), nullptr, key.get());
  REQUIRE(
      WriteFileAtomic(dir.path / "tls.crt", std::string_view(pki::CertPem(cert.get())), 0644).ok());
  REQUIRE(
      WriteFileAtomic(dir.path / "tls.key", std::string_view(pki::PrivateKeyPem(key.get())), 0600)
          .ok());
  PccsServerOptions so = Serving(dir.path);
  so.cert_file = (dir.path / "tls.crt").string();
  so.key_file = (dir.path / "tls.key").string();
  PccsServer server(so);
  REQUIRE(server.Start().ok());
  CHECK(server.url().rfind("https://127.0.0.1:", 0) == 0);
  PcsClientOptions o = Fast(server.url());
  o.ca_file = so.cert_file;
  auto ok = PcsClient(o).FetchForQuote(dev.quote);
  REQUIRE_MESSAGE(ok.ok(), ok.status().message());
  CHECK(ok->tcb_info == dev.pki.MakeCollateral(kT0).tcb_info);
  auto refused = PcsClient(Fast(server.url())).FetchForQuote(dev.quote);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message().find("(after 1 attempt)") != std::string::npos);
}

TEST_CASE("a program's verifier source: one collateral (file or inline), or a PCCS, never both") {
  Dev dev;
  TempDir dir;
  const Collateral c = dev.pki.MakeCollateral(kT0);
  Put(dir.path / "dev.json", c);
  REQUIRE(WriteFileAtomic(dir.path / "root.pem", std::string_view(dev.pki.RootPem()), 0644).ok());
  auto verifies = [&](const VerifierSource& source) {
    auto v = source(dev.quote);
    REQUIRE_MESSAGE(v.ok(), v.status().message());
    return std::holds_alternative<Verdict>((*v)->Verify(dev.quote, kT0 + kDay));
  };
  VerifierConfig none;
  auto empty = MakeVerifierSource(none);
  REQUIRE(empty.ok());
  CHECK_FALSE(static_cast<bool>(*empty));

  VerifierConfig file;
  file.collateral = (dir.path / "dev.json").string();
  file.root_ca_file = (dir.path / "root.pem").string();
  auto from_file = MakeVerifierSource(file);
  REQUIRE_MESSAGE(from_file.ok(), from_file.status().message());
  CHECK(verifies(*from_file));
  VerifierConfig inline_json = file;
  inline_json.collateral = SerializeCollateralJson(c);
  inline_json.collateral_name = "ZIPNET_TDX_COLLATERAL";
  auto from_text = MakeVerifierSource(inline_json);
  REQUIRE_MESSAGE(from_text.ok(), from_text.status().message());
  CHECK(verifies(*from_text));
  // Errors name the setting or the file; Intel's root does not sign the development chain.
  inline_json.collateral = "{\"tcb_info\": 1}";
  CHECK(MakeVerifierSource(inline_json).status().message().rfind("ZIPNET_TDX_COLLATERAL: ", 0) ==
        0);
  VerifierConfig missing = file;
  missing.collateral = (dir.path / "absent.json").string();
  CHECK(MakeVerifierSource(missing).status().message().find(missing.collateral) !=
        std::string::npos);
  VerifierConfig intel = file;
  intel.root_ca_file.clear();
  auto by_intel = MakeVerifierSource(intel);
  REQUIRE(by_intel.ok());
  CHECK_FALSE(verifies(*by_intel));

  PccsServer server(Serving(dir.path));
  REQUIRE(server.Start().ok());
  VerifierConfig pccs;
  pccs.pccs_url = server.url();
  pccs.root_ca_file = file.root_ca_file;
  pccs.clock = [] { return kT0 + kDay; };
  auto fetched = MakeVerifierSource(pccs);
  REQUIRE_MESSAGE(fetched.ok(), fetched.status().message());
  CHECK(verifies(*fetched));
  CHECK((*fetched)(dev.quote).value() == (*fetched)(dev.quote).value());  // cached

  VerifierConfig both = pccs;
  both.collateral = file.collateral;
  both.collateral_name = "ZIPNET_TDX_COLLATERAL";
  CHECK(MakeVerifierSource(both).status().message() ==
        "ZIPNET_TDX_COLLATERAL and a PCCS URL (" + server.url() + ") are both set: give one");
  VerifierConfig hostile = pccs;
  hostile.pccs_url = std::string("http://127.0.0.1:1/") + '\x1b';
  CHECK(MakeVerifierSource(hostile).status().message() ==
        "PCCS URL 'http://127.0.0.1:1/\\x1b' is not printable ASCII without spaces");
  hostile.pccs_url = "file:///run/zipnet-server.key";  // never read a TD's own files
  CHECK(MakeVerifierSource(hostile).status().message() ==
        "PCCS URL 'file:///run/zipnet-server.key' is not http:// or https://");
}

}  // namespace
}  // namespace tdxrt
