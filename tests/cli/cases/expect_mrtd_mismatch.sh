cp "$FIXTURES/fw.fd" .
"$MRTD_CALC" measure --ovmf fw.fd --page-order two-pass --expect-mrtd "$(printf 'ab%.0s' {1..48})" --expect-mrtd "$(printf 'cd%.0s' {1..48})"
