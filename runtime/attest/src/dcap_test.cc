// DCAP verification: the real dcap-qvl quotes against Intel's collateral and the shipped root,
// and builder quotes under a test root with one thing broken at a time.
#include "tdxrt/dcap.h"

#include <doctest/doctest.h>

#include <filesystem>

#include "quote_builder.h"
#include "tdx_test/support.h"
#include "tdxrt/file.h"
#include "tdxrt/hex.h"

namespace tdxrt {
namespace {

std::int64_t At(const char* rfc3339) { return ParseRfc3339(rfc3339).value(); }

struct Real {
  Bytes quote;
  Collateral collateral;
};

std::optional<Real> LoadReal(const char* quote, const char* collateral) {
  if (!std::filesystem::exists(tdx_test::DcapVector(quote))) return std::nullopt;
  auto q = ReadFile(tdx_test::DcapVector(quote));
  auto c = ReadFile(tdx_test::DcapVector(collateral));
  REQUIRE(q.ok());
  REQUIRE(c.ok());
  auto parsed = ParseCollateralJson(std::string(c->begin(), c->end()));
  REQUIRE_MESSAGE(parsed.ok(), parsed.status().message());
  return Real{*q, *parsed};
}

std::string Describe(const std::variant<Verdict, VerifyError>& r) {
  if (auto* e = std::get_if<VerifyError>(&r)) return FormatVerifyError(*e);
  return std::string(TcbStatusName(std::get<Verdict>(r).status));
}

TEST_CASE("the real quote verifies UpToDate with no advisories at 2025-07-01") {
  auto real = LoadReal("tdx_quote", "tdx_quote_collateral.json");
  if (!real) {
    MESSAGE("skipped: ../shared/vectors/dcap-qvl is absent");
    return;
  }
  auto v = Verifier::Create(real->collateral);
  REQUIRE_MESSAGE(v.ok(), v.status().message());
  auto r = v->Verify(real->quote, At("2025-07-01T00:00:00Z"));
  REQUIRE_MESSAGE(std::holds_alternative<Verdict>(r), Describe(r));
  const Verdict& verdict = std::get<Verdict>(r);
  CHECK(verdict.status == TcbStatus::kUpToDate);
  CHECK(verdict.advisory_ids.empty());
  CHECK(verdict.tdx_module_id == "TDX_01");
  CHECK(verdict.tdx_module_status == TcbStatus::kUpToDate);
  CHECK(verdict.qe_status == TcbStatus::kUpToDate);
  CHECK(ToHex(verdict.fmspc) == "b0c06f000000");
  CHECK(FormatRfc3339(verdict.collateral_expires) == "2025-07-19T10:00:35Z");
}

TEST_CASE("the real quote at 2025-08-01 fails as expired collateral") {
  auto real = LoadReal("tdx_quote", "tdx_quote_collateral.json");
  if (!real) {
    MESSAGE("skipped: ../shared/vectors/dcap-qvl is absent");
    return;
  }
  auto v = Verifier::Create(real->collateral);
  REQUIRE(v.ok());
  auto r = v->Verify(real->quote, At("2025-08-01T00:00:00Z"));
  REQUIRE(std::holds_alternative<VerifyError>(r));
  CHECK(Describe(r) ==
        "tcb-info.validity: collateral expired: TCB info nextUpdate 2025-07-19T10:16:03Z is "
        "before the verification time 2025-08-01T00:00:00Z");
}

TEST_CASE("the outdated sample is not UpToDate under its own collateral") {
  // Its PCK certificate has SGX TCB component 8 (SEAMLDR ACM) at SVN 3, below the 5 of every TCB
  // level, so no level matches component by component (Intel QVL's TcbLevelCheck: TCB not
  // supported). A lexicographic comparison of the SVN vectors would instead pick the second
  // level (OutOfDate); both are "not UpToDate", only one is Intel's rule.
  auto real = LoadReal("tdx_quote_outdated", "tdx_quote_outdated_collateral.json");
  if (!real) {
    MESSAGE("skipped: ../shared/vectors/dcap-qvl is absent");
    return;
  }
  auto v = Verifier::Create(real->collateral);
  REQUIRE(v.ok());
  auto r = v->Verify(real->quote, At("2026-03-01T00:00:00Z"));
  CHECK(Describe(r) ==
        "tcb.level: TCB not supported: no TCB level matches the platform's SGX components and "
        "PCESVN (PCK certificate)");
  // Every check before the TCB level passed: the same quote at a time outside the collateral's
  // window fails earlier, on the collateral.
  CHECK(
      Describe(v->Verify(real->quote, At("2026-04-01T00:00:00Z"))).rfind("tcb-info.validity", 0) ==
      0);
}

TEST_CASE("the real quote does not verify under a different trusted root") {
  auto real = LoadReal("tdx_quote", "tdx_quote_collateral.json");
  if (!real) {
    MESSAGE("skipped: ../shared/vectors/dcap-qvl is absent");
    return;
  }
  testing::QuoteBuilder b;
  auto v = Verifier::Create(real->collateral, b.Build().root_pem);
  REQUIRE(v.ok());
  auto r = v->Verify(real->quote, At("2025-07-01T00:00:00Z"));
  CHECK(Describe(r) == "root-ca.crl: root CA CRL: CRL issuer is not Test SGX Root CA");
}

// --- builder quotes ---------------------------------------------------------------------------

std::string Run(testing::QuoteBuilder& b, std::int64_t at = 0) {
  auto built = b.Build();
  auto v = Verifier::Create(built.collateral, built.root_pem);
  REQUIRE_MESSAGE(v.ok(), v.status().message());
  return Describe(v->Verify(built.quote, at != 0 ? at : b.now));
}

TEST_CASE("a builder quote verifies UpToDate, v4 and v5 with TD report 1.5") {
  testing::QuoteBuilder b;
  CHECK(Run(b) == "UpToDate");
  b.quote.header.version = 5;
  b.quote.body_type = kBodyTypeTdReport15;
  CHECK(Run(b) == "UpToDate");
}

TEST_CASE("a flipped body byte breaks the quote signature") {
  testing::QuoteBuilder b;
  auto built = b.Build();
  built.quote[0xb8] ^= 1;  // first byte of MRTD
  auto v = Verifier::Create(built.collateral, built.root_pem);
  REQUIRE(v.ok());
  CHECK(Describe(v->Verify(built.quote, b.now)) ==
        "quote.signature: quote signature does not verify with its attestation key over the 632 "
        "bytes of header and TD report");
}

TEST_CASE("wrong QE report data") {
  testing::QuoteBuilder b;
  b.corrupt_qe_report_data = true;
  CHECK(Run(b).rfind("qe-report.data: QE report data ", 0) == 0);
}

TEST_CASE("a PCK chain that does not lead to the trusted root") {
  testing::QuoteBuilder b;
  b.sign_pck_with_foreign_ca = true;
  CHECK(Run(b) ==
        "pck.chain: PCK chain: certificate 1 (CN=Test SGX PCK Platform CA): self-signed "
        "certificate in certificate chain");
}

TEST_CASE("a revoked PCK certificate") {
  testing::QuoteBuilder b;
  b.revoked_pck_serials = {0x1234, testing::QuoteBuilder::kPckSerial};
  CHECK(Run(b) ==
        "pck.revocation: PCK certificate (CN=Test SGX PCK Certificate, serial 5eed) is revoked");
}

TEST_CASE("a certificate name of hostile bytes comes out escaped") {
  testing::QuoteBuilder b;
  b.pck_cn = "\xff\xfe\x1b[2J forged\\";
  CHECK(Run(b) ==
        "pck.chain: certificate 0 (CN=\\xff\\xfe\\x1b[2J forged\\\\) is not an SGX PCK "
        "Certificate");
  b.revoked_pck_serials = {testing::QuoteBuilder::kPckSerial};
  b.pck_cn = "SGX PCK Certificate \xc3\x28";
  CHECK(Run(b) ==
        "pck.revocation: PCK certificate (CN=SGX PCK Certificate \\xc3(, serial 5eed) is "
        "revoked");
}

TEST_CASE("expired and not-yet-valid TCB info") {
  testing::QuoteBuilder b;
  b.tcb_info_issue_offset = -40 * 86400;
  b.tcb_info_next_offset = -10 * 86400;
  CHECK(Run(b) ==
        "tcb-info.validity: collateral expired: TCB info nextUpdate 2025-06-21T00:00:00Z is "
        "before the verification time 2025-07-01T00:00:00Z");
  b.tcb_info_issue_offset = 3600;
  b.tcb_info_next_offset = 30 * 86400;
  CHECK(Run(b) ==
        "tcb-info.validity: TCB info is not yet valid: issueDate 2025-07-01T01:00:00Z is after "
        "the verification time 2025-07-01T00:00:00Z");
}

TEST_CASE("cached chain signatures do not cache validity: an expired PCK certificate") {
  testing::QuoteBuilder b;
  b.pck_valid_after_now = 10 * 86400;
  auto built = b.Build();
  auto v = Verifier::Create(built.collateral, built.root_pem);
  REQUIRE(v.ok());
  CHECK(Describe(v->Verify(built.quote, b.now)) == "UpToDate");  // chain verified and cached
  const std::string later = Describe(v->Verify(built.quote, b.now + 20 * 86400));
  CHECK(later.rfind("pck.chain: PCK chain: certificate 0 (CN=Test SGX PCK Certificate): "
                    "certificate has expired (valid ",
                    0) == 0);
  CHECK(Describe(v->Verify(built.quote, b.now + 86400)) == "UpToDate");
}

TEST_CASE("TCB info and QE identity issuer chains must be the signer plus the root (Intel QVL)") {
  testing::QuoteBuilder b;
  const auto built = b.Build();
  auto run = [&](Collateral c) {
    auto v = Verifier::Create(c, built.root_pem);
    REQUIRE(v.ok());
    return Describe(v->Verify(built.quote, b.now));
  };
  const std::string signer_only = built.collateral.tcb_info_issuer_chain.substr(
      0, built.collateral.tcb_info_issuer_chain.find("-----END CERTIFICATE-----") + 26);
  Collateral c = built.collateral;
  c.tcb_info_issuer_chain = signer_only;
  CHECK(run(c) ==
        "tcb-info.chain: TCB info issuer chain: has 1 certificates; it must be exactly the "
        "signing certificate and the root CA");
  c = built.collateral;
  c.qe_identity_issuer_chain = signer_only + built.collateral.pck_crl_issuer_chain;
  CHECK(run(c) ==
        "qe-identity.chain: QE identity issuer chain: has 3 certificates; it must be exactly the "
        "signing certificate and the root CA");
  c = built.collateral;
  c.tcb_info_issuer_chain =
      built.collateral.pck_crl_issuer_chain.substr(
          0, built.collateral.pck_crl_issuer_chain.find("-----END CERTIFICATE-----") + 26) +
      signer_only;
  CHECK(run(c) ==
        "tcb-info.chain: TCB info issuer chain: its second certificate (CN=Test SGX TCB Signing) "
        "is not the trusted root CA");
  // The real collateral has exactly that shape.
  CHECK(run(built.collateral) == "UpToDate");
}

TEST_CASE("a tampered TCB info signature") {
  testing::QuoteBuilder b;
  b.corrupt_tcb_info_signature = true;
  CHECK(Run(b) ==
        "tcb-info.signature: TCB info signature does not verify with the key of Test SGX TCB "
        "Signing");
}

TEST_CASE("TCB info for another platform") {
  testing::QuoteBuilder b;
  b.tcb_info["fmspc"] = "00906ED50001";
  CHECK(Run(b) ==
        "tcb-info.match: TCB info is for FMSPC 00906ed50001, the PCK certificate has 00906ed50000");
}

TEST_CASE("QE identity mismatches") {
  testing::QuoteBuilder b;
  b.qe_identity["isvprodid"] = 1;
  CHECK(Run(b) == "qe-identity.match: QE ISVPRODID 2 is not 1");
  testing::QuoteBuilder c;
  c.quote.qe_report.isv_svn = 3;
  CHECK(Run(c) == "qe-identity.match: QE ISVSVN 3 is below every TCB level of the QE identity");
}

TEST_CASE("TDX module identity mismatch") {
  testing::QuoteBuilder b;
  b.quote.report.mr_signer_seam.fill(1);
  CHECK(Run(b).rfind("tdx-module.identity: MRSIGNERSEAM 0101", 0) == 0);
  testing::QuoteBuilder c;
  c.quote.report.tee_tcb_svn[1] = 7;
  CHECK(Run(c) == "tdx-module.identity: TCB info has no TDX module identity TDX_07");
}

TEST_CASE("TCB levels: OutOfDate with advisories, convergence with the module, no level") {
  testing::QuoteBuilder b;
  b.pce_svn = 6;  // matches only the second (OutOfDate) level
  auto built = b.Build();
  auto v = Verifier::Create(built.collateral, built.root_pem);
  REQUIRE(v.ok());
  auto r = v->Verify(built.quote, b.now);
  REQUIRE_MESSAGE(std::holds_alternative<Verdict>(r), Describe(r));
  CHECK(std::get<Verdict>(r).status == TcbStatus::kOutOfDate);
  CHECK(std::get<Verdict>(r).advisory_ids ==
        std::vector<std::string>{"INTEL-SA-00106", "INTEL-SA-00115"});

  testing::QuoteBuilder m;
  m.quote.report.tee_tcb_svn[0] = 3;  // TDX_01 module SVN 3: OutOfDate level (isvsvn 2)
  CHECK(Run(m) == "OutOfDate");

  testing::QuoteBuilder n;
  n.pce_svn = 4;
  CHECK(Run(n) ==
        "tcb.level: TCB not supported: no TCB level matches the platform's SGX components and "
        "PCESVN (PCK certificate)");
}

TEST_CASE("collateral format errors name the member") {
  testing::QuoteBuilder b;
  auto built = b.Build();
  Collateral c = built.collateral;
  c.tcb_info = "{\"id\":\"TDX\"}";
  auto v = Verifier::Create(c, built.root_pem);
  REQUIRE(!v.ok());
  CHECK(v.status().message() == "collateral: tcb_info: version: missing");
  auto bad = ParseCollateralJson("{\"pck_crl_issuer_chain\": 3}");
  REQUIRE(!bad.ok());
  CHECK(bad.status().message() == "collateral.pck_crl_issuer_chain: expected a string");
}

}  // namespace
}  // namespace tdxrt
