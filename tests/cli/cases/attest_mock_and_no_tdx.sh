# On this machine (no TDX) configfs-tsm says exactly why there is no quote; the mock provider
# makes marked evidence that a TDX-gated policy rejects and an allow_mock policy admits.
if grep -qw tdx_guest /proc/cpuinfo; then echo "skipped: this is a TDX guest"; exit 77; fi
rd=$(printf '5a%.0s' {1..64})
"$TDX_ATTEST" quote --report-data "$rd" --out q.bin 2>&1 || echo "exit $?"
[ ! -e q.bin ] && echo "no q.bin written"
mrtd=$(printf '4c%.0s' {1..48})
"$TDX_ATTEST" quote --provider mock --mock-mrtd "$mrtd" --report-data "$rd" --out mock.bin 2>&1
"$TDX_ATTEST" show mock.bin | head -1
printf 'version: 1\nsets:\n  - name: dev\n    mr_td: "%s"\n' "$mrtd" > gated.yaml
printf 'version: 1\nallow_mock: true\nsets:\n  - name: dev\n    mr_td: "%s"\n' "$mrtd" > dev.yaml
"$TDX_ATTEST" check mock.bin --policy gated.yaml || echo "exit $?"
"$TDX_ATTEST" check mock.bin --policy dev.yaml --expect-report-data "$rd"
"$TDX_ATTEST" verify mock.bin --collateral /dev/null 2>&1 || echo "exit $?"
