# Booted images with simulated TDX evidence on every link (development-PKI quotes claiming each
# image's own measurements, with each program's launch record; the collateral from a test PCCS on
# the host, which every node fetches when it first judges a peer): a committee of two server
# images and client images, under TCG, on this host's loopback (guests reach it as 10.0.2.2). The
# operator judges each server's attestation before sending it the list; the servers judge each
# other by their own image and clients by the client image's policy (measured in the server
# image); the client judges every server by the committee policy its host gives it. The admitted
# client's message arrives in a record signed by both servers; a client of an image with one
# byte of payload changed is refused; so is a host-side process holding a copy of a quote of the
# admitted image; a server of the same image whose round timing came from its host is absent for
# its peers.
command -v qemu-system-x86_64 >/dev/null || { echo "skipped: qemu-system-x86_64 is not installed"; exit 77; }
export NODE_SECONDS=400
export ZIPNET_INSTANCE=zipnet  # measured in the images
source "$SRC/zipnet-core/node/tests/lib.sh"
export ZIPNET_ROUND_PERIOD_MS=1000 ZIPNET_FOLD_MS=600 ZIPNET_ROUND_DEADLINE_MS=3000
"$TDX_ATTEST" sim-pki --seed boot-e2e --out pki >/dev/null
mkdir r
# The recipes as development builds for simulated TDX: the development PKI's seed and root are
# inputs of the images, measured; a server admits a committee of one participant. The PCCS the
# collateral comes from is the host's to say (ZIPNET_PCCS_URL, a host setting of the shipped
# recipes): what it serves is checked against the measured root.
sed -e 's/^name: zipnet-server-debian$/name: zipnet-server-sim/' \
  -e 's/ZIPNET_MIN_PARTICIPANTS: "8"/ZIPNET_MIN_PARTICIPANTS: "1"/' \
  -e "s|git: \.\./\.\.|git: $SRC|" \
  -e '/^    input: the measurement policy of the client images/a\  dev-root: {input: the development PKI root}' \
  -e '/^  - {source: client-policy, /a\  - {source: dev-root, to: /etc/zipnet/dev-root.pem, mode: "0644"}' \
  -e '/^    ZIPNET_TDX_POLICY: /a\    ZIPNET_EVIDENCE: simulated\n    ZIPNET_SIM_SEED: boot-e2e\n    ZIPNET_TDX_ROOT_CA: /etc/zipnet/dev-root.pem' \
  -e 's/^  host_env: \[ZIPNET_COMMITTEE,/  host_env: [ZIPNET_SIM_MEASUREMENTS, ZIPNET_COMMITTEE,/' \
  "$RECIPES/debian/zipnet-server.yaml" > r/zipnet-server-sim.yaml
cp "$RECIPES/debian/zipnet-server.lock" r/zipnet-server-sim.lock
client_recipe() {  # client_recipe NAME [EXTRA FILE LINE]
  sed -e "s/^name: zipnet-client-debian$/name: $1/" -e "s|git: \.\./\.\.|git: $SRC|" \
    -e '/^    version: 1:1.35.0/a\  dev-root: {input: the development PKI root}' \
    -e '/^  - {source: busybox, /a\  - {source: dev-root, to: /etc/zipnet/dev-root.pem, mode: "0644"}'"${2:+\n$2}" \
    -e 's|^  env: {ZIPNET_INSTANCE: zipnet, ZIPNET_EVIDENCE: auto}|  env: {ZIPNET_INSTANCE: zipnet, ZIPNET_EVIDENCE: simulated, ZIPNET_SIM_SEED: boot-e2e, ZIPNET_TDX_ROOT_CA: /etc/zipnet/dev-root.pem}|' \
    -e 's/^  host_env: \[ZIPNET_BOOTSTRAP,/  host_env: [ZIPNET_SIM_MEASUREMENTS, ZIPNET_BOOTSTRAP,/' \
    "$RECIPES/debian/zipnet-client.yaml" > "r/$1.yaml"
  cp "$RECIPES/debian/zipnet-client.lock" "r/$1.lock"
}
client_recipe zipnet-client-sim
client_recipe zipnet-client-other '  - {content: "one more byte\\n", to: /etc/other}'
build() { "$TDXIMAGE" -q --file-root "$SRC" --input dev-root=pki/dev-root.pem "$@" --out out >/dev/null; }
build build r/zipnet-client-sim.yaml
build build r/zipnet-client-other.yaml
build --input client-policy=out/zipnet-client-sim/zipnet-client-sim-policy.yaml build r/zipnet-server-sim.yaml
claims() {  # the measurements an image's simulated quotes claim, as its host states them
  printf 'mr_td=%s rtmr1=%s rtmr2=%s' "$(cat "out/$1/$1-mrtd.hex")" "$(cat "out/$1/$1-rtmr1.hex")" \
    "$(cat "out/$1/$1-rtmr2.hex")"
}
cmp -s out/zipnet-client-sim/zipnet-client-sim-rtmr2.hex out/zipnet-client-other/zipnet-client-other-rtmr2.hex &&
  fail "the other client image has the same RTMR2"
