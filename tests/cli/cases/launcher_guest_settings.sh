# payload.host_env: the launcher passes the variables of its environment the recipe names (exact
# names, and only those) to the guest through fw_cfg, names them, refuses a value with a
# newline, lists the names in --help; without any of them there is no fw_cfg file. A pattern
# (HELLO_*) is refused when the recipe is parsed.
R="$RECIPES/debian/tdx-hello.yaml"
mkdir r
sed 's|^  env: {TDX_IMAGE_NAME|  host_env: [HELLO_*, EXACT]\n  env: {TDX_IMAGE_NAME|' "$R" > r/img.yaml
cp "${R%.yaml}.lock" r/img.lock
"$TDXIMAGE" -q build r/img.yaml --out out 2>&1 | sed 's/(hint.*//' || true
sed -i 's|host_env: \[HELLO_\*, EXACT\]|host_env: [HELLO_A, HELLO_B, EXACT]|' r/img.yaml
"$TDXIMAGE" -q build r/img.yaml --out out >/dev/null
L=out/tdx-hello-debian/tdx-hello-debian-run-qemu.sh
mkdir tmp
HELLO_A='a b=c' HELLO_B= EXACT=1 EXACTLY=2 OTHER=3 KEEP=1 TMPDIR=$PWD/tmp "$L" --print-cmd > cmd 2> err
grep -o "\-fw_cfg name=opt/tdximage/env,file=$PWD/tmp/[^ ]*/guest-env" cmd | sed "s|$PWD/tmp/[^/]*|TMP|"
grep 'guest settings' err
cat tmp/*/guest-env
rm -rf tmp/*
OTHER=3 TMPDIR=$PWD/tmp "$L" --print-cmd > cmd 2> err
grep -c fw_cfg cmd || true
HELLO_A=$'two\nlines' TMPDIR=$PWD/tmp "$L" --print-cmd 2>&1 >/dev/null || echo "exit $?"
"$L" --help | tail -n 2
