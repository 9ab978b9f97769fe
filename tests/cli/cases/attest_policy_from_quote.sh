# A policy learned from a reference boot's quote and RTMR3 log (tdx-attest policy-from-quote):
# the learned policy admits that boot and refuses another image's; RTMR0 can be left out; mock
# evidence and a log that is not the quote's are refused, named.
A=$TDX_ATTEST
D=e910bac274d132c3c6c23ac10103947a0a07783a277d9aab6bb12db5749cdb296275a888328c43479a8be40268a72a62
printf '{"imr":3,"event_type":134217729,"digest":"%s","event":"compose-hash","event_payload":"abcd"}\n' $D > events.jsonl
"$A" sim-pki --seed learn --out pki --issued 2027-01-01T00:00:00Z >/dev/null
RD=$(printf '00%.0s' $(seq 64))
quote() { "$A" quote --provider simulated --sim-seed learn --mock-mrtd "$(printf "$1%.0s" $(seq 48))" \
  --rtmr3-log events.jsonl --report-data $RD --out "$2" 2>/dev/null; }
quote 4c ref.quote
quote 4d other.quote
"$A" policy-from-quote ref.quote --event-log events.jsonl --name ref --out learned.yaml
grep -v '^#' learned.yaml | sed -E 's/"[0-9a-f]{96}"/"<hex>"/'
C="--collateral pki/collateral.json --root-ca pki/dev-root.pem --at 2027-01-02T00:00:00Z"
"$A" check ref.quote --policy learned.yaml $C --event-log events.jsonl | head -1
{ "$A" check other.quote --policy learned.yaml $C --event-log events.jsonl 2>&1 || echo "exit $?"; }
"$A" policy-from-quote ref.quote --rtmr 1 --rtmr 2 | grep -cE '^ +rtmr[0-9]:' | sed 's/^/RTMRs pinned with --rtmr 1 --rtmr 2: /'
"$A" quote --provider mock --mock-mrtd "$(printf '4c%.0s' $(seq 48))" --report-data $RD --out mock.ev 2>/dev/null
{ "$A" policy-from-quote mock.ev 2>&1 || echo "exit $?"; }
: > empty.jsonl
{ "$A" policy-from-quote ref.quote --event-log empty.jsonl 2>&1 || echo "exit $?"; } | sed -E 's/[0-9a-f]{96}/<hex>/g'
# The quote's file name goes into the policy's comment escaped: a carriage return in it cannot
# start a YAML line of its own.
cp ref.quote "$(printf 'cr\rsets: []\r.quote')"
"$A" policy-from-quote "$(printf 'cr\rsets: []\r.quote')" --out cr.yaml >/dev/null
grep -c 'cr\\x0dsets: \[\]\\x0d.quote' cr.yaml
"$A" check ref.quote --policy cr.yaml $C | head -1
