// The launch record (see tdxrt/launch.h).
#include "tdxrt/launch.h"

#include <cstdlib>

namespace tdxrt {

namespace {

constexpr std::string_view kHeader = "tdx-launch v1\n";

bool PlainName(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool ProgramName(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool PlainValue(std::string_view v) {
  return v.find('\n') == std::string_view::npos && v.find('\0') == std::string_view::npos;
}

}  // namespace

Result<std::string> SerializeLaunchRecord(const LaunchRecord& r) {
  if (!ProgramName(r.program)) {
    return Status::InvalidArgument("launch record: program name '" + r.program +
                                   "' is not 1-128 characters of A-Z a-z 0-9 - _ .");
  }
  std::string out(kHeader);
  out += "program " + r.program + "\n";
  out += std::string("development ") + (r.development ? "yes" : "no") + "\n";
  for (const auto& [name, value] : r.host_settings) {
    if (!PlainName(name)) {
      return Status::InvalidArgument("launch record: setting name '" + name +
                                     "' is not [A-Z_][A-Z0-9_]*");
    }
    if (!PlainValue(value)) {
      return Status::InvalidArgument("launch record: the value of " + name +
                                     " holds a newline or NUL byte");
    }
    out += "host " + name + "=" + value + "\n";
  }
  return out;
}

Result<LaunchRecord> ParseLaunchRecord(std::string_view payload) {
  LaunchRecord r;
  std::size_t pos = 0;
  int line_no = 0;
  std::string previous;
  auto bad = [&](const std::string& why) {
    return Status::Corrupt("tdx-launch event, line " + std::to_string(line_no) + ": " + why);
  };
  while (pos < payload.size()) {
    const std::size_t nl = payload.find('\n', pos);
    ++line_no;
    if (nl == std::string_view::npos) return bad("does not end with a newline");
    const std::string_view line = payload.substr(pos, nl - pos);
    pos = nl + 1;
    if (line_no == 1) {
      if (line != kHeader.substr(0, kHeader.size() - 1)) return bad("not 'tdx-launch v1'");
      continue;
    }
    if (line_no == 2) {
      if (line.rfind("program ", 0) != 0 || !ProgramName(line.substr(8))) {
        return bad("not 'program <name>'");
      }
      r.program = std::string(line.substr(8));
      continue;
    }
    if (line_no == 3) {
      if (line != "development yes" && line != "development no") {
        return bad("not 'development yes' or 'development no'");
      }
      r.development = line == "development yes";
      continue;
    }
    if (line.rfind("host ", 0) != 0) return bad("not 'host NAME=value'");
    const std::string_view setting = line.substr(5);
    const std::size_t eq = setting.find('=');
    if (eq == std::string_view::npos || !PlainName(setting.substr(0, eq))) {
      return bad("not 'host NAME=value' with NAME of [A-Z_][A-Z0-9_]*");
    }
    std::string name(setting.substr(0, eq));
    if (!PlainValue(setting.substr(eq + 1))) return bad("the value of " + name + " holds NUL");
    if (!previous.empty() && name <= previous) {
      return bad(name == previous ? name + " appears twice"
                                  : name + " is out of order (settings are sorted by name)");
    }
    previous = name;
    r.host_settings.emplace(std::move(name), std::string(setting.substr(eq + 1)));
  }
  if (line_no < 3) {
    ++line_no;
    return bad("the record ends before its " + std::string(line_no <= 1   ? "header"
                                                           : line_no == 2 ? "program line"
                                                                          : "development line"));
  }
  return r;
}

Result<RuntimeEvent> LaunchEvent(const LaunchRecord& record) {
  TDX_ASSIGN_OR_RETURN(std::string text, SerializeLaunchRecord(record));
  return RuntimeEvent{std::string(kLaunchEvent), Bytes(text.begin(), text.end())};
}

Result<LaunchRecord> FindLaunchRecord(const std::vector<RuntimeEvent>& events) {
  const RuntimeEvent* found = nullptr;
  std::size_t index = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (events[i].name != kLaunchEvent) continue;
    if (found != nullptr) {
      return Status::Mismatch("the RTMR3 log has a second tdx-launch event (event " +
                              std::to_string(i + 1) + ", the first is event " +
                              std::to_string(index + 1) + ")");
    }
    found = &events[i];
    index = i;
  }
  if (found == nullptr) {
    return Status::Mismatch(
        "the RTMR3 log has no tdx-launch event (what the TD took from the "
        "host at launch is unknown)");
  }
  return ParseLaunchRecord(std::string_view(reinterpret_cast<const char*>(found->payload.data()),
                                            found->payload.size()));
}

Result<LaunchRecord> LaunchRecordFromEnvironment(std::string_view program, bool development,
                                                 std::string_view host_names) {
  LaunchRecord r;
  r.program = std::string(program);
  r.development = development;
  std::size_t pos = 0;
  while (pos < host_names.size()) {
    std::size_t end = host_names.find(' ', pos);
    if (end == std::string_view::npos) end = host_names.size();
    const std::string name(host_names.substr(pos, end - pos));
    pos = end + 1;
    if (name.empty()) continue;
    if (!PlainName(name)) {
      return Status::InvalidArgument("TDX_HOST_SETTINGS names '" + name + "', not a setting name");
    }
    const char* value = std::getenv(name.c_str());
    // /init exports every name it lists; one missing was unset since, and counts as empty.
    r.host_settings[name] = value ? value : "";
  }
  TDX_TRY(SerializeLaunchRecord(r).status());
  return r;
}

}  // namespace tdxrt
