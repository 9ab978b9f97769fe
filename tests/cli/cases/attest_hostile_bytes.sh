# Forged quotes whose bytes are not text (red-team finding: `--json` aborted with exit 134 when a
# certificate name or the PEM chain was not UTF-8): the real quote with one PEM byte replaced by
# 0xff, and a test-PKI quote whose PCK certificate is named "\xff\xfe<ESC>[2J forged". Every
# command ends with its own exit code and prints the bytes escaped.
V=$SHARED/vectors/dcap-qvl
[ -f "$V/tdx_quote" ] || { echo "skipped: $V absent"; exit 77; }
cp "$V/tdx_quote" pem.quote
off=$(($(grep -boa 'BEGIN CERTIFICATE' pem.quote | head -n 1 | cut -d: -f1) + 40))
printf '\377' | dd of=pem.quote bs=1 seek="$off" conv=notrunc status=none
printf 'version: 1\nsets:\n  - name: any\n    mr_td: "%s"\n' "$(printf 'ab%.0s' {1..48})" > p.yaml
C="--collateral $V/tdx_quote_collateral.json --at 2025-07-01T00:00:00Z"
run() { local rc=0; "$TDX_ATTEST" "$@" > out.json 2> err.txt || rc=$?; echo "exit $rc"; }
run show --json pem.quote
grep -o '"pck_chain_pem": "-----BEGIN CERTIFICATE-----\\nMIIE8TCCBJagAwIBA\\\\xff[^\\]*' out.json
run verify --json pem.quote $C
cat out.json err.txt
run check --json pem.quote --policy p.yaml $C
grep -o '"admitted": [a-z]*' out.json
cp "$FIXTURES"/forged-cn* .
F=forged-cn
R="--collateral $F-collateral.json --root-ca $F-root.pem --at 2025-07-01T00:00:00Z"
run show --json "$F.quote"
run verify --json "$F.quote" $R
cat out.json err.txt
run check --json "$F.quote" --policy p.yaml $R
grep -o '"admitted": [a-z]*' out.json
run check "$F.quote" --policy p.yaml $R
cat out.json err.txt
