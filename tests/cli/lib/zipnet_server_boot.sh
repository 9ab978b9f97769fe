# zipnet_server_boot.sh IMAGE_DIR NAME: sourced by the boot_zipnet_server case. Boots
# the server image IMAGE_DIR/NAME-run-qemu.sh under TCG (TDX=0), its port forwarded to this
# host's loopback; its identity is born in the TD, so it waits for its committee list, which the
# operator (an identity made here, passed as ZIPNET_OPERATOR) sends with `zipnet-server
# --configure` once the guest has printed its peer id. Sets SID (the guest's peer id), SPORT, VM;
# the aggregator runs on this host at $(port 0).
command -v qemu-system-x86_64 >/dev/null || { echo "skipped: qemu-system-x86_64 is not installed"; exit 77; }
boot_img=$1 boot_name=$2
export NODE_SECONDS=280
export ZIPNET_INSTANCE=zipnet  # measured in the image
source "$SRC/zipnet-core/node/tests/lib.sh"
export ZIPNET_ROUND_PERIOD_MS=1000 ZIPNET_FOLD_MS=600 ZIPNET_ROUND_DEADLINE_MS=3000
op=$("$B/zipnet-server" --identity "$W/op.key" --show-identity | sed 's/^peer=\([0-9a-f]*\) .*/\1/')
aid=$("$B/zipnet-aggregator" --identity "$W/agg.key" --show-identity | sed 's/^peer=\([0-9a-f]*\) .*/\1/')
SPORT=$(port 1)
mkdir tmp
# The launcher's own command, with the extraction directory kept: the host runs QEMU itself.
KEEP=1 TMPDIR="$PWD/tmp" ZIPNET_OPERATOR="$op" HOSTFWD="tcp:127.0.0.1:$SPORT-:7801" TDX=0 \
  ACCEL=tcg "$boot_img/$boot_name-run-qemu.sh" --print-cmd >"$W/cmd" 2>"$W/launcher.log"
dir=$(sed -n 's/.* kept the extracted files in \(.*\)$/\1/p' "$W/launcher.log")
[ -f "$dir/guest-env" ] || fail "no guest-env in the launcher's kept directory"
(eval "exec timeout 240 $(cat "$W/cmd")") >"$W/boot.log" 2>&1 &
VM=$!
PIDS+=("$VM")
wait_for "$W/boot.log" 'waiting for the committee list from operator' 150
# (The serial console ends lines with CR LF; QEMU keeps writing to boot.log, so it is read, never
# rewritten, until the guest is stopped.)
SID=$(tr -d '\r' <"$W/boot.log" | sed -n 's/.*(this server is peer \([0-9a-f]*\))$/\1/p')
[ -n "$SID" ] || fail "the guest printed no peer id"
for f in "$W"/*.key; do
  "$B/zipnet-server" --identity "$f" --show-identity | grep -q "peer=$SID " && fail "the guest's identity is $f"
done
ZIPNET_COMMITTEE="$SID@127.0.0.1:$SPORT" ZIPNET_AGGREGATOR="$aid@127.0.0.1:$(port 0)" \
  "$B/zipnet-server" --configure "$SID@127.0.0.1:$SPORT" --operator-identity "$W/op.key" |
  sed 's/^[0-9a-f]*@/ID@/; s/:[0-9]*: /:PORT: /'
wait_for "$W/boot.log" 'committee formed: 1 servers' 60
export ZIPNET_BOOTSTRAP="$SID@127.0.0.1:$SPORT"
start_aggregator
