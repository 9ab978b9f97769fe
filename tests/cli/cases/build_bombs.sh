# Decompression bombs (red-team finding 8): a 200 KB tarball of 200 MiB of zeros as a rootfs
# source is refused at its unpack limit and leaves nothing in the cache's derived/ trees; a
# launcher whose payload is such a bomb is refused by inspect and verify.
R="$RECIPES/debian/tdx-hello.yaml"
mkdir -p r/root
head -c 200M /dev/zero > r/root/zeros
tar -C r/root --owner=0 --group=0 --mtime=@0 -czf r/bomb.tar.gz zeros
rm r/root/zeros
sed "s|^sources:|sources:\n  bomb: {file: bomb.tar.gz}|; s|^files:|rootfs:\n  - {source: bomb, to: /opt}\nfiles:|" "$R" > r/img.yaml
cp "${R%.yaml}.lock" r/img.lock  # its package pins are kept
"$TDXIMAGE" -q lock r/img.yaml  # fetches what the kept pins name and the cache lacks
size=$(stat -c %s r/bomb.tar.gz)
"$TDXIMAGE" -q build r/img.yaml --out out 2>&1 | sed "s/ $size bytes unpack/ SIZE bytes unpack/" || true
sha=$(sha256sum < r/bomb.tar.gz | cut -d' ' -f1)
[ -e "$TDXIMAGE_CACHE/derived/$sha-tar" ] && echo "derived/ has the bomb" || echo "derived/ has nothing of it"
[ -z "$(ls -A out 2>/dev/null)" ] && echo "no output, no partial directory"
# A launcher whose (self-consistent) payload is the bomb.
printf '#!/usr/bin/env bash\nreadonly PAYLOAD_OFFSET=%s\nreadonly PAYLOAD_SHA256=%s\n' 000000000 "$sha" > header
off=$(stat -c %s header)
sed -i "s/=000000000/=$(printf '%09d' "$off")/" header
cat header r/bomb.tar.gz > bomb-run-qemu.sh
"$TDXIMAGE" inspect bomb-run-qemu.sh 2>&1 | sed "s/($size packed/(SIZE packed/" || echo "exit $?"
