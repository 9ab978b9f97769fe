# The Debian packages installed in a clean Debian 12 root (mmdebstrap --variant=apt, with
# Debian's ovmf; the packages' Depends resolved by apt from the archive), and used there as on
# a machine of its own: every program's --version agrees with the package version,
# `mrtd-calc measure` of Debian's OVMF equals this build's, and `tdximage build` of the
# packaged tdx-hello recipe, offline from the tests' source cache, gives the same files as this
# build's tdximage. lintian checks the packages first. Needs: root (namespaces), mmdebstrap,
# lintian, the Debian archive.
# Env: BUILD_DIR, DEBPACK, SRC, TDXIMAGE, MRTD_CALC, TDXIMAGE_CACHE, RECIPES.
set -o pipefail
source "$SRC/tests/cli/lib/debian_root.sh"
source "$SRC/tests/cli/lib/packages.sh"
needs_debian_root package-install
command -v lintian >/dev/null || { echo "skipped: lintian is not installed (scripts/setup)"; exit 77; }

step "the packages of this build"
version=$(package_version)
make_debs "$work/stage" "$work/debs" "$version"
ls "$work/debs"
# lintian, as Debian checks packages (the tests' binaries are not stripped; scripts/package's are).
lintian --allow-root --tag-display-limit 0 --suppress-tags unstripped-binary-or-object \
  "$work"/debs/*.deb
echo "lintian: nothing to report"

step "a clean Debian 12 root with them installed ($archive bookworm)"
root=$work/bookworm
# (mount: in_root unmounts the old root from inside. Each .deb its own --include; mmdebstrap's file-mirror-automount hook makes them readable
# by the root's dpkg at the same paths.)
mmdebstrap --quiet --variant=apt --include=mount,ovmf \
  --include="$work/debs/tdx-image-tools_${version}_amd64.deb" \
  --include="$work/debs/zipnet_${version}_amd64.deb" \
  --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount \
  bookworm "$root" "deb $archive bookworm main" >&2
grep -o '^VERSION_ID="12"' "$root/etc/os-release"
in_root "$root" 'dpkg-query -W -f="\${Package} \${Status}\n" tdx-image-tools zipnet'

step "--version of every program, against the package version"
in_root "$root" 'for p in tdximage mrtd-calc tdx-attest zipnet-server zipnet-aggregator zipnet-client; do
  "$p" --version; done' >versions
upstream=${version%%+git*} rev=${version##*.}
if [ "$(grep -c "^[a-z-]* $upstream (git $rev[-a-z]*)\$" versions)" != 6 ]; then
  echo "--version disagrees with the package version $version:"; cat versions; exit 1
fi
echo "6 programs print $upstream (git $rev), as the packages' version"
in_root "$root" 'ls /usr/share/man/man1/tdximage.1.gz /usr/share/man/man1/zipnet-client.1.gz \
  /usr/share/bash-completion/completions/mrtd-calc'

step "mrtd-calc measure of Debian's OVMF, inside and here"
ovmf=$(in_root "$root" 'dpkg-query -W -f="\${Version}" ovmf')
in_root "$root" 'mrtd-calc measure --ovmf /usr/share/ovmf/OVMF.fd' >inside.txt
"$MRTD_CALC" measure --ovmf "$root/usr/share/ovmf/OVMF.fd" >here.txt
cmp inside.txt here.txt
echo "mrtd-calc measure of Debian's OVMF ($ovmf) in the root: the same output as this build's"

step "tdximage build of the packaged tdx-hello recipe, offline, inside"
mkdir -p "$root/var/cache/tdx"
cp -al "$TDXIMAGE_CACHE/sha256" "$root/var/cache/tdx/sha256"
in_root "$root" 'cd /tmp && tdximage -q --offline --cache /var/cache/tdx \
  build /usr/share/tdximage/recipes/debian/tdx-hello.yaml --out /tmp/out >/dev/null'
"$TDXIMAGE" -q --offline --cache "$TDXIMAGE_CACHE" build "$RECIPES/debian/tdx-hello.yaml" --out here >/dev/null
diff -r here/tdx-hello-debian "$root/tmp/out/tdx-hello-debian" >&2
echo "tdx-hello-debian: all $(ls here/tdx-hello-debian | wc -l) files equal to this build's"
step "done"
