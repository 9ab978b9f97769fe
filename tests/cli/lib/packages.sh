# The Debian packages of this build's programs, made as scripts/package makes them (install
# components staged with cmake --install, packaged by debpack), for the package cases (source
# this file). Env: BUILD_DIR, DEBPACK, SRC.

# package_version: the version scripts/package would give this build's commit (the programs'
# --version revision, without a -dirty mark), dated 2026-12-02.
package_version() {
  local rev
  rev=$("$TDXIMAGE" --version | sed -n 's/.*(git \([0-9a-f]*\).*/\1/p')
  echo "0.1.0+git20261202.${rev:-0}"
}

# make_debs STAGE OUT VERSION: stages both components under STAGE and writes both .debs to OUT
# (xz level 1: the tests' binaries are large and level 6 takes most of a minute each).
make_debs() {
  local stage=$1 out=$2 version=$3 spec component package
  for spec in image-tools:tdx-image-tools zipnet:zipnet; do
    component=${spec%%:*} package=${spec#*:}
    DESTDIR="$stage/$package" cmake --install "$BUILD_DIR" --component "$component" \
      --prefix /usr >/dev/null
    "$DEBPACK" build "$stage/$package" --control "$SRC/packaging/$package.control" \
      --version "$version" --epoch 1764633600 --xz-level 1 --out "$out" >/dev/null
  done
}
