# Independent cross-check: osslsigncode's Authenticode SHA-384 of the Debian kernel equals the
# digest mrtd-calc measures for the unmodified kernel (and for a signed copy of it).
[ -f "$INPUTS/kernel.deb" ] || { echo "skipped: $INPUTS/kernel.deb absent"; exit 77; }
command -v osslsigncode >/dev/null || { echo "skipped: osslsigncode not installed"; exit 77; }
member=$("$TDXIMAGE" list "$INPUTS/kernel.deb" | awk '$3 ~ /^boot\/vmlinuz-/ {print $3}')
"$TDXIMAGE" extract "$INPUTS/kernel.deb" "$member" -o vmlinuz >/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -subj /CN=mrtd-test -days 1 2>/dev/null
osslsigncode sign -certs cert.pem -key key.pem -h sha384 -in vmlinuz -out signed.efi >/dev/null
theirs=$(osslsigncode verify -in signed.efi 2>&1 | sed -n 's/^Calculated message digest *: *\([0-9A-F]*\).*/\1/p' | tr A-F a-f)
ours=$("$MRTD_CALC" measure --kernel vmlinuz --kernel-header unmodified | sed -n 2p | awk '{print $1}')
ours_signed=$("$MRTD_CALC" measure --kernel signed.efi --kernel-header unmodified | sed -n 2p | awk '{print $1}')
echo "osslsigncode: $theirs"
echo "mrtd-calc:    $ours"
[ -n "$theirs" ] && [ "$theirs" = "$ours" ] && [ "$ours" = "$ours_signed" ]
