# verify: a rebuild matches the published out dir and launcher (exit 0); an auditor given a build
# whose payload was changed is told exactly what differs (exit 3); --expect-mrtd is checked.
R="$RECIPES/debian/tdx-hello.yaml"
"$TDXIMAGE" -q build "$R" --out out >/dev/null
"$TDXIMAGE" -q verify "$R" --against out/tdx-hello-debian | head -n 1
"$TDXIMAGE" -q verify "$R" --against out/tdx-hello-debian/tdx-hello-debian-run-qemu.sh | head -n 1
rc=0
"$TDXIMAGE" -q verify "$R" --against out/tdx-hello-debian --expect-mrtd "$(printf 'ab%.0s' {1..48})" > expect.txt || rc=$?
head -n 1 expect.txt; sed -n 2p expect.txt | cut -c1-50
echo "exit $rc"
# A published build made from a changed payload (the recipe's /usr/bin/tdx-hello).
mkdir -p other/r
sed 's/TDX_HELLO_MARKER/TDX_HELLO_MARKER_CHANGED/' "$R" > other/r/img.yaml
cp "${R%.yaml}.lock" other/r/img.lock
"$TDXIMAGE" -q --offline lock other/r/img.yaml
"$TDXIMAGE" -q build other/r/img.yaml --out other/out >/dev/null
rc=0
"$TDXIMAGE" -q verify "$R" --against other/out/tdx-hello-debian > report.txt || rc=$?
echo "exit $rc"
sed -E 's/[0-9a-f]{16}…/<sha>/g; s/[0-9a-f]{96}/<hex>/g' report.txt
