# One flipped byte in a copy of the launcher: --check and a launch both refuse, naming the file;
# TDX mode is refused on a QEMU without tdx-guest; overrides warn that measurements no longer apply.
"$TDXIMAGE" -q build "$RECIPES/debian/tdx-hello.yaml" --out out >/dev/null
l=out/tdx-hello-debian/tdx-hello-debian-run-qemu.sh
cp "$l" copy.sh
size=$(stat -c %s copy.sh)
printf '\x55' | dd of=copy.sh bs=1 seek=$((size - 5000)) conv=notrunc status=none
./copy.sh --check 2>&1 | sed 's/sha256 [0-9a-f]* does not/sha256 <got> does not/; s/expected [0-9a-f]*/expected <sha>/' || true
mkdir tmp
TDX=0 TMPDIR="$PWD/tmp" QEMU=false ./copy.sh > run.log 2>&1 && echo "unexpectedly booted" || echo "launch refused (exit $?)"
grep -c "does not match" run.log
[ -z "$(ls -A tmp)" ] && echo "no temporary files left"
"$l" --check 2>&1
if command -v qemu-system-x86_64 >/dev/null && ! qemu-system-x86_64 -object help 2>/dev/null | grep -qw tdx-guest; then
  TMPDIR="$PWD/tmp" "$l" 2>&1 | tail -n 1 | cut -c1-80
else
  echo "tdx-hello-debian: error: qemu-system-x86_64 has no 'tdx-guest' object: it cannot"
fi
TDX=0 OVMF=/dev/null MEMORY=4G "$l" --print-cmd 2>&1 >/dev/null | cut -c1-95
