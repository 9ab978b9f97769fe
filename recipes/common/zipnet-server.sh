#!/bin/sh
# The payload of the zipnet-server images: zipnet-server with the recipe's settings and the
# ZIPNET_* variables the launcher passed from the host (docs/operators.md). Two of those carry
# files, base64-encoded (the launcher passes one line per variable):
#   ZIPNET_IDENTITY_B64   the server's identity file, made on the host with
#                         `zipnet-server --identity FILE --show-identity`: a committee lists each
#                         server's peer id, so it must survive reboots. Without it the server makes
#                         a fresh identity inside the TD at every boot.
#   ZIPNET_TDX_POLICY_B64 the measurement policy clients must match (a client image's
#                         <name>-policy.yaml). Without it, ZIPNET_TDX_POLICY names a file.
umask 077
export ZIPNET_IDENTITY="${ZIPNET_IDENTITY:-/run/zipnet-server.key}"
if [ -n "${ZIPNET_IDENTITY_B64:-}" ]; then
  printf '%s' "$ZIPNET_IDENTITY_B64" | base64 -d > "$ZIPNET_IDENTITY" ||
    { echo "zipnet-server.sh: ZIPNET_IDENTITY_B64 is not base64"; exit 1; }
  echo "zipnet-server.sh: identity from the host"
else
  echo "zipnet-server.sh: no ZIPNET_IDENTITY_B64: a fresh identity for this boot"
fi
if [ -n "${ZIPNET_TDX_POLICY_B64:-}" ]; then
  export ZIPNET_TDX_POLICY="${ZIPNET_TDX_POLICY:-/run/zipnet-policy.yaml}"
  printf '%s' "$ZIPNET_TDX_POLICY_B64" | base64 -d > "$ZIPNET_TDX_POLICY" ||
    { echo "zipnet-server.sh: ZIPNET_TDX_POLICY_B64 is not base64"; exit 1; }
  echo "zipnet-server.sh: measurement policy from the host ($(sha256sum < "$ZIPNET_TDX_POLICY" | cut -c1-16)…)"
fi
unset ZIPNET_IDENTITY_B64 ZIPNET_TDX_POLICY_B64
zipnet-server --show-identity || exit 1
exec zipnet-server
