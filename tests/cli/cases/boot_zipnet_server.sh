# A server image built for development (the debian server recipe with gating off and a minimum
# of one participant) as a one-server committee: its identity is born in the TD, the operator
# sends it its committee list once it has printed its peer id (zipnet-server --configure), and a
# client on the host gets its message into a record signed by the guest. The launcher is
# stopped with TERM and leaves nothing behind but what KEEP=1 kept.
mkdir r
sed -e 's/^name: zipnet-server-debian$/name: zipnet-server-dev/' \
  -e 's/ZIPNET_TDX_GATING: "on"/ZIPNET_TDX_GATING: "off"/' \
  -e 's/ZIPNET_MIN_PARTICIPANTS: "8"/ZIPNET_MIN_PARTICIPANTS: "1"/' \
  -e "s|git: \.\./\.\.|git: $SRC|" \
  "$RECIPES/debian/zipnet-server.yaml" > r/zipnet-server-dev.yaml
cp "$RECIPES/debian/zipnet-server.lock" r/zipnet-server-dev.lock
printf 'version: 1\nsets:\n  - name: any\n    mr_td: "%s"\n' "$(printf 'ab%.0s' {1..48})" > policy.yaml
# The copy compiles the node from this checkout, which --file-root allows it to read.
"$TDXIMAGE" -q --file-root "$SRC" --input client-policy=policy.yaml build r/zipnet-server-dev.yaml \
  --out out >/dev/null
source "$(dirname "${BASH_SOURCE[0]}")/../lib/zipnet_server_boot.sh" "$PWD/out/zipnet-server-dev" zipnet-server-dev
timeout 120 "$B/zipnet-client" --watch >"$W/watch.out" 2>"$W/watch.log" &
PIDS+=("$!")
run_client alice 0 --message "hello from the host" --max-messages 1 --connect-timeout 25
record=$(signed_record "$W/watch.out" "hello from the host")
kill -TERM "$VM"
wait "$VM" || true
sed -i 's/\r$//' "$W/boot.log"
grep -o 'tdx-init: settings from the host (not measured):.*' "$W/boot.log"
grep -o 'zipnet_server: created identity file /run/zipnet-server.key (mode 0600)' "$W/boot.log"
grep -o 'zipnet_server: the operator sent a committee of 1 servers.*restarting with it' "$W/boot.log" |
  sed 's/aggregator [0-9a-f]*@[0-9.]*:[0-9]*/aggregator AGG/'
n=$(grep -c "zipnet_server: zipnet up: network=zipnet instance=zipnet peer=$SID role=server listen=0.0.0.0:7801" "$W/boot.log")
echo "zipnet up as the same peer before and after the operator's list: $n times"
echo "$record"
