# Unlocked, stale-locked and malformed recipes are refused with the reason and a hint.
mkdir r && cp "$RECIPES/debian/tdx-hello.yaml" r/img.yaml
"$TDXIMAGE" -q build r/img.yaml || echo "exit $?"
cp "$RECIPES/debian/tdx-hello.lock" r/img.lock
sed -i 's/version: 2022.11-6+deb12u2/version: 2022.11-6+deb12u1/' r/img.yaml
"$TDXIMAGE" -q build r/img.yaml || echo "exit $?"
printf 'name: x\nbase: debian\nsource: {}\nkernel: {source: k}\n' > r/bad.yaml
"$TDXIMAGE" -q build r/bad.yaml || echo "exit $?"
