# guide.sh GUIDE...: sourced by the guide cases. Runs the shell blocks of docs/GUIDE.md, one guide
# after the other in one shell and one directory laid out like a checkout (this repository's
# tracked files as they are in the work tree, committed in a git repository of its own, since the
# zipnet recipes compile the node from them; build/release/bin holding this build's programs, as
# scripts/build-release leaves them), so the guides' commands are tested as written. Every ```sh block runs; an HTML
# comment on the line before a block changes that:
#   <!-- test: skip: REASON -->   not run (REASON is printed)
#   <!-- test: exit N -->          runs in a subshell and must exit with N
# Output blocks are ```text. Processes a guide leaves in the background are stopped at the end.
# Prints one line per guide (blocks run, skipped with reasons); on failure, the failing block and
# the output.
git -C "$SRC" ls-files -z | (cd "$SRC" && xargs -0 tar -cf -) | tar -xf -
git init -q . && git add -A && git -c user.name=guide -c user.email=guide@invalid commit -q -m checkout
mkdir -p build/release/bin
for p in "$TDXIMAGE" "$MRTD_CALC" "$TDX_ATTEST" "$ZIPNET_BIN"/zipnet-server \
  "$ZIPNET_BIN"/zipnet-aggregator "$ZIPNET_BIN"/zipnet-client; do
  ln -s "$p" build/release/bin/
done
script=$PWD/.guides.sh
{
  echo 'set -euo pipefail'
  echo 'trap '\''jobs -p | xargs -r kill 2>/dev/null || true; wait 2>/dev/null || true'\'' EXIT'
} >"$script"
for guide in "$@"; do
  awk -v doc="docs/$guide.md" -v summary="$PWD/.summary" '
    /^```sh[[:space:]]*$/ && !inblock { inblock = 1; start = NR; body = ""; next }
    /^```/ && inblock {
      inblock = 0; n++
      where = doc ":" start
      if (directive ~ /^skip:/) {
        reason = directive; sub(/^skip:[[:space:]]*/, "", reason)
        skipped++; reasons = reasons "\n  skipped: " reason
      } else if (directive ~ /^exit [0-9]+$/) {
        code = directive; sub(/^exit /, "", code)
        printf "echo \"### %s (must exit %s)\"\nset +e\n(\nset -e\n%s)\nrc=$?\nset -e\n", where, code, body
        printf "[ $rc -eq %s ] || { echo \"FAIL: %s exited $rc, expected %s\"; exit 1; }\n", code, where, code
        ran++
      } else {
        printf "echo \"### %s\"\n%s", where, body
        ran++
      }
      directive = ""; next
    }
    inblock { body = body $0 "\n"; next }
    /^<!-- test: .* -->[[:space:]]*$/ {
      directive = $0; sub(/^<!-- test: /, "", directive); sub(/ -->[[:space:]]*$/, "", directive); next
    }
    /[^[:space:]]/ { directive = "" }
    END {
      if (inblock) { print "echo \"FAIL: " doc ": unterminated block at line " start "\"; exit 1" }
      printf "%s: %d blocks run, %d skipped%s\n", doc, ran, skipped, reasons >> summary
    }' "$SRC/docs/$guide.md" >>"$script"
done
rc=0
bash "$script" >guides.log 2>&1 || rc=$?
if [ $rc -ne 0 ]; then
  echo "guide commands failed (exit $rc):"
  tail -n 60 guides.log
  exit 1
fi
cat .summary
