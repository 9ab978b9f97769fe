// zipnet-client: a client, or with --watch a read-only subscriber (zipnet-protocol.md;
// docs/zipnet.md).
#include "programs.h"

int main(int argc, char** argv) { return zipnet::node::ClientMain(argc, argv); }
