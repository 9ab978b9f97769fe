#!/usr/bin/env bash
# Floods before authentication (red-team findings 4 and 5), with the findings' numbers: 100 TLS
# connections announcing 16 MiB frames to a server and 60 to the aggregator (they took 1.66 GB
# and 1.0 GB), 50 silent TLS connections (still open after 60 s), and plain TCP connections
# past the descriptor limit (the accept loop spun at 100% CPU; an honest client needed 31 s).
# Measured: peak RSS, CPU used during the flood, an honest client's delivery time beside each.
source "$(dirname "$0")/lib.sh"
export ZIPNET_TDX_GATING=off ZIPNET_HELLO_TIMEOUT_MS=2000
make_committee 1
pid_of() {  # the program `timeout` ($1) runs
  local p
  for _ in $(seq 1 50); do p=$(pgrep -P "$1" || true); [ -n "$p" ] && break; sleep 0.1; done
  echo "$p"
}
rss() { awk "/^$2:/ { print int(\$2 / 1024) }" "/proc/$1/status"; }  # MiB
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
start_server 1
S=$(pid_of "$LAST_PID")
start_aggregator
A=$(pid_of "$LAST_PID")
S1=${ZIPNET_COMMITTEE%%,*}
run_client warmup 0 --message "warm up" --max-messages 1
s0=$(rss "$S" VmRSS) a0=$(rss "$A" VmRSS)

# 1. Frames announcing 16 MiB from anyone, while an honest client talks.
"$B/zipnet_probe" "$S1" nettest flood-frames 100 6 >"$W/flood-s.out" &
F1=$!
"$B/zipnet_probe" "$ZIPNET_AGGREGATOR" nettest flood-frames 60 6 >"$W/flood-a.out" &
F2=$!
run_client alice 0 --message "during the frame flood" --max-messages 1
alice_ms=$MS
wait "$F1" "$F2"
s1=$(rss "$S" VmHWM) a1=$(rss "$A" VmHWM)
echo "frame flood: server $s0 -> peak $s1 MiB ($(cat "$W/flood-s.out")), aggregator $a0 -> peak $a1 MiB ($(cat "$W/flood-a.out")); honest client delivered in $alice_ms ms"
[ $((s1 - s0)) -lt 64 ] || fail "server grew by $((s1 - s0)) MiB under the frame flood"
[ $((a1 - a0)) -lt 64 ] || fail "aggregator grew by $((a1 - a0)) MiB under the frame flood"
read -r connected _ <<<"$(cat "$W/flood-s.out")"
grep -q "; $connected closed by the node" "$W/flood-s.out" || fail "frame flood: $(cat "$W/flood-s.out")"

# 2. Silent TLS connections: closed once the Hello deadline (2 s) passes.
"$B/zipnet_probe" "$S1" nettest flood-silent 50 5 >"$W/silent.out"
echo "silent flood: $(cat "$W/silent.out")"
read -r connected _ <<<"$(cat "$W/silent.out")"
grep -q "; $connected closed by the node within 5 s" "$W/silent.out" || fail "silent: $(cat "$W/silent.out")"

# 3. Out of descriptors: the server restarted with 40 (the aggregator too: a lone restarted
#    server starts again at round 0). With its default cap (half of 40) it refuses what does not
#    fit instead of running out; an honest client gets in while 200 plain TCP connections are
#    held, without waiting for them to go away.
restart_server() {  # restart_server ARGS...: server 1 under `ulimit -n 40`, a new aggregator
  kill "$S" "$A"
  wait_for "$W/s1.log" 'signal 15: shutting down' 10
  : >"$W/s1.log"
  (ulimit -n 40 && exec env UBSAN_OPTIONS="${SERVER_UBSAN_OPTIONS:-${UBSAN_OPTIONS:-}}" \
    timeout "$NODE_SECONDS" "$B/zipnet-server" --identity "$W/s1.key" \
    --listen "127.0.0.1:$(port 1)" "$@") >>"$W/s1.log" 2>&1 &
  PIDS+=("$!")
  S=$(pid_of "$!")
  start_aggregator
  A=$(pid_of "$LAST_PID")
  wait_for "$W/s1.log" 'aggregator .* connected' 20
}
hz=$(getconf CLK_TCK)
restart_server
"$B/zipnet_probe" "$S1" nettest flood-tcp 200 10 >"$W/tcp.out" &
F3=$!
sleep 1
run_client bob 0 --message "during the descriptor flood" --max-messages 1
bob_ms=$MS
wait "$F3"
echo "descriptor flood (ulimit -n 40, 10 s): $(cat "$W/tcp.out"); honest client (from 1 s in) delivered in $bob_ms ms"
[ "$bob_ms" -lt 9000 ] || fail "the honest client waited for the flood to end ($bob_ms ms)"

# 4. Past the limit on purpose (a cap larger than the descriptors): no busy loop on EMFILE.
#    Under UBSan (the sanitizer pass of scripts/test), its vptr check probes memory through a
#    pipe, which a process out of descriptors cannot make (it reports an "invalid vptr" that is
#    not there): that check alone is suppressed for this server.
echo 'vptr:*' >"$W/ubsan.supp"
SERVER_UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}suppressions=$W/ubsan.supp"
restart_server --max-connections 1000
t0=$(cpu_ticks "$S")
"$B/zipnet_probe" "$S1" nettest flood-tcp 200 5 >"$W/emfile.out"
t1=$(cpu_ticks "$S")
cpu_ms=$(((t1 - t0) * 1000 / hz))
run_client carol 0 --message "after running out" --max-messages 1
echo "descriptor exhaustion (cap 1000, ulimit -n 40, 5 s): $(cat "$W/emfile.out"); server CPU ${cpu_ms} ms; honest client afterwards delivered in $MS ms"
[ "$cpu_ms" -lt 2500 ] || fail "the server used ${cpu_ms} ms of CPU in 5 s out of descriptors (spinning?)"
echo "ok: floods before authentication are bounded"
