# mrtd-calc diagnose on the debian tdx-hello image's own files: the values each of its hosts gives
# match that host; values a TD would show with one launch setting or host fact changed (computed
# independently with mrtd-calc measure) are named with their cause; a corrupted expected log and
# contradictory arguments are refused.
R="$RECIPES/debian/tdx-hello.yaml"
"$TDXIMAGE" -q build "$R" --out out >/dev/null
d=out/tdx-hello-debian/tdx-hello-debian
x=(--expected "$d-eventlog.json")
inputs=(--ovmf "$d-ovmf.fd" --kernel "$d-vmlinuz" --initrd "$d-initramfs.cpio.gz")
field() { sed -n "s/^$1: *//p"; }
# measure with one thing changed (CMDLINE too); prints diagnose's MR_TD, RTMR1 and RTMR2 arguments.
values() {
  local m; m=$("$MRTD_CALC" measure "${inputs[@]}" --cmdline "${CMDLINE:-console=ttyS0}" "$@")
  echo "--mrtd $(echo "$m" | grep '^MR_TD' | sed 's/.*: *//') --rtmr1 $(echo "$m" | field RTMR1) --rtmr2 $(echo "$m" | field RTMR2)"
}
show() { grep -E '^(matches host|closest host|    cause|result)' | cut -c1-150; }
echo "== the image's hosts"
for h in 10.1 10.2 canonical-8.2; do
  "$MRTD_CALC" diagnose "${x[@]}" $(values --memory 512M --host "qemu=$h,ovmf=2022.11") | grep '^matches host'
done
echo "== MEMORY=1G"
"$MRTD_CALC" diagnose "${x[@]}" $(values --memory 1G --host qemu=10.1,ovmf=2022.11) | show
echo "== MEMORY=3G"
"$MRTD_CALC" diagnose "${x[@]}" $(values --memory 3G --host qemu=10.1,ovmf=2022.11) | show
echo "== a newer OVMF's event layout (the separator in RTMR1)"
"$MRTD_CALC" diagnose "${x[@]}" $(values --memory 512M --page-order single-pass --kernel-header qemu-patched --ovmf-layout stable202411) | show
echo "== another command line"
"$MRTD_CALC" diagnose "${x[@]}" $(CMDLINE="console=ttyS0 quiet" values --memory 512M --host qemu=10.1,ovmf=2022.11) | show
echo "== the measurements file: register values only"
"$MRTD_CALC" diagnose --expected "$d-measurements.json" $(values --memory 512M --host qemu=10.2,ovmf=2022.11) | show
"$MRTD_CALC" diagnose --expected "$d-measurements.json" $(values --memory 1G --host qemu=10.1,ovmf=2022.11) | show
echo "== json"
"$MRTD_CALC" --json diagnose "${x[@]}" $(values --memory 512M --host qemu=10.2,ovmf=2022.11) |
  grep -E '^  "(match|closest_host)"'
echo "== a quote file in hex (mock evidence claiming the image's measurements)"
"$TDX_ATTEST" quote --provider mock --mock-from "$d-measurements.json" \
  --report-data "$(printf '00%.0s' $(seq 64))" --out mock.bin 2>/dev/null
od -An -tx1 -v mock.bin | tr -d ' \n' >mock.hex
"$MRTD_CALC" diagnose "${x[@]}" --quote mock.hex | grep -E '^(actual|matches host)'
echo "== refusals"
sed 's/"rtmr2": "e/"rtmr2": "f/' "$d-eventlog.json" >bad.json
{ "$MRTD_CALC" diagnose --expected bad.json --rtmr1 "$(cat "$d-rtmr1.hex")" 2>&1 || echo "exit $?"; } | cut -c1-120
"$MRTD_CALC" diagnose "${x[@]}" 2>&1 || echo "exit $?"
"$MRTD_CALC" diagnose "${x[@]}" --quote "$SHARED/vectors/dcap-qvl/tdx_quote" --rtmr1 "$(cat "$d-rtmr1.hex")" 2>&1 || echo "exit $?"
