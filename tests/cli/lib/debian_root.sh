# Helpers for cases that make a Debian root with mmdebstrap and run programs inside it, as on a
# machine of its own (source this file).
#
# needs_debian_root PREFIX: what every such case needs first. Skips the case (exit 77, saying
# why) unless it runs as root with mmdebstrap and this machine's apt sources name a Debian
# archive (set in $archive); makes $work, a directory under /var/tmp (roots are large, not in
# the case's scratch directory) removed at exit; step() prints progress with the seconds since.
needs_debian_root() {
  [ "$(id -u)" -eq 0 ] || { echo "skipped: needs root (mmdebstrap, chroot and namespaces)"; exit 77; }
  command -v mmdebstrap >/dev/null || { echo "skipped: mmdebstrap is not installed (scripts/setup)"; exit 77; }
  archive=$(debian_archive)
  [ -n "$archive" ] || { echo "skipped: no Debian archive in this machine's apt sources"; exit 77; }
  work=$(mktemp -d "/var/tmp/$1.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  t0=$SECONDS
}
step() { echo "== $* ($((SECONDS - t0)) s)" >&2; }

# debian_archive: the Debian archive URI of this machine's apt sources (deb822 or one-line).
debian_archive() {
  local archive
  archive=$(sed -n 's|^URIs: *\([^ ]*/debian\)/*$|\1|p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
  [ -n "$archive" ] || archive=$(sed -n 's|^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*/debian\)/* bookworm .*|\2|p' /etc/apt/sources.list 2>/dev/null | head -1)
  echo "$archive"
}

# in_root ROOT SCRIPT: runs SCRIPT with /bin/sh in ROOT as a machine of its own: a mount
# namespace whose root it is (entered with pivot_root, as container runtimes do; a chroot may
# not create the user namespace a hermetic build needs), its own /proc, a clean environment.
in_root() {
  unshare --mount --propagation private /bin/sh -euc '
    root=$1; shift
    mount --bind "$root" "$root"
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    cd "$root" && mkdir -p .oldroot && pivot_root . .oldroot && umount -l /.oldroot
    exec /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root LANG=C.UTF-8 /bin/sh -euc "$1"' sh "$1" "$2"
}
