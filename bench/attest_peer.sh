#!/usr/bin/env bash
# attest_peer.sh [BUILD_DIR]: quote verifications per second, ours (attest_bench: warm Verifier,
# and cold: collateral parsed and checked per quote) against Phala's dcap-qvl from the npm
# registry (@phala/dcap-qvl: JavaScript; @phala/dcap-qvl-web: WebAssembly) on the same quote,
# collateral and time, run alternately three times; prints the medians and the ratios.
# The peers are installed into a scratch directory removed afterwards, never into the project.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build/test}
V=${SHARED:-$here/../../shared}/vectors/dcap-qvl
at=1751328000  # 2025-07-01T00:00:00Z, inside the collateral's window
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
(cd "$scratch" && npm init -y >/dev/null &&
  npm install --silent --no-audit --no-fund @phala/dcap-qvl @phala/dcap-qvl-web >/dev/null)
js_version=$(node -p "require('$scratch/node_modules/@phala/dcap-qvl/package.json').version")
web_version=$(node -p "require('$scratch/node_modules/@phala/dcap-qvl-web/package.json').version")

warm=() cold=() js=() wasm=()
for _ in 1 2 3; do
  ours=$("$build/bench/attest_bench")
  warm+=("$(sed -n 's/.*quote verification, warm collateral: *\([0-9]*\) .*/\1/p' <<<"$ours")")
  cold+=("$(sed -n 's/.*cold verification.*: *\([0-9]*\) .*/\1/p' <<<"$ours")")
  peer=$(node "$here/peers/dcap_qvl_peer.mjs" "$scratch" "$V/tdx_quote" "$V/tdx_quote_collateral.json" "$at")
  js+=("$(awk '$1 == "js" {print $2}' <<<"$peer")")
  wasm+=("$(awk '$1 == "wasm" {print $2}' <<<"$peer")")
done
median() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
w=$(median "${warm[@]}") c=$(median "${cold[@]}") j=$(median "${js[@]}") a=$(median "${wasm[@]}")
echo "attest_peer: real dcap-qvl quote + Intel collateral, medians of 3 alternating runs"
printf '  ours, warm Verifier           %10.0f /s\n' "$w"
printf '  ours, cold (per-quote state)  %10.0f /s\n' "$c"
printf '  dcap-qvl %s (JavaScript)   %10.1f /s\n' "$js_version" "$j"
printf '  dcap-qvl-web %s (WASM)     %10.1f /s\n' "$web_version" "$a"
awk -v w="$w" -v c="$c" -v j="$j" -v a="$a" 'BEGIN {
  printf "  ratio warm/js %.0fx, warm/wasm %.0fx; cold/js %.1fx, cold/wasm %.1fx\n", w/j, w/a, c/j, c/a }'
