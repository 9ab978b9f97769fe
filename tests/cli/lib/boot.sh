# boot.sh RECIPE_DIR NAME: sourced by the boot_* cases. Builds recipes/RECIPE_DIR, serves
# http://10.0.2.100/hello from the host's loopback (GUESTFWD), boots NAME-run-qemu.sh with TDX=0
# under TCG (bounded by a timeout) and prints what the case's expected output checks: launcher
# exit code, marker, fetched body, poweroff, no leftover temporary files.
command -v qemu-system-x86_64 >/dev/null || { echo "skipped: qemu-system-x86_64 is not installed"; exit 77; }
boot_recipe=$1 boot_name=$2
"$TDXIMAGE" -q build "$RECIPES/$boot_recipe/tdx-hello.yaml" --out out >/dev/null
"$HTTP_HELLO" --body "hello-from-the-host" --seconds 300 > port 2> http.log &
srv=$!
for i in $(seq 100); do [ -s port ] && break; sleep 0.1; done
mkdir tmp
rc=0
TDX=0 ACCEL=tcg TMPDIR="$PWD/tmp" GUESTFWD="tcp:10.0.2.100:80-tcp:127.0.0.1:$(cat port)" \
  timeout 280 "out/$boot_name/$boot_name-run-qemu.sh" > boot.log 2>&1 || rc=$?
kill $srv 2>/dev/null || true
echo "launcher exit $rc"
grep -o "TDX_HELLO_MARKER image=$boot_name" boot.log || cat boot.log
grep -o "TDX_HELLO_FETCH status=0 url=http://10.0.2.100/hello body=hello-from-the-host" boot.log
grep -o "tdx-init: payload exited with status 0; powering off" boot.log
[ -z "$(ls -A tmp)" ] && echo "no temporary files left"
