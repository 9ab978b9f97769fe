// zipnet-server: a committee server (zipnet-protocol.md; docs/zipnet.md).
#include "programs.h"
#include "settings.h"
#include "tdxrt/guest_settings.h"
#include "tdxrt/run_main.h"

TDXRT_GUEST_SETTINGS(ZIPNET_SERVER_SETTINGS);

int main(int argc, char** argv) {
  return tdxrt::RunMain("zipnet-server",
                        [&] { return zipnet::node::ServerMain(argc, argv, tdxrt_guest_settings); });
}
