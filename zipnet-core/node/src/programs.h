// Entry points of zipnet-server, zipnet-aggregator and zipnet-client (see programs.cc).
#pragma once

namespace zipnet::node {

// `settings` is the program's settings declaration (settings.h), embedded by its main.
int ServerMain(int argc, char** argv, const char* settings);
int AggregatorMain(int argc, char** argv, const char* settings);
int ClientMain(int argc, char** argv, const char* settings);

}  // namespace zipnet::node
