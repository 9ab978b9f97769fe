// Host settings allowlist checks (see include/tdximage/host_settings.h).
#include "tdximage/host_settings.h"

#include "tdximage/elf.h"

namespace tdximage {

using tdxrt::Result;
using tdxrt::Status;

std::optional<std::string> ReservedHostSetting(std::string_view name) {
  struct Reserved {
    std::string_view name;  // exact, or a prefix when it ends in '_'
    std::string_view why;
  };
  static constexpr Reserved kReserved[] = {
      {"LD_", "the dynamic loader reads it (libraries to preload, where to find them)"},
      {"GLIBC_", "glibc reads it (tunables)"},
      {"MALLOC_", "glibc's allocator reads it"},
      {"GCONV_PATH", "glibc loads character-set modules from it"},
      {"LOCPATH", "glibc loads locales from it"},
      {"NLSPATH", "glibc loads message catalogs from it"},
      {"HOSTALIASES", "the resolver reads it"},
      {"RES_OPTIONS", "the resolver reads it"},
      {"LOCALDOMAIN", "the resolver reads it"},
      {"TZDIR", "libc loads time zones from it"},
      {"PATH", "it decides which programs /init and the payload run"},
      {"HOME", "programs read configuration from it"},
      {"SHELL", "programs run it"},
      {"ENV", "the shell /init runs on executes it"},
      {"BASH_ENV", "a shell executes it"},
      {"IFS", "it changes how the shell /init runs on splits words"},
      {"CDPATH", "it changes where the shell's cd goes"},
      {"PS4", "the shell expands it"},
      {"TMPDIR", "programs write temporary files there"},
      {"OPENSSL_", "OpenSSL loads configuration, engines and providers from it"},
      {"SSL_CERT_FILE", "it replaces OpenSSL's trust anchors"},
      {"SSL_CERT_DIR", "it replaces OpenSSL's trust anchors"},
      {"CURL_CA_BUNDLE", "it replaces libcurl's trust anchors"},
      {"ASAN_", "sanitizer runtimes write files it names"},
      {"UBSAN_", "sanitizer runtimes write files it names"},
      {"LSAN_", "sanitizer runtimes write files it names"},
      {"TDX_", "/init sets it (TDX_HOST_SETTINGS says which names came from the host)"},
  };
  for (const auto& r : kReserved) {
    const bool prefix = r.name.back() == '_';
    if (prefix ? name.substr(0, r.name.size()) == r.name : name == r.name) {
      return std::string(r.why);
    }
  }
  return std::nullopt;
}

Result<std::vector<DeclaredSettings>> DeclaredSettingsIn(const FileTree& tree) {
  std::vector<DeclaredSettings> out;
  for (const auto& [path, node] : tree.nodes()) {
    if (node.type != TreeNode::Type::kFile || !IsElf(*node.data)) continue;
    auto section = ElfSection(*node.data, tdxrt::kGuestSettingsSection);
    if (!section.ok()) {
      if (section.status().code() == Status::Code::kNotFound) continue;
      return section.status().WithContext("/" + path);
    }
    auto parsed = tdxrt::ParseGuestSettings(
        std::string_view(reinterpret_cast<const char*>(section->data()), section->size()));
    if (!parsed.ok()) return parsed.status().WithContext("/" + path);
    for (auto& g : *parsed) out.push_back({"/" + path, std::move(g)});
  }
  return out;
}

Status CheckHostSettings(const Recipe& r, const std::vector<DeclaredSettings>& declared) {
  std::string errors;
  for (std::size_t i = 0; i < r.payload_host_env.size(); ++i) {
    const std::string& name = r.payload_host_env[i];
    for (const auto& d : declared) {
      const tdxrt::GuestSetting* s = d.settings.Find(name);
      if (s == nullptr || !s->protected_) continue;
      const auto [line, column] = i < r.payload_host_env_marks.size() ? r.payload_host_env_marks[i]
                                                                      : std::pair<int, int>{0, 0};
      errors += (errors.empty() ? "" : "\n") + r.file + ":" + std::to_string(line + 1) + ":" +
                std::to_string(column + 1) + ": error: payload.host_env lets the host set " + name +
                ", which " + d.path + " (" + d.settings.program +
                ") declares security-relevant: " + s->note +
                " (hint: set it in payload.env, where it is measured)";
      break;
    }
  }
  if (errors.empty()) return Status::Ok();
  return Status::InvalidArgument(errors);
}

}  // namespace tdximage
