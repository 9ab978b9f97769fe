#!/usr/bin/env bash
# A client with a mistyped ZIPNET_INSTANCE never matches the committee: ConnectTimeout after
# the configured timeout (3 s here), exit 3; the servers keep serving the right instance.
source "$(dirname "$0")/lib.sh"
export ZIPNET_TDX_GATING=off
make_committee 3
for i in 1 2 3; do start_server "$i"; done
start_aggregator
ZIPNET_INSTANCE=nettset ZIPNET_CONNECT_TIMEOUT=3 run_client typo 3
grep -q 'zipnet-client: error: ConnectTimeout: no roster from 3 of 3 servers after 3000 ms' "$W/typo.log" ||
  fail "no ConnectTimeout line"
[ $MS -ge 3000 ] && [ $MS -lt 7000 ] || fail "ConnectTimeout after $MS ms"
grep -q 'refused client .* another instance' "$W/s1.log" || fail "server 1 did not log the refusal"
timeout 30 "$B/zipnet-client" --watch --max-rounds 2 --connect-timeout 10 >"$W/watch.out" 2>"$W/watch.log" ||
  fail "the right instance is not served"
echo "ConnectTimeout after $MS ms"
