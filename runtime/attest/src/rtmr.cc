// RTMR3 runtime events, their log and the kernel interface (tdxrt/rtmr.h).
#include "tdxrt/rtmr.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "tdxrt/file.h"
#include "tdxrt/hex.h"
#include "tdxrt/provider.h"
#include "tdxrt/sha.h"
#include "tdxrt/text.h"

namespace tdxrt {
namespace {

Measurement ToMeasurement(const Sha384Digest& d) {
  Measurement m{};
  std::copy(d.begin(), d.end(), m.begin());
  return m;
}

constexpr std::size_t kMaxEvents = 65536;

// Reads exactly 48 bytes from the start of `path`.
Result<Measurement> ReadValue(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError("cannot open " + path.string() + ": " + Errno());
  Measurement m{};
  std::size_t got = 0;
  while (got < m.size()) {
    const ssize_t n = ::pread(fd, m.data() + got, m.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = n < 0 ? Errno() : "only " + std::to_string(got) + " bytes";
      ::close(fd);
      return Status::IoError("cannot read " + path.string() + ": " + why);
    }
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return m;
}

}  // namespace

Measurement RuntimeEvent::Digest() const {
  Sha384Hasher h;
  std::uint8_t type[4];
  for (int i = 0; i < 4; ++i) type[i] = static_cast<std::uint8_t>(kRuntimeEventType >> (8 * i));
  const std::uint8_t colon = ':';
  h.Update(type);
  h.Update(ByteSpan(&colon, 1));
  h.Update(ByteSpan(reinterpret_cast<const std::uint8_t*>(name.data()), name.size()));
  h.Update(ByteSpan(&colon, 1));
  h.Update(payload);
  return ToMeasurement(h.Final());
}

Measurement ExtendRtmr(const Measurement& value, const Measurement& digest) {
  Sha384Hasher h;
  h.Update(value);
  h.Update(digest);
  return ToMeasurement(h.Final());
}

Measurement ReplayRtmr3(const std::vector<RuntimeEvent>& events) {
  Measurement m{};
  for (const auto& e : events) m = ExtendRtmr(m, e.Digest());
  return m;
}

std::string RuntimeEventLine(const RuntimeEvent& e) {
  nlohmann::ordered_json j;
  j["imr"] = 3;
  j["event_type"] = kRuntimeEventType;
  j["digest"] = ToHex(e.Digest());
  j["event"] = e.name;
  j["event_payload"] = ToHex(e.payload);
  // Names are the TD's bytes: invalid UTF-8 is replaced, never a reason to fail.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<std::vector<RuntimeEvent>> ReadRuntimeEventLog(const std::filesystem::path& path) {
  TDX_ASSIGN_OR_RETURN(Bytes text, ReadFile(path, 64 << 20));
  auto events = ParseRuntimeEventLog(
      std::string_view(reinterpret_cast<const char*>(text.data()), text.size()));
  if (!events.ok()) return events.status().WithContext(path.string());
  return events;
}

Result<std::vector<RuntimeEvent>> ParseRuntimeEventLog(std::string_view text) {
  std::vector<RuntimeEvent> out;
  std::size_t line_no = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t nl = std::min(text.find('\n', pos), text.size());
    const std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const std::string where = "event log line " + std::to_string(line_no);
    if (out.size() >= kMaxEvents) {
      return Status::Corrupt(where + ": more than " + std::to_string(kMaxEvents) + " events");
    }
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return Status::Corrupt(where + ": not a JSON object");
    auto str = [&](const char* key) -> Result<std::string> {
      if (!j.contains(key) || !j[key].is_string()) {
        return Status::Corrupt(where + ": '" + key + "' is missing or not a string");
      }
      return j[key].get<std::string>();
    };
    if (!j.contains("imr") || !j["imr"].is_number_unsigned() ||
        j["imr"].get<std::uint64_t>() != 3) {
      return Status::Corrupt(where + ": 'imr' is not 3 (only RTMR3 events are runtime events)");
    }
    if (!j.contains("event_type") || !j["event_type"].is_number_unsigned() ||
        j["event_type"].get<std::uint64_t>() != kRuntimeEventType) {
      return Status::Corrupt(where + ": 'event_type' is not 134217729 (0x08000001)");
    }
    RuntimeEvent e;
    TDX_ASSIGN_OR_RETURN(e.name, str("event"));
    TDX_ASSIGN_OR_RETURN(std::string payload_hex, str("event_payload"));
    auto payload = FromHex(payload_hex);
    if (!payload.ok()) return payload.status().WithContext(where + ": event_payload");
    e.payload = std::move(payload).value();
    TDX_ASSIGN_OR_RETURN(std::string digest_hex, str("digest"));
    auto digest = FromHex(digest_hex, 48);
    if (!digest.ok()) return digest.status().WithContext(where + ": digest");
    const Measurement computed = e.Digest();
    if (!std::equal(computed.begin(), computed.end(), digest->begin())) {
      return Status::Corrupt(where + ": digest " + digest_hex + " is not the digest of event '" +
                             EscapeText(e.name) + "' and its payload (" + ToHex(computed) + ")");
    }
    out.push_back(std::move(e));
  }
  return out;
}

Status CheckRtmr3Replay(const std::vector<RuntimeEvent>& events, const Measurement& rtmr3) {
  const Measurement replayed = ReplayRtmr3(events);
  if (replayed == rtmr3) return Status::Ok();
  return Status::Mismatch("RTMR3 replay mismatch: the " + std::to_string(events.size()) +
                          " events of the log give " + ToHex(replayed) + ", the quote has " +
                          ToHex(rtmr3));
}

Status Rtmr3Device::Diagnose() const {
  if (!InsideTdxGuest(options_.cpuinfo)) {
    return Status::NotFound(
        "runtime measurements unavailable: not inside a TDX guest: " + options_.cpuinfo.string() +
        " has no tdx_guest CPU flag, and " + File().string() + " does not exist");
  }
  return Status::NotFound("runtime measurements unavailable: " + File().string() +
                          " does not exist: the kernel lacks TSM measurements (needs Linux >= "
                          "6.16 with the tdx_guest driver loaded)");
}

Result<Measurement> Rtmr3Device::Read() const {
  std::error_code ec;
  if (!std::filesystem::exists(File(), ec)) return Diagnose();
  return ReadValue(File());
}

Result<Measurement> Rtmr3Device::Extend(const RuntimeEvent& event) const {
  TDX_ASSIGN_OR_RETURN(Measurement before, Read());
  const Measurement digest = event.Digest();
  const Measurement expected = ExtendRtmr(before, digest);

  // 1. The log line, on disk before the register moves: a log may hold an event the register
  //    lacks (removed again below when the extend fails), never the reverse.
  std::error_code ec;
  std::filesystem::create_directories(options_.log.parent_path(), ec);
  const int log = ::open(options_.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) return Status::IoError("cannot open " + options_.log.string() + ": " + Errno());
  const off_t log_size = ::lseek(log, 0, SEEK_END);
  const std::string line = RuntimeEventLine(event) + "\n";
  if (::write(log, line.data(), line.size()) != static_cast<ssize_t>(line.size()) ||
      ::fsync(log) != 0) {
    const std::string why = Errno();
    (void)::ftruncate(log, log_size);
    ::close(log);
    return Status::IoError("cannot append to " + options_.log.string() + ": " + why);
  }
  // 2. Extend: 48 bytes written at offset 0 in one write().
  const int fd = ::open(File().c_str(), O_WRONLY | O_CLOEXEC);
  const bool written = fd >= 0 && ::pwrite(fd, digest.data(), digest.size(), 0) ==
                                      static_cast<ssize_t>(digest.size());
  const std::string write_error = Errno();
  if (fd >= 0) ::close(fd);
  if (!written) {
    (void)::ftruncate(log, log_size);
    ::close(log);
    return Status::IoError("cannot extend " + File().string() + ": " + write_error);
  }
  ::close(log);
  // 3. Read back: exactly our extend, or someone else's got in between.
  const auto deadline = std::chrono::steady_clock::now() + options_.readback_wait;
  Measurement after{};
  for (;;) {
    TDX_ASSIGN_OR_RETURN(after, ReadValue(File()));
    if (after == expected || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (after != expected) {
    return Status::Mismatch("RTMR3 is " + ToHex(after) + " after extending " + ToHex(before) +
                            " with event '" + EscapeText(event.name) + "', not " + ToHex(expected) +
                            ": another process extended RTMR3 at the same time, "
                            "so " +
                            options_.log.string() + " no longer replays");
  }
  return after;
}

}  // namespace tdxrt
