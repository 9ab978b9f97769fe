# inspect: an out dir, a launcher (payload checked, files listed) and an initramfs; a forged
# launcher is shown as self-consistent only, and verify names what differs.
R="$RECIPES/debian/tdx-hello.yaml"
"$TDXIMAGE" -q build "$R" --out out >/dev/null
d=out/tdx-hello-debian
"$TDXIMAGE" inspect "$d" | sed -n '1p;3p' | sed 's|sha256 [0-9a-f]*|sha256 <sha>|g'
"$TDXIMAGE" inspect "$d/tdx-hello-debian-run-qemu.sh" | sed -n '/launcher payload/,/inputs:/p' |
  awk 'NR == 1 || /measurements above/ { print; next } { print $NF }'
"$TDXIMAGE" inspect "$d/tdx-hello-debian-initramfs.cpio.gz" | grep -E ' /init$| /bin/busybox$| /lib/modules/.*/virtio_net.ko$' | awk '{print $1, $NF}'
"$TDXIMAGE" --json inspect "$d" | grep -c '"path": "/usr/bin/tdx-hello"'
"$TDXIMAGE" inspect "$d/tdx-hello-debian-mrtd.hex" 2>&1 || echo "exit $?"
# A forged launcher: its manifest and measurements claim another RTMR2, and the payload sha256
# and file sums in its header were replaced to match (red-team finding 12). inspect can only
# say the launcher agrees with itself; verify rebuilds and names the difference.
L=$d/tdx-hello-debian-run-qemu.sh
off=$(sed -n 's/^readonly PAYLOAD_OFFSET=\([0-9]*\).*/\1/p' "$L")
head -c "$off" "$L" > header
tail -c +$((off + 1)) "$L" > payload.tgz
mkdir p
tar -xzf payload.tgz -C p
real=$(cat "$d/tdx-hello-debian-rtmr2.hex")
fake=$(printf 'f%.0s' {1..96})
files=$(tar -tzf payload.tgz)
for f in tdx-hello-debian-manifest.json tdx-hello-debian-measurements.json; do
  old=$(sha256sum "p/$f" | cut -d' ' -f1)
  sed -i "s/$real/$fake/" "p/$f"
  sed -i "s/$old/$(sha256sum "p/$f" | cut -d' ' -f1)/" header
done
(cd p && tar --owner=0 --group=0 --mtime=@0 -czf ../forged.tgz $files)
sed -i "s/$(sha256sum < payload.tgz | cut -d' ' -f1)/$(sha256sum < forged.tgz | cut -d' ' -f1)/" header
cat header forged.tgz > forged-run-qemu.sh
"$TDXIMAGE" inspect forged-run-qemu.sh | sed -n '/^RTMR2/p;/launcher payload/p;/measurements above/p'
"$TDXIMAGE" -q verify "$R" --against forged-run-qemu.sh 2>&1 | grep -m1 RTMR2 || echo "exit $?"
