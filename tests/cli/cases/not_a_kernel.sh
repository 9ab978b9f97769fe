cp "$FIXTURES/fw.fd" .
"$MRTD_CALC" measure --kernel fw.fd
