# The Debian 13 (trixie) image, built on this Debian 12 machine through a private apt
# configuration (recipe `suite: trixie`): boot its run-qemu.sh with TDX=0 under TCG (marker, HTTP
# body, poweroff; ../lib/boot.sh), then check what is new with trixie: its OVMF 2025.02 is the
# 4 MiB build with TDVF metadata, the measurements are those of upstream QEMU 10.1/10.2 with that
# OVMF (unmodified kernel, separator in RTMR1: one policy set), the OVMF_CODE_4M.fd beside it is
# refused naming the section that runs past its end, and a rebuild verifies bit for bit.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/boot.sh" debian13 tdx-hello-debian13
d=out/tdx-hello-debian13/tdx-hello-debian13
echo "ovmf.fd: $(stat -c %s "$d-ovmf.fd") bytes"
"$MRTD_CALC" inspect --ovmf "$d-ovmf.fd" | head -1
grep -c '^  - name:' "$d-policy.yaml"
grep -o 'qemu-1[0-9.]*+ovmf-stable202502: single-pass, kernel header unmodified, separator in RTMR1' "$d-policy.yaml"
m=$("$MRTD_CALC" measure --ovmf "$d-ovmf.fd" --kernel "$d-vmlinuz" --initrd "$d-initramfs.cpio.gz" \
      --cmdline console=ttyS0 --host qemu=10.1,ovmf=2025.02-8+deb13u1)
for r in RTMR1 RTMR2; do
  [ "$(echo "$m" | sed -n "s/^$r: *//p")" = "$(cat "$d-$(echo $r | tr A-Z a-z).hex")" ] &&
    echo "$r equals mrtd-calc --host qemu=10.1,ovmf=2025.02-8+deb13u1 (no --memory: unmodified)"
done
# The kernel is measured unmodified on every host: another MEMORY does not change RTMR1, and the
# launcher does not warn that it would.
MEMORY=1G TDX=0 "$d-run-qemu.sh" --print-cmd 2>&1 >/dev/null | grep -c "RTMR1 changes" || true
# RTMR0 against a real TDX guest's log (dstack's, OVMF >= stable202411): every event the image
# decides, its variable store's digest included, is that log's; its TD HOB is the one QEMU >= 10.1
# builds for 1 GiB (this image is measured for 512M); the kernel and RTMR2 are not the image's.
if [ -f "$SHARED/vectors/dstack/ccel.bin" ]; then
  "$MRTD_CALC" diagnose --expected "$d-eventlog.json" --eventlog "$SHARED/vectors/dstack/ccel.bin" |
    grep -E '^  RTMR0|^    cause' | sed -E 's/[0-9a-f]{16}…/<hex>…/g' | cut -c1-110
fi
# OVMF_CODE_4M.fd from the same package (the lock's pinned .deb, in the tdximage cache).
sha=$(grep -A3 '"ovmf": {' "$RECIPES/debian13/tdx-hello.lock" | sed -n 's/.*"sha256": "\([0-9a-f]*\)".*/\1/p')
mkdir ovmf && "$TDXIMAGE" extract "$TDXIMAGE_CACHE/sha256/$sha" usr/share/OVMF/OVMF_CODE_4M.fd -o ovmf/OVMF_CODE_4M.fd >/dev/null
{ "$MRTD_CALC" inspect --ovmf ovmf/OVMF_CODE_4M.fd 2>&1 || echo "exit $?"; } | sed 's|ovmf/||'
"$TDXIMAGE" -q verify "$RECIPES/debian13/tdx-hello.yaml" --against out/tdx-hello-debian13 | head -1
