#!/usr/bin/env bash
# A server's registry file (ZIPNET_REGISTRY, default beside its identity): a TDX-gated server
# (simulated evidence) admits 3 clients and is stopped; restarted with the same identity it
# knows them from the file before any reconnects. A file altered on disk is refused (ERROR,
# moved aside to .refused) and the clients register again; a file written under another client
# policy is not loaded either (INFO, moved aside): its clients were admitted by rules that no
# longer hold.
source "$(dirname "$0")/lib.sh"
simulated_tdx "zipnet registry test"
POLICY client-image zipnet-client 20 21 22 >"$W/clients.yaml"
POLICY server-image zipnet-server 10 11 12 >"$W/committee.yaml"
POLICY client-image zipnet-client 20 21 22 >"$W/other.yaml"
echo "# another rollout" >>"$W/other.yaml"
export ZIPNET_SIM_MEASUREMENTS=$(IMAGE 10 11 12)
make_committee 1
gate=(--tdx-gating on --policy "$W/clients.yaml")
REG=$W/s1.registry
stop() {  # stop LOG: stops server 1 (it writes its registry), keeps its log as LOG
  kill "$S"
  wait "$S" 2>/dev/null || true
  mv "$W/s1.log" "$W/$1.log"
}
start() {  # start ARGS...: server 1, until it is up
  start_server 1 "$@"
  S=$LAST_PID
  wait_for "$W/s1.log" 'zipnet up: ' 10
}
start_server 1 "${gate[@]}"
S=$LAST_PID
ZIPNET_SIM_MEASUREMENTS=$(IMAGE 20 21 22) start_client c --clients 3 \
  --committee-policy "$W/committee.yaml"
wait_for "$W/s1.log" 'client [0-9a-f]+ registered \(3 in registry\)' 30

stop first
start "${gate[@]}"
[ "$(stat -c %a "$REG")" = 600 ] || fail "registry mode $(stat -c %a "$REG")"
wait_for "$W/s1.log" "registry $REG: 3 clients" 10
wait_for "$W/s1.log" '3 clients registered from the registry file \(3 in registry\)' 20
grep -q 'registered (1 in registry)' "$W/s1.log" && fail "the restarted server started empty"
echo "restarted: 3 clients known from the registry file"

stop second
printf '\x00' | dd of="$REG" bs=1 seek=200 conv=notrunc status=none
start "${gate[@]}"
wait_for "$W/s1.log" "ERROR .*$REG: registry: the MAC at offset 0x149 does not match: the file was altered, or is another server's: not loaded, moved to $REG.refused; clients register again" 10
[ -f "$REG.refused" ] || fail "the altered file was not kept"
wait_for "$W/s1.log" 'client [0-9a-f]+ registered \(3 in registry\)' 30
echo "altered: refused, moved aside; the clients registered again"

rm -f "$REG.refused"
stop third
start --tdx-gating on --policy "$W/other.yaml"
wait_for "$W/s1.log" "INFO .*$REG: registry: its clients were admitted under other admission settings \(gating, client policy or trust anchor\): not loaded, moved to $REG.refused; clients register again" 10
echo "another client policy: not loaded"
