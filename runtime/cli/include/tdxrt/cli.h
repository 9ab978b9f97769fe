// Command-line parsing shared by the tools' thin mains (CLI11): --help and --version go to
// stdout with exit 0, usage errors to stderr as "<tool>: usage error: ..." with the tool's usage
// exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace tdxrt {

// Returns nullopt when the command line parsed and the tool should run; otherwise the exit
// code to return (help or version printed, or a usage error reported).
// CLI11's "--instance is required", naming the environment variable that sets the option too
// where it has one ("--instance (or ZIPNET_INSTANCE) is required"): operators' docs use the
// variables.
inline std::string RequiredMessage(const CLI::App& app, std::string message) {
  std::vector<const CLI::App*> apps = {&app};
  for (std::size_t i = 0; i < apps.size(); ++i) {
    for (const CLI::App* sub : apps[i]->get_subcommands()) apps.push_back(sub);
  }
  for (const CLI::App* a : apps) {
    for (const CLI::Option* o : a->get_options()) {
      if (!o->get_required() || o->count() > 0 || o->get_envname().empty()) continue;
      const std::string name = o->get_name();
      const std::size_t at = message.find(name + " is required");
      if (at != std::string::npos) {
        message.insert(at + name.size(), " (or " + o->get_envname() + ")");
      }
    }
  }
  return message;
}

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
  } catch (const CLI::RequiredError& e) {
    std::fprintf(stderr, "%s: usage error: %s\nRun '%s --help' for usage.\n", tool.c_str(),
                 RequiredMessage(app, e.what()).c_str(), tool.c_str());
    return usage_code;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s: usage error: %s\nRun '%s --help' for usage.\n", tool.c_str(),
                 e.what(), tool.c_str());
    return usage_code;
  }
  return std::nullopt;
}

}  // namespace tdxrt
