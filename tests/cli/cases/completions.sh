# Bash completions: each program's script, as the build wrote it (DOCS, what the packages
# ship), is what the program prints with --bash-completion, is valid bash, registers the
# program, and completes subcommands, nested subcommands, options and listed values.
programs=("$TDXIMAGE" "$MRTD_CALC" "$TDX_ATTEST" "$ZIPNET_BIN/zipnet-server" \
          "$ZIPNET_BIN/zipnet-aggregator" "$ZIPNET_BIN/zipnet-client")
for prog in "${programs[@]}"; do
  name=${prog##*/}
  "$prog" --bash-completion | cmp - "$DOCS/completions/$name"
  bash -n "$DOCS/completions/$name"
done
# Complete the last word of a command line through the program's completion function.
complete_line() {
  bash -c '
    source "$1"; shift
    fn=$(complete -p "$1" | sed -n "s/^complete -F \([^ ]*\) .*/\1/p")
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
    "$fn" 2>/dev/null
    echo "$* -> ${COMPREPLY[*]}"' _ "$DOCS/completions/$1" "$@"
}
complete_line tdximage bu
complete_line tdximage cache s
complete_line tdximage build --no-
complete_line tdximage --q
complete_line mrtd-calc di
complete_line mrtd-calc measure --expect-rtmr
complete_line tdx-attest cert m
complete_line zipnet-client --evidence s
complete_line zipnet-server --evidence m
# After an option that takes a value, file names.
mkdir -p dir && touch dir/recipe.yaml
complete_line tdximage build --out dir/re
