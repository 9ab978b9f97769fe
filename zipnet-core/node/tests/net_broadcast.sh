#!/usr/bin/env bash
# 3 servers, 1 aggregator, 8 clients (2 talking, 6 cover): each talker's message appears intact
# in fully signed records that the read-only watcher prints; the clients export
# zipnet_client_registered = 1 and log the documented start-up lines. A second watcher prints
# the same records as JSON lines (--json, docs/json.md).
source "$(dirname "$0")/lib.sh"
export ZIPNET_TDX_GATING=off
make_committee 3
for i in 1 2 3; do start_server "$i"; done
start_aggregator
start_client cover --clients 6
for i in $(seq 1 200); do
  [ "$(count "$W/cover.log" 'registered with all 3 servers')" -eq 6 ] && break
  sleep 0.1
done
[ "$(count "$W/cover.log" 'registered with all 3 servers')" -eq 6 ] || fail "cover clients not registered"
timeout 60 "$B/zipnet-client" --watch --max-rounds 20 >"$W/watch.out" 2>"$W/watch.log" &
WATCH=$!
PIDS+=("$WATCH")
timeout 60 "$B/zipnet-client" --watch --json --max-rounds 20 >"$W/watch.json" 2>"$W/watch-json.log" &
WATCH_JSON=$!
PIDS+=("$WATCH_JSON")
wait_for "$W/watch.log" 'watching: 3 servers' 20
wait_for "$W/watch-json.log" 'watching: 3 servers' 20
start_client alice --message "hello from alice" --max-messages 2 --log-level debug \
  --metrics 127.0.0.1:$(port 20)
ALICE=$LAST_PID
start_client bob --message "bob: ünïcode ok" --max-messages 2
BOB=$LAST_PID

wait_for "$W/alice.log" 'registered with all 3 servers' 20
metrics "$(port 20)" | grep -E '^zipnet_client_registered\{client="[0-9a-f]{10}"\} 1$' >/dev/null ||
  fail "zipnet_client_registered is not 1 on alice"
wait "$ALICE" || fail "alice exited with $?"
wait "$BOB" || fail "bob exited with $?"
wait "$WATCH" || fail "watcher exited with $?"
wait "$WATCH_JSON" || fail "JSON watcher exited with $?"

# The documented start-up lines, in order.
got=$(grep -E ' INFO zipnet_client: (spawning zipnet client client=[0-9a-f]{10}|zipnet up: network=zipnet instance=nettest peer=[0-9a-f]{32} role=client|client booting; waiting for rosters)$' \
  "$W/alice.log" | sed -E 's/^[^ ]+ //; s/client=[0-9a-f]+/client=ID/; s/peer=[0-9a-f]+/peer=ID/')
want="INFO zipnet_client: spawning zipnet client client=ID
INFO zipnet_client: zipnet up: network=zipnet instance=nettest peer=ID role=client
INFO zipnet_client: client booting; waiting for rosters"
[ "$got" = "$want" ] || fail "start-up lines: $got"
[ "$(count "$W/alice.log" 'DEBUG zipnet_client: client=[0-9a-f]+ sealed envelope round=')" -ge 2 ] ||
  fail "no DEBUG line per sealed envelope"
[ "$(count "$W/alice.log" 'delivered in round [0-9]+: "hello from alice"')" -eq 2 ] ||
  fail "alice's deliveries"
[ "$(count "$W/watch.out" 'slot [0-9]+: valid "hello from alice"')" -ge 2 ] || fail "watcher: alice"
[ "$(count "$W/watch.out" 'slot [0-9]+: valid "bob: ünïcode ok"')" -ge 2 ] || fail "watcher: bob"
[ "$(count "$W/watch.out" 'finalized: 8 participants, 3 signatures')" -ge 1 ] ||
  fail "no record with all 8 clients and 3 signatures"
grep 'aborted' "$W/watch.out" | grep -v 'aborted: too-few-participants' && fail "a round aborted"
# JSON lines: every line one object of a documented event; the messages in valid slots.
grep -vE '^\{"round":[0-9]+,"event":"(finalized|aborted)",' "$W/watch.json" && fail "JSON watcher: not an event line"
[ "$(count "$W/watch.json" '\{"slot":[0-9]+,"state":"valid","message":"hello from alice","message_hex":"68656c6c6f2066726f6d20616c696365"\}')" -ge 2 ] ||
  fail "JSON watcher: alice"
[ "$(count "$W/watch.json" '"message":"bob: ünïcode ok"')" -ge 2 ] || fail "JSON watcher: bob"
[ "$(count "$W/watch.json" '"event":"finalized","participants":8,"signatures":3,')" -ge 1 ] ||
  fail "JSON watcher: no record with all 8 clients and 3 signatures"
echo "watcher saw $(count "$W/watch.out" "finalized|aborted") rounds"
