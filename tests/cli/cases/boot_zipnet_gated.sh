# The debian zipnet client image against a TDX-gated committee pinning the image's own policy
# (see ../lib/zipnet_e2e.sh): outside TDX the guest has only mock evidence, which is refused.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/zipnet_e2e.sh" debian gated
