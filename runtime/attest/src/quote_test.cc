// Quote parsing: the real dcap-qvl quotes, builder round trips, truncation at every offset and
// one-field corruptions with their exact diagnoses.
#include "tdxrt/quote.h"

#include <doctest/doctest.h>

#include <filesystem>

#include "quote_builder.h"
#include "tdx_test/support.h"
#include "tdxrt/evidence.h"
#include "tdxrt/file.h"
#include "tdxrt/hex.h"

namespace tdxrt {
namespace {

bool HaveShared() { return std::filesystem::exists(tdx_test::DcapVector("tdx_quote")); }

TEST_CASE("the real v4 quote parses with the documented field offsets") {
  if (!HaveShared()) {
    MESSAGE("skipped: ../shared/vectors/dcap-qvl is absent");
    return;
  }
  auto bytes = ReadFile(tdx_test::DcapVector("tdx_quote"));
  REQUIRE(bytes.ok());
  auto q = ParseQuote(*bytes);
  REQUIRE_MESSAGE(q.ok(), q.status().message());
  CHECK(q->header.version == 4);
  CHECK(q->header.tee_type == 0x81);
  CHECK(q->header.qe_vendor_id == kIntelQeVendorId);
  CHECK(ToHex(q->report.mr_td).rfind("91eb2b44", 0) == 0);
  CHECK(ToHex(q->report.report_data).rfind("9a9d48e7", 0) == 0);
  // MRTD at 0xB8, RTMR0 at 0x178, REPORTDATA at 0x238 (measurements.md).
  CHECK(std::equal(q->report.mr_td.begin(), q->report.mr_td.end(), bytes->begin() + 0xb8));
  CHECK(std::equal(q->report.rtmr[0].begin(), q->report.rtmr[0].end(), bytes->begin() + 0x178));
  CHECK(std::equal(q->report.report_data.begin(), q->report.report_data.end(),
                   bytes->begin() + 0x238));
  CHECK(q->signed_size == 632);
  CHECK(q->qe_auth_data.size() == 32);
  CHECK(q->pck_chain_pem.find("-----BEGIN CERTIFICATE-----") == 0);
  CHECK(q->padding_size == 70);
}

TEST_CASE("the real v5 quote (TD report 1.5) parses") {
  if (!HaveShared()) {
    MESSAGE("skipped: ../shared/vectors/dcap-qvl is absent");
    return;
  }
  auto bytes = ReadFile(tdx_test::DcapVector("tdx_quote_outdated"));
  REQUIRE(bytes.ok());
  auto q = ParseQuote(*bytes);
  REQUIRE_MESSAGE(q.ok(), q.status().message());
  CHECK(q->header.version == 5);
  CHECK(q->body_type == kBodyTypeTdReport15);
  CHECK(q->report.is_td15);
  CHECK(q->signed_size == 48 + 6 + 648);
}

TEST_CASE("truncation at every offset of the real quote is rejected cleanly") {
  if (!HaveShared()) {
    MESSAGE("skipped: ../shared/vectors/dcap-qvl is absent");
    return;
  }
  for (const char* name : {"tdx_quote", "tdx_quote_outdated"}) {
    auto bytes = ReadFile(tdx_test::DcapVector(name));
    REQUIRE(bytes.ok());
    auto whole = ParseQuote(*bytes);
    REQUIRE(whole.ok());
    const std::size_t end = bytes->size() - whole->padding_size;
    for (std::size_t n = 0; n < end; ++n) {
      auto q = ParseQuote(ByteSpan(*bytes).first(n));
      REQUIRE_MESSAGE(!q.ok(), name << " truncated to " << n << " bytes parsed");
      CHECK(!q.status().message().empty());
    }
    // Cutting zero padding is fine: it is not part of the quote.
    CHECK(ParseQuote(ByteSpan(*bytes).first(end)).ok());
  }
}

TEST_CASE("builder quotes round-trip through the parser, v4 and v5") {
  testing::QuoteBuilder b;
  auto built = b.Build();
  auto q = ParseQuote(built.quote);
  REQUIRE_MESSAGE(q.ok(), q.status().message());
  CHECK(q->report.mr_td == b.quote.report.mr_td);
  CHECK(SerializeQuote(*q) == built.quote);

  b.quote.header.version = 5;
  b.quote.body_type = kBodyTypeTdReport15;
  b.quote.report.mr_service_td.fill(0);
  b.quote.report.tee_tcb_svn2.fill(3);
  built = b.Build();
  q = ParseQuote(built.quote);
  REQUIRE_MESSAGE(q.ok(), q.status().message());
  CHECK(q->report.is_td15);
  CHECK(q->report.tee_tcb_svn2[0] == 3);
  CHECK(SerializeQuote(*q) == built.quote);
}

TEST_CASE("one-field corruptions get exact diagnoses") {
  testing::QuoteBuilder b;
  const Bytes good = b.Build().quote;
  auto parse_with = [&](std::size_t offset, std::uint8_t value) {
    Bytes q = good;
    q[offset] = value;
    auto r = ParseQuote(q);
    REQUIRE(!r.ok());
    return r.status().message();
  };
  CHECK(parse_with(0, 3) ==
        "quote version 3 at offset 0x0 is not supported (TDX quotes are version 4 or 5)");
  CHECK(parse_with(2, 3) ==
        "attestation key type 3 at offset 0x2 is not supported (only 2, ECDSA P-256)");
  CHECK(parse_with(4, 0) == "TEE type 0x0 at offset 0x4 is not TDX (0x81)");
  // Signature data length (u32 at 0x278) one larger than what follows.
  {
    Bytes q = good;
    const std::uint32_t len = *LoadLe<std::uint32_t>(q, 0x278);
    StoreLe<std::uint32_t>(q, 0x278, len + 1);
    auto r = ParseQuote(q);
    REQUIRE(!r.ok());
    CHECK(r.status().message() == "quote signature data length " + std::to_string(len + 1) +
                                      " at offset 0x278 runs past the end (" + std::to_string(len) +
                                      " bytes left)");
  }
  // Certification data type at 0x27c + 128.
  CHECK(parse_with(0x27c + 128, 5) ==
        "certification data type 5 at offset 0x2fc is not supported (quotes v4/v5 carry type 6, "
        "QE report)");
  {
    Bytes q = good;
    q.push_back(0);
    q.push_back(1);
    auto r = ParseQuote(q);
    REQUIRE(!r.ok());
    CHECK(r.status().message() == "non-zero byte after the signature data at offset " +
                                      HexOffset(good.size() + 1) +
                                      " (only zero padding may follow a quote)");
  }
  {
    Bytes q = good;
    q[0] = 5;  // v5 without its descriptor: the first TD report bytes read as body type
    auto r = ParseQuote(q);
    REQUIRE(!r.ok());
    CHECK(r.status().message().find("quote v5 body type") == 0);
  }
}

TEST_CASE("quotes as hex or base64 text decode to the same bytes, and say so") {
  testing::QuoteBuilder b;
  const Bytes quote = b.Build().quote;
  auto text = [](const std::string& t) { return Bytes(t.begin(), t.end()); };
  auto binary = DecodeEvidenceFile(quote);
  REQUIRE(binary.ok());
  CHECK(binary->encoding == EvidenceEncoding::kBinary);
  CHECK(binary->bytes == quote);

  auto hex = DecodeEvidenceFile(text(ToHex(quote) + "\n"));
  REQUIRE(hex.ok());
  CHECK(hex->encoding == EvidenceEncoding::kHex);
  CHECK(hex->bytes == quote);
  CHECK(DecodeEvidenceFile(text("0x" + ToHex(quote)))->bytes == quote);

  // base64 wrapped at 76 columns, as base64(1) writes it.
  std::string b64 = ToBase64(quote), wrapped;
  for (std::size_t i = 0; i < b64.size(); i += 76) wrapped += b64.substr(i, 76) + "\r\n";
  auto base64 = DecodeEvidenceFile(text(wrapped));
  REQUIRE(base64.ok());
  CHECK(base64->encoding == EvidenceEncoding::kBase64);
  CHECK(base64->bytes == quote);
  CHECK(ParseEvidence(base64->bytes).ok());

  CHECK(DecodeEvidenceFile(text(ToHex(quote).substr(1))).status().message() ==
        "hex text: odd number of hex digits (" + std::to_string(quote.size() * 2 - 1) + ")");
  CHECK(DecodeEvidenceFile(text("  \n")).status().message() ==
        "no quote: the file holds only whitespace");
  CHECK(DecodeEvidenceFile({}).status().message() == "empty file: no quote");
  CHECK(DecodeEvidenceFile(text("quote: 0400")).status().message() ==
        "not a quote: byte 0x3a at offset 0x5 is neither hex nor base64 text, and as binary it "
        "would be quote version 30065, attestation key type 29807");
  // Hex text of something that is not a quote still fails in the quote parser, not here.
  auto other = DecodeEvidenceFile(text("0300020081000000"));
  REQUIRE(other.ok());
  CHECK(ParseEvidence(other->bytes).status().message().find("version 3") != std::string::npos);
}

}  // namespace
}  // namespace tdxrt
