cp "$FIXTURES/fw-bad-range.fd" "$FIXTURES/not-firmware.bin" .
"$MRTD_CALC" inspect --ovmf fw-bad-range.fd || echo "exit $?"
"$MRTD_CALC" measure --ovmf not-firmware.bin || echo "exit $?"
"$MRTD_CALC" measure --ovmf missing.fd || echo "exit $?"
