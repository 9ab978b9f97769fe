// zipnet-client: a client, or with --watch a read-only subscriber (zipnet-protocol.md;
// docs/zipnet.md).
#include "programs.h"
#include "tdxrt/run_main.h"

int main(int argc, char** argv) {
  return tdxrt::RunMain("zipnet-client", [&] { return zipnet::node::ClientMain(argc, argv); });
}
