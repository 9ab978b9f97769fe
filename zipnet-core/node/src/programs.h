// Entry points of zipnet-server, zipnet-aggregator and zipnet-client (see programs.cc).
#pragma once

namespace zipnet::node {

int ServerMain(int argc, char** argv);
int AggregatorMain(int argc, char** argv);
int ClientMain(int argc, char** argv);

}  // namespace zipnet::node
