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

# stage_debs STAGE: both packages' install components (named as the packages) staged under
# STAGE/<package>.
stage_debs() {
  local package
  for package in tdx-image-tools zipnet; do
    DESTDIR="$1/$package" cmake --install "$BUILD_DIR" --component "$package" --prefix /usr \
      >/dev/null
  done
}

# pack_debs STAGE OUT VERSION: both staged packages written to OUT by debpack (xz level 1: the
# tests' binaries are large and level 6 takes most of a minute each).
pack_debs() {
  local package
  for package in tdx-image-tools zipnet; do
    "$DEBPACK" build "$1/$package" --control "$SRC/packaging/$package.control" \
      --version "$3" --epoch 1764633600 --xz-level 1 --out "$2" >/dev/null
  done
}

# make_debs STAGE OUT VERSION: both.
make_debs() {
  stage_debs "$1"
  pack_debs "$@"
}
