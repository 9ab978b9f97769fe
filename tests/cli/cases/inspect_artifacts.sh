# inspect: an out dir, a launcher (payload checked, files listed) and an initramfs.
R="$RECIPES/debian/tdx-hello.yaml"
"$TDXIMAGE" -q build "$R" --out out >/dev/null
d=out/tdx-hello-debian
"$TDXIMAGE" inspect "$d" | sed -n '1p;3p' | sed 's|sha256 [0-9a-f]*|sha256 <sha>|g'
"$TDXIMAGE" inspect "$d/tdx-hello-debian-run-qemu.sh" | sed -n '/launcher payload/,/inputs:/p' | awk '{print $NF}'
"$TDXIMAGE" inspect "$d/tdx-hello-debian-initramfs.cpio.zst" | grep -E ' /init$| /bin/busybox$| /lib/modules/.*/virtio_net.ko$' | awk '{print $1, $NF}'
"$TDXIMAGE" --json inspect "$d" | grep -c '"path": "/usr/bin/tdx-hello"'
"$TDXIMAGE" inspect "$d/tdx-hello-debian-mrtd.hex" 2>&1 || echo "exit $?"
