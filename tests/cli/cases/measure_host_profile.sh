# A host profile (QEMU version, the image's OVMF release) instead of the three knobs: the knobs it
# derives and why, the same values as those knobs given by hand, and a knob that contradicts the
# profile refused.
"$MRTD_CALC" host qemu=10.1,ovmf=2025.02-8
"$MRTD_CALC" host qemu=canonical-8.2,ovmf=2022.11-6+deb12u2
"$MRTD_CALC" --json host qemu=10.2,ovmf=stable202411 | grep -E '"(name|page_order|kernel_header|ovmf_layout)"'
cp "$FIXTURES/fw.fd" "$FIXTURES/bzImage" "$FIXTURES/initrd.img" .
inputs=(--ovmf fw.fd --kernel bzImage --initrd initrd.img --memory 4G --cmdline "console=ttyS0")
for host in "qemu=10.1,ovmf=2025.02 single-pass unmodified stable202411" \
  "qemu=10.1,ovmf=2022.11 single-pass qemu-patched pre-stable202411" \
  "qemu=canonical-8.2,ovmf=2024.11 two-pass qemu-patched stable202411"; do
  read -r spec order header layout <<<"$host"
  by_host=$("$MRTD_CALC" measure "${inputs[@]}" --host "$spec" | grep -E '^(MR_TD|RTMR1|RTMR2)')
  by_hand=$("$MRTD_CALC" measure "${inputs[@]}" --page-order "$order" --kernel-header "$header" \
    --ovmf-layout "$layout" | grep -E '^(MR_TD|RTMR1|RTMR2)')
  [ "$by_host" = "$by_hand" ] || { echo "FAIL: $spec: $by_host / $by_hand"; exit 1; }
  echo "$spec = $order $header $layout"
done
# Different hosts, different RTMR1 (the header mode, and the separator's register).
a=$("$MRTD_CALC" measure "${inputs[@]}" --host qemu=10.1,ovmf=2025.02 | grep '^RTMR1')
b=$("$MRTD_CALC" measure "${inputs[@]}" --host qemu=10.1,ovmf=2024.11 | grep '^RTMR1')
[ "$a" != "$b" ] && echo "qemu 10.1: OVMF 2025.02 and 2024.11 give different RTMR1"
"$MRTD_CALC" measure --ovmf fw.fd --host qemu=canonical-8.2,ovmf=2025.02 --page-order single-pass 2>&1 ||
  echo "exit $?"
"$MRTD_CALC" measure --ovmf fw.fd --host qemu=10.0,ovmf=2025.02 2>&1 || echo "exit $?"
