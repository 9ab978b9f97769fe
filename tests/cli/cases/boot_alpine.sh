# Boot <name>-run-qemu.sh of recipes/alpine with TDX=0 under TCG (bounded by a timeout). The payload
# prints its marker and fetches http://10.0.2.100/hello, which GUESTFWD maps to a server on the
# host's loopback; the guest powers off and the launcher exits 0, leaving no temporary files.
command -v qemu-system-x86_64 >/dev/null || { echo "skipped: qemu-system-x86_64 is not installed"; exit 77; }
[ -f "$SHARED/sources/alpine-minirootfs-3.20.3-x86_64.tar.gz" ] || { echo "skipped: ../shared/sources absent"; exit 77; }
"$TDXIMAGE" -q build "$RECIPES/alpine/tdx-hello.yaml" --out out >/dev/null
"$HTTP_HELLO" --body "hello-from-the-host" --seconds 300 > port 2> http.log &
srv=$!
for i in $(seq 100); do [ -s port ] && break; sleep 0.1; done
mkdir tmp
rc=0
TDX=0 ACCEL=tcg TMPDIR="$PWD/tmp" GUESTFWD="tcp:10.0.2.100:80-tcp:127.0.0.1:$(cat port)" \
  timeout 280 out/tdx-hello-alpine/tdx-hello-alpine-run-qemu.sh > boot.log 2>&1 || rc=$?
kill $srv 2>/dev/null || true
echo "launcher exit $rc"
grep -o "TDX_HELLO_MARKER image=tdx-hello-alpine" boot.log || cat boot.log
grep -o "TDX_HELLO_FETCH status=0 url=http://10.0.2.100/hello body=hello-from-the-host" boot.log
grep -o "tdx-init: payload exited with status 0; powering off" boot.log
[ -z "$(ls -A tmp)" ] && echo "no temporary files left"
