# RA-TLS between two processes on 127.0.0.1 with the simulated TDX: `ratls-serve` and
# `connect` attest each other (mutual); the handshake succeeds with matching policies and fails,
# naming the check, with a wrong MRTD (either side), a wrong key binding and expired collateral.
# Every server stops after a bounded number of connections and seconds.
A=$TDX_ATTEST
"$A" sim-pki --seed ci --out pki --issued 2027-01-01T00:00:00Z >/dev/null
M4=$(printf '44%.0s' $(seq 48)); M5=$(printf '55%.0s' $(seq 48)); M6=$(printf '66%.0s' $(seq 48))
policy() { printf 'version: 1\nsets:\n  - {name: %s, mr_td: "%s"}\n' "$1" "$2" > "$1.yaml"; }
policy client "$M4"; policy server "$M5"; policy other "$M6"
make() { "$A" cert make --provider simulated --sim-seed ci --mock-mrtd "$1" --cn "$2" --out-cert "$2.pem" --out-key "$2.key" "${@:3}" 2>/dev/null; }
make "$M4" client; make "$M5" server; make "$M6" stranger
make "$M5" unbound --bind-report-data "$(printf '07%.0s' $(seq 64))"
"$A" cert show server.pem | sed 's/[0-9]* bytes/N bytes/'
J="--collateral pki/collateral.json --root-ca pki/dev-root.pem"
"$A" cert verify server.pem --policy server.yaml $J --at 2027-01-02T00:00:00Z | head -1

serve() {  # serve NAME CONNECTIONS: a server admitting clients of client.yaml
  rm -f port
  "$A" ratls-serve --cert "$1.pem" --key "$1.key" --policy client.yaml $J --at 2027-01-02T00:00:00Z \
    --max-connections "$2" --max-seconds 60 --port-file port >/dev/null 2>>serve.log &
  for _ in $(seq 100); do [ -s port ] && break; sleep 0.1; done
  T=127.0.0.1:$(cat port)
}
connect() {  # connect AS POLICY AT
  rc=0
  out=$("$A" connect "$T" --cert "$1.pem" --key "$1.key" $J --policy "$2.yaml" --at "$3" 2>&1) || rc=$?
  echo "$out" | sed -e "s|$T|PEER|" -e 's/verification time .*/verification time .../' | grep -v rtmr
  [ $rc = 0 ] || echo "exit $rc"
}
T0=2027-01-02T00:00:00Z
serve server 4
connect client server $T0
connect client other $T0
connect client server 2027-03-01T00:00:00Z
connect stranger server $T0
wait
serve unbound 1
connect client server $T0 | sed 's/ SHA-512.*/ .../'
wait
cat serve.log
