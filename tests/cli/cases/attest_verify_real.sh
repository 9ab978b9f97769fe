# The real dcap-qvl quote against Intel's collateral and the shipped root: UpToDate inside the
# collateral's window, "collateral expired" after it; the outdated sample is not UpToDate.
V=$SHARED/vectors/dcap-qvl
[ -f "$V/tdx_quote" ] || { echo "skipped: $V absent"; exit 77; }
"$TDX_ATTEST" verify "$V/tdx_quote" --collateral "$V/tdx_quote_collateral.json" --at 2025-07-01T00:00:00Z | sed "s|$V/||"
"$TDX_ATTEST" --json verify "$V/tdx_quote" --collateral "$V/tdx_quote_collateral.json" --at 2025-07-01T00:00:00Z | grep -E '"(verified|accepted|status|advisory_ids)"'
{ "$TDX_ATTEST" verify "$V/tdx_quote" --collateral "$V/tdx_quote_collateral.json" --at 2025-08-01T00:00:00Z 2>&1 || echo "exit $?"; } | sed "s|$V/||"
"$TDX_ATTEST" --json verify "$V/tdx_quote" --collateral "$V/tdx_quote_collateral.json" --at 2025-08-01T00:00:00Z 2>/dev/null | grep '"check"' || true
{ "$TDX_ATTEST" verify "$V/tdx_quote_outdated" --collateral "$V/tdx_quote_outdated_collateral.json" --at 2026-03-01T00:00:00Z 2>&1 || echo "exit $?"; } | sed "s|$V/||"
# The same quote as hex text (one line) and as base64 wrapped at 76 columns: read, and said so.
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
od -An -v -tx1 "$V/tdx_quote" | tr -d ' \n' > "$T/quote.hex"
base64 "$V/tdx_quote" > "$T/quote.b64"
"$TDX_ATTEST" verify "$T/quote.hex" --collateral "$V/tdx_quote_collateral.json" --at 2025-07-01T00:00:00Z | head -1 | sed "s|$T/||"
"$TDX_ATTEST" show "$T/quote.b64" | head -1 | sed "s|$T/||"
"$TDX_ATTEST" --json show "$T/quote.b64" | grep '"encoding"'
head -c 100 "$T/quote.hex" > "$T/short.hex"
{ "$TDX_ATTEST" show "$T/short.hex" 2>&1 || echo "exit $?"; } | sed "s|$T/||"
