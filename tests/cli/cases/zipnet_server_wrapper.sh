# recipes/common/zipnet-server.sh, the server images' payload, run here (the same commands as in
# the image's busybox): the identity and the policy passed base64-encoded land in 0600 files,
# the server starts with that identity (the usage error: no committee given), and bad base64 stops it.
W=recipes/common/zipnet-server.sh
mkdir bin && ln -s "$ZIPNET_BIN/zipnet-server" bin/
export ZIPNET_INSTANCE=wrapper-test
"$ZIPNET_BIN/zipnet-server" --identity host.key --show-identity > want
printf 'version: 1\nsets:\n  - name: "x"\n    mr_td: "%s"\n' "$(printf 'ab%.0s' $(seq 48))" > policy.yaml
set +e
env -u ZIPNET_COMMITTEE PATH="$PWD/bin:$PATH" ZIPNET_IDENTITY="$PWD/guest.key" \
  ZIPNET_TDX_POLICY="$PWD/guest-policy.yaml" ZIPNET_IDENTITY_B64="$(base64 -w0 host.key)" \
  ZIPNET_TDX_POLICY_B64="$(base64 -w0 policy.yaml)" sh "$SRC/$W" > out 2>&1
echo "exit $?"
set -e
sed -n '1,2p' out | sed 's/(\([0-9a-f]\{16\}\)…)/(SHA…)/'
sed -n '3p' out | cmp -s - want && echo "the server's identity is the host's"
tail -n 1 out
cmp -s policy.yaml guest-policy.yaml && echo "policy passed intact"
stat -c '%a' guest.key guest-policy.yaml
set +e
env PATH="$PWD/bin:$PATH" ZIPNET_IDENTITY="$PWD/g2.key" ZIPNET_IDENTITY_B64='not*base64' sh "$SRC/$W" 2>&1 | tail -n 1
set -e
# Without an identity from the host: a fresh one, not the host's.
env -u ZIPNET_COMMITTEE PATH="$PWD/bin:$PATH" ZIPNET_IDENTITY="$PWD/fresh.key" sh "$SRC/$W" > out2 2>&1 || true
head -n 1 out2
sed -n '2p' out2 | cmp -s - want || echo "a fresh identity"
