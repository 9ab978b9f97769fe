# The zipnet programs, their settings declarations and the shipped recipes agree:
#  - every ZIPNET_* variable a program reads (its --help, "Env:") is declared host or protected
#    in the declaration it embeds (--settings, the text tdximage reads from the binary), and the
#    declaration names nothing the program does not read;
#  - every recipe under recipes/ (ubuntu's too, which cannot be built here) lets the host set
#    only names its program declares "host", and never one it sets in payload.env;
#  - a program refuses to start when /init says a protected setting came from the host.
for p in server aggregator client; do
  "$ZIPNET_BIN/zipnet-$p" --help | grep -o 'Env:[A-Z_]*' | sed 's/Env://' | sort -u > help.$p
  "$ZIPNET_BIN/zipnet-$p" --settings > decl.$p
  awk 'NR > 1 { print $2 }' decl.$p | sort > declared.$p
  if diff help.$p declared.$p > diff.$p; then
    echo "zipnet-$p: $(wc -l < declared.$p) settings, each declared: $(grep -c '^protected' decl.$p) protected"
  else
    echo "zipnet-$p: --help and --settings disagree:"; cat diff.$p
  fi
done
# The names of a recipe's payload host_env or env (flow lists and maps, possibly over several
# lines, or a block map), one per line, sorted.
names() {
  awk -v key="$2" '
    function emit(s,   n, i, x, parts) {
      gsub(/[][{}]/, "", s); n = split(s, parts, ",")
      for (i = 1; i <= n; i++) { x = parts[i]; sub(/:.*/, "", x); gsub(/ /, "", x); if (x != "") print x }
    }
    on == 1 && /^    [A-Z_]+:/ { x = $0; sub(/:.*/, "", x); gsub(/ /, "", x); print x; next }
    on == 2 { emit($0); if ($0 ~ /[]}] *$/) on = 0; next }
    on == 1 { on = 0 }
    $0 ~ "^  " key ":" {
      s = $0; sub("^  " key ": *", "", s)
      if (s == "") { on = 1; next }
      emit(s); if (s !~ /[]}] *$/) on = 2
    }' "$1" | sort
}
for r in "$RECIPES"/*/zipnet-*.yaml; do
  p=$(sed -n 's|^  command: /usr/bin/zipnet-\([a-z]*\)$|\1|p' "$r")
  bad=""
  for n in $(names "$r" host_env); do
    grep -qx "host $n .*\|host $n" decl.$p || bad="$bad $n"
  done
  overlap=$(comm -12 <(names "$r" host_env) <(names "$r" env) | tr '\n' ' ')
  measured=$(for n in $(names "$r" env); do grep -q "^protected $n " decl.$p && echo "$n"; done | tr '\n' ' ')
  echo "${r#$RECIPES/}: zipnet-$p, host may set $(names "$r" host_env | wc -l) settings${bad:+, NOT DECLARED host:$bad}${overlap:+, ALSO MEASURED: $overlap}; measured protected: ${measured% }"
done
rc=0
TDX_HOST_SETTINGS="ZIPNET_BOOTSTRAP ZIPNET_EVIDENCE" ZIPNET_INSTANCE=x \
  "$ZIPNET_BIN/zipnet-client" --bootstrap "$(printf '0%.0s' {1..32})@127.0.0.1:1" 2>&1 || rc=$?
echo "exit $rc"
