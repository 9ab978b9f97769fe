#!/usr/bin/env bash
# A TDX-gated deployment whose every node presents simulated TDX evidence (the development PKI of
# one seed, collateral and root from `tdx-attest sim-pki`) on every link: the client of the
# admitted image gets its message into a fully signed record; a client of another image, a mock
# client, a development client (no committee policy) and a client replaying a copied quote are
# refused, each for its reason (silently: ConnectTimeout; strict: Attestation at once); a server
# of another image, or of the same image with another round timing from its host, is absent for
# the committee, and for a watcher, which prints why.
source "$(dirname "$0")/lib.sh"
simulated_tdx "zipnet net test"
SERVER_IMAGE=$(IMAGE 10 11 12) CLIENT_IMAGE=$(IMAGE 20 21 22) OTHER_CLIENT=$(IMAGE 20 21 23)
OTHER_SERVER=$(IMAGE 10 11 13)
POLICY client-image zipnet-client 20 21 22 >"$W/clients.yaml"
POLICY server-image zipnet-server 10 11 12 >"$W/committee.yaml"
make_committee 3
gate=(--tdx-gating on --policy "$W/clients.yaml")
for i in 1 2 3; do ZIPNET_SIM_MEASUREMENTS=$SERVER_IMAGE start_server "$i" "${gate[@]}"; done
ZIPNET_SIM_MEASUREMENTS=$SERVER_IMAGE start_aggregator --committee-policy "$W/committee.yaml"
wait_for "$W/s1.log" 'committee formed: 3 servers' 20
wait_for "$W/s1.log" 'server [0-9a-f]+ attested \(.*\): policy set this-server-image' 5

client=(--committee-policy "$W/committee.yaml")
ZIPNET_SIM_MEASUREMENTS=$CLIENT_IMAGE run_client alice 0 "${client[@]}" --message "attested hello" \
  --max-messages 1 --connect-timeout 20
grep -q 'delivered' "$W/alice.log" || fail "alice: no delivery"
wait_for "$W/s1.log" 'client [0-9a-f]+ attested \(.*\): policy set client-image' 1

# Refused, silently: ConnectTimeout after 2 s; each server logs why.
ZIPNET_SIM_MEASUREMENTS=$OTHER_CLIENT run_client other 3 "${client[@]}" --connect-timeout 2
wait_for "$W/s1.log" "refused client [0-9a-f]+ from .*: attestation \(policy\): policy refused the evidence: set 'client-image': RTMR2 2323232323232323\.\.\. is not 2222" 5
run_client mock 3 --evidence mock --connect-timeout 2
wait_for "$W/s2.log" 'refused client [0-9a-f]+ from .*: attestation \(mock\): mock evidence \(no quote\); a zipnet-client must present a TDX quote' 5
ZIPNET_SIM_MEASUREMENTS=$CLIENT_IMAGE run_client dev 3 --connect-timeout 2
wait_for "$W/s3.log" 'refused client [0-9a-f]+ from .*: attestation \(policy\): policy refused the evidence: launch.development: ' 5
# A host holding a copy of a quote of the admitted image (made for some other session).
"$TDX_ATTEST" quote --provider simulated --sim-seed "$ZIPNET_SIM_SEED" --mock-from "$CLIENT_IMAGE" \
  --report-data "$(printf '00%.0s' {1..64})" --out "$W/copied.quote" >/dev/null 2>&1 ||
  fail "tdx-attest quote --provider simulated"
run_client replay 3 "${client[@]}" --quote-file "$W/copied.quote" --connect-timeout 2
wait_for "$W/s1.log" 'refused client [0-9a-f]+ from .*: attestation \(binding\): the quote was not made for this connection' 5

# A server of another image: peers refuse it, and a watcher bootstrapped with it says why.
ZIPNET_SIM_MEASUREMENTS=$OTHER_SERVER start_outsider 9 "${gate[@]}"
wait_for "$W/s1.log" "refused server [0-9a-f]+ from .*: attestation \(policy\): policy refused the evidence: set 'this-server-image': RTMR2 1313131313131313\.\.\. is not 1212" 10
# The same image with a committee-wide setting (round timing) taken from the host: its launch
# record differs from the committee's, so its peers refuse it.
ZIPNET_SIM_MEASUREMENTS=$SERVER_IMAGE TDX_HOST_SETTINGS=ZIPNET_ROUND_PERIOD_MS start_outsider 8 "${gate[@]}"
wait_for "$W/s1.log" "refused server [0-9a-f]+ from .*: attestation \(policy\): policy refused the evidence: set 'this-server-image': the host set ZIPNET_ROUND_PERIOD_MS \(to '300'\), which it pins unset" 10
s9=$("$B/zipnet-server" --identity "$W/s9.key" --show-identity | sed 's/^peer=\([0-9a-f]*\) .*/\1/')
timeout 10 "$B/zipnet-client" --watch --max-rounds 1 "${client[@]}" --evidence mock --connect-timeout 3 \
  --bootstrap "$s9@127.0.0.1:$(port 9)" >"$W/watch.out" 2>"$W/watch.log" || true
grep -q "^refused server $s9 (127.0.0.1:$(port 9)): attestation (policy): policy refused the evidence: set 'server-image': RTMR2 1313131313131313\.\.\. is not 1212" "$W/watch.out" ||
  fail "watcher: no refusal line"

# Strict surfacing: a committee that tells refused clients why; a client that ends when it
# refuses a server.
for i in 1 2 3; do kill "${PIDS[$((i - 1))]}"; done
sleep 0.5
for i in 1 2 3; do ZIPNET_SIM_MEASUREMENTS=$SERVER_IMAGE start_server "$i" "${gate[@]}" --strict-attestation; done
ZIPNET_SIM_MEASUREMENTS=$OTHER_CLIENT run_client strict-other 4 "${client[@]}" --connect-timeout 20
run_client strict-replay 4 "${client[@]}" --quote-file "$W/copied.quote" --connect-timeout 20
ZIPNET_SIM_MEASUREMENTS=$CLIENT_IMAGE run_client strict-client 4 "${client[@]}" --strict-attestation \
  --bootstrap "$s9@127.0.0.1:$(port 9)" --connect-timeout 20
got=$(grep -h 'zipnet-client: error:' "$W/strict-other.log" "$W/strict-replay.log" "$W/strict-client.log" |
  sed -E 's/[0-9a-f]{16}…/X…/g; s/server [0-9a-f]{10}:/server S:/')
want="zipnet-client: error: Attestation(\"policy refused the evidence: set 'client-image': RTMR2 2323232323232323... is not 2222222222222222...\")
zipnet-client: error: Attestation(\"the quote was not made for this connection (REPORTDATA X…, this session's X…)\")
zipnet-client: error: Attestation(\"server S: policy refused the evidence: set 'server-image': RTMR2 1313131313131313... is not 1212121212121212...\")"
[ "$got" = "$want" ] || fail "strict errors: $got"
echo "$got"
