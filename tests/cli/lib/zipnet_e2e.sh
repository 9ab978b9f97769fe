# zipnet_e2e.sh BASE [open|gated]: sourced by the boot_zipnet_* cases. The client image of
# recipes/BASE/zipnet-client.yaml end to end: a committee (3 servers, 1 aggregator) on this host's
# loopback, the image booted with TDX=0 under TCG (bounded by a timeout), reaching the committee
# through QEMU user networking (the guest sees the host as 10.0.2.2), its settings passed from
# the launcher's environment. Prints what the case's expected output checks.
#   open:  TDX gating off; the guest's ZIPNET_MESSAGE must appear in a fully signed record that a
#          watcher on the host reads, and the guest's client exits 0 after its delivery.
#   gated: TDX gating on with the image's own policy pinned (strict, so the refusal is answered),
#          the host's servers presenting simulated TDX evidence (they refuse to start gated with
#          mock evidence): the guest's mock evidence is refused at its Hello, in the guest's log,
#          the server's log and metrics.
# Uses the images of the zipnet_images fixture ($E2E_IMAGES) when present, else builds.
command -v qemu-system-x86_64 >/dev/null || { echo "skipped: qemu-system-x86_64 is not installed"; exit 77; }
e2e_base=$1 e2e_mode=${2:-open}
e2e_name=zipnet-client-$e2e_base
export NODE_SECONDS=280
# The image's instance is measured (payload.env): the committee on the host uses the same.
export ZIPNET_INSTANCE=zipnet
source "$SRC/zipnet-core/node/tests/lib.sh"
# Rounds slow enough for a client running under TCG emulation.
export ZIPNET_ROUND_PERIOD_MS=1000 ZIPNET_FOLD_MS=600 ZIPNET_ROUND_DEADLINE_MS=3000
img=${E2E_IMAGES:-}/$e2e_name
if [ ! -f "$img/$e2e_name-run-qemu.sh" ]; then
  "$TDXIMAGE" -q build "$RECIPES/$e2e_base/zipnet-client.yaml" --out out >/dev/null
  img=$PWD/out/$e2e_name
fi

make_committee 3
guest_bootstrap=${ZIPNET_BOOTSTRAP//@127.0.0.1:/@10.0.2.2:}
# The address the servers' rosters give clients for the aggregator: the guest's view of the host.
export ZIPNET_AGGREGATOR="${ZIPNET_AGGREGATOR%@*}@10.0.2.2:$(port 0)"
if [ "$e2e_mode" = gated ]; then
  "$TDX_ATTEST" sim-pki --seed e2e --out "$W/pki" >/dev/null
  # (Flags, not exported variables: the launcher would pass the client's names on to the guest.)
  gate=(--tdx-gating on --policy "$img/$e2e_name-policy.yaml" --strict-attestation
    --evidence simulated --sim-seed e2e --sim-measurements "mr_td=$(printf '10%.0s' {1..48})"
    --collateral "$W/pki/collateral.json" --root-ca "$W/pki/dev-root.pem")
else
  gate=(--tdx-gating off)
fi
start_server 1 "${gate[@]}" --metrics "127.0.0.1:$(port 50)"
for i in 2 3; do start_server "$i" "${gate[@]}"; done
start_aggregator
if [ "$e2e_mode" = open ]; then
  timeout 280 "$B/zipnet-client" --watch >"$W/watch.out" 2>"$W/watch.log" &
  PIDS+=("$!")
  wait_for "$W/watch.log" 'watching: 3 servers' 30
fi

msg="hello from the $e2e_base image"
mkdir tmp
rc=0
# The launcher passes only the names the image's host_env lists (ZIPNET_COMMITTEE and the round
# timing in this environment are the host committee's, and stay here).
ZIPNET_BOOTSTRAP="$guest_bootstrap" ZIPNET_MESSAGE="$msg" ZIPNET_MAX_MESSAGES=1 \
  ZIPNET_CONNECT_TIMEOUT=120 TDX=0 ACCEL=tcg TMPDIR="$PWD/tmp" \
  timeout 240 "$img/$e2e_name-run-qemu.sh" >"$W/boot.log" 2>&1 || rc=$?
echo "launcher exit $rc"
sed -i 's/\r$//' "$W/boot.log"  # the serial console ends lines with CR LF
grep -o "tdx-init: settings from the host (not measured):.*" "$W/boot.log" || cat "$W/boot.log"
grep -o 'zipnet_client: evidence: mock.*' "$W/boot.log"
if [ "$e2e_mode" = open ]; then
  grep -o 'zipnet_client: client=[0-9a-f]* registered with all 3 servers' "$W/boot.log" |
    sed 's/client=[0-9a-f]*/client=ID/'
  grep -o "tdx-init: payload exited with status [0-9]*; powering off" "$W/boot.log"
  # The message in a record: the round line above its slot must carry all 3 signatures.
  signed_record "$W/watch.out" "$msg"
else
  grep -o 'zipnet-client: error: Attestation(.*)' "$W/boot.log"
  grep -o "tdx-init: payload exited with status [0-9]*; powering off" "$W/boot.log"
  grep -o 'refused client [0-9a-f]* from [0-9.:]*: .*' "$W/s1.log" | head -n 1 |
    sed 's/client [0-9a-f]* from [0-9.]*:[0-9]*/client ID from ADDR/'
  refused=$(metrics "$(port 50)" |
    sed -n 's/^zipnet_peers_refused_total{reason="mock",role="client"} \([0-9.e+]*\)$/\1/p')
  awk -v n="${refused:-0}" 'BEGIN { print (n >= 1 ? "metric zipnet_peers_refused_total{reason=mock,role=client} >= 1" : "metric zipnet_peers_refused_total{reason=mock,role=client} = " n) }'
fi
[ -z "$(ls -A tmp)" ] && echo "no temporary files left"
