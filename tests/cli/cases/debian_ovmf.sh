# Debian's OVMF straight from the package: extract in-process, inspect, both page orders.
[ -f "$INPUTS/ovmf.deb" ] || { echo "skipped: $INPUTS/ovmf.deb absent"; exit 77; }
"$TDXIMAGE" extract "$INPUTS/ovmf.deb" usr/share/ovmf/OVMF.fd -o OVMF.fd >/dev/null
"$MRTD_CALC" inspect --ovmf OVMF.fd | tail -n +3 | awk '{print $1, $2, $NF}'
"$MRTD_CALC" --json measure --ovmf OVMF.fd --page-order both | grep -E '"(single-pass|two-pass)"' | sed 's/: ".*"/: <hex>/'
