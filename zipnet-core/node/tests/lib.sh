# Shared helpers of the zipnet network tests (bash, sourced). Every test starts its own
# committee on loopback ports, runs each process under `timeout`, and kills what it started on
# exit. Needs ZIPNET_BIN (the directory with zipnet-server, -aggregator, -client, zipnet_probe).
# NODE_SECONDS bounds each background node (default 120).
set -euo pipefail
B=$ZIPNET_BIN
NODE_SECONDS=${NODE_SECONDS:-120}
export ZIPNET_INSTANCE=${ZIPNET_INSTANCE:-nettest}
# Fast rounds for tests: open every 300 ms, fold for 100 ms, give up after 1 s.
export ZIPNET_ROUND_PERIOD_MS=300 ZIPNET_FOLD_MS=100 ZIPNET_ROUND_DEADLINE_MS=1000
W=$(mktemp -d)
PIDS=()
# descendants PID: every process below PID (children first), except the subshell that lists them.
descendants() {
  local p
  for p in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    [ "$p" = "$BASHPID" ] && continue
    echo "$p"
    descendants "$p"
  done
}
# On exit every process this test started is stopped, not only the ones in PIDS: a launcher's
# QEMU, or a process behind a subshell, would otherwise outlive the test and keep its ports while
# the port block below is released to the next test. The block is released once they are gone.
cleanup() {
  local rc=$? left
  # (Listed before any is stopped: a stopped parent's children are no longer below this shell.)
  left=$(descendants $$)
  for p in "${PIDS[@]}" $left; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for _ in $(seq 1 100); do
    left=$(descendants $$)
    [ -n "$left" ] || break
    sleep 0.1
  done
  [ -z "$left" ] || kill -KILL $left 2>/dev/null || true
  # A node whose `timeout` was stopped between its fork and its bookkeeping is no longer below
  # this shell, and no timeout bounds it: found by this test's directory in its arguments (its
  # identity file), so that it cannot keep a port of the block released below.
  if pkill -TERM -f -- "$W/" 2>/dev/null; then
    for _ in $(seq 1 50); do pgrep -f -- "$W/" >/dev/null || break; sleep 0.1; done
    pkill -KILL -f -- "$W/" 2>/dev/null || true
  fi
  if [ $rc -ne 0 ]; then
    for f in "$W"/*.log "$W"/*.out; do
      [ -f "$f" ] || continue
      echo "--- $(basename "$f") (last 25 lines)"
      tail -n 25 "$f"
    done
  fi
  rm -rf "$W" "${PORT_LOCK:-}"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; exit 1; }

# Loopback ports: a block of 100 below Linux's ephemeral range (32768 and up, where outgoing
# connections would take them), reserved with a lock directory so that tests running in
# parallel never share one; a lock whose owner is gone is taken over.
BASE=
for _ in $(seq 1 200); do
  b=$((20000 + (RANDOM % 120) * 100))
  lock=${TMPDIR:-/tmp}/zipnet-net-ports.$b
  if mkdir "$lock" 2>/dev/null ||
    { owner=$(cat "$lock/pid" 2>/dev/null || true); [ -n "$owner" ] && ! kill -0 "$owner" 2>/dev/null; }; then
    echo $$ >"$lock/pid"
    BASE=$b
    PORT_LOCK=$lock
    break
  fi
done
[ -n "$BASE" ] || { echo "FAIL: no free block of test ports"; exit 1; }
port() { echo $((BASE + $1)); }

# make_committee N: identities for N servers and the aggregator; sets COMMITTEE and AGGREGATOR.
make_committee() {
  local n=$1 list=""
  for i in $(seq 1 "$n"); do
    local id
    id=$("$B/zipnet-server" --identity "$W/s$i.key" --show-identity | sed 's/^peer=\([0-9a-f]*\) .*/\1/')
    list="$list${list:+,}$id@127.0.0.1:$(port "$i")"
  done
  local aid
  aid=$("$B/zipnet-aggregator" --identity "$W/agg.key" --show-identity | sed 's/^peer=\([0-9a-f]*\) .*/\1/')
  export ZIPNET_COMMITTEE=$list ZIPNET_BOOTSTRAP=$list
  export ZIPNET_AGGREGATOR=$aid@127.0.0.1:$(port 0)
}

# start_server I [extra args]: runs server I in the background (log $W/sI.log); sets LAST_PID.
start_server() {
  local i=$1
  shift
  ZIPNET_LISTEN=127.0.0.1:$(port "$i") timeout "$NODE_SECONDS" "$B/zipnet-server" --identity "$W/s$i.key" \
    "$@" >>"$W/s$i.log" 2>&1 &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}

