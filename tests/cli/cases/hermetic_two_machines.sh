# Two machines, one image. The zipnet client image (recipes/debian/zipnet-client.yaml, whose node
# is compiled by its build section) is built by this build's tdximage on this Debian 12 host, and
# again by a tdximage compiled and run inside a Debian 13 (trixie) root made here with
# mmdebstrap from the same archive. The sides share only the verified source cache (sha256/
# entries, --offline on the trixie side). Every output file, launcher included, must be
# byte-identical. Then one line of the node's source changes: `verify` names the source digest
# first, and RTMR2 differs.
#
# Needs: root (chroot, namespaces), mmdebstrap, the Debian archive (apt sources of this machine).
# Env: TDXIMAGE (this build's), SRC (the repository), TDXIMAGE_CACHE (the shared test cache).
set -o pipefail
source "$SRC/tests/cli/lib/debian_root.sh"
needs_debian_root two-machines

step "the repository as a git tree of its own (tracked files as they are in the work tree)"
mkdir "$work/repo"
git -C "$SRC" ls-files -z | (cd "$SRC" && xargs -0 tar -cf -) | tar -C "$work/repo" -xf -
git -C "$work/repo" init -q && git -C "$work/repo" add -A
git -C "$work/repo" -c user.name=t -c user.email=t@t commit -q -m snapshot
recipe=recipes/debian/zipnet-client.yaml

step "a Debian 13 root with a C++ toolchain ($archive trixie)"
root=$work/trixie
mmdebstrap --quiet --variant=apt \
  --include=mount,ca-certificates,git,cmake,ninja-build,g++,pkg-config,libarchive-dev,libzstd-dev,libssl-dev,libcli11-dev,libyaml-cpp-dev,doctest-dev,nlohmann-json3-dev,libcurl4-openssl-dev,libcpp-httplib-dev,libasio-dev,prometheus-cpp-dev,libspdlog-dev \
  trixie "$root" "deb $archive trixie main" >&2
grep -o '^VERSION_ID="13"' "$root/etc/os-release"
mkdir -p "$root/work/cache"
cp -a "$work/repo" "$root/work/repo"

# The Debian 13 root as a machine of its own (lib/debian_root.sh).
in_trixie() { in_root "$root" "$1"; }
step "tdximage compiled inside the Debian 13 root"
in_trixie "cmake -S /work/repo -B /work/bld -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
  -DTDX_BUILD_BENCH=OFF >/dev/null && cmake --build /work/bld --target tdximage >/dev/null"
echo "trixie tdximage built with $(in_trixie 'g++ --version' | head -1 | sed 's/ ([^)]*)//; s/\.[0-9]*\.[0-9]*$/.x/')"

# (The host's build comes after the Debian 13 root is ready: meanwhile the tests' image fixture
# compiles the same node into the shared cache, which this build then reuses.)
step "host (Debian 12): this build's tdximage"
"$TDXIMAGE" -q build "$work/repo/$recipe" --out "$work/host" >/dev/null

# The sources the host's build fetched or found, verified content only.
cp -al "$TDXIMAGE_CACHE/sha256" "$root/work/cache/sha256"

step "in a plain chroot the kernel refuses the build's user namespace: named, nothing written"
{ chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root /bin/sh -c "cd /work/repo && \
  /work/bld/tools/tdximage/tdximage -q --offline --cache /work/cache build $recipe --out /work/chrooted" \
  || true; } 2>&1 | sed -n 's/.*\(cannot isolate the build: the kernel refused [^(]*(CLONE_NEWUSER)[^(]*\) (hint.*/\1/p'
[ -e "$root/work/chrooted" ] || echo "no output written"

step "trixie: the same recipe, offline, from the shared source cache only"
in_trixie "cd /work/repo && /work/bld/tools/tdximage/tdximage -q --offline --cache /work/cache \
  build $recipe --out /work/out >/dev/null"

step "compare"
name=zipnet-client-debian
diff -r "$work/host/$name" "$root/work/out/$name" >&2
echo "all $(ls "$work/host/$name" | wc -l) output files byte-identical, launcher included"
cmp "$work/host/$name/$name-rtmr2.hex" "$root/work/out/$name/$name-rtmr2.hex"
echo "RTMR2 equal"
grep -o '"reproducible": [a-z]*' "$work/host/$name/$name-manifest.json"

step "one line of the node's source changed: verify against the host's build"
sed -i 's/RunMain("zipnet-client"/RunMain("zipnet-client (changed)"/' "$work/repo/zipnet-core/node/src/main_client.cc"
git -C "$work/repo" diff --stat | tail -1 | sed 's/^ *//'
rc=0
"$TDXIMAGE" -q verify "$work/repo/$recipe" --against "$work/host/$name" > verify.out 2>&1 || rc=$?
echo "verify exit $rc"
sed -n '2p' verify.out | sed 's/tdximage-tree-v1:[0-9a-f]*/tdximage-tree-v1:<digest>/g; s/([0-9]* files/(N files/g'
grep -o 'RTMR2 differs' verify.out
step "done"
