# The alpine recipe (upstream minirootfs pinned by URL + sha256, from ../shared/sources) rebuilt
# in two environments gives the same bytes; its musl busybox closure is checked in the image.
[ -f "$SHARED/sources/alpine-minirootfs-3.20.3-x86_64.tar.gz" ] || { echo "skipped: ../shared/sources absent"; exit 77; }
R="$RECIPES/alpine/tdx-hello.yaml"
mkdir a b
(cd a && umask 022 && TZ=UTC LANG=C "$TDXIMAGE" -q --offline build "$R" --out out >/dev/null) || {
  # Not everything cached yet (first run): fetch the pinned Debian packages once.
  (cd a && "$TDXIMAGE" -q build "$R" --out out >/dev/null)
}
(cd b && umask 077 && TZ=America/Lima LANG=fr_FR.UTF-8 "$TDXIMAGE" -q --offline build "$R" --out out >/dev/null)
diff -r a/out b/out && echo "outputs identical: $(ls a/out/tdx-hello-alpine | wc -l) files"
d=a/out/tdx-hello-alpine/tdx-hello-alpine
grep -c '"path": "/lib/ld-musl-x86_64.so.1"' "$d-manifest.json"
r2=$("$MRTD_CALC" measure --initrd "$d-initramfs.cpio.gz" --cmdline console=ttyS0 | sed -n 's/^RTMR2: *//p')
[ "$r2" = "$(cat "$d-rtmr2.hex")" ] && echo "rtmr2.hex equals mrtd-calc"
