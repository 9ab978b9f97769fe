// TDX quotes (DCAP ECDSA P-256, versions 4 and 5): parsing and serialization.
//
// Layout (Intel TDX DCAP Quoting Library API, appendix "Quote format"; all integers little-endian):
//
//   header   48 bytes  u16 version (4|5), u16 attestation key type (2 = ECDSA P-256),
//                      u32 TEE type (0x81 = TDX), u16 QE SVN, u16 PCE SVN,
//                      16 QE vendor id, 20 user data
//   v5 only   6 bytes  u16 body type (2 = TD report 1.0, 3 = TD report 1.5), u32 body size
//   body    584|648    TD report: TEE_TCB_SVN 16, MRSEAM 48, MRSIGNERSEAM 48, SEAMATTRIBUTES 8,
//                      TDATTRIBUTES 8, XFAM 8, MRTD 48, MRCONFIGID 48, MROWNER 48,
//                      MROWNERCONFIG 48, RTMR0..3 48 each, REPORTDATA 64
//                      [1.5: TEE_TCB_SVN2 16, MRSERVICETD 48]
//   u32 signature data length, then signature data:
//            64 ECDSA signature (r||s) over everything before the length field
//            64 attestation public key (x||y)
//            u16 certification data type (6 = QE report certification data), u32 size, then:
//               384 QE report (SGX enclave report body), 64 QE report signature,
//               u16 QE auth data size + data,
//               u16 certification data type (5 = PCK chain in PEM), u32 size + data
//
// Every length is checked against what is left; nothing trailing is tolerated where the format
// gives a size (the certification data must be consumed exactly; only zero padding may follow
// the signature data). Errors name the field and
// the absolute offset. The parser does not verify anything: dcap.h does.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "tdxrt/bytes.h"

namespace tdxrt {

inline constexpr std::uint16_t kQuoteVersion4 = 4;
inline constexpr std::uint16_t kQuoteVersion5 = 5;
inline constexpr std::uint16_t kAttestationKeyEcdsaP256 = 2;
inline constexpr std::uint32_t kTeeTypeTdx = 0x81;
inline constexpr std::uint16_t kBodyTypeTdReport10 = 2;
inline constexpr std::uint16_t kBodyTypeTdReport15 = 3;
inline constexpr std::size_t kQuoteHeaderSize = 48;
inline constexpr std::size_t kTdReport10Size = 584;
inline constexpr std::size_t kTdReport15Size = 648;
inline constexpr std::size_t kEnclaveReportSize = 384;
inline constexpr std::uint16_t kCertDataQeReport = 6;
inline constexpr std::uint16_t kCertDataPckChain = 5;
// Intel's QE vendor id 939A7233-F79C-4CA9-940A-0DB3957F0607.
inline constexpr std::array<std::uint8_t, 16> kIntelQeVendorId = {
    0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9, 0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};

using Measurement = std::array<std::uint8_t, 48>;
using ReportData = std::array<std::uint8_t, 64>;

struct QuoteHeader {
  std::uint16_t version = 0;
  std::uint16_t attestation_key_type = 0;
  std::uint32_t tee_type = 0;
  std::uint16_t qe_svn = 0;
  std::uint16_t pce_svn = 0;
  std::array<std::uint8_t, 16> qe_vendor_id{};
  std::array<std::uint8_t, 20> user_data{};
};

// TD report as carried in a quote (TDREPORT's TDINFO plus TEE_TCB_INFO fields).
struct TdReport {
  std::array<std::uint8_t, 16> tee_tcb_svn{};
  Measurement mr_seam{};
  Measurement mr_signer_seam{};
  std::array<std::uint8_t, 8> seam_attributes{};
  std::array<std::uint8_t, 8> td_attributes{};
  std::array<std::uint8_t, 8> xfam{};
  Measurement mr_td{};
  Measurement mr_config_id{};
  Measurement mr_owner{};
  Measurement mr_owner_config{};
  std::array<Measurement, 4> rtmr{};
  ReportData report_data{};
  // TD report 1.5 only (v5 body type 3).
  bool is_td15 = false;
  std::array<std::uint8_t, 16> tee_tcb_svn2{};
  Measurement mr_service_td{};
};

// SGX enclave report body (the QE's report).
struct EnclaveReport {
  std::array<std::uint8_t, 16> cpu_svn{};
  std::uint32_t misc_select = 0;
  std::array<std::uint8_t, 16> attributes{};
  std::array<std::uint8_t, 32> mr_enclave{};
  std::array<std::uint8_t, 32> mr_signer{};
  std::uint16_t isv_prod_id = 0;
  std::uint16_t isv_svn = 0;
  ReportData report_data{};
};

struct Quote {
  QuoteHeader header;
  std::uint16_t body_type = kBodyTypeTdReport10;  // v4 quotes always carry a TD report 1.0
  TdReport report;
  std::size_t signed_size = 0;  // header (+ v5 body descriptor) + body: what the signature covers
  std::array<std::uint8_t, 64> signature{};
  std::array<std::uint8_t, 64> attestation_key{};
  std::uint16_t certification_type = 0;  // outer: 6
  Bytes qe_report_raw;                   // 384 bytes, what the PCK key signed
  EnclaveReport qe_report;
  std::array<std::uint8_t, 64> qe_report_signature{};
  Bytes qe_auth_data;
  std::uint16_t pck_cert_type = 0;  // inner: 5
  std::string pck_chain_pem;
  std::size_t padding_size = 0;  // zero bytes after the signature data (see ParseQuote)
};

// Parses a quote. Zero padding after the signature data is accepted (quote buffers are fixed
// size); any non-zero byte there is an error, since it is outside everything that is signed.
Result<Quote> ParseQuote(ByteSpan data);

// Parses a TD report body (584 bytes, or 648 when td15); offsets in errors start at base.
Result<TdReport> ParseTdReportBody(ByteSpan body, std::uint64_t base, bool td15);

// Parses a 384-byte SGX enclave report body.
Result<EnclaveReport> ParseEnclaveReport(ByteSpan data, std::uint64_t base_offset = 0);

// Serializes the parts that the signature covers (header, v5 descriptor, body) exactly as
// ParseQuote reads them. Used by the quote builder in tests and by the mock provider.
Bytes SerializeSignedPart(const Quote& quote);
// Serializes a TD report body (584 or 648 bytes).
Bytes SerializeTdReport(const TdReport& report);
Bytes SerializeEnclaveReport(const EnclaveReport& report);
// Serializes a whole quote: SerializeSignedPart + signature data built from the fields.
Bytes SerializeQuote(const Quote& quote);

}  // namespace tdxrt
