# Two builds of recipes/debian in different directories, with different umask, TZ, LANG and
# working directory, give byte-identical outputs; the published measurements equal mrtd-calc's.
R="$RECIPES/debian/tdx-hello.yaml"
mkdir a b
(cd a && umask 022 && TZ=UTC LANG=C "$TDXIMAGE" -q build "$R" --out out >/dev/null)
(cd b && umask 077 && TZ=Asia/Tokyo LANG=de_DE.UTF-8 SOURCE_DATE_EPOCH=0 "$TDXIMAGE" -q build "$R" --out "$PWD/out" >/dev/null)
diff -r a/out b/out && echo "outputs identical: $(ls a/out/tdx-hello-debian | wc -l) files"
d=a/out/tdx-hello-debian/tdx-hello-debian
m=$("$MRTD_CALC" --json measure --ovmf "$d-ovmf.fd" --kernel "$d-vmlinuz" --initrd "$d-initramfs.cpio.gz" \
      --memory 512M --cmdline console=ttyS0 --ovmf-layout pre-stable202411)
field() { echo "$m" | sed -n "s/^  \"$1\": \"\([0-9a-f]*\)\".*/\1/p"; }
[ "$(cat "$d-mrtd.hex")" = "$(field mr_td)" ] && echo "mrtd.hex equals mrtd-calc"
[ "$(cat "$d-rtmr1.hex")" = "$(field rtmr1)" ] && echo "rtmr1.hex equals mrtd-calc"
[ "$(cat "$d-rtmr2.hex")" = "$(field rtmr2)" ] && echo "rtmr2.hex equals mrtd-calc"
# The virtio_net closure on the 6.12 cloud kernel: failover, net_failover, virtio_net, in order.
grep -o '"/lib/modules/[^"]*\.ko"' "$d-manifest.json" | head -0
sed -n '/"modules": \[/,/\]/p' "$d-manifest.json" | grep -o '[a-z_-]*\.ko' | head -3
# The emitted policy admits exactly these measurements (both page orders) and parses.
grep -c "$(cat "$d-mrtd.hex")" "$d-policy.yaml"
grep -c "$(cat "$d-rtmr1.hex")" "$d-policy.yaml"
"$TDX_ATTEST" quote --provider mock --mock-from "$d-measurements.json" --report-data "$(printf '00%.0s' {1..64})" --out mock.bin 2>/dev/null
"$TDX_ATTEST" check mock.bin --policy "$d-policy.yaml" | sed 's/^  //' || true
