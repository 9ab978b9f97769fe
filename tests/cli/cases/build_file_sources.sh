# file: sources read only regular, visible files of the recipe's own directory tree (red-team
# finding 9: /etc/shadow, ../ paths, /proc/self/environ and /dev/zero were read into images);
# --file-root allows another tree. input: sources are files the builder names with --input:
# not pinned by the lock, recorded in the manifest, and named by verify when they differ.
R="$RECIPES/debian/tdx-hello.yaml"
mkdir -p r/.git && echo 'token' > r/.git/config && echo 'secret' > outside.txt
printf '#!/bin/sh\necho hello from a file\n' > r/hello.sh
cp "${R%.yaml}.lock" r/img.lock  # its package pins are kept: locking fetches nothing
with_source() {  # with_source 'SPEC': the recipe with a source 'extra' and /etc/extra from it
  sed "s|^sources:|sources:\n  extra: $1|; s|^files:|files:\n  - {source: extra, to: /etc/extra}|" "$R" > r/img.yaml
}
build() { "$TDXIMAGE" -q "$@" --out out 2>&1 >/dev/null || echo "exit $?"; }
lock() { "$TDXIMAGE" -q --offline "$@" lock r/img.yaml 2>&1 | sed "s|$PWD|PWD|g"; }
with_source '{file: hello.sh}'
"$TDXIMAGE" -q lock r/img.yaml  # fetches what the kept pins name and the cache lacks
build build r/img.yaml
grep -o '"identity": "file hello.sh"' out/tdx-hello-debian/tdx-hello-debian-manifest.json
for spec in '{file: ../outside.txt}' '{file: .git/config}' '{file: /proc/self/environ}' '{file: /dev/zero}'; do
  with_source "$spec"
  lock
done
ln -s ../outside.txt r/link.txt
with_source '{file: link.txt}'
lock
with_source '{file: ../outside.txt}'
lock --file-root . && echo "--file-root . allows ../outside.txt"
# An input: supplied at build time, recorded, compared.
with_source '{input: "a file the builder chooses"}'
lock
grep -q '"extra"' r/img.lock && echo "the lock pins the input" || echo "the lock does not pin the input"
build build r/img.yaml
build --input extra=outside.txt build r/img.yaml
grep -o '"identity": "input (tdximage build --input extra=PATH)", "sha256": "[0-9a-f]\{8\}' \
  <(tr -d '\n' < out/tdx-hello-debian/tdx-hello-debian-manifest.json | sed 's/,  */, /g')
echo 'another' > other.txt
"$TDXIMAGE" -q --input extra=other.txt verify r/img.yaml --against out/tdx-hello-debian 2>&1 |
  grep "input 'extra'" | sed -E 's/[0-9a-f]{16}…/<sha>/g' || true
build --input nope=x build r/img.yaml
