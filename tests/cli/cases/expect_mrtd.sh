# Rollouts: any listed value is accepted; the match is stated.
cp "$FIXTURES/fw.fd" .
good=$("$MRTD_CALC" --json measure --ovmf fw.fd | sed -n 's/.*"mr_td": "\([0-9a-f]*\)".*/\1/p')
other=$(printf 'ab%.0s' {1..48})
"$MRTD_CALC" measure --ovmf fw.fd --expect-mrtd "$other" --expect-mrtd "$(echo "$good" | tr a-f A-F)"
