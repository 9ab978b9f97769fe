#!/usr/bin/env bash
# A TDX-gated committee (simulated TDX evidence on every link) whose server identities are born at
# each server's first start (as inside a TD, where nobody can know them beforehand): the servers
# start with only ZIPNET_OPERATOR and wait; the operator collects their peer ids from their logs,
# judges each server's attestation by the committee policy and sends it the committee list
# (zipnet-server --configure) and they restart with it in place; a client's message is
# delivered. Then one server "reboots" (a new TD: a new identity): the operator sends the new list
# to every server, the aggregator and clients get the new peer ids, and messages flow again —
# the committee policy the clients and the operator judge servers by (measurements, not keys) is
# the same file throughout. A peer that is not the operator is refused, and a server of another
# image gets no list from the operator.
source "$(dirname "$0")/lib.sh"
simulated_tdx "zipnet operator test"
SERVER_IMAGE=$(IMAGE 10 11 12)
POLICY server-image zipnet-server 10 11 12 >"$W/committee.yaml"
POLICY client-image zipnet-client 20 21 22 >"$W/clients.yaml"
export ZIPNET_SIM_MEASUREMENTS=$SERVER_IMAGE ZIPNET_TDX_GATING=on ZIPNET_TDX_POLICY=$W/clients.yaml
export ZIPNET_COMMITTEE_POLICY=$W/committee.yaml  # the operator's, the aggregator's, clients'
client=(--evidence simulated --sim-measurements "$(IMAGE 20 21 22)")
op=$("$B/zipnet-server" --identity "$W/op.key" --show-identity | sed 's/^peer=\([0-9a-f]*\) .*/\1/')
aid=$("$B/zipnet-aggregator" --identity "$W/agg.key" --show-identity | sed 's/^peer=\([0-9a-f]*\) .*/\1/')
export ZIPNET_AGGREGATOR=$aid@127.0.0.1:$(port 0)
SERVER_PID=()
born() {  # born I: starts server I with a new identity; sets BORN to its peer id once it waits
  rm -f "$W/s$1.key"
  : >"$W/s$1.log"
  ZIPNET_OPERATOR=$op start_server "$1"
  SERVER_PID[$1]=$LAST_PID
  wait_for "$W/s$1.log" "waiting for the committee list.*this server is peer [0-9a-f]{32}" 20
  BORN=$(sed -n 's/.*(this server is peer \([0-9a-f]*\))$/\1/p' "$W/s$1.log")
}
configure_all() {  # sends $ZIPNET_COMMITTEE to every server in it
  local entry
  for entry in ${ZIPNET_COMMITTEE//,/ }; do
    "$B/zipnet-server" --configure "$entry" --operator-identity "$W/op.key" --evidence mock \
      >/dev/null || fail "configure $entry"
  done
}
ids=()
for i in 1 2 3; do
  born "$i"
  ids+=("$BORN")
done
export ZIPNET_COMMITTEE="${ids[0]}@127.0.0.1:$(port 1),${ids[1]}@127.0.0.1:$(port 2),${ids[2]}@127.0.0.1:$(port 3)"
export ZIPNET_BOOTSTRAP=$ZIPNET_COMMITTEE
# Not the operator: refused.
if "$B/zipnet-server" --configure "${ids[0]}@127.0.0.1:$(port 1)" --operator-identity "$W/agg.key" \
  --evidence mock 2>"$W/stranger.log"; then
  fail "a stranger configured a server"
fi
grep -q "closed before answering" "$W/stranger.log" || fail "stranger: $(cat "$W/stranger.log")"
grep -q "refused operator .*: not this server's operator" "$W/s1.log" || fail "no refusal in s1.log"
configure_all
for i in 1 2 3; do wait_for "$W/s$i.log" 'committee formed: 3 servers' 20; done
start_aggregator
AGG=$LAST_PID
run_client alice 0 "${client[@]}" --message "before the reboot" --max-messages 1
echo "delivered with the first committee after ${MS} ms"

# Server 3 reboots: a new identity, a new list for everyone.
kill "${SERVER_PID[3]}"
wait "${SERVER_PID[3]}" 2>/dev/null || true
mv "$W/s3.log" "$W/s3-before.log"
born 3
new=$BORN
[ "$new" != "${ids[2]}" ] || fail "server 3 kept its identity"
export ZIPNET_COMMITTEE="${ids[0]}@127.0.0.1:$(port 1),${ids[1]}@127.0.0.1:$(port 2),$new@127.0.0.1:$(port 3)"
export ZIPNET_BOOTSTRAP=$ZIPNET_COMMITTEE
configure_all
for i in 1 2; do
  for _ in $(seq 1 200); do [ "$(count "$W/s$i.log" 'committee formed: 3 servers')" -ge 2 ] && break; sleep 0.1; done
  [ "$(count "$W/s$i.log" 'committee formed: 3 servers')" -ge 2 ] || fail "server $i did not re-form"
done
wait_for "$W/s3.log" 'committee formed: 3 servers' 20
kill "$AGG"
start_aggregator
run_client bob 0 "${client[@]}" --message "after the reboot" --max-messages 1
echo "delivered with the new committee after ${MS} ms"
[ "$(count "$W/s1.log" "zipnet up: .* peer=${ids[0]} role=server")" -eq 3 ] ||
  fail "server 1 did not keep its peer id across its two restarts"

# A server of another image waiting for a list: the operator judges it first and sends nothing.
rm -f "$W/s7.key"
ZIPNET_OPERATOR=$op ZIPNET_SIM_MEASUREMENTS=$(IMAGE 10 11 13) start_server 7
wait_for "$W/s7.log" "waiting for the committee list" 20
s7=$(sed -n 's/.*(this server is peer \([0-9a-f]*\))$/\1/p' "$W/s7.log")
if ZIPNET_COMMITTEE="$s7@127.0.0.1:$(port 7)" "$B/zipnet-server" --configure "$s7@127.0.0.1:$(port 7)" \
  --operator-identity "$W/op.key" --evidence mock 2>"$W/impostor.log"; then
  fail "the operator configured a server of another image"
fi
sed -E 's/[0-9a-f]{32}@127.0.0.1:[0-9]+/S7/' "$W/impostor.log"
grep -q "the operator sent" "$W/s7.log" && fail "server 7 got a list"
echo "ok: servers configured by their operator, and again after a member's new identity"
