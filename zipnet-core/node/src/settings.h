// What each zipnet program declares about its ZIPNET_* settings (tdxrt/guest_settings.h): the
// ones that decide security are "protected" — an image must set them in payload.env, where
// they are measured, and tdximage refuses a recipe that lets the host set them; the others the
// host may set at launch. The text is embedded in each program (main_*.cc), printed by
// --settings, and checked at start against TDX_HOST_SETTINGS. A test keeps these lists, the
// programs' options and the shipped recipes in agreement (tests/cli/cases/zipnet_settings.sh).
#pragma once

#define ZIPNET_COMMON_SETTINGS                                                                     \
  "host ZIPNET_INSTANCE the instance name (a wrong one only fails to connect)\n"                   \
  "host ZIPNET_UNIVERSE the universe of the instance name\n"                                       \
  "host ZIPNET_METRICS where to serve Prometheus metrics\n"                                        \
  "host ZIPNET_LOG the log level\n"                                                                \
  "protected ZIPNET_MAX_FRAME the largest frame a peer may send (memory a peer can make us use)\n" \
  "host ZIPNET_IDLE_TIMEOUT_MS how long a silent link stays open\n"                                \
  "host ZIPNET_HELLO_TIMEOUT_MS how long an unidentified connection stays open\n"

// What a node presents on its links (its evidence) and the root its peers' quotes chain to.
#define ZIPNET_EVIDENCE_SETTINGS                                                                  \
  "protected ZIPNET_EVIDENCE which evidence the node presents (a TD's quotes, simulated, mock)\n" \
  "protected ZIPNET_SIM_SEED the development PKI simulated quotes are signed by\n"                \
  "host ZIPNET_SIM_MEASUREMENTS the measurements simulated quotes claim (development)\n"          \
  "protected ZIPNET_TDX_ROOT_CA the root every quote must chain to\n"                             \
  "host ZIPNET_PCCS_URL where peers' collateral is fetched (checked against the root)\n"          \
  "protected ZIPNET_PCCS_CA_FILE the CAs the PCCS's HTTPS certificate must chain to\n"

#define ZIPNET_LISTENER_SETTINGS                                    \
  "host ZIPNET_MAX_CONNECTIONS accepted connections open at once\n" \
  "host ZIPNET_MAX_CONNECTIONS_PER_ADDRESS accepted connections open at once from one address\n"

#define ZIPNET_SERVER_SETTINGS                                                                   \
  "tdx-guest-settings v1 zipnet-server\n" ZIPNET_COMMON_SETTINGS ZIPNET_LISTENER_SETTINGS        \
  "host ZIPNET_LISTEN the address to listen on\n"                                                \
  "host ZIPNET_COMMITTEE the committee list (also sent by the operator, Configure)\n"            \
  "host ZIPNET_AGGREGATOR the aggregator's peer id and address\n"                                \
  "host ZIPNET_LEAVES an aggregator tree's leaves clients dial\n"                                \
  "host ZIPNET_OPERATOR the peer id allowed to send the committee list\n"                        \
  "host ZIPNET_ROUND_PERIOD_MS round timing\n"                                                   \
  "host ZIPNET_FOLD_MS round timing\n"                                                           \
  "host ZIPNET_ROUND_DEADLINE_MS round timing\n"                                                 \
  "host ZIPNET_THREADS unblinding threads\n"                                                     \
  "protected ZIPNET_IDENTITY the server's secret keys (born inside the TD, never the host's)\n"  \
  "protected ZIPNET_REGISTRY where admitted clients are kept across restarts\n"                  \
  "protected ZIPNET_MIN_PARTICIPANTS the smallest anonymity set a round may be finalized with\n" \
  "protected ZIPNET_TDX_GATING whether clients must prove their image with a TDX quote\n"        \
  "protected ZIPNET_TDX_POLICY which client images are admitted\n"                               \
  "protected ZIPNET_TDX_COLLATERAL the DCAP collateral quotes are verified with\n"               \
  "protected ZIPNET_STRICT_ATTESTATION whether refused clients are told "                        \
  "why\n" ZIPNET_EVIDENCE_SETTINGS                                                               \
  "protected ZIPNET_COMMITTEE_POLICY other server images peer servers may run\n"                 \
  "protected ZIPNET_COMMITTEE_SAME_HOST whether peer servers must show this server's RTMR0\n"    \
  "protected ZIPNET_AGGREGATOR_POLICY how the aggregator is judged\n"

#define ZIPNET_AGGREGATOR_SETTINGS                                                            \
  "tdx-guest-settings v1 zipnet-aggregator\n" ZIPNET_COMMON_SETTINGS ZIPNET_LISTENER_SETTINGS \
  "host ZIPNET_LISTEN the address clients connect to\n"                                       \
  "host ZIPNET_BOOTSTRAP the committee servers\n"                                             \
  "host ZIPNET_THREADS signature-checking threads\n"                                          \
  "host ZIPNET_PARENT the parent aggregator of a tree's leaf\n"                               \
  "host ZIPNET_CHILDREN the child aggregators of a tree's root\n"                             \
  "protected ZIPNET_IDENTITY the aggregator's secret key (born where it "                     \
  "runs)\n" ZIPNET_EVIDENCE_SETTINGS                                                          \
  "host ZIPNET_TDX_COLLATERAL the DCAP collateral servers' quotes are verified with\n"        \
  "host ZIPNET_COMMITTEE_POLICY how committee servers are judged (recorded in RTMR3)\n"

#define ZIPNET_CLIENT_SETTINGS                                                          \
  "tdx-guest-settings v1 zipnet-client\n" ZIPNET_COMMON_SETTINGS                        \
  "host ZIPNET_BOOTSTRAP the committee servers to use\n"                                \
  "host ZIPNET_MESSAGE the message to broadcast\n"                                      \
  "host ZIPNET_CADENCE talk every Nth round\n"                                          \
  "host ZIPNET_CONNECT_TIMEOUT how long to wait for the committee\n"                    \
  "host ZIPNET_MAX_MESSAGES exit after this many deliveries\n"                          \
  "protected ZIPNET_QUOTE_FILE a quote to present instead of the TD's "                 \
  "own\n" ZIPNET_EVIDENCE_SETTINGS                                                      \
  "host ZIPNET_TDX_COLLATERAL the DCAP collateral peers' quotes are verified with\n"    \
  "host ZIPNET_COMMITTEE_POLICY how committee servers are judged (recorded in RTMR3)\n" \
  "host ZIPNET_AGGREGATOR_POLICY how the aggregator is judged (recorded in RTMR3)\n"    \
  "host ZIPNET_STRICT_ATTESTATION whether a refused server ends the client\n"           \
  "protected ZIPNET_IDENTITY the client's secret keys (fresh inside the TD unless measured)\n"
