// CC event log (CCEL) parsing and RTMR replay.
//
// Format: TCG PC Client Platform Firmware Profile, crypto-agile log.
//   First record, TCG_PCR_EVENT (SHA-1 format): u32 index, u32 type (EV_NO_ACTION), 20-byte
//   digest, u32 size, TCG_EfiSpecIDEvent: "Spec ID Event03\0", u32 platform class, u8 minor,
//   u8 major, u8 errata, u8 uintn size, u32 algorithm count, {u16 alg id, u16 digest size}...,
//   u8 vendor info size, vendor info.
//   Then TCG_PCR_EVENT2 records: u32 index, u32 type, u32 digest count, {u16 alg id, digest}...,
//   u32 event size, event data.
//   The log area (64 KiB in ACPI CCEL) is padded with 0xff or 0x00 after the last record.
// In a CC log the index is the MR index: 0 = MRTD, 1..4 = RTMR0..3. EV_NO_ACTION events are
// not extended. Replaying proves only that a log is consistent with RTMR values; each event's
// content must still be matched to expected inputs.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "tdxrt/bytes.h"
#include "tdxrt/sha.h"
#include "tdxrt/status.h"

namespace mrtd {

inline constexpr std::uint32_t kEvNoAction = 0x3;
inline constexpr std::uint16_t kTpmAlgSha384 = 0x000c;

struct CcEventDigest {
  std::uint16_t algorithm = 0;
  tdxrt::Bytes digest;
};

struct CcEvent {
  std::size_t index = 0;       // position in the log (0 = the Spec ID event)
  std::uint64_t offset = 0;    // byte offset of the record in the log
  std::uint32_t mr_index = 0;  // 0 = MRTD, 1..4 = RTMR0..3
  std::uint32_t type = 0;
  std::vector<CcEventDigest> digests;
  tdxrt::Bytes data;

  // The SHA-384 digest, if the record has one.
  const tdxrt::Bytes* Sha384() const;
};

struct CcEventLog {
  std::vector<std::pair<std::uint16_t, std::uint16_t>> algorithms;  // id, digest size
  CcEvent spec_id;               // the TCG_PCR_EVENT header record (index 0)
  std::vector<CcEvent> events;   // the TCG_PCR_EVENT2 records, index 1..n
  std::uint64_t used_bytes = 0;  // bytes before the padding
};

tdxrt::Result<CcEventLog> ParseCcEventLog(tdxrt::ByteSpan log);

// RTMR0..3 from the SHA-384 digests of every extended event. Errors on an extended event with
// an MR index outside 1..4 or without a SHA-384 digest.
tdxrt::Result<std::array<tdxrt::Sha384Digest, 4>> ReplayRtmrs(const CcEventLog& log);

// A CC event log file read, parsed and replayed (at most 64 MiB): for the programs that take a
// TD's log by path. Errors name the file.
struct CcEventLogFile {
  tdxrt::Bytes bytes;
  CcEventLog log;
  std::array<tdxrt::Sha384Digest, 4> rtmrs{};  // RTMR0..3 the log replays to
};
tdxrt::Result<CcEventLogFile> ReadCcEventLogFile(const std::string& path);

std::string EventTypeName(std::uint32_t type);

// The extended events of one register (mr_index 1..4 = RTMR0..3), one "TYPE description" each.
std::vector<std::string> DescribeRegisterEvents(const CcEventLog& log, std::uint32_t mr_index);
// A short human description of well-known event data (action text, variable name, blob
// description, tagged event), or the data size.
std::string DescribeEventData(const CcEvent& e);

}  // namespace mrtd
