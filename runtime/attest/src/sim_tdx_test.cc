// Simulated TDX: determinism from the seed, end-to-end verification under the development root
// only, labels.
#include "tdxrt/sim_tdx.h"

#include <doctest/doctest.h>

#include <filesystem>

#include "tdxrt/dcap.h"
#include "tdxrt/file.h"
#include "tdxrt/hex.h"

namespace tdxrt {
namespace {

constexpr std::int64_t kIssued = 1798761600;  // 2027-01-01T00:00:00Z

TEST_CASE("the development PKI, its quotes and collateral are a function of the seed") {
  auto a = DevPki::FromSeed("ci-seed-1");
  auto b = DevPki::FromSeed("ci-seed-1");
  auto c = DevPki::FromSeed("ci-seed-2");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(c.ok());
  CHECK(a->RootPem() == b->RootPem());
  CHECK(a->RootSha256() == b->RootSha256());
  CHECK(a->RootPem() != c->RootPem());
  TdReport r = DevPki::DefaultReport();
  r.mr_td.fill(0xab);
  CHECK(a->MakeQuote(r) == b->MakeQuote(r));
  CHECK(a->MakeQuote(r) != c->MakeQuote(r));
  CHECK(SerializeCollateralJson(a->MakeCollateral(kIssued)) ==
        SerializeCollateralJson(b->MakeCollateral(kIssued)));
  CHECK(DevPki::FromSeed("").status().message() == "the development PKI seed is empty");
}

TEST_CASE("a simulated quote verifies with the development root only, and is labelled") {
  auto pki = DevPki::FromSeed("ci-seed-1");
  REQUIRE(pki.ok());
  auto shared = std::make_shared<const DevPki>(std::move(pki).value());
  TdReport id = DevPki::DefaultReport();
  id.mr_td.fill(0x4c);
  id.rtmr[1].fill(0x11);
  SimulatedTdxProvider provider(shared, id);
  ReportData rd{};
  rd.fill(0x5a);
  auto bytes = provider.GetQuote(rd);
  REQUIRE(bytes.ok());
  auto quote = ParseQuote(*bytes);
  REQUIRE_MESSAGE(quote.ok(), quote.status().message());
  CHECK(quote->report.report_data == rd);
  CHECK(quote->report.mr_td == id.mr_td);
  CHECK(IsDevelopmentQuote(*quote));

  const Collateral collateral = shared->MakeCollateral(kIssued);
  auto dev = Verifier::Create(collateral, shared->RootPem());
  REQUIRE(dev.ok());
  auto r = dev->Verify(*quote, kIssued + 86400);
  REQUIRE_MESSAGE(std::holds_alternative<Verdict>(r), FormatVerifyError(std::get<VerifyError>(r)));
  CHECK(std::get<Verdict>(r).status == TcbStatus::kUpToDate);
  CHECK(std::get<Verdict>(r).fmspc == kDevFmspc);

  // After the collateral's 30 days: expired, named.
  auto late = dev->Verify(*quote, kIssued + 31 * 86400);
  REQUIRE(std::holds_alternative<VerifyError>(late));
  CHECK(std::get<VerifyError>(late).check == Check::kTcbInfoValidity);

  // The shipped Intel root never admits it: its collateral is not Intel's ...
  auto intel = Verifier::Create(collateral);
  REQUIRE(intel.ok());
  auto refused = intel->Verify(*quote, kIssued + 86400);
  REQUIRE(std::holds_alternative<VerifyError>(refused));
  CHECK(std::get<VerifyError>(refused).check == Check::kRootCaCrl);
  // ... and with Intel's real collateral its PCK chain does not lead to Intel's root.
  const auto v = std::filesystem::path(TDX_SHARED_DIR) / "vectors/dcap-qvl";
  if (std::filesystem::exists(v / "tdx_quote_collateral.json")) {
    auto text = ReadFile(v / "tdx_quote_collateral.json");
    REQUIRE(text.ok());
    auto real = ParseCollateralJson(std::string(text->begin(), text->end()));
    REQUIRE(real.ok());
    auto intel_real = Verifier::Create(*real);
    REQUIRE(intel_real.ok());
    auto at = ParseRfc3339("2025-07-01T00:00:00Z");
    auto out = intel_real->Verify(*quote, *at);
    REQUIRE(std::holds_alternative<VerifyError>(out));
    CHECK(std::get<VerifyError>(out).check == Check::kPckChain);
    auto real_quote = ReadFile(v / "tdx_quote");
    REQUIRE(real_quote.ok());
    CHECK_FALSE(IsDevelopmentQuote(*ParseQuote(*real_quote)));
  }
}

}  // namespace
}  // namespace tdxrt
