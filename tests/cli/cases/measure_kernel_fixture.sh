cp "$FIXTURES/bzImage" "$FIXTURES/initrd.img" .
"$MRTD_CALC" measure --kernel bzImage --initrd initrd.img --memory 512M --cmdline "console=ttyS0"
