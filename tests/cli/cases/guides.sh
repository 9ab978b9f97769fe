# The guides' commands as written, in one checkout-like directory: docs/operators.md cuts and
# publishes release/v1 and runs a trial committee, docs/publishers.md verifies and prepares the
# launch, docs/auditors.md reproduces, reads a mismatch and checks evidence (../lib/guide.sh).
source "$(dirname "${BASH_SOURCE[0]}")/../lib/guide.sh" operators publishers auditors
