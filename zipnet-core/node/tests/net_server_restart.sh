#!/usr/bin/env bash
# Kill one of 3 servers for several rounds, then restart it (same identity): rounds abort while
# it is down (logged and counted), resume once it is back, and no talker's message is lost —
# including one queued by a client that arrived while the server was down; the restarted server
# knows the clients it had from its registry file. Then the same for
# the aggregator: clients reconnect to the restarted aggregator and keep delivering.
source "$(dirname "$0")/lib.sh"
export ZIPNET_TDX_GATING=off
make_committee 3
start_server 1 --metrics 127.0.0.1:$(port 21)
start_server 2
start_server 3
S3=$LAST_PID
start_aggregator
AGG=$LAST_PID
start_client cover --clients 4
start_client alice --message "alice survives outages" --max-messages 4
ALICE=$LAST_PID
timeout 90 "$B/zipnet-client" --watch >"$W/watch.out" 2>"$W/watch.log" &
PIDS+=("$!")

wait_for "$W/watch.out" 'valid "alice survives outages"' 20
kill "$S3"
wait "$S3" 2>/dev/null || true
before=$(count "$W/watch.out" 'aborted')
start_client bob --message "bob queued during the outage" --max-messages 1 --connect-timeout 60
BOB=$LAST_PID
wait_for "$W/watch.out" 'aborted: missing-share' 15
sleep 3
aborted=$(($(count "$W/watch.out" 'aborted') - before))
[ "$aborted" -ge 2 ] || fail "only $aborted rounds aborted while a server was down"
grep -qE 'WARN zipnet_server: round [0-9]+ aborted: missing-share: no (link to server|commitment from|share from) ' "$W/s1.log" ||
  fail "no logged abort reason on server 1"
metrics "$(port 21)" | grep -E '^zipnet_server_rounds_aborted_total\{reason="missing-share"\} [1-9]' >/dev/null ||
  fail "aborts not counted"
finalized_down=$(count "$W/watch.out" 'finalized')

start_server 3
wait_for "$W/s3.log" '[5-9] clients registered from the registry file' 20
wait "$ALICE" || fail "alice exited with $?"
wait "$BOB" || fail "bob exited with $?"
[ "$(count "$W/alice.log" 'delivered in round')" -eq 4 ] || fail "alice's 4 messages"
grep -q 'delivered in round [0-9]*: "bob queued during the outage"' "$W/bob.log" || fail "bob's message"
[ "$(count "$W/watch.out" 'finalized')" -gt "$finalized_down" ] || fail "rounds did not resume"

# Aggregator restart.
start_client carol --message "carol across an aggregator restart" --max-messages 3
CAROL=$LAST_PID
wait_for "$W/carol.log" 'delivered in round' 20
kill "$AGG"
wait "$AGG" 2>/dev/null || true
sleep 1
start_aggregator
wait "$CAROL" || fail "carol exited with $?"
grep -q 'link to the aggregator closed' "$W/carol.log" || fail "carol never lost the aggregator"
echo "aborted while down: $aborted rounds; all messages delivered after recovery"
