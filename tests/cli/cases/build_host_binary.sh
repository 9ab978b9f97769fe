# A dynamically linked host binary is shipped with its whole library closure (PT_INTERP and
# DT_NEEDED, resolved like ld.so), and the build names a binary that is not there.
R="$RECIPES/debian/tdx-hello.yaml"
mkdir r
sed 's|^payload:|binaries:\n  - {host: /usr/bin/env, to: /usr/bin/host-env}\npayload:|' "$R" > r/img.yaml
cp "${R%.yaml}.lock" r/img.lock
"$TDXIMAGE" build r/img.yaml --out out 2>&1 >/dev/null | grep -o 'binary   /usr/bin/env .*'
m=out/tdx-hello-debian/tdx-hello-debian-manifest.json
# A host binary depends on how and where it was compiled: the manifest says so.
grep -o '"reproducible": false' "$m"
grep -o '"reproducible_reason": "binaries taken from the build host (/usr/bin/env)' "$m"
for p in /usr/bin/host-env /lib64/ld-linux-x86-64.so.2; do grep -q "\"path\": \"$p\"" "$m" && echo "has $p"; done
grep -q '"path": "/lib/x86_64-linux-gnu/libc.so.6"' "$m" && echo "has libc.so.6"
sed -i 's|host: /usr/bin/env|host: /usr/bin/no-such-binary|' r/img.yaml
"$TDXIMAGE" -q build r/img.yaml --out out2 2>&1 || echo "exit $?"
# A path from the build's environment: named when unset; relative values are taken from the
# current directory; the manifest records the path as the recipe spells it.
sed -i 's|host: /usr/bin/no-such-binary|host: "${HOSTBIN}/env"|' r/img.yaml
env -u HOSTBIN "$TDXIMAGE" -q build r/img.yaml --out out3 2>&1 || echo "exit $?"
mkdir hostbin && cp /usr/bin/env hostbin/
HOSTBIN=hostbin "$TDXIMAGE" -q build r/img.yaml --out out3 >/dev/null
grep -o '"origin": "host:${HOSTBIN}/env"' out3/tdx-hello-debian/tdx-hello-debian-manifest.json
