// Guest settings declarations (see include/tdxrt/guest_settings.h).
#include "tdxrt/guest_settings.h"

#include "tdxrt/text.h"

namespace tdxrt {

const GuestSetting* GuestSettings::Find(std::string_view name) const {
  for (const auto& s : settings) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

namespace {

constexpr std::string_view kMagic = "tdx-guest-settings v1 ";
constexpr std::size_t kMaxDeclaration = 64 * 1024;

bool ValidName(std::string_view n) {
  if (n.empty() || n.size() > 128 || (n[0] >= '0' && n[0] <= '9')) return false;
  for (char c : n) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

Result<GuestSettings> ParseOne(std::string_view text, std::size_t index) {
  const std::string where = "settings declaration " + std::to_string(index + 1);
  if (text.size() > kMaxDeclaration) {
    return Status::Corrupt(where + ": " + std::to_string(text.size()) +
                           " bytes, more than the limit of " + std::to_string(kMaxDeclaration));
  }
  GuestSettings out;
  std::size_t line_no = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t end = std::min(text.find('\n', pos), text.size());
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    const std::string at = where + " line " + std::to_string(line_no);
    if (line_no == 1) {
      if (line.substr(0, kMagic.size()) != kMagic || line.size() == kMagic.size()) {
        return Status::Corrupt(at + ": expected 'tdx-guest-settings v1 <program>', got '" +
                               EscapeText(line.substr(0, 64)) + "'");
      }
      out.program = std::string(line.substr(kMagic.size()));
      if (!IsPlainText(out.program)) return Status::Corrupt(at + ": program name is not text");
      continue;
    }
    if (line.empty()) continue;
    const std::size_t sp = line.find(' ');
    const std::string_view kind = line.substr(0, sp);
    if (kind != "protected" && kind != "host") {
      return Status::Corrupt(at + ": '" + EscapeText(kind.substr(0, 32)) +
                             "' is not 'protected' or 'host'");
    }
    const std::string_view rest = sp == std::string_view::npos ? "" : line.substr(sp + 1);
    const std::size_t sp2 = rest.find(' ');
    const std::string_view name = rest.substr(0, sp2);
    if (!ValidName(name)) {
      return Status::Corrupt(at + ": '" + EscapeText(name.substr(0, 64)) +
                             "' is not a setting name ([A-Z_][A-Z0-9_]*)");
    }
    if (out.Find(name) != nullptr) {
      return Status::Corrupt(at + ": " + std::string(name) + " is declared twice");
    }
    out.settings.push_back(
        GuestSetting{std::string(name), kind == "protected",
                     EscapeText(sp2 == std::string_view::npos ? "" : rest.substr(sp2 + 1))});
  }
  if (out.program.empty()) return Status::Corrupt(where + ": empty");
  return out;
}

}  // namespace

Result<std::vector<GuestSettings>> ParseGuestSettings(std::string_view section) {
  std::vector<GuestSettings> out;
  for (std::size_t pos = 0; pos < section.size();) {
    const std::size_t end = std::min(section.find('\0', pos), section.size());
    const std::string_view piece = section.substr(pos, end - pos);
    pos = end + 1;
    if (piece.empty()) continue;
    TDX_ASSIGN_OR_RETURN(GuestSettings g, ParseOne(piece, out.size()));
    out.push_back(std::move(g));
  }
  return out;
}

std::vector<std::string> ProtectedFromHost(const GuestSettings& declared,
                                           std::string_view host_settings) {
  std::vector<std::string> out;
  for (std::size_t pos = 0; pos < host_settings.size();) {
    const std::size_t end = std::min(host_settings.find(' ', pos), host_settings.size());
    const std::string_view name = host_settings.substr(pos, end - pos);
    pos = end + 1;
    const GuestSetting* s = declared.Find(name);
    if (s != nullptr && s->protected_) out.emplace_back(name);
  }
  return out;
}

}  // namespace tdxrt
