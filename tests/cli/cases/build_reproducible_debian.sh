# Two builds of recipes/debian in different directories, with different umask, TZ, LANG and
# working directory, give byte-identical outputs; the published measurements equal mrtd-calc's.
R="$RECIPES/debian/tdx-hello.yaml"
mkdir a b
(cd a && umask 022 && TZ=UTC LANG=C "$TDXIMAGE" -q build "$R" --out out >/dev/null)
(cd b && umask 077 && TZ=Asia/Tokyo LANG=de_DE.UTF-8 SOURCE_DATE_EPOCH=0 "$TDXIMAGE" -q build "$R" --out "$PWD/out" >/dev/null)
diff -r a/out b/out && echo "outputs identical: $(ls a/out/tdx-hello-debian | wc -l) files"
d=a/out/tdx-hello-debian/tdx-hello-debian
m=$("$MRTD_CALC" --json measure --ovmf "$d-ovmf.fd" --kernel "$d-vmlinuz" --initrd "$d-initramfs.cpio.gz" \
      --memory 512M --cmdline console=ttyS0 --host qemu=10.1,ovmf=2022.11)
field() { echo "$m" | sed -n "s/^  \"$1\": \"\([0-9a-f]*\)\".*/\1/p"; }
[ "$(cat "$d-mrtd.hex")" = "$(field mr_td)" ] && echo "mrtd.hex equals mrtd-calc"
[ "$(cat "$d-rtmr1.hex")" = "$(field rtmr1)" ] && echo "rtmr1.hex equals mrtd-calc"
[ "$(cat "$d-rtmr2.hex")" = "$(field rtmr2)" ] && echo "rtmr2.hex equals mrtd-calc"
# The virtio_net closure on the 6.12 cloud kernel: failover, net_failover, virtio_net, in order.
grep -o '"/lib/modules/[^"]*\.ko"' "$d-manifest.json" | head -0
sed -n '/"modules": \[/,/\]/p' "$d-manifest.json" | grep -o '[a-z_-]*\.ko' | head -3
# The emitted policy admits exactly the recipe's hosts (measure.hosts with Debian's OVMF 2022.11):
# each host's values, as mrtd-calc computes them for that host, are the set named after it.
grep -c '^  - name:' "$d-policy.yaml"
for h in 10.1 10.2 canonical-8.2; do
  m=$("$MRTD_CALC" --json measure --ovmf "$d-ovmf.fd" --kernel "$d-vmlinuz" --initrd "$d-initramfs.cpio.gz" \
        --memory 512M --cmdline console=ttyS0 --host "qemu=$h,ovmf=2022.11")
  set=$(grep -A3 "name: \"tdx-hello-debian_qemu-$h+ovmf-stable202211\"" "$d-policy.yaml")
  { echo "$set" | grep -q "mr_td: \"$(field mr_td)\"" && echo "$set" | grep -q "rtmr1: \"$(field rtmr1)\"" &&
    echo "$set" | grep -q "rtmr2: \"$(field rtmr2)\""; } && echo "host $h: the policy's set equals mrtd-calc --host"
done
"$TDX_ATTEST" quote --provider mock --mock-from "$d-measurements.json" --report-data "$(printf '00%.0s' {1..64})" --out mock.bin 2>/dev/null
"$TDX_ATTEST" check mock.bin --policy "$d-policy.yaml" | sed 's/^  //' || true
