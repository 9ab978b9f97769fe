#!/usr/bin/env bash
# ZIPNET_COMMITTEE_SAME_HOST (measured in the server image): committee servers admit peers that
# run their image on an identical host, RTMR0 included. Three servers of one image and one RTMR0
# form the committee; a fourth of the same image whose host gave another RTMR0 (another memory
# size, QEMU or VM shape) is refused for its RTMR0; without the setting it would be admitted (the
# committee of net_tdx_gating.sh pins MRTD, RTMR1 and RTMR2 only).
source "$(dirname "$0")/lib.sh"
simulated_tdx "zipnet same-host test"
SERVER_IMAGE="$(IMAGE 10 11 12) rtmr0=$(hex48 30)"
OTHER_HOST="$(IMAGE 10 11 12) rtmr0=$(hex48 31)"
POLICY client-image zipnet-client 20 21 22 >"$W/clients.yaml"
make_committee 3
gate=(--tdx-gating on --policy "$W/clients.yaml")
export ZIPNET_COMMITTEE_SAME_HOST=1
for i in 1 2 3; do ZIPNET_SIM_MEASUREMENTS=$SERVER_IMAGE start_server "$i" "${gate[@]}"; done
wait_for "$W/s1.log" 'committee formed: 3 servers' 20
wait_for "$W/s1.log" 'server [0-9a-f]+ attested \(.*\): policy set this-server-image' 5
ZIPNET_SIM_MEASUREMENTS=$OTHER_HOST start_outsider 9 "${gate[@]}"
wait_for "$W/s1.log" "refused server [0-9a-f]+ from .*: attestation \(policy\): policy refused the evidence: set 'this-server-image': RTMR0 3131313131313131\.\.\. is not 3030" 10
echo "same host admitted, another host's RTMR0 refused"
