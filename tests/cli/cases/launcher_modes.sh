# Launcher behaviour without a full boot: TDX command lines for both QEMU flavours, signals
# forwarded to qemu with the extraction directory removed, the recomputed RTMR1 when MEMORY
# changes (mrtd-calc on PATH), and the unpacked launch-tdx.sh checking out/<name>/.
command -v qemu-system-x86_64 >/dev/null || { echo "skipped: qemu-system-x86_64 is not installed"; exit 77; }
"$TDXIMAGE" -q build "$RECIPES/debian/tdx-hello.yaml" --out out >/dev/null
d=out/tdx-hello-debian
l=$d/tdx-hello-debian-run-qemu.sh
"$l" --print-cmd 2>/dev/null | grep -o 'confidential-guest-support=tdx0,kernel-irqchip=split' | head -n 1
"$l" --print-cmd 2>/dev/null | grep -o '{"qom-type":"tdx-guest","id":"tdx0"}' | head -n 1
QEMU_TDX_FLAVOR=canonical-8.2 "$l" --print-cmd 2>/dev/null | grep -o 'kernel_irqchip=split,confidential-guest-support=tdx0' | head -n 1
QEMU_TDX_FLAVOR=nope "$l" --print-cmd 2>&1 | tail -n 1 || true
# SIGTERM while qemu runs (started paused with -S): forwarded, temp dir removed, exit 143.
mkdir tmp
TDX=0 ACCEL=tcg TMPDIR="$PWD/tmp" EXTRA_QEMU_ARGS="-S" "$l" > run.log 2>&1 &
pid=$!
for i in $(seq 100); do pgrep -f "tmp/tdx-hello-debian" >/dev/null && break; sleep 0.1; done
sleep 0.5
kill -TERM $pid
rc=0; wait $pid || rc=$?
echo "launcher exit $rc"
sleep 0.5
pgrep -f "$PWD/tmp/tdx-hello-debian" >/dev/null && echo "qemu still running" || echo "qemu stopped"
[ -z "$(ls -A tmp)" ] && echo "no temporary files left"
# MEMORY changes RTMR1: the launcher recomputes it with mrtd-calc, which must agree.
got=$(PATH="$(dirname "$MRTD_CALC"):$PATH" TDX=0 MEMORY=1G "$l" --print-cmd 2>&1 >/dev/null | sed -n 's/.*RTMR1 at MEMORY=1G: \([0-9a-f]*\).*/\1/p')
want=$("$MRTD_CALC" measure --kernel $d/tdx-hello-debian-vmlinuz --initrd $d/tdx-hello-debian-initramfs.cpio.gz \
        --memory 1G --cmdline console=ttyS0 --ovmf-layout pre-stable202411 | sed -n 's/^RTMR1: *//p')
[ -n "$got" ] && [ "$got" = "$want" ] && echo "recomputed RTMR1 equals mrtd-calc"
MEMORY=8G TDX=0 "$l" --print-cmd 2>&1 >/dev/null | grep -c "RTMR1 changes" || true
"$d/tdx-hello-debian-launch-tdx.sh" --check 2>&1
# --list names every embedded file; --extract verifies and unpacks byte-identical files.
"$l" --list | awk '{print $2}'
"$l" --extract x 2>&1
for f in x/*; do cmp -s "$f" "$d/$(basename "$f")" || echo "differs: $f"; done
echo "extracted $(ls x | wc -l) files"
