#!/usr/bin/env bash
# Collateral from a PCCS (`tdx-attest pccs-serve` on loopback) instead of a collateral file: every
# node fetches the collateral of its peers' platform when it first judges one and keeps it (one
# fetch per node, however many peers); a node whose PCCS is unreachable refuses peers for
# "collateral", naming the URL, and says so (strict client: Attestation at once); a node given
# both a collateral and a PCCS does not start.
source "$(dirname "$0")/lib.sh"
simulated_tdx "zipnet pccs test"
mkdir "$W/served"
mv "$ZIPNET_TDX_COLLATERAL" "$W/served/dev.json"
unset ZIPNET_TDX_COLLATERAL
timeout "$NODE_SECONDS" "$TDX_ATTEST" pccs-serve "$W/served" --port-file "$W/pccs.port" \
  >"$W/pccs.out" 2>"$W/pccs.log" &
PIDS+=("$!")
for _ in $(seq 1 100); do [ -s "$W/pccs.port" ] && break; sleep 0.1; done
[ -s "$W/pccs.port" ] || fail "pccs-serve did not start"
export ZIPNET_PCCS_URL=http://127.0.0.1:$(cat "$W/pccs.port")
SERVER_IMAGE=$(IMAGE 10 11 12) CLIENT_IMAGE=$(IMAGE 20 21 22)
POLICY client-image zipnet-client 20 21 22 >"$W/clients.yaml"
POLICY server-image zipnet-server 10 11 12 >"$W/committee.yaml"
make_committee 2
gate=(--tdx-gating on --policy "$W/clients.yaml")
for i in 1 2; do ZIPNET_SIM_MEASUREMENTS=$SERVER_IMAGE start_server "$i" "${gate[@]}"; done
ZIPNET_SIM_MEASUREMENTS=$SERVER_IMAGE start_aggregator --committee-policy "$W/committee.yaml"
wait_for "$W/s1.log" 'committee formed: 2 servers' 20
wait_for "$W/s1.log" "collateral: fetched from $ZIPNET_PCCS_URL for each peer platform, then cached" 1
for c in alice bob; do
  ZIPNET_SIM_MEASUREMENTS=$CLIENT_IMAGE run_client "$c" 0 --committee-policy "$W/committee.yaml" \
    --message "hello from $c" --max-messages 1 --connect-timeout 20
  grep -q 'delivered' "$W/$c.log" || fail "$c: no delivery"
done
wait_for "$W/s1.log" 'client [0-9a-f]+ attested \(.*\): policy set client-image' 1
# Each process fetched its peers' TCB info once: two servers, the aggregator, two clients.
fetches=$(count "$W/pccs.log" '^pccs-serve: 200 GET /tdx/certification/v4/tcb\?fmspc=')
[ "$fetches" = 5 ] || fail "$fetches TCB info fetches for 5 processes, not one each"
echo "TCB info fetches by 5 processes, each judging 2 or more peers: $fetches"

# An unreachable PCCS: a strict client names the check, the URL and the failure.
ZIPNET_PCCS_URL=http://127.0.0.1:$(port 7) ZIPNET_SIM_MEASUREMENTS=$CLIENT_IMAGE run_client \
  unreachable 4 --committee-policy "$W/committee.yaml" --strict-attestation --connect-timeout 20
got=$(grep -o 'zipnet-client: error: Attestation(.*' "$W/unreachable.log" |
  sed -E "s/server [0-9a-f]{10}:/server S:/; s/127\.0\.0\.1:$(port 7)/127.0.0.1:P/")
case $got in
  "zipnet-client: error: Attestation(\"server S: no collateral for FMSPC de7000000000 (platform CA): GET http://127.0.0.1:P/tdx/certification/v4/tcb?fmspc=DE7000000000: "*"(after 2 attempts); nothing cached\")") echo "$got" ;;
  *) fail "unreachable PCCS: $got" ;;
esac
# Both a collateral and a PCCS: no start.
set +e
ZIPNET_TDX_COLLATERAL="$W/served/dev.json" ZIPNET_SIM_MEASUREMENTS=$CLIENT_IMAGE timeout 10 \
  "$B/zipnet-client" --committee-policy "$W/committee.yaml" --connect-timeout 1 >/dev/null 2>"$W/both.log"
code=$?
set -e
[ "$code" = 1 ] || fail "both set: exit $code"
grep -qxF "zipnet-client: error: ZIPNET_TDX_COLLATERAL and a PCCS URL ($ZIPNET_PCCS_URL) are both set: give one" "$W/both.log" ||
  fail "both set: $(cat "$W/both.log")"
echo "both a collateral and a PCCS: exit 1, both named"
