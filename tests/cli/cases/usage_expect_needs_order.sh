cp "$FIXTURES/fw.fd" .
"$MRTD_CALC" measure --ovmf fw.fd --page-order both --expect-mrtd "$(printf '0%.0s' {1..96})"
