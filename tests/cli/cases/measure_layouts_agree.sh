# The same sections behind a GUID table and a legacy pointer measure the same.
cp "$FIXTURES/fw.fd" "$FIXTURES/fw-legacy.fd" .
a=$("$MRTD_CALC" measure --ovmf fw.fd --page-order both)
b=$("$MRTD_CALC" measure --ovmf fw-legacy.fd --page-order both)
[ "$a" = "$b" ]
echo "$a"
