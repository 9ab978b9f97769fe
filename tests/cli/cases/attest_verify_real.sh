# The real dcap-qvl quote against Intel's collateral and the shipped root: UpToDate inside the
# collateral's window, "collateral expired" after it; the outdated sample is not UpToDate.
V=$SHARED/vectors/dcap-qvl
[ -f "$V/tdx_quote" ] || { echo "skipped: $V absent"; exit 77; }
"$TDX_ATTEST" verify "$V/tdx_quote" --collateral "$V/tdx_quote_collateral.json" --at 2025-07-01T00:00:00Z | sed "s|$V/||"
"$TDX_ATTEST" --json verify "$V/tdx_quote" --collateral "$V/tdx_quote_collateral.json" --at 2025-07-01T00:00:00Z | grep -E '"(verified|accepted|status|advisory_ids)"'
{ "$TDX_ATTEST" verify "$V/tdx_quote" --collateral "$V/tdx_quote_collateral.json" --at 2025-08-01T00:00:00Z 2>&1 || echo "exit $?"; } | sed "s|$V/||"
"$TDX_ATTEST" --json verify "$V/tdx_quote" --collateral "$V/tdx_quote_collateral.json" --at 2025-08-01T00:00:00Z 2>/dev/null | grep '"check"' || true
{ "$TDX_ATTEST" verify "$V/tdx_quote_outdated" --collateral "$V/tdx_quote_outdated_collateral.json" --at 2026-03-01T00:00:00Z 2>&1 || echo "exit $?"; } | sed "s|$V/||"
