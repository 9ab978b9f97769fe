// Intel PCS collateral for DCAP quote verification, in the JSON shape dcap-qvl and PCCS clients
// store it (one object, every member a string):
//
//   pck_crl_issuer_chain      PEM chain of the PCK CRL's issuer (Platform/Processor CA, Root CA)
//   root_ca_crl, pck_crl      DER CRLs as hex (PEM text is accepted too)
//   tcb_info_issuer_chain     PEM chain: TCB Signing certificate, Root CA
//   tcb_info                  the exact JSON text Intel signed ("tcbInfo" body, version 3 for TDX)
//   tcb_info_signature        raw ECDSA P-256 signature r||s as 128 hex digits
//   qe_identity_issuer_chain  PEM chain: TCB Signing certificate, Root CA
//   qe_identity               the exact JSON text Intel signed ("enclaveIdentity" body, TD_QE)
//   qe_identity_signature     raw r||s as hex
//
// The signed texts are kept byte for byte (signatures cover them), and parsed separately into
// TcbInfo and QeIdentity. Errors name the member and, inside the signed JSON, the path
// ("tcb_info: tcbLevels[3].tcb.pcesvn: expected an unsigned integer").
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tdxrt/bytes.h"

namespace tdxrt {

// TCB statuses of Intel's TCB info and QE identity, in the spelling Intel uses.
enum class TcbStatus {
  kUpToDate,
  kSwHardeningNeeded,
  kConfigurationNeeded,
  kConfigurationAndSwHardeningNeeded,
  kOutOfDate,
  kOutOfDateConfigurationNeeded,
  kRevoked,
};
std::string_view TcbStatusName(TcbStatus status);
Result<TcbStatus> ParseTcbStatus(std::string_view name);

// Seconds since the Unix epoch from RFC 3339 ("2025-07-01T00:00:00Z", fractional seconds and
// "+hh:mm" offsets accepted); and back, always in UTC with a "Z".
Result<std::int64_t> ParseRfc3339(std::string_view text);
std::string FormatRfc3339(std::int64_t seconds);

struct Collateral {
  std::string pck_crl_issuer_chain;
  Bytes root_ca_crl;  // DER
  Bytes pck_crl;      // DER
  std::string tcb_info_issuer_chain;
  std::string tcb_info;  // signed JSON text
  std::array<std::uint8_t, 64> tcb_info_signature{};
  std::string qe_identity_issuer_chain;
  std::string qe_identity;  // signed JSON text
  std::array<std::uint8_t, 64> qe_identity_signature{};
};
Result<Collateral> ParseCollateralJson(std::string_view text);
// The inverse, for the test quote builder and for storing fetched collateral.
std::string SerializeCollateralJson(const Collateral& collateral);

struct TcbLevelDate {
  std::int64_t tcb_date = 0;
  TcbStatus status = TcbStatus::kUpToDate;
  std::vector<std::string> advisory_ids;
};

struct PlatformTcbLevel : TcbLevelDate {
  std::array<std::uint8_t, 16> sgx_components{};
  std::uint16_t pce_svn = 0;
  std::array<std::uint8_t, 16> tdx_components{};
};

struct IsvTcbLevel : TcbLevelDate {
  std::uint16_t isv_svn = 0;
};

struct TdxModuleIdentity {
  std::string id;  // "TDX_01", "TDX_03", ...
  std::array<std::uint8_t, 48> mr_signer{};
  std::array<std::uint8_t, 8> attributes{};
  std::array<std::uint8_t, 8> attributes_mask{};
  std::vector<IsvTcbLevel> tcb_levels;
};

struct TcbInfo {
  std::string id;  // "TDX"
  int version = 0;
  std::int64_t issue_date = 0;
  std::int64_t next_update = 0;
  std::array<std::uint8_t, 6> fmspc{};
  std::array<std::uint8_t, 2> pce_id{};
  int tcb_type = 0;
  int tcb_evaluation_data_number = 0;
  std::optional<TdxModuleIdentity> tdx_module;  // "tdxModule" (id left empty)
  std::vector<TdxModuleIdentity> tdx_module_identities;
  std::vector<PlatformTcbLevel> tcb_levels;  // in Intel's order: newest first
};
Result<TcbInfo> ParseTcbInfo(std::string_view json);

struct QeIdentity {
  std::string id;  // "TD_QE"
  int version = 0;
  std::int64_t issue_date = 0;
  std::int64_t next_update = 0;
  int tcb_evaluation_data_number = 0;
  std::uint32_t misc_select = 0;
  std::uint32_t misc_select_mask = 0;
  std::array<std::uint8_t, 16> attributes{};
  std::array<std::uint8_t, 16> attributes_mask{};
  std::array<std::uint8_t, 32> mr_signer{};
  std::uint16_t isv_prod_id = 0;
  std::vector<IsvTcbLevel> tcb_levels;
};
Result<QeIdentity> ParseQeIdentity(std::string_view json);

}  // namespace tdxrt
