// CC event log parser (see include/mrtd/eventlog.h).
#include "mrtd/eventlog.h"

#include <cstring>

#include "mrtd/rtmr.h"
#include "tdxrt/file.h"
#include "tdxrt/hex.h"

namespace mrtd {

using tdxrt::ByteSpan;
using tdxrt::HexOffset;
using tdxrt::Result;
using tdxrt::Status;

namespace {
constexpr char kSpecIdSignature[] = "Spec ID Event03";  // 15 chars + NUL = 16 bytes
constexpr std::uint32_t kMaxAlgorithms = 16;
constexpr std::uint32_t kMaxEventSize = 16u << 20;

// First offset from which every byte equals `pad`.
std::size_t PaddingStart(ByteSpan d, std::uint8_t pad) {
  std::size_t i = d.size();
  while (i > 0 && d[i - 1] == pad) --i;
  return i;
}

std::string Printable(ByteSpan d) {
  std::string s;
  for (std::uint8_t c : d) {
    if (c == 0) break;
    s.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '.');
  }
  return s;
}

bool AllPrintable(ByteSpan d) {
  if (d.empty()) return false;
  std::size_t n = d.size();
  if (d[n - 1] == 0) --n;  // allow one terminator
  if (n == 0) return false;
  for (std::size_t i = 0; i < n; ++i) {
    if (d[i] < 0x20 || d[i] >= 0x7f) return false;
  }
  return true;
}

std::string Utf16ToAscii(ByteSpan d, std::size_t chars) {
  std::string s;
  for (std::size_t i = 0; i < chars && 2 * i + 1 < d.size(); ++i) {
    const std::uint16_t c = static_cast<std::uint16_t>(d[2 * i] | (d[2 * i + 1] << 8));
    if (c == 0) break;
    s.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  return s;
}
}  // namespace

const tdxrt::Bytes* CcEvent::Sha384() const {
  for (const auto& d : digests) {
    if (d.algorithm == kTpmAlgSha384) return &d.digest;
  }
  return nullptr;
}

Result<CcEventLog> ParseCcEventLog(ByteSpan log) {
  CcEventLog out;
  tdxrt::Cursor c(log);
  // --- Spec ID event (TCG_PCR_EVENT) ---
  {
    CcEvent e;
    e.offset = 0;
    auto ctx = [](const Status& s) { return s.WithContext("event 0 (Spec ID)"); };
    auto idx = c.U32("MR index");
    if (!idx.ok()) return ctx(idx.status());
    auto type = c.U32("event type");
    if (!type.ok()) return ctx(type.status());
    if (*type != kEvNoAction) {
      return Status::Corrupt("event 0 at 0x0: type " + HexOffset(*type) +
                             " is not EV_NO_ACTION: not a crypto-agile event log");
    }
    auto sha1 = c.Take(20, "SHA-1 digest");
    if (!sha1.ok()) return ctx(sha1.status());
    auto size = c.U32("event size");
    if (!size.ok()) return ctx(size.status());
    auto data = c.Take(*size, "Spec ID event data");
    if (!data.ok()) return ctx(data.status());
    e.mr_index = *idx;
    e.type = *type;
    e.digests.push_back({0x0004, tdxrt::Bytes(sha1->begin(), sha1->end())});
    e.data.assign(data->begin(), data->end());
    tdxrt::Cursor s(*data, 32);
    auto sig = s.Take(16, "Spec ID signature");
    if (!sig.ok() || std::memcmp(sig->data(), kSpecIdSignature, 16) != 0) {
      return Status::Corrupt("event 0 at 0x0: no \"Spec ID Event03\" signature at 0x20");
    }
    TDX_TRY(s.Skip(4 + 4, "Spec ID platform class and version").WithContext("event 0 (Spec ID)"));
    auto nalg = s.U32("Spec ID algorithm count");
    if (!nalg.ok()) return ctx(nalg.status());
    if (*nalg == 0 || *nalg > kMaxAlgorithms) {
      return Status::Corrupt("event 0 (Spec ID): algorithm count " + std::to_string(*nalg) +
                             " is out of range (1.." + std::to_string(kMaxAlgorithms) + ")");
    }
    for (std::uint32_t i = 0; i < *nalg; ++i) {
      auto id = s.U16("Spec ID algorithm id");
      if (!id.ok()) return ctx(id.status());
      auto dsz = s.U16("Spec ID digest size");
      if (!dsz.ok()) return ctx(dsz.status());
      if (*dsz == 0 || *dsz > 64) {
        return Status::Corrupt("event 0 (Spec ID): algorithm " + HexOffset(*id) + " digest size " +
                               std::to_string(*dsz) + " is out of range (1..64)");
      }
      out.algorithms.emplace_back(*id, *dsz);
    }
    bool has384 = false;
    for (auto [id, sz] : out.algorithms) has384 |= (id == kTpmAlgSha384 && sz == 48);
    if (!has384) return Status::Unsupported("event log has no SHA-384 digests (Spec ID event)");
    out.spec_id = std::move(e);
  }
  // --- TCG_PCR_EVENT2 records until the padding ---
  const std::size_t pad_ff = PaddingStart(log, 0xff);
  const std::size_t pad_00 = PaddingStart(log, 0x00);
  while (!c.empty() && c.pos() < pad_ff && c.pos() < pad_00) {
    CcEvent e;
    e.index = out.events.size() + 1;
    e.offset = c.abs_pos();
    const std::string name = "event " + std::to_string(e.index) + " at " + HexOffset(e.offset);
    auto ctx = [&](const Status& s) { return s.WithContext(name); };
    auto idx = c.U32("MR index");
    if (!idx.ok()) return ctx(idx.status());
    auto type = c.U32("event type");
    if (!type.ok()) return ctx(type.status());
    auto count = c.U32("digest count");
    if (!count.ok()) return ctx(count.status());
    if (*count == 0 || *count > out.algorithms.size()) {
      return Status::Corrupt(name + ": digest count " + std::to_string(*count) +
                             " is out of range (1.." + std::to_string(out.algorithms.size()) + ")");
    }
    for (std::uint32_t i = 0; i < *count; ++i) {
      const std::uint64_t at = c.abs_pos();
      auto alg = c.U16("digest algorithm");
      if (!alg.ok()) return ctx(alg.status());
      std::uint16_t dsz = 0;
      for (auto [id, sz] : out.algorithms) {
        if (id == *alg) dsz = sz;
      }
      if (dsz == 0) {
        return Status::Corrupt(name + ": digest algorithm " + HexOffset(*alg) + " at " +
                               HexOffset(at) + " is not declared in the Spec ID event");
      }
      auto d = c.Take(dsz, "digest");
      if (!d.ok()) return ctx(d.status());
      e.digests.push_back({*alg, tdxrt::Bytes(d->begin(), d->end())});
    }
    const std::uint64_t size_at = c.abs_pos();
    auto size = c.U32("event size");
    if (!size.ok()) return ctx(size.status());
    if (*size > kMaxEventSize || *size > c.remaining()) {
      return Status::Corrupt(name + ": event data size " + std::to_string(*size) + " at " +
                             HexOffset(size_at) + " runs past end of log (" +
                             std::to_string(c.remaining()) + " bytes left)");
    }
    auto data = c.Take(*size, "event data");
    if (!data.ok()) return ctx(data.status());
    e.mr_index = *idx;
    e.type = *type;
    e.data.assign(data->begin(), data->end());
    out.events.push_back(std::move(e));
  }
  out.used_bytes = c.pos();
  return out;
}

Result<std::array<tdxrt::Sha384Digest, 4>> ReplayRtmrs(const CcEventLog& log) {
  std::array<tdxrt::Sha384Digest, 4> rtmr{};
  for (const CcEvent& e : log.events) {
    if (e.type == kEvNoAction) continue;
    if (e.mr_index < 1 || e.mr_index > 4) {
      return Status::Corrupt("event " + std::to_string(e.index) + " at " + HexOffset(e.offset) +
                             ": MR index " + std::to_string(e.mr_index) +
                             " cannot be extended (RTMRs are 1..4)");
    }
    const tdxrt::Bytes* d = e.Sha384();
    if (d == nullptr) {
      return Status::Corrupt("event " + std::to_string(e.index) + " at " + HexOffset(e.offset) +
                             ": no SHA-384 digest");
    }
    tdxrt::Sha384Digest digest{};
    std::memcpy(digest.data(), d->data(), digest.size());  // size checked by the parser (48)
    ExtendRtmr(rtmr[e.mr_index - 1], digest);
  }
  return rtmr;
}

std::string EventTypeName(std::uint32_t t) {
  switch (t) {
    case 0x0:
      return "EV_PREBOOT_CERT";
    case 0x1:
      return "EV_POST_CODE";
    case 0x3:
      return "EV_NO_ACTION";
    case 0x4:
      return "EV_SEPARATOR";
    case 0x5:
      return "EV_ACTION";
    case 0x6:
      return "EV_EVENT_TAG";
    case 0x7:
      return "EV_S_CRTM_CONTENTS";
    case 0x8:
      return "EV_S_CRTM_VERSION";
    case 0x9:
      return "EV_CPU_MICROCODE";
    case 0xa:
      return "EV_PLATFORM_CONFIG_FLAGS";
    case 0xb:
      return "EV_TABLE_OF_DEVICES";
    case 0xc:
      return "EV_COMPACT_HASH";
    case 0xd:
      return "EV_IPL";
    case 0xe:
      return "EV_IPL_PARTITION_DATA";
    case 0xf:
      return "EV_NONHOST_CODE";
    case 0x10:
      return "EV_NONHOST_CONFIG";
    case 0x11:
      return "EV_NONHOST_INFO";
    case 0x12:
      return "EV_OMIT_BOOT_DEVICE_EVENTS";
    case 0x80000001:
      return "EV_EFI_VARIABLE_DRIVER_CONFIG";
    case 0x80000002:
      return "EV_EFI_VARIABLE_BOOT";
    case 0x80000003:
      return "EV_EFI_BOOT_SERVICES_APPLICATION";
    case 0x80000004:
      return "EV_EFI_BOOT_SERVICES_DRIVER";
    case 0x80000005:
      return "EV_EFI_RUNTIME_SERVICES_DRIVER";
    case 0x80000006:
      return "EV_EFI_GPT_EVENT";
    case 0x80000007:
      return "EV_EFI_ACTION";
    case 0x80000008:
      return "EV_EFI_PLATFORM_FIRMWARE_BLOB";
    case 0x80000009:
      return "EV_EFI_HANDOFF_TABLES";
    case 0x8000000a:
      return "EV_EFI_PLATFORM_FIRMWARE_BLOB2";
    case 0x8000000b:
      return "EV_EFI_HANDOFF_TABLES2";
    case 0x8000000c:
      return "EV_EFI_VARIABLE_BOOT2";
    case 0x80000010:
      return "EV_EFI_HCRTM_EVENT";
    case 0x800000e0:
      return "EV_EFI_VARIABLE_AUTHORITY";
    case 0x800000e1:
      return "EV_EFI_SPDM_FIRMWARE_BLOB";
    case 0x800000e2:
      return "EV_EFI_SPDM_FIRMWARE_CONFIG";
    default:
      return "EV_UNKNOWN_" + HexOffset(t);
  }
}

std::string DescribeEventData(const CcEvent& e) {
  const ByteSpan d(e.data);
  const std::string size = std::to_string(d.size()) + " bytes";
  switch (e.type) {
    case 0x3:  // EV_NO_ACTION: signature-led structures
      if (d.size() >= 16) return "\"" + Printable(d.subspan(0, 16)) + "\"";
      break;
    case 0x4:  // EV_SEPARATOR
      if (d.size() <= 8) return tdxrt::ToHex(d);
      break;
    case 0x6: {  // EV_EVENT_TAG (Linux EFI stub): u32 id, u32 size, data
      auto id = tdxrt::LoadLe<std::uint32_t>(d, 0);
      auto sz = tdxrt::LoadLe<std::uint32_t>(d, 4);
      if (!id || !sz) break;
      if (*id == 0x8F3B22EC) return "Linux initrd";
      if (*id == 0x8F3B22ED) {
        ByteSpan opts = d.subspan(8);
        if (*sz <= opts.size()) opts = opts.subspan(0, *sz);
        return "Linux load options \"" + Utf16ToAscii(opts, opts.size() / 2) + "\"";
      }
      return "tagged event " + HexOffset(*id);
    }
    case 0x80000001:
    case 0x80000002:
    case 0x8000000c:
    case 0x800000e0: {  // UEFI_VARIABLE_DATA: GUID, u64 name chars, u64 data len, name, data
      auto nchars = tdxrt::LoadLe<std::uint64_t>(d, 16);
      if (!nchars || *nchars > 256 || !tdxrt::InBounds(d.size(), 32, *nchars * 2)) break;
      return "variable " + Utf16ToAscii(d.subspan(32), static_cast<std::size_t>(*nchars));
    }
    case 0x8000000a:
    case 0x8000000b: {  // u8 description size, description, ...
      if (d.empty() || d[0] == 0 || !tdxrt::InBounds(d.size(), 1, d[0])) break;
      return "\"" + Printable(d.subspan(1, d[0])) + "\"";
    }
    case 0x80000003:
    case 0x80000004:
    case 0x80000005: {  // UEFI_IMAGE_LOAD_EVENT: u64 location, u64 length, ...
      auto len = tdxrt::LoadLe<std::uint64_t>(d, 8);
      if (len) return "image of " + std::to_string(*len) + " bytes";
      break;
    }
    default:
      break;
  }
  if (AllPrintable(d) && d.size() <= 128) return "\"" + Printable(d) + "\"";
  return size;
}

std::vector<std::string> DescribeRegisterEvents(const CcEventLog& log, std::uint32_t mr_index) {
  std::vector<std::string> out;
  for (const auto& e : log.events) {
    if (e.type == kEvNoAction || e.mr_index != mr_index) continue;
    out.push_back(EventTypeName(e.type) + " " + DescribeEventData(e));
  }
  return out;
}

Result<CcEventLogFile> ReadCcEventLogFile(const std::string& path) {
  CcEventLogFile f;
  TDX_ASSIGN_OR_RETURN(f.bytes, tdxrt::ReadFile(path, 64ull << 20));
  auto log = ParseCcEventLog(f.bytes);
  if (!log.ok()) return log.status().WithContext(path);
  f.log = std::move(log).value();
  auto rtmrs = ReplayRtmrs(f.log);
  if (!rtmrs.ok()) return rtmrs.status().WithContext(path);
  f.rtmrs = *rtmrs;
  return f;
}

}  // namespace mrtd
