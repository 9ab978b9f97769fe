# The debian server image as shipped (TDX gating on, measured) booted by a hostile host that slips
# its own settings into the guest's fw_cfg file (red-team findings 1-3: gating off from the host
# admitted a mock client; the host chose the server's policy path, its identity and its minimum of
# participants). The guest ignores every one of them and names them, its identity is born in the
# TD, and a mock client is refused.
img=$E2E_IMAGES/zipnet-server-debian
if [ ! -f "$img/zipnet-server-debian-run-qemu.sh" ]; then
  printf 'version: 1\nsets:\n  - name: any\n    mr_td: "%s"\n' "$(printf 'ab%.0s' {1..48})" > policy.yaml
  "$TDXIMAGE" -q --input client-policy=policy.yaml build "$RECIPES/debian/zipnet-server.yaml" --out out >/dev/null
  img=$PWD/out/zipnet-server-debian
fi
source "$(dirname "${BASH_SOURCE[0]}")/../lib/zipnet_server_boot.sh" "$img" zipnet-server-debian hostile
run_client mallory 3 --message "from a mock client" --connect-timeout 15
wait_for "$W/boot.log" 'refused registration of client' 30
kill -TERM "$VM"
wait "$VM" || true
sed -i 's/\r$//' "$W/boot.log"
grep -o 'tdx-init: ignoring .*' "$W/boot.log"
grep -o 'tdx-init: settings from the host (not measured):.*' "$W/boot.log"
grep -o 'zipnet_server: created identity file /run/zipnet-server.key (mode 0600)' "$W/boot.log"
grep -o 'refused registration of client [0-9a-f]*: .*' "$W/boot.log" | head -n 1 |
  sed 's/client [0-9a-f]*/client ID/'
grep -q 'TDX gating is off' "$W/boot.log" && echo "gating was turned off" || echo "gating stayed on"
