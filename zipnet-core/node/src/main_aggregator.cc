// zipnet-aggregator: the aggregator (zipnet-protocol.md; docs/zipnet.md).
#include "programs.h"

int main(int argc, char** argv) { return zipnet::node::AggregatorMain(argc, argv); }
