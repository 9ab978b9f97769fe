// The last line of defence of every main: no input may end a program with an uncaught exception
// (abort, exit 134, a core dump). The libraries return Status, but allocation failure and
// third-party code (CLI11, nlohmann, Asio, spdlog) still throw.
#pragma once

#include <cstdio>
#include <exception>
#include <new>

#include "tdxrt/text.h"

namespace tdxrt {

// Runs a tool's main body; an exception that reaches it becomes "<tool>: error: ..." and exit 1.
template <typename Fn>
int RunMain(const char* tool, Fn&& body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "%s: error: out of memory (an input needs more than this machine has)\n",
                 tool);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: internal error: %s\n", tool, EscapeText(e.what()).c_str());
  }
  return 1;
}

}  // namespace tdxrt
