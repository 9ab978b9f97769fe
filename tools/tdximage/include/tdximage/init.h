// The generated /init: a busybox sh script (deterministic text) that mounts proc, sys, dev,
// devpts, run, tmp and configfs, loads the recipe's kernel modules in dependency order, brings
// up networking (udhcpc with a generated script), exports the recipe's environment, prints a
// short diagnostic of the TDX devices, runs the payload with its arguments and, when it exits,
// prints its status and powers off.
#pragma once

#include <string>
#include <vector>

#include "tdximage/recipe.h"

namespace tdximage {

// Single-quotes `s` for POSIX sh.
std::string ShellQuote(const std::string& s);

std::string GenerateInit(const Recipe& recipe, const std::vector<std::string>& module_paths,
                         const std::string& tool_version);

// The udhcpc event script the init uses (/etc/tdx/udhcpc.sh).
std::string UdhcpcScript();

}  // namespace tdximage
