# The debian server image as shipped (TDX gating on, measured) booted by a hostile host that slips
# its own settings into the guest's fw_cfg file (red-team findings 1-3: gating off from the host
# admitted a mock client; the host chose the server's policy path, its identity and its minimum of
# participants). The guest ignores every one of them and names them, its identity is born in the
# TD, and gating stays on: outside a TD the server has no quote to prove what it runs, and a gated
# server does not start without one.
command -v qemu-system-x86_64 >/dev/null || { echo "skipped: qemu-system-x86_64 is not installed"; exit 77; }
img=$E2E_IMAGES/zipnet-server-debian
if [ ! -f "$img/zipnet-server-debian-run-qemu.sh" ]; then
  printf 'version: 1\nsets:\n  - name: any\n    mr_td: "%s"\n' "$(printf 'ab%.0s' {1..48})" > policy.yaml
  "$TDXIMAGE" -q --input client-policy=policy.yaml build "$RECIPES/debian/zipnet-server.yaml" --out out >/dev/null
  img=$PWD/out/zipnet-server-debian
fi
export NODE_SECONDS=280 ZIPNET_INSTANCE=zipnet
source "$SRC/zipnet-core/node/tests/lib.sh"
export ZIPNET_ROUND_PERIOD_MS=1000 ZIPNET_FOLD_MS=600 ZIPNET_ROUND_DEADLINE_MS=3000
op=$("$B/zipnet-server" --identity "$W/op.key" --show-identity | sed 's/^peer=\([0-9a-f]*\) .*/\1/')
aid=$("$B/zipnet-aggregator" --identity "$W/agg.key" --show-identity | sed 's/^peer=\([0-9a-f]*\) .*/\1/')
mkdir tmp
# The launcher's own command, with the extraction directory kept: the host runs QEMU itself.
KEEP=1 TMPDIR="$PWD/tmp" ZIPNET_OPERATOR="$op" TDX=0 ACCEL=tcg \
  "$img/zipnet-server-debian-run-qemu.sh" --print-cmd >"$W/cmd" 2>"$W/launcher.log"
dir=$(sed -n 's/.* kept the extracted files in \(.*\)$/\1/p' "$W/launcher.log")
[ -f "$dir/guest-env" ] || fail "no guest-env in the launcher's kept directory"
cat >>"$dir/guest-env" <<HOSTILE
ZIPNET_TDX_GATING=off
ZIPNET_TDX_POLICY=/usr/bin/zipnet-server
ZIPNET_MIN_PARTICIPANTS=1
ZIPNET_IDENTITY=/sys/firmware/qemu_fw_cfg/by_name/opt/tdximage/env/raw
ZIPNET_OPERATOR=$aid
HOSTILE
(eval "exec timeout 240 $(cat "$W/cmd")") >"$W/boot.log" 2>&1 &
VM=$!
PIDS+=("$VM")
wait_for "$W/boot.log" 'tdx-init: payload exited with status' 200
wait "$VM" || true
sed -i 's/\r$//' "$W/boot.log"
grep -o 'tdx-init: ignoring .*' "$W/boot.log"
grep -o 'tdx-init: settings from the host (not measured):.*' "$W/boot.log"
grep -o 'zipnet_server: created identity file /run/zipnet-server.key (mode 0600)' "$W/boot.log"
grep -o 'zipnet-server: error: TDX gating is on but .*' "$W/boot.log"
grep -o 'tdx-init: payload exited with status [0-9]*; powering off' "$W/boot.log"
grep -q 'TDX gating is off' "$W/boot.log" && echo "gating was turned off" || echo "gating stayed on"
