// Which settings an image lets the host pass to its payload at launch (payload.host_env). The
// host is a TD's adversary, so this is a list of exact names, each checked twice:
//   - when the recipe is parsed, against names no program may take from the host (the dynamic
//     loader's, libc's, the shell's that /init runs on, OpenSSL's configuration and trust
//     anchors, TDX_* which /init sets itself) and against the recipe's own payload.env: a host
//     value never stands beside a measured one;
//   - when the image is assembled, against what the image's own programs declare
//     (tdxrt/guest_settings.h, read from their ELF section): a setting that any program in the
//     image declares protected is refused, naming the program and why it matters.
// Globs are not accepted: a prefix like ZIPNET_* would take in every setting a program adds
// later, security-relevant or not.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tdximage/recipe.h"
#include "tdximage/tree.h"
#include "tdxrt/guest_settings.h"
#include "tdxrt/status.h"

namespace tdximage {

// Why `name` may never come from the host, or nothing.
std::optional<std::string> ReservedHostSetting(std::string_view name);

struct DeclaredSettings {
  std::string path;  // the ELF file in the image that carries the declaration
  tdxrt::GuestSettings settings;
};

// Every settings declaration in the image's ELF files, in path order. A malformed declaration
// is an error naming the file.
tdxrt::Result<std::vector<DeclaredSettings>> DeclaredSettingsIn(const FileTree& tree);

// Refuses host_env entries that a declaration protects; all errors together, each as
// "recipe:line:column: error: ...".
tdxrt::Status CheckHostSettings(const Recipe& recipe,
                                const std::vector<DeclaredSettings>& declared);

}  // namespace tdximage
