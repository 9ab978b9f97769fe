# The debian zipnet server image as a one-server committee (TCG, TDX=0): its identity made on the
# host and passed base64-encoded (recipes/common/zipnet-server.sh), its port forwarded to the
# host's loopback (HOSTFWD); an aggregator, a client and a watcher on the host. The client's
# message comes back in a record signed by the server in the guest, whose peer id is the host's
# identity's. The launcher is stopped with TERM and leaves nothing behind.
command -v qemu-system-x86_64 >/dev/null || { echo "skipped: qemu-system-x86_64 is not installed"; exit 77; }
export NODE_SECONDS=280
source "$SRC/zipnet-core/node/tests/lib.sh"
export ZIPNET_ROUND_PERIOD_MS=1000 ZIPNET_FOLD_MS=600 ZIPNET_ROUND_DEADLINE_MS=3000
img=$E2E_IMAGES/zipnet-server-debian
if [ ! -f "$img/zipnet-server-debian-run-qemu.sh" ]; then
  "$TDXIMAGE" -q build "$RECIPES/debian/zipnet-server.yaml" --out out >/dev/null
  img=$PWD/out/zipnet-server-debian
fi
make_committee 1   # s1.key: the guest's identity; the server is reached at 127.0.0.1:$(port 1)
"$B/zipnet-server" --identity "$W/s1.key" --show-identity >"$W/want"
mkdir tmp
env -u ZIPNET_BOOTSTRAP -u ZIPNET_BIN ZIPNET_COMMITTEE="${ZIPNET_COMMITTEE%:*}:7801" \
  ZIPNET_IDENTITY_B64="$(base64 -w0 "$W/s1.key")" ZIPNET_TDX_GATING=off \
  HOSTFWD="tcp:127.0.0.1:$(port 1)-:7801" TDX=0 ACCEL=tcg TMPDIR="$PWD/tmp" \
  timeout 240 "$img/zipnet-server-debian-run-qemu.sh" >"$W/boot.log" 2>&1 &
VM=$!
PIDS+=("$VM")
wait_for "$W/boot.log" 'committee formed: 1 servers' 120
start_aggregator
timeout 120 "$B/zipnet-client" --watch >"$W/watch.out" 2>"$W/watch.log" &
PIDS+=("$!")
run_client alice 0 --message "hello from the host" --max-messages 1
record=$(signed_record "$W/watch.out" "hello from the host")
kill -TERM "$VM"
rc=0
wait "$VM" || rc=$?
echo "launcher exit $rc (TERM)"
sed -i 's/\r$//' "$W/boot.log"
grep -o 'zipnet-server.sh: identity from the host' "$W/boot.log"
grep -qxF "$(cat "$W/want")" "$W/boot.log" && echo "the guest's peer id is the host identity's"
grep -o 'zipnet_server: zipnet up: .* role=server listen=0.0.0.0:7801' "$W/boot.log" |
  sed 's/peer=[0-9a-f]*/peer=ID/'
echo "$record"
[ -z "$(ls -A tmp)" ] && echo "no temporary files left"