S=out/zipnet-server-sim/zipnet-server-sim
# The committee policy: the server image's own (a file for the operator and the aggregator, one
# line for the client's host to pass).
committee_inline="{version: 1, sets: [{name: server-sim, program: zipnet-server, mr_td: \"$(cat $S-mrtd.hex)\", rtmr1: \"$(cat $S-rtmr1.hex)\", rtmr2: \"$(cat $S-rtmr2.hex)\"}]}"
# The test PCCS: the development PKI's collateral in the PCS API shape, on this host's loopback.
mkdir served && cp pki/collateral.json served/dev.json
timeout 400 "$TDX_ATTEST" pccs-serve served --port-file pccs.port >"$W/pccs.out" 2>"$W/pccs.log" &
PIDS+=("$!")
for _ in $(seq 1 100); do [ -s pccs.port ] && break; sleep 0.1; done
[ -s pccs.port ] || fail "pccs-serve did not start"
export ZIPNET_TDX_ROOT_CA=$PWD/pki/dev-root.pem ZIPNET_PCCS_URL=http://127.0.0.1:$(cat pccs.port)
guest_pccs=http://10.0.2.2:$(cat pccs.port)
op=$("$B/zipnet-server" --identity "$W/op.key" --show-identity | sed 's/^peer=\([0-9a-f]*\) .*/\1/')
aid=$("$B/zipnet-aggregator" --identity "$W/agg.key" --show-identity | sed 's/^peer=\([0-9a-f]*\) .*/\1/')

declare -A VM
boot() {  # boot LOG IMAGE [VAR=value...]: the image's launcher under TCG in the background
  local log=$1 img=$2
  shift 2
  mkdir -p "tmp-$log"
  # (No subshell around it: the test's cleanup stops the launcher, which stops its QEMU.)
  env "$@" TDX=0 ACCEL=tcg TMPDIR="$PWD/tmp-$log" timeout 380 "out/$img/$img-run-qemu.sh" \
    >"$W/$log.log" 2>&1 &
  VM[$log]=$!
  PIDS+=("$!")
}
for i in 1 2 3; do
  extra=()
  # Server 3: the same image, another round period from its host: its launch record differs
  # from the others' in a committee-wide setting.
  [ "$i" = 3 ] && extra=(ZIPNET_ROUND_PERIOD_MS=1500)
  boot "s$i" zipnet-server-sim ZIPNET_OPERATOR="$op" HOSTFWD="tcp:127.0.0.1:$(port "$i")-:7801" \
    ZIPNET_SIM_MEASUREMENTS="$(claims zipnet-server-sim)" ZIPNET_PCCS_URL="$guest_pccs" "${extra[@]}"
done
sid=()
for i in 1 2 3; do
  wait_for "$W/s$i.log" 'waiting for the committee list from operator' 200
  sid[$i]=$(tr -d '\r' <"$W/s$i.log" | sed -n 's/.*(this server is peer \([0-9a-f]*\))$/\1/p')
done
echo "servers waiting for their committee list: 3"
# Servers 1 and 2 form the committee; server 3 is given a list naming server 1 and itself, and
# server 1 must refuse it.
configure() {  # configure I LIST
  ZIPNET_COMMITTEE=$2 ZIPNET_AGGREGATOR="$aid@10.0.2.2:$(port 0)" \
    "$B/zipnet-server" --configure "${sid[$1]}@127.0.0.1:$(port "$1")" --operator-identity "$W/op.key" \
    --evidence mock --committee-policy "$S-policy.yaml" | sed 's/^[0-9a-f]*@[0-9.]*:[0-9]*: /server: /'
}
pair="${sid[1]}@10.0.2.2:$(port 1),${sid[2]}@10.0.2.2:$(port 2)"
configure 1 "$pair"
configure 2 "$pair"
configure 3 "${sid[1]}@10.0.2.2:$(port 1),${sid[3]}@10.0.2.2:$(port 3)"
for i in 1 2; do wait_for "$W/s$i.log" 'committee formed: 2 servers' 120; done
echo "committee formed on servers 1 and 2"
wait_for "$W/s1.log" "refused server ${sid[3]:0:10} from .*: attestation \(policy\): policy refused the evidence: set 'this-server-image': the host set ZIPNET_ROUND_PERIOD_MS to '1500', not '1000'" 120
echo "server 3 (another round period from its host) refused by server 1: ZIPNET_ROUND_PERIOD_MS 1500, not 1000"

