// zipnet-aggregator: the aggregator (zipnet-protocol.md; docs/zipnet.md).
#include "programs.h"
#include "settings.h"
#include "tdxrt/guest_settings.h"
#include "tdxrt/run_main.h"

TDXRT_GUEST_SETTINGS(ZIPNET_AGGREGATOR_SETTINGS);

int main(int argc, char** argv) {
  return tdxrt::RunMain("zipnet-aggregator", [&] {
    return zipnet::node::AggregatorMain(argc, argv, tdxrt_guest_settings);
  });
}
