cp "$FIXTURES/bzImage" "$FIXTURES/initrd.img" .
z=$(printf '00%.0s' {1..48})
"$MRTD_CALC" measure --kernel bzImage --initrd initrd.img --memory 4G --expect-rtmr1 "$z" --expect-rtmr2 "$z" >/dev/null
