# RTMR3 and appraisal through tdx-attest: a simulated quote whose RTMR3 is an event log's replay,
# `rtmr3 replay` against it, `check --event-log` with a policy pinning an event and platform/TD
# rules; a wrong log and a failing rule named; `rtmr3 extend` on this machine (no TDX) says why.
A=$TDX_ATTEST
D=e910bac274d132c3c6c23ac10103947a0a07783a277d9aab6bb12db5749cdb296275a888328c43479a8be40268a72a62
printf '{"imr":3,"event_type":134217729,"digest":"%s","event":"compose-hash","event_payload":"abcd"}\n' $D > events.jsonl
"$A" sim-pki --seed ci --out pki --issued 2027-01-01T00:00:00Z >/dev/null
RD=$(printf '00%.0s' $(seq 64))
MRTD=$(printf '4c%.0s' $(seq 48))
"$A" quote --provider simulated --sim-seed ci --mock-mrtd $MRTD --rtmr3-log events.jsonl --report-data $RD --out q.bin 2>/dev/null
"$A" rtmr3 replay events.jsonl --quote q.bin
cat > policy.yaml <<YAML
version: 1
tcb:
  min_pcesvn: 11
  max_collateral_age_days: 7
td:
  sept_ve_disable: true
sets:
  - name: app
    mr_td: "$MRTD"
    runtime_events:
      - {event: compose-hash, digest: "$D"}
YAML
C="--collateral pki/collateral.json --root-ca pki/dev-root.pem"
"$A" check q.bin --policy policy.yaml $C --at 2027-01-02T00:00:00Z --event-log events.jsonl
{ "$A" check q.bin --policy policy.yaml $C --at 2027-01-02T00:00:00Z || echo "exit $?"; }
{ "$A" check q.bin --policy policy.yaml $C --at 2027-01-09T00:00:00Z --event-log events.jsonl || echo "exit $?"; }
"$A" --json check q.bin --policy policy.yaml $C --at 2027-01-09T00:00:00Z --event-log events.jsonl | grep '"failed_rule"' || true
head -c 150 events.jsonl > short.jsonl; echo >> short.jsonl
{ "$A" rtmr3 replay short.jsonl 2>&1 || echo "exit $?"; }
: > empty.jsonl
{ "$A" check q.bin --policy policy.yaml $C --at 2027-01-02T00:00:00Z --event-log empty.jsonl || echo "exit $?"; } | sed 's/give [0-9a-f]*/give <zero>/'
{ "$A" rtmr3 extend --event x --payload 00 --log ext.jsonl --measurements absent 2>&1 || echo "exit $?"; } | sed 's/not inside a TDX guest.*/not inside a TDX guest .../'
[ -e ext.jsonl ] || echo "ext.jsonl not written"
