# Measurement policies on the real quote: a rollout policy with an old and the current image
# admits it (verified), the same policy without collateral does not, a policy without the image
# says why, and a report_data binding that does not hold rejects it.
V=$SHARED/vectors/dcap-qvl
[ -f "$V/tdx_quote" ] || { echo "skipped: $V absent"; exit 77; }
mrtd=$("$TDX_ATTEST" --json show "$V/tdx_quote" | sed -n 's/.*"mr_td": "\([0-9a-f]*\)".*/\1/p')
old=$(printf 'ab%.0s' {1..48})
cat > rollout.yaml <<P
version: 1
sets:
  - name: image-old
    mr_td: "$old"
  - name: image-new
    mr_td: "$mrtd"
    tcb_status: [UpToDate]
P
cat > only-old.json <<P
{"version": 1, "sets": [{"name": "image-old", "mr_td": "$old"}]}
P
C="--collateral $V/tdx_quote_collateral.json --at 2025-07-01T00:00:00Z"
"$TDX_ATTEST" check "$V/tdx_quote" --policy rollout.yaml $C | sed "s|$V/||"
"$TDX_ATTEST" check "$V/tdx_quote" --policy rollout.yaml | sed "s|$V/||" || echo "exit $?"
"$TDX_ATTEST" check "$V/tdx_quote" --policy only-old.json $C | sed "s|$V/||" || echo "exit $?"
"$TDX_ATTEST" check "$V/tdx_quote" --policy rollout.yaml $C --bind zipnet/test/v1 --field 00 | sed "s|$V/||" || echo "exit $?"
