# A build section runs in a root made only of its locked packages, isolated from this machine:
# no network (a server listening on the host's loopback is unreachable), none of the host's
# files, a fixed environment and hostname. The outputs land in the image and the manifest's
# buildinfo. Then a toolchain package corrupted in the cache is refused, naming it.
R="$RECIPES/debian/tdx-hello.yaml"
"$HTTP_HELLO" --seconds 120 > port &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s port ] && break; sleep 0.1; done
port=$(cat port)
echo "host secret" > secret
mkdir -p r/src && echo "hello from the source" > r/src/greeting.txt
(cd r && git init -q . && git add src)
cat > build.yaml <<YAML
build:
  toolchain: [dash, busybox-static]
  source: {git: ., paths: [src]}
  commands:
    - busybox mkdir -p /build/out && busybox cp src/greeting.txt /build/out/greeting
    - echo "hostname \$(busybox hostname), uid \$(busybox id -u), in \$(busybox pwd)"
    - busybox env | busybox sort
    - if busybox test -e $PWD/secret; then echo "host file visible"; else echo "host file absent"; fi
    - busybox ls /usr/lib/x86_64-linux-gnu/libc.so.6 /bin/sh /usr/bin/busybox
    - if busybox nc -w 3 127.0.0.1 $port </dev/null 2>&1; then echo "reached the host"; else echo "no network"; fi
    - echo "links \$(busybox ip -o link | busybox wc -l), lo \$(busybox ip -o link | busybox grep -o '<[A-Z,_]*>')"
  outputs:
    - {path: /build/out/greeting, to: /etc/greeting, mode: "0644"}
YAML
awk 'FNR==NR { b = b $0 "\n"; next } /^payload:/ { printf "%s", b } { print }' build.yaml "$R" > r/img.yaml
cp "${R%.yaml}.lock" r/img.lock
"$TDXIMAGE" -q lock r/img.yaml
"$TDXIMAGE" build r/img.yaml --out out 2>&1 | sed -n 's/^tdximage: build | //p'
m=out/tdx-hello-debian/tdx-hello-debian-manifest.json
grep -o '"reproducible": [a-z]*' "$m"
tr -d ' \n' < "$m" | grep -o '{"path":"/etc/greeting"[^}]*}'
tr -d ' \n' < "$m" | grep -o '"source":{[^}]*}' 
# Corrupt dash in a private cache that borrows everything else from the shared one.
sha=$(grep -A4 '"name": "dash"' r/img.lock | sed -n 's/.*"sha256": "\([0-9a-f]*\)".*/\1/p')
mkdir -p cache/sha256
for f in "$TDXIMAGE_CACHE"/sha256/*; do ln -s "$f" cache/sha256/; done
rm cache/sha256/"$sha" && cp "$TDXIMAGE_CACHE/sha256/$sha" cache/sha256/"$sha"
printf '\x01' | dd of=cache/sha256/"$sha" bs=1 seek=2000 conv=notrunc status=none
"$TDXIMAGE" -q --offline --cache cache build r/img.yaml --out out2 2>&1 |
  sed "s|$PWD/||; s|has sha256 [0-9a-f]*|has sha256 <other>|" || true
[ -e out2 ] || echo "no output written"
