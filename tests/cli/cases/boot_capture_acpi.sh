# tdximage capture-acpi: boots the Debian 13 image's kernel and OVMF with a capture initramfs
# under this machine's QEMU (TCG) and reads the ACPI blobs OVMF measures into RTMR0; the capture
# is reproducible; mrtd-calc measure --acpi gives the same RTMR0; another memory size gives
# another RTMR0; a TD capture on a QEMU without TDX fails naming QEMU's complaint; a recipe's
# measure.acpi refuses a capture of another QEMU than its host's, and with one (this machine's
# tables relabeled as QEMU 10.1 from a TD: no TDX here) pins that host's RTMR0 and diagnose
# compares it.
command -v qemu-system-x86_64 >/dev/null || { echo "skipped: qemu-system-x86_64 is not installed"; exit 77; }
R="$RECIPES/debian13/tdx-hello.yaml"
hexes() { sed -E 's/[0-9a-f]{96}/<hex>/g; s/[0-9a-f]{16}(…|\.\.\.)/<hex>.../g; s/is not [0-9a-f]+/is not <hex>/; s/captured from QEMU emulator version [^ ]+ \(.*\)\)$/captured from <qemu>)/; s/QEMU emulator version [^ ]+ \([^)]*\)/<qemu>/g'; }
"$TDXIMAGE" -q capture-acpi "$R" -o cap.json --timeout 240 | hexes
"$TDXIMAGE" -q capture-acpi "$R" -o cap2.json --timeout 240 > capture2.out
cmp -s cap.json cap2.json && echo "a second capture is byte-identical"
r0=$(sed -n 's/^RTMR0 at MEMORY=512M[^:]*: //p' capture2.out)
"$TDXIMAGE" -q build "$R" --out out >/dev/null
d=out/tdx-hello-debian13/tdx-hello-debian13
m=$("$MRTD_CALC" measure --ovmf "$d-ovmf.fd" --memory 512M --host qemu=10.1,ovmf=2025.02-8+deb13u1 \
      --acpi cap.json 2>warn)
hexes < warn
[ "$(echo "$m" | sed -n 's/^RTMR0: *//p')" = "$r0" ] && echo "mrtd-calc measure --acpi: RTMR0 equals capture-acpi's"
echo "RTMR0 events: $(echo "$m" | grep -c '^  [0-9a-f]\{96\}  ')"
"$TDXIMAGE" -q capture-acpi "$R" -o cap1g.json --memory 1G --timeout 240 > capture1g.out
[ "$(sed -n 's/^RTMR0 at MEMORY=1G[^:]*: //p' capture1g.out)" != "$r0" ] && echo "MEMORY=1G: another RTMR0"
{ "$TDXIMAGE" -q capture-acpi "$R" -o tdx.json --accel tdx --timeout 60 2>&1 || echo "exit $?"; } |
  grep -E '^tdximage: error|^exit|tdx-guest' | cut -c1-120 | hexes
[ ! -e tdx.json ] && echo "nothing written"
# The recipe path: measure.acpi with a file source holding the capture.
mkdir -p r/acpi
cp "$R" "${R%.yaml}.lock" r/
cp cap.json r/acpi/10.1.json
sed -i 's|^  busybox:$|  acpi-10-1: {file: acpi/10.1.json}\n  busybox:|; s|^measure: {hosts: \["10.1", "10.2"\]}|measure: {hosts: ["10.1"], acpi: {"10.1": acpi-10-1}}|' r/tdx-hello.yaml
"$TDXIMAGE" -q --offline lock r/tdx-hello.yaml
{ "$TDXIMAGE" -q --offline build r/tdx-hello.yaml --out rout 2>&1 || echo "exit $?"; } | hexes
sed -i 's|"qemu": "QEMU emulator version [^"]*"|"qemu": "QEMU emulator version 10.1.0 (relabeled by this test)"|; s|"accel": "tcg"|"accel": "tdx"|' r/acpi/10.1.json
"$TDXIMAGE" -q --offline lock r/tdx-hello.yaml
"$TDXIMAGE" -q --offline build r/tdx-hello.yaml --out rout | grep -E 'RTMR0' | hexes
p=rout/tdx-hello-debian13/tdx-hello-debian13
# The launcher warns that another shape changes the RTMR0 the policy pins (and not without).
TDX=0 "$p-run-qemu.sh" --print-cmd 2>&1 >/dev/null | grep -c 'RTMR0 changes' || true
MEMORY=1G CPUS=2 TDX=0 "$p-run-qemu.sh" --print-cmd 2>&1 >/dev/null | grep 'RTMR0 changes' | cut -c1-150
grep -E '^# .*RTMR0|rtmr0' "$p-policy.yaml" | hexes
echo "events not predicted in the eventlog: $(grep -c '"predicted": false' "$p-eventlog.json" || true)"
pinned=$(sed -n 's/^ *rtmr0: *"\{0,1\}\([0-9a-f]*\)"\{0,1\}$/\1/p' "$p-policy.yaml" | head -1)
[ "$pinned" = "$r0" ] && echo "the policy pins the RTMR0 capture-acpi printed"
# Mock evidence claiming the image's measurements (its first host's RTMR0 too) passes the policy
# (allow_mock set for the test); the same with the RTMR0 of MEMORY=1G is refused.
rd=$(printf '0%.0s' $(seq 128))
sed 's/^allow_mock: false$/allow_mock: true/' "$p-policy.yaml" > dev.yaml
"$TDX_ATTEST" quote --provider mock --mock-from "$p-measurements.json" --report-data "$rd" --out q.bin 2>/dev/null
"$TDX_ATTEST" check q.bin --policy dev.yaml | sed 's/ (MOCK.*//'
r0_1g=$(sed -n 's/^RTMR0 at MEMORY=1G[^:]*: //p' capture1g.out)
"$TDX_ATTEST" quote --provider mock --report-data "$rd" --out q1g.bin \
  --mock-from "mr_td=$(cat "$p-mrtd.hex"),rtmr0=$r0_1g,rtmr1=$(cat "$p-rtmr1.hex"),rtmr2=$(cat "$p-rtmr2.hex")" 2>/dev/null
{ "$TDX_ATTEST" check q1g.bin --policy dev.yaml 2>&1 || echo "exit $?"; } | grep -E 'RTMR0|^exit' | cut -c1-100 | hexes
"$MRTD_CALC" diagnose --expected "$p-eventlog.json" --rtmr0 "$r0" --rtmr1 "$(cat "$p-rtmr1.hex")" |
  grep -E '^(matches host|  RTMR0|result)' | hexes
"$MRTD_CALC" diagnose --expected "$p-eventlog.json" \
  --rtmr0 "$(sed -n 's/^RTMR0 at MEMORY=1G[^:]*: //p' capture1g.out)" --rtmr1 "$(cat "$p-rtmr1.hex")" |
  grep -E '^(closest host|  RTMR0|    cause|result)' | cut -c1-140 | hexes
