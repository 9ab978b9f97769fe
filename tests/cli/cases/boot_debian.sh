# Boot the debian image's run-qemu.sh with TDX=0 under TCG: marker, HTTP body from the host,
# poweroff, exit 0, no temporary files left (see ../lib/boot.sh).
source "$(dirname "${BASH_SOURCE[0]}")/../lib/boot.sh" debian tdx-hello-debian
