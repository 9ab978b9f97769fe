# The Debian packages (docs/packaging.md): reproducible from differently dated and
# permissioned stagings of the same build; their contents and control fields; and their
# Depends, computed by debpack, equal to what dpkg-shlibdeps computes from the same binaries
# (and for QEMU's, 27 libraries, as a harder case). Env: BUILD_DIR, DEBPACK, SRC, programs.
source "$SRC/tests/cli/lib/packages.sh"
version=$(package_version)
make_debs a debs-a "$version"
# The second staging: other permissions and dates.
stage_debs b
chmod -R go-rwx b
find b -exec touch -h -d '2001-02-03 04:05:06' {} +
pack_debs b debs-b "$version"
for f in debs-a/*.deb; do cmp "$f" "debs-b/${f##*/}"; done
echo "$(ls debs-a | wc -l) packages, byte-identical from stagings with other modes and dates"

for package in tdx-image-tools zipnet; do
  deb=$(ls debs-a/"${package}"_*.deb)
  [ "${deb##*/}" = "${package}_${version}_amd64.deb" ]
  dpkg-deb --field "$deb" Package Architecture Section | tr '\n' ' '; echo
  dpkg-deb --field "$deb" Version | grep -qx "$version"
  echo "  $(dpkg-deb --contents "$deb" | awk '{print $6}' | grep -cE '^\./usr/bin/.') programs," \
       "$(dpkg-deb --contents "$deb" | awk '{print $6}' | grep -cE '^\./usr/share/man/man1/.*\.1\.gz$') manual pages," \
       "$(dpkg-deb --contents "$deb" | awk '{print $6}' | grep -cE '^\./usr/share/bash-completion/completions/.') completions," \
       "copyright: $(dpkg-deb --contents "$deb" | grep -c "/usr/share/doc/$package/copyright$")"
  # md5sums covers every file.
  dpkg-deb --ctrl-tarfile "$deb" >/dev/null
done

# Depends: debpack against dpkg-shlibdeps (run where it wants a debian/control).
mkdir -p shlibs/debian
printf 'Source: x\n\nPackage: x\nArchitecture: any\n' >shlibs/debian/control
compare() {
  local what=$1; shift
  local ours theirs
  ours=$("$DEBPACK" depends "$@")
  theirs=$(cd shlibs && dpkg-shlibdeps -O $(printf -- '-e%s ' "$@") 2>/dev/null)
  if [ "$ours" != "$theirs" ]; then
    echo "$what: debpack and dpkg-shlibdeps differ:"; echo "  debpack:        $ours"; echo "  dpkg-shlibdeps: $theirs"
    exit 1
  fi
  echo "$what: Depends equal to dpkg-shlibdeps"
}
compare "image tools" "$PWD"/a/tdx-image-tools/usr/bin/*
compare "zipnet" "$PWD"/a/zipnet/usr/bin/*
if [ -x /usr/bin/qemu-system-x86_64 ]; then
  compare "qemu-system-x86_64" /usr/bin/qemu-system-x86_64
fi
