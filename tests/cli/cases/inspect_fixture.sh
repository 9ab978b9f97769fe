cp "$FIXTURES/fw.fd" .
"$MRTD_CALC" inspect --ovmf fw.fd
