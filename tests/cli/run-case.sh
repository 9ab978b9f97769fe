#!/usr/bin/env bash
# run-case.sh CASE.sh: runs one CLI case in a scratch directory and compares what it printed
# with the expectation files beside it (zstd tests/cli-tests style):
#   CASE.exit            expected exit code (default 0)
#   CASE.stdout.exact    stdout must equal this file      CASE.stdout.glob  bash pattern
#   CASE.stderr.exact    stderr must equal this file      CASE.stderr.glob  bash pattern
# A case that prints "skipped: <reason>" and exits 77 is reported as skipped.
set -uo pipefail
case_file=$1
base=${case_file%.sh}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && bash -eu "$case_file") >"$work/.stdout" 2>"$work/.stderr"
code=$?
if [ $code -eq 77 ]; then
  cat "$work/.stdout"
  exit 77
fi
fail=0
want_code=0
[ -f "$base.exit" ] && want_code=$(cat "$base.exit")
if [ "$code" != "$want_code" ]; then
  echo "FAIL: exit code $code, expected $want_code"
  fail=1
fi
for stream in stdout stderr; do
  got="$work/.$stream"
  if [ -f "$base.$stream.exact" ]; then
    if ! diff -u "$base.$stream.exact" "$got" >"$work/.diff"; then
      echo "FAIL: $stream differs from $(basename "$base.$stream.exact"):"
      cat "$work/.diff"
      fail=1
    fi
  elif [ -f "$base.$stream.glob" ]; then
    pattern=$(cat "$base.$stream.glob")
    # shellcheck disable=SC2053
    if [[ "$(cat "$got")" != $pattern ]]; then
      echo "FAIL: $stream does not match $(basename "$base.$stream.glob"):"
      echo "--- got:"; cat "$got"
      echo "--- pattern:"; echo "$pattern"
      fail=1
    fi
  fi
done
if [ $fail -ne 0 ]; then
  echo "--- stdout:"; cat "$work/.stdout"
  echo "--- stderr:"; cat "$work/.stderr"
  exit 1
fi
echo "ok: $(basename "$case_file")"