ZIPNET_BOOTSTRAP="${sid[1]}@127.0.0.1:$(port 1),${sid[2]}@127.0.0.1:$(port 2)" \
  start_aggregator --evidence mock --committee-policy "$S-policy.yaml"
timeout 300 "$B/zipnet-client" --watch --evidence mock --committee-policy "$S-policy.yaml" \
  --bootstrap "${sid[1]}@127.0.0.1:$(port 1),${sid[2]}@127.0.0.1:$(port 2)" >"$W/watch.out" 2>"$W/watch.log" &
PIDS+=("$!")
guest_bootstrap="${sid[1]}@10.0.2.2:$(port 1),${sid[2]}@10.0.2.2:$(port 2)"
client_env=(ZIPNET_BOOTSTRAP="$guest_bootstrap" ZIPNET_COMMITTEE_POLICY="$committee_inline"
  ZIPNET_PCCS_URL="$guest_pccs")
boot c zipnet-client-sim "${client_env[@]}" ZIPNET_SIM_MEASUREMENTS="$(claims zipnet-client-sim)" \
  ZIPNET_MESSAGE="hello, attested" ZIPNET_MAX_MESSAGES=1 ZIPNET_CONNECT_TIMEOUT=200
boot other zipnet-client-other "${client_env[@]}" \
  ZIPNET_SIM_MEASUREMENTS="$(claims zipnet-client-other)" ZIPNET_CONNECT_TIMEOUT=60
# A process on the host with a copy of a quote of the admitted image (made for another session).
"$TDX_ATTEST" quote --provider simulated --sim-seed boot-e2e --mock-from "$(claims zipnet-client-sim)" \
  --report-data "$(printf '00%.0s' {1..64})" --out copied.quote >/dev/null 2>&1
run_client copied 3 --quote-file copied.quote --committee-policy "$S-policy.yaml" \
  --bootstrap "${sid[1]}@127.0.0.1:$(port 1),${sid[2]}@127.0.0.1:$(port 2)" --connect-timeout 5
wait_for "$W/s1.log" 'refused client [0-9a-f]+ from .*: attestation \(binding\): the quote was not made for this connection' 10
echo "a copied quote on the host: refused (binding), ConnectTimeout"

exit_c=0 exit_other=0
wait "${VM[c]}" || exit_c=$?
wait "${VM[other]}" || exit_other=$?
for v in c other; do sed -i 's/\r$//' "$W/$v.log"; done
echo "admitted client's launcher: exit $exit_c"
# (Each guest fetches when it first judges a peer's quote; server 3, refused by server 1, may
# get there a little after the clients are done: each is given 30 s.)
fetching=0
for v in s1 s2 s3 c other; do
  for _ in $(seq 1 300); do
    tr -d '\r' <"$W/$v.log" | grep -q "collateral: fetched from $guest_pccs for each peer platform" &&
      { fetching=$((fetching + 1)); break; }
    sleep 0.1
  done
done
echo "guests fetching collateral from the test PCCS: $fetching"
grep -o 'zipnet_client: server [0-9a-f]* attested (10.0.2.2:[0-9]*): policy set server-sim' "$W/c.log" |
  awk '{print $3}' | sort -u | wc -l | sed 's/^/servers the client admitted: /'
signed_record "$W/watch.out" "hello, attested"
echo "other image's launcher: exit $exit_other"
grep -o 'zipnet-client: error: ConnectTimeout: .*' "$W/other.log" | sed 's/after [0-9]* ms/after T ms/'
# (One more file changes RTMR2, and RTMR1 too: QEMU writes the initrd's size into the kernel's
# setup header before it is measured.)
for i in 1 2; do
  grep -q "refused client [0-9a-f]* from .*: attestation (policy): policy refused the evidence: set 'zipnet-client-sim_qemu-10.1+ovmf-stable202211': RTMR1 $(cut -c1-16 out/zipnet-client-other/zipnet-client-other-rtmr1.hex)\.\.\. is not $(cut -c1-16 out/zipnet-client-sim/zipnet-client-sim-rtmr1.hex)" "$W/s$i.log" &&
    echo "server $i refused the other image: its RTMR1 is not the policy's"
done
true
