# Boot the alpine image's run-qemu.sh with TDX=0 under TCG: marker, HTTP body from the host,
# poweroff, exit 0, no temporary files left (see ../lib/boot.sh).
[ -f "$SHARED/sources/alpine-minirootfs-3.20.3-x86_64.tar.gz" ] || { echo "skipped: ../shared/sources absent"; exit 77; }
source "$(dirname "${BASH_SOURCE[0]}")/../lib/boot.sh" alpine tdx-hello-alpine
