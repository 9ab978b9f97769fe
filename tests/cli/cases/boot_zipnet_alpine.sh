# The alpine zipnet client image end to end (see ../lib/zipnet_e2e.sh): a committee on loopback
# with TDX gating off, the image booted under TCG, its message in a fully signed record.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/zipnet_e2e.sh" alpine open
