# Manual pages agree with --help: each program's page, as the build wrote it (DOCS, what the
# packages ship), is what the program prints with --man-page, is clean roff for groff -ww, and
# every no-fill block in it, decoded, equals the --help text of the program or subcommand it
# documents. Env: DOCS, the programs.
programs=("$TDXIMAGE" "$MRTD_CALC" "$TDX_ATTEST" "$ZIPNET_BIN/zipnet-server" \
          "$ZIPNET_BIN/zipnet-aggregator" "$ZIPNET_BIN/zipnet-client")
# roff -> text, the inverse of cli_docs.h's RoffVerbatim.
unroff() { sed -e 's/^\\&//' -e 's/\\-/-/g' -e 's/\\e/\\/g'; }
for prog in "${programs[@]}"; do
  name=${prog##*/}
  page="$DOCS/man/man1/$name.1"
  "$prog" --man-page | cmp - "$page"
  warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
  [ -z "$warnings" ] || { echo "$name: groff: $warnings"; exit 1; }
  # Each block: the OPTIONS section's (the program's --help) and one per subcommand (.SS).
  awk -v dir=blocks '
    /^\.SH OPTIONS$/ { title = ""; next }
    /^\.SS / { title = substr($0, 5); gsub(/"/, "", title); next }
    /^\.nf$/ && title != "skip" { if (title != "none") { n++; file = dir "/" n; print title > (file ".title"); copying = 1 }; next }
    /^\.fi$/ { copying = 0; title = "none"; next }
    copying { print > file }
    BEGIN { title = "none" }
  ' <(mkdir -p blocks; sed -n '/^\.SH OPTIONS$/,$p' "$page")
  count=0
  for t in blocks/*.title; do
    block=${t%.title}
    words=$(unroff <"$t")
    words=${words#"$name"}
    # shellcheck disable=SC2086
    if ! diff <(unroff <"$block") <(exec -a "$name" "$prog" $words --help) >diff.out; then
      echo "$name$words: the manual page's text differs from --help:"; cat diff.out; exit 1
    fi
    count=$((count + 1))
  done
  rm -rf blocks
  echo "$name: page = --man-page, groff -ww clean, $count help texts equal"
done
