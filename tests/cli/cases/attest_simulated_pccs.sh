# Simulated TDX end to end through the binaries: a development PKI from a seed, a quote claiming
# an image's measurements, its collateral served by `pccs-serve` on 127.0.0.1, fetched by
# `collateral fetch`, verified under the development root and refused under Intel's; the PCCS
# down; a tampered body refused before anything is written. Loopback only, bounded in time.
A=$TDX_ATTEST
"$A" sim-pki --seed ci --out pki --issued 2027-01-01T00:00:00Z | sed 's/sha256 [0-9a-f]*/sha256 <64 hex>/'
"$A" sim-pki --seed ci --out pki2 --issued 2027-01-01T00:00:00Z >/dev/null
cmp pki/dev-root.pem pki2/dev-root.pem && cmp pki/collateral.json pki2/collateral.json && echo "same seed, same bytes"
printf '{"mr_td":{"single-pass":"%s"},"rtmr1":"%s","rtmr2":"%s"}' \
  "$(printf '4c%.0s' $(seq 48))" "$(printf '11%.0s' $(seq 48))" "$(printf '22%.0s' $(seq 48))" > m.json
RD=$(printf '5a%.0s' $(seq 64))
"$A" quote --provider simulated --sim-seed ci --mock-from m.json --report-data "$RD" --out q.bin 2>&1
"$A" show q.bin | head -2 | sed 's/, [0-9]* bytes/, N bytes/'

mkdir served && cp pki/collateral.json served/dev.json
"$A" pccs-serve served --max-seconds 120 --port-file port > serve.log 2>&1 &
SERVER=$!
for _ in $(seq 100); do [ -s port ] && break; sleep 0.1; done
URL=http://127.0.0.1:$(cat port)
"$A" collateral fetch q.bin --pccs "$URL" --root-ca pki/dev-root.pem --at 2027-01-02T00:00:00Z --out fetched.json 2>&1 | sed "s|$URL|URL|"
cmp fetched.json pki/collateral.json && echo "fetched = served"
"$A" verify q.bin --collateral fetched.json --root-ca pki/dev-root.pem --at 2027-01-02T00:00:00Z | head -2
{ "$A" verify q.bin --collateral fetched.json --at 2027-01-02T00:00:00Z 2>&1 || echo "exit $?"; }
{ "$A" collateral fetch q.bin --pccs "$URL" --at 2027-01-02T00:00:00Z 2>&1 || echo "exit $?"; } | sed "s|$URL|URL|"

# A tampered TCB info (valid JSON, old signature): refused, nothing written.
sed 's/\\"pcesvn\\":11/\\"pcesvn\\":12/' pki/collateral.json > served/dev.json
{ "$A" collateral fetch q.bin --pccs "$URL" --root-ca pki/dev-root.pem --at 2027-01-02T00:00:00Z --out tampered.json 2>&1 || echo "exit $?"; } | sed "s|$URL|URL|"
[ -e tampered.json ] || echo "tampered.json not written"

kill $SERVER; wait $SERVER 2>/dev/null || true
grep -c '^pccs-serve: 200 GET /tdx/certification/v4/tcb?fmspc=DE7000000000$' serve.log
{ "$A" collateral fetch q.bin --pccs "$URL" --root-ca pki/dev-root.pem --attempts 2 --timeout 5 2>&1 || echo "exit $?"; } | sed -e "s|$URL|URL|" -e "s/port [0-9]* after [0-9]* ms/port P after T ms/"
