cp "$FIXTURES/fw.fd" .
"$MRTD_CALC" measure --ovmf fw.fd --page-order sideways
