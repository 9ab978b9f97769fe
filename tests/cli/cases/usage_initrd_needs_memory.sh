cp "$FIXTURES/bzImage" "$FIXTURES/initrd.img" .
"$MRTD_CALC" measure --kernel bzImage --initrd initrd.img
