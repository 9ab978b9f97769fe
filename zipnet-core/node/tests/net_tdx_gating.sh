#!/usr/bin/env bash
# A TDX-gated committee (policy from the real sample quote's MR_TD, DCAP collateral): a client
# with mock evidence is not admitted (ConnectTimeout, silently; Attestation in strict mode), and
# a client presenting the real sample quote — bound to other keys — is refused as well.
source "$(dirname "$0")/lib.sh"
V=${SHARED:-}/vectors/dcap-qvl
[ -f "$V/tdx_quote" ] || { echo "skipped: $V/tdx_quote absent"; exit 77; }
mrtd=$(od -An -tx1 -v -j 184 -N 48 "$V/tdx_quote" | tr -d ' \n')
cat >"$W/policy.yaml" <<P
version: 1
sets:
  - name: sample
    mr_td: "$mrtd"
P
make_committee 3
gate=(--tdx-gating on --policy "$W/policy.yaml" --collateral "$V/tdx_quote_collateral.json")
for i in 1 2 3; do start_server "$i" "${gate[@]}"; done
start_aggregator

# Silent drop: the mock client times out after its 2 s.
run_client mock 3 --evidence mock --connect-timeout 2
grep -q 'zipnet-client: error: ConnectTimeout: registered with 0 of 3 servers after 2000 ms' "$W/mock.log" ||
  fail "mock client: no ConnectTimeout line"
[ $MS -ge 2000 ] && [ $MS -lt 6000 ] || fail "ConnectTimeout after $MS ms"
wait_for "$W/s1.log" 'refused registration of client [0-9a-f]+: mock evidence is refused by a TDX-gated committee' 5

# The real quote replayed: its REPORTDATA does not bind this client's keys.
run_client replay 3 --quote-file "$V/tdx_quote" --connect-timeout 2
wait_for "$W/s2.log" 'refused registration of client [0-9a-f]+: report_data does not bind this client.s keys' 5

# Strict surfacing: the same two clients get Attestation("...") and exit 4 at once.
for i in 1 2 3; do kill "${PIDS[$((i - 1))]}"; done
sleep 0.5
for i in 1 2 3; do start_server "$i" "${gate[@]}" --strict-attestation; done
run_client strict-mock 4 --evidence mock --connect-timeout 20
run_client strict-replay 4 --quote-file "$V/tdx_quote" --connect-timeout 20
got=$(grep -h 'zipnet-client: error:' "$W/strict-mock.log" "$W/strict-replay.log" |
  sed -E 's/carries [0-9a-f]{16}…, expected [0-9a-f]{16}…/carries X…, expected Y…/')
want='zipnet-client: error: Attestation("mock evidence is refused by a TDX-gated committee")
zipnet-client: error: Attestation("report_data does not bind this client'"'"'s keys (the quote carries X…, expected Y…)")'
[ "$got" = "$want" ] || fail "strict errors: $got"
echo "$got"
