# Every program's --version: "<program> <version> (git <revision>)", the same version and
# revision for all (one build), and the zipnet programs' without their required settings.
"$MRTD_CALC" --version
"$TDXIMAGE" --version
"$TDX_ATTEST" --version
for p in zipnet-server zipnet-aggregator zipnet-client; do "$ZIPNET_BIN/$p" --version; done
n=$(for p in "$MRTD_CALC" "$TDXIMAGE" "$TDX_ATTEST" "$ZIPNET_BIN"/zipnet-{server,aggregator,client}; do
  "$p" --version | sed 's/^[^ ]* //'; done | sort -u | wc -l)
echo "one version line for all: $n"
