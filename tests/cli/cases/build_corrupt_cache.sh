# Flip one byte of a cached source: the build refuses it, names the source, drops the entry.
R="$RECIPES/debian/tdx-hello.yaml"
(cd /tmp && "$TDXIMAGE" -q build "$R" --out "$OLDPWD/warm" >/dev/null)  # everything cached
sha=$(sed -n '/"ovmf": {/,/}/s/.*"sha256": "\([0-9a-f]*\)".*/\1/p' "${R%.yaml}.lock")
mkdir -p cache/sha256
for f in "$TDXIMAGE_CACHE"/sha256/*; do ln -s "$f" cache/sha256/; done
rm cache/sha256/"$sha"
cp "$TDXIMAGE_CACHE/sha256/$sha" cache/sha256/"$sha"
printf '\x01' | dd of=cache/sha256/"$sha" bs=1 seek=4096 conv=notrunc status=none
"$TDXIMAGE" -q --offline --cache cache build "$R" --out out 2>err || echo "exit $?"
sed "s|$PWD/||; s|has sha256 [0-9a-f]*|has sha256 <other>|" err
[ -e cache/sha256/"$sha" ] || echo "corrupted entry removed"
[ -e out ] || echo "no output written"
