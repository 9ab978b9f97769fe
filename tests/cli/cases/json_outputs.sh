# --json on the commands that print results (docs/json.md): each prints one JSON object (or,
# zipnet-client --watch, one per line) with the documented fields; the deterministic ones are
# compared whole. The others (mrtd-calc, tdximage build/verify/inspect, tdx-attest show/verify/
# check/collateral) have their JSON checked by their own cases.
A=$TDX_ATTEST
M5=$(printf '55%.0s' $(seq 48))
"$A" --json sim-pki --seed ci --out pki --issued 2027-01-01T00:00:00Z
"$A" --json report-data --label zipnet --field 00ff
"$A" --json cert make --provider simulated --sim-seed ci --mock-mrtd "$M5" --cn server \
  --out-cert server.pem --out-key server.key 2>/dev/null
"$A" --json cert show server.pem | sed 's/"evidence_size": [0-9]*/"evidence_size": N/'
printf 'version: 1\nsets:\n  - {name: server, mr_td: "%s"}\n' "$M5" >server.yaml
"$A" --json cert verify server.pem --policy server.yaml --collateral pki/collateral.json \
  --root-ca pki/dev-root.pem --at 2027-01-02T00:00:00Z | grep -v '^    "[0-9a-f]*",\?$'
"$A" --json merge-policies server.yaml server.yaml --out merged.yaml
"$A" --json quote --provider mock --mock-mrtd "$M5" --report-data "$(printf '00%.0s' $(seq 64))" \
  --out mock.bin 2>/dev/null | sed 's/"sha256": "[0-9a-f]*"/"sha256": "…"/; s/"size": [0-9]*/"size": N/'
D=e910bac274d132c3c6c23ac10103947a0a07783a277d9aab6bb12db5749cdb296275a888328c43479a8be40268a72a62
printf '{"imr":3,"event_type":134217729,"digest":"%s","event":"compose-hash","event_payload":"abcd"}\n' $D >events.jsonl
"$A" --json rtmr3 replay events.jsonl

mkdir -p empty
"$TDXIMAGE" --cache cache --json cache seed empty
"$TDXIMAGE" --cache cache --json cache dir | sed "s|$PWD|.|"
deb=$INPUTS/ovmf.deb
"$TDXIMAGE" --json list "$deb" | sed -n 2,7p | sed 's/"size": [0-9]*/"size": N/; s/"mode": [0-9]*/"mode": N/'
"$TDXIMAGE" --json extract "$deb" usr/share/doc/ovmf/copyright -o copyright |
  sed 's/"size": [0-9]*/"size": N/; s/"sha256": "[0-9a-f]*"/"sha256": "…"/; s|"archive": ".*"|"archive": "DEB"|'

"$ZIPNET_BIN/zipnet-server" --instance t --identity s.key --show-identity --json |
  sed 's/"[0-9a-f]\{32,64\}"/"HEX"/'
