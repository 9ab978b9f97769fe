// zipnet-server: a committee server (zipnet-protocol.md; docs/zipnet.md).
#include "programs.h"
#include "tdxrt/run_main.h"

int main(int argc, char** argv) {
  return tdxrt::RunMain("zipnet-server", [&] { return zipnet::node::ServerMain(argc, argv); });
}
