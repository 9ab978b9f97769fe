// Command-line parsing shared by the tools' thin mains (CLI11): --help and --version go to
// stdout with exit 0, usage errors to stderr as "<tool>: usage error: ..." with the tool's usage
// exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

namespace tdxrt {

// Returns nullopt when the command line parsed and the tool should run; otherwise the exit
// code to return (help or version printed, or a usage error reported).
inline std::optional<int> ParseCommandLine(CLI::App& app, int argc, char** argv,
                                           const std::string& tool, int usage_code) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::cout << app.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const CLI::CallForVersion&) {
    std::cout << app.version() << "\n";
    return 0;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s: usage error: %s\nRun '%s --help' for usage.\n", tool.c_str(),
                 e.what(), tool.c_str());
    return usage_code;
  }
  return std::nullopt;
}

}  // namespace tdxrt
