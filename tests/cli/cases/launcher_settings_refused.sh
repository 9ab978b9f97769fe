# The launcher checks every setting before it reaches QEMU (red-team finding 10): EXTRA_QEMU_ARGS
# may not replace the measured kernel, initramfs, firmware or command line (QEMU takes the last
# -kernel, silently), SSH_PORT/HOSTFWD/GUESTFWD may not smuggle a guestfwd to a host command,
# and MEMORY is read in decimal as QEMU reads it (bash read 01000M as octal: 512 MiB, no RTMR1
# warning, while QEMU booted 1000 MiB).
command -v qemu-system-x86_64 >/dev/null || { echo "skipped: qemu-system-x86_64 is not installed"; exit 77; }
"$TDXIMAGE" -q build "$RECIPES/debian/tdx-hello.yaml" --out out >/dev/null
l=out/tdx-hello-debian/tdx-hello-debian-run-qemu.sh
try() { env TDX=0 ACCEL=tcg "$@" "$l" --print-cmd 2>&1 >/dev/null | sed "s|$PWD|PWD|g" | grep -v '^tdx-hello-debian: note:' || echo "exit $?"; }
echo > evil
try EXTRA_QEMU_ARGS="-kernel $PWD/evil"
try EXTRA_QEMU_ARGS="-S --initrd $PWD/evil"
try EXTRA_QEMU_ARGS="-bios $PWD/evil"
try EXTRA_QEMU_ARGS="-append init=/bin/sh"
try EXTRA_QEMU_ARGS="-device loader,file=$PWD/evil,addr=0x1000000"
try EXTRA_QEMU_ARGS="-drive if=pflash,format=raw,file=$PWD/evil"
try EXTRA_QEMU_ARGS="-fw_cfg name=opt/tdximage/env,file=$PWD/evil"
try EXTRA_QEMU_ARGS="-machine q35"
try SSH_PORT="2222,guestfwd=tcp:10.0.2.100:1-cmd:touch $PWD/pwned"
try HOSTFWD="tcp::8080-:80,guestfwd=tcp:10.0.2.100:1-cmd:touch $PWD/pwned"
try GUESTFWD="tcp:10.0.2.100:1-cmd:touch $PWD/pwned"
try MEMORY=0x200M
try CPUS="1,maxcpus=64"
try TDX=yes
[ ! -e pwned ] && echo "nothing ran on the host"
# Accepted forms still work: a disk, forwards, decimal memory with a leading zero.
TDX=0 ACCEL=tcg EXTRA_QEMU_ARGS="-drive file=$PWD/evil,format=raw,if=virtio -S" SSH_PORT=2222 \
  HOSTFWD=tcp:127.0.0.1:8080-:80 GUESTFWD=tcp:10.0.2.100:80-tcp:127.0.0.1:9000 \
  "$l" --print-cmd 2>/dev/null | grep -o 'user,id=n0[^ ]*\|-S$' 
TDX=0 ACCEL=tcg MEMORY=01000M "$l" --print-cmd 2>&1 >/dev/null | grep -o 'MEMORY=01000M differs.*RTMR1 changes' | head -n 1
TDX=0 ACCEL=tcg MEMORY=01000M "$l" --print-cmd 2>/dev/null | grep -o -- '-m 01000M'
