// zipnet-aggregator: the aggregator (zipnet-protocol.md; docs/zipnet.md).
#include "programs.h"
#include "tdxrt/run_main.h"

int main(int argc, char** argv) {
  return tdxrt::RunMain("zipnet-aggregator",
                        [&] { return zipnet::node::AggregatorMain(argc, argv); });
}
