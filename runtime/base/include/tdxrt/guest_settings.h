// What a program that runs inside a TD declares about the settings it reads from its
// environment: which ones the host may set at launch and which ones decide security (keys,
// admission, evidence, trust anchors, limits) and so must be measured, never taken from the host.
//
// The declaration is text in an ELF section of the program itself (.tdx_guest_settings, placed
// there with TDXRT_GUEST_SETTINGS), so it travels with the binary that is measured: tdximage
// reads every declaration in an image and refuses a recipe whose payload.host_env names a
// protected setting, whichever program declares it; the program checks the same at start
// against TDX_HOST_SETTINGS, the names /init took from the host. Layout (one declaration per
// program; several may follow each other in a section, separated by NUL bytes):
//
//   tdx-guest-settings v1 <program>
//   protected <NAME> <why, free text>
//   host <NAME> <what, free text>
//
// NAME is [A-Z_][A-Z0-9_]*. A declaration is at most 64 KiB; anything else is an error naming
// the line.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tdxrt/status.h"

namespace tdxrt {

inline constexpr std::string_view kGuestSettingsSection = ".tdx_guest_settings";

struct GuestSetting {
  std::string name;
  bool protected_ = false;  // decides security: measured only
  std::string note;
};

struct GuestSettings {
  std::string program;
  std::vector<GuestSetting> settings;
  const GuestSetting* Find(std::string_view name) const;
};

// Parses the declarations of a section's bytes (NUL-separated; empty pieces skipped).
Result<std::vector<GuestSettings>> ParseGuestSettings(std::string_view section);

// The names in TDX_HOST_SETTINGS (space-separated) that `declared` protects; empty when none.
std::vector<std::string> ProtectedFromHost(const GuestSettings& declared,
                                           std::string_view host_settings);

}  // namespace tdxrt

// Places a declaration (a string literal) in the program's .tdx_guest_settings section; the
// array tdxrt_guest_settings (internal linkage) is there for the program's own checks.
#define TDXRT_GUEST_SETTINGS(text) \
  [[gnu::used, gnu::section(".tdx_guest_settings")]] constexpr char tdxrt_guest_settings[] = text
