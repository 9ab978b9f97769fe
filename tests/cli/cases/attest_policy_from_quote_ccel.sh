# policy-from-quote --ccel: the reference boot's firmware event log must replay to the quote's
# RTMR0-2; the pinned registers' events are listed in the policy's comment (escaped), and a pinned
# RTMR2 without events (dstack's kernel measures no command line) is warned about. Another TD's
# log is refused, naming the register. The quote is a simulated one claiming the real log's RTMRs.
L="$SHARED/vectors/dstack/ccel.bin"
[ -f "$L" ] || { echo "skipped: ../shared/vectors absent"; exit 77; }
A=$TDX_ATTEST
"$A" sim-pki --seed ccel --out pki --issued 2027-01-01T00:00:00Z >/dev/null
r=$("$MRTD_CALC" --json eventlog "$L")
reg() { echo "$r" | sed -n "s/^  \"$1\": \"\([0-9a-f]*\)\".*/\1/p"; }
M="mr_td=$(printf '4c%.0s' $(seq 48)) rtmr0=$(reg rtmr0) rtmr1=$(reg rtmr1) rtmr2=$(reg rtmr2)"
RD=$(printf '00%.0s' $(seq 64))
"$A" quote --provider simulated --sim-seed ccel --mock-from "$M" --report-data $RD --out ref.quote 2>/dev/null
"$A" policy-from-quote ref.quote --ccel "$L" --rtmr 1 --rtmr 2 --out learned.yaml 2>&1 | sed -E 's/[0-9a-f]{64}/<sha>/'
sed -n '/firmware.s event log/,/^[^#]/p' learned.yaml | sed -E 's/[0-9a-f]{64}/<sha>/; s/\.\/|\/[^ ]*\/ccel.bin/ccel.bin/'
C="--collateral pki/collateral.json --root-ca pki/dev-root.pem --at 2027-01-02T00:00:00Z"
"$A" check ref.quote --policy learned.yaml $C | head -1
# Another TD's quote with this log: refused, nothing written.
M2="mr_td=$(printf '4c%.0s' $(seq 48)) rtmr0=$(reg rtmr0) rtmr1=$(printf 'ab%.0s' $(seq 48)) rtmr2=$(reg rtmr2)"
"$A" quote --provider simulated --sim-seed ccel --mock-from "$M2" --report-data $RD --out other.quote 2>/dev/null
{ "$A" policy-from-quote other.quote --ccel "$L" --out other.yaml 2>&1 || echo "exit $?"; } |
  sed -E 's/[0-9a-f]{96}/<hex>/g; s/\/[^ ]*\/ccel.bin/ccel.bin/'
[ -e other.yaml ] || echo "other.yaml not written"
