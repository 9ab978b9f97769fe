#!/usr/bin/env bash
# An aggregator tree across processes: 3 servers, a root aggregator and 3 leaves (ZIPNET_LEAVES
# in the servers' rosters, ZIPNET_CHILDREN at the root, ZIPNET_PARENT at each leaf). Clients
# spread over the leaves by client id; each leaf folds its clients' envelopes and the root folds
# the leaves' aggregates (one signature each) for the servers. One leaf is killed mid-run and
# restarted: rounds go on meanwhile (its clients move to the next leaf, their envelopes of that
# round are retried), and every talker's messages are delivered.
source "$(dirname "$0")/lib.sh"
export ZIPNET_TDX_GATING=off
# Slower rounds than the other tests: a leaf folds a quarter of the fold time before its parent,
# and its clients' envelopes must reach it first, also under the sanitizers on a busy machine.
export ZIPNET_ROUND_PERIOD_MS=1000 ZIPNET_FOLD_MS=600 ZIPNET_ROUND_DEADLINE_MS=2500
make_committee 3
leaf_id() { "$B/zipnet-aggregator" --identity "$W/leaf$1.key" --show-identity | sed 's/^peer=\([0-9a-f]*\) .*/\1/'; }
leaves="" children=""
for i in 1 2 3; do
  id=$(leaf_id "$i")
  leaves="$leaves${leaves:+,}$id@127.0.0.1:$(port $((10 + i)))"
  children="$children${children:+,}$id"
done
export ZIPNET_LEAVES=$leaves
for i in 1 2 3; do start_server "$i"; done
start_aggregator --children "$children"
start_leaf() {  # start_leaf I: leaf I, a child of the root; sets LAST_PID
  env -u ZIPNET_BOOTSTRAP ZIPNET_LISTEN=127.0.0.1:$(port $((10 + $1))) \
    ZIPNET_PARENT="$ZIPNET_AGGREGATOR" timeout "$NODE_SECONDS" "$B/zipnet-aggregator" \
    --identity "$W/leaf$1.key" >>"$W/leaf$1.log" 2>&1 &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}
for i in 1 2 3; do start_leaf "$i"; done
LEAF2=${PIDS[-2]}
wait_for "$W/agg.log" 'child aggregator [0-9a-f]+ connected \(3/3\)' 20
timeout 110 "$B/zipnet-client" --watch >"$W/watch.out" 2>"$W/watch.log" &
PIDS+=("$!")
# Clients pick their leaf by their (random) id: with 3 talkers and 9 cover clients a leaf got
# none in about 2% of runs (3 x (2/3)^12) and the check below waited in vain; with 30 cover
# clients that is 3 x (2/3)^33, about 5 in a million.
start_client cover --clients 30
talkers=()
for t in alice bob carol; do
  start_client "$t" --message "$t through the tree" --max-messages 4
  talkers+=("$LAST_PID")
done
wait_for "$W/watch.out" 'valid "alice through the tree"' 60
for i in 1 2 3; do
  wait_for "$W/leaf$i.log" 'round [0-9]+: aggregate of [1-9][0-9]* envelopes sent to the parent' 20
done
echo "every leaf folds envelopes of its clients"

kill "$LEAF2"
wait "$LEAF2" 2>/dev/null || true
mv "$W/leaf2.log" "$W/leaf2-before.log"
down=$(count "$W/watch.out" 'finalized')
sleep 5
[ "$(count "$W/watch.out" 'finalized')" -ge $((down + 2)) ] || fail "rounds stopped while a leaf was down"
grep -qE 'child aggregator [0-9a-f]+ disconnected' "$W/agg.log" || fail "the root did not see leaf 2 go"
moved=$(cat "$W"/cover.log "$W"/alice.log "$W"/bob.log "$W"/carol.log |
  grep -c 'link to the aggregator closed' || true)
[ "$moved" -ge 1 ] || fail "no client was on leaf 2"
grep -qE 'aggregator: leaf [0-9] of 3' "$W/cover.log" || fail "no leaf choice logged"
echo "leaf 2 down: its clients moved to the next leaf, rounds go on"
start_leaf 2
wait_for "$W/agg.log" 'child aggregator [0-9a-f]+ connected \(3/3\)' 20
for p in "${talkers[@]}"; do wait "$p" || fail "a talker exited with $?"; done
for t in alice bob carol; do
  [ "$(count "$W/$t.log" 'delivered in round')" -eq 4 ] || fail "$t: $(count "$W/$t.log" 'delivered in round') of 4 messages"
done
grep -qE 'round [0-9]+: aggregate of [0-9]+ envelopes sent to 3 servers' "$W/agg.log" || fail "root"
echo "all 12 messages delivered across the leaf's restart"
