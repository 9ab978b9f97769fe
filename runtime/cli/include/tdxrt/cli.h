// Command-line parsing shared by the tools' thin mains (CLI11): --help and --version go to
// stdout with exit 0, usage errors to stderr as "<tool>: usage error: ..." with the tool's usage
// exit code. Every program's --version reads "<tool> <version> (git <revision>)", its usage
// line names it by its name (not the path it was run by), and `<tool> --man-page` /
// `<tool> --bash-completion` print its manual page and bash completion (cli_docs.h).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "tdx_version.h"
#include "tdxrt/cli_docs.h"

namespace tdxrt {

// "tdximage 0.1.0 (git 5d67d380a864)": what every program's --version prints.
inline std::string VersionLine(const std::string& tool) {
  return tool + " " + TDX_VERSION + " (git " + TDX_GIT_REVISION + ")";
}

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
  app.name(tool);
  app.set_version_flag("--version", VersionLine(tool));
  if (argc == 2 && std::string(argv[1]) == "--man-page") {
    std::cout << cli_docs::ManPage(app, VersionLine(tool), TDX_GIT_DATE);
    return 0;
  }
  if (argc == 2 && std::string(argv[1]) == "--bash-completion") {
    std::cout << cli_docs::BashCompletion(app);
    return 0;
  }
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
