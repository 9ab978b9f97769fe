// zipnet-client: a client, or with --watch a read-only subscriber (zipnet-protocol.md;
// docs/zipnet.md).
#include "programs.h"
#include "settings.h"
#include "tdxrt/guest_settings.h"
#include "tdxrt/run_main.h"

TDXRT_GUEST_SETTINGS(ZIPNET_CLIENT_SETTINGS);

int main(int argc, char** argv) {
  return tdxrt::RunMain("zipnet-client",
                        [&] { return zipnet::node::ClientMain(argc, argv, tdxrt_guest_settings); });
}