# start_outsider I [ARGS...]: a server outside the committee (identity s$I.key, port I) whose own
# committee list is the first server and itself: it dials server 1, which judges it.
start_outsider() {
  local i=$1
  shift
  local me
  me=$("$B/zipnet-server" --identity "$W/s$i.key" --show-identity | sed 's/^peer=\([0-9a-f]*\) .*/\1/')
  ZIPNET_LISTEN=127.0.0.1:$(port "$i") \
    ZIPNET_COMMITTEE="$(echo "$ZIPNET_COMMITTEE" | cut -d, -f1),$me@127.0.0.1:$(port "$i")" \
    timeout "$NODE_SECONDS" "$B/zipnet-server" --identity "$W/s$i.key" "$@" >>"$W/s$i.log" 2>&1 &
  PIDS+=("$!")
}

start_aggregator() {
  ZIPNET_LISTEN=127.0.0.1:$(port 0) timeout "$NODE_SECONDS" "$B/zipnet-aggregator" \
    --identity "$W/agg.key" "$@" >>"$W/agg.log" 2>&1 &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}

# start_client NAME [args]: a client in the background (log $W/NAME.log).
start_client() {
  local name=$1
  shift
  timeout "$NODE_SECONDS" "$B/zipnet-client" "$@" >"$W/$name.log" 2>&1 &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}

# run_client NAME EXIT [args]: a client in the foreground (stderr in $W/NAME.log, 30 s at most);
# fails unless it exits with EXIT. Sets MS to how long it ran.
run_client() {
  local name=$1 want=$2 start code
  shift 2
  start=$(date +%s%N)
  set +e
  timeout 30 "$B/zipnet-client" "$@" >/dev/null 2>"$W/$name.log"
  code=$?
  set -e
  MS=$((($(date +%s%N) - start) / 1000000))
  [ "$code" -eq "$want" ] || fail "$name: exit $code, expected $want"
}

# wait_for FILE PATTERN SECONDS: until grep -E PATTERN FILE matches.
wait_for() {
  local file=$1 pattern=$2 secs=$3 i
  for i in $(seq 1 $((secs * 10))); do
    if [ -f "$file" ] && grep -qE -- "$pattern" "$file"; then return 0; fi
    sleep 0.1
  done
  fail "no '$pattern' in $(basename "$file") after ${secs}s"
}

# signed_record FILE MESSAGE: waits (5 s at most) for MESSAGE in a valid slot of the watcher
# output FILE, then prints that record's round line and the slot line, numbers replaced by N, K and I (the
# round line carries how many servers signed it).
signed_record() {
  local file=$1 msg=$2 i
  for i in $(seq 1 50); do grep -qF "valid \"$msg\"" "$file" && break; sleep 0.1; done
  awk -v m="$msg" '/^round [0-9]+ finalized/ {r = $0} $0 ~ /^  slot [0-9]+: valid "/ {
      line = $0; sub(/^  slot [0-9]+: valid "/, "", line)
      if (line == m "\"") {
        sub(/^round [0-9]+/, "round N", r); sub(/[0-9]+ participants/, "K participants", r)
        sub(/slot [0-9]+/, "slot I"); print r; print; exit
      }
    }' "$file"
}

# count FILE PATTERN: number of matching lines.
count() { grep -cE -- "$2" "$1" || true; }

# metrics PORT: the Prometheus text from 127.0.0.1:PORT/metrics (bash's /dev/tcp).
metrics() {
  exec 9<>"/dev/tcp/127.0.0.1/$1"
  printf 'GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n' >&9
  timeout 5 cat <&9
  exec 9<&-
}

# simulated_tdx SEED: every node started after this presents simulated TDX evidence (the
# development PKI of SEED; tdx-attest sim-pki writes its root and current collateral) and
# verifies its peers' against that root. IMAGE MR_TD-byte RTMR1-byte RTMR2-byte prints the
# measurements an image claims (ZIPNET_SIM_MEASUREMENTS); POLICY NAME PROGRAM the same three bytes
# prints a policy admitting that image running PROGRAM. Needs TDX_ATTEST.
simulated_tdx() {
  [ -x "${TDX_ATTEST:-}" ] || { echo "skipped: TDX_ATTEST (tdx-attest) not given"; exit 77; }
  "$TDX_ATTEST" sim-pki --seed "$1" --out "$W/pki" >/dev/null
  export ZIPNET_TDX_COLLATERAL=$W/pki/collateral.json ZIPNET_TDX_ROOT_CA=$W/pki/dev-root.pem
  export ZIPNET_EVIDENCE=simulated ZIPNET_SIM_SEED=$1
}
hex48() { printf "$1%.0s" {1..48}; }
IMAGE() { printf 'mr_td=%s rtmr1=%s rtmr2=%s' "$(hex48 "$1")" "$(hex48 "$2")" "$(hex48 "$3")"; }
POLICY() {
  printf 'version: 1\nsets:\n  - name: %s\n    program: %s\n    mr_td: "%s"\n    rtmr1: "%s"\n    rtmr2: "%s"\n' \
    "$1" "$2" "$(hex48 "$3")" "$(hex48 "$4")" "$(hex48 "$5")"
}
