#!/usr/bin/env bash
# Malformed, truncated and oversized frames (and plain TCP garbage) sent to a server and to the
# aggregator: each bad connection is closed, the nodes keep serving everyone else.
source "$(dirname "$0")/lib.sh"
export ZIPNET_TDX_GATING=off
make_committee 3
for i in 1 2 3; do start_server "$i" --log-level debug; done
start_aggregator --log-level debug
start_client alice --message "still here" --max-messages 3
ALICE=$LAST_PID
S1=${ZIPNET_COMMITTEE%%,*}
A=$ZIPNET_AGGREGATOR
wait_for "$W/alice.log" 'registered with all 3 servers' 20
for target in "$S1" "$A"; do
  for mode in oversized zero badtype malformed truncated v1hello; do
    out=$("$B/zipnet_probe" "$target" nettest "$mode") || fail "$mode to $target: $out"
    echo "$mode: $out" >>"$W/probe.out"
  done
  # Not TLS at all.
  exec 8<>"/dev/tcp/127.0.0.1/${target##*:}"
  printf 'GET / HTTP/1.1\r\n\r\n' >&8
  # Closed either way: EOF, or a reset when the node closes with our bytes unread (cat fails).
  rc=0
  timeout 10 cat <&8 >/dev/null 2>&1 || rc=$?
  [ "$rc" -ne 124 ] || fail "plain TCP to $target not closed"
  exec 8<&-
  "$B/zipnet_probe" "$target" nettest hello >>"$W/probe.out" || fail "$target stopped answering"
done
grep -q 'frame length 16777217 is not 1..262144 (before the peer'"'"'s Hello)' "$W/s1.log" || fail "server: oversized frame"
grep -q 'frame length 0 is not 1..262144 (before the peer'"'"'s Hello)' "$W/agg.log" || fail "aggregator: zero-length frame"
grep -q 'frame type 99 is not a zipnet message' "$W/s1.log" || fail "server: bad type"
grep -q 'Hello: params wire_version truncated\|Hello: .*truncated\|Hello.*needs' "$W/s1.log" ||
  fail "server: malformed Hello"
for log in s1 agg; do
  grep -q "INFO .*refused the link from 127.0.0.1:[0-9]*: Hello: wire_version 1 at offset 0x0 is not supported: this node speaks zipnet wire version 2 (the peer runs an older zipnet)" "$W/$log.log" ||
    fail "$log: no clear refusal of a version 1 Hello"
done
wait "$ALICE" || fail "alice exited with $?"
sed -E 's/ \(.*//' "$W/probe.out" | sort | uniq -c | sed -E 's/^ +//'
