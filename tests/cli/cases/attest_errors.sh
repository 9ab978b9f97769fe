# Malformed inputs and usage errors get their own messages and exit codes.
printf 'not a quote at all' > junk.bin
"$TDX_ATTEST" show junk.bin 2>&1 || echo "exit $?"
head -c 700 "$SHARED/vectors/dcap-qvl/tdx_quote" > cut.bin 2>/dev/null || { echo "skipped: shared absent"; exit 77; }
"$TDX_ATTEST" show cut.bin 2>&1 || echo "exit $?"
"$TDX_ATTEST" verify cut.bin --collateral x.json --at yesterday 2>&1 || echo "exit $?"
echo '{"pck_crl_issuer_chain": 1}' > bad.json
"$TDX_ATTEST" verify "$SHARED/vectors/dcap-qvl/tdx_quote" --collateral bad.json --at 2025-07-01T00:00:00Z 2>&1 | sed "s|$SHARED/||" || true
printf 'version: 1\nsets:\n  - name: x\n    mr_td: "12"\n    rtmr: 1\n' > p.yaml
"$TDX_ATTEST" check "$SHARED/vectors/dcap-qvl/tdx_quote" --policy p.yaml 2>&1 || echo "exit $?"
