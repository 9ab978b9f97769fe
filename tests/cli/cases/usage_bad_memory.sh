cp "$FIXTURES/bzImage" .
"$MRTD_CALC" measure --kernel bzImage --memory 4GB
