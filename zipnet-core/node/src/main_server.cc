// zipnet-server: a committee server (zipnet-protocol.md; docs/zipnet.md).
#include "programs.h"

int main(int argc, char** argv) { return zipnet::node::ServerMain(argc, argv); }
