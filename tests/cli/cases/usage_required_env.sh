# A missing required option names the environment variable that sets it too, where it has one
# (the operators' docs use the variables); options without one keep CLI11's message.
for p in zipnet-server zipnet-aggregator zipnet-client; do
  env -u ZIPNET_INSTANCE -u ZIPNET_BOOTSTRAP "$ZIPNET_BIN/$p" 2>&1 | head -1 || true
done
ZIPNET_INSTANCE=demo env -u ZIPNET_BOOTSTRAP "$ZIPNET_BIN/zipnet-client" 2>&1 | head -1 || true
"$MRTD_CALC" inspect 2>&1 | head -1 || true
# The server's own checks (after parsing) name flag and variable the same way.
ZIPNET_INSTANCE=demo env -u ZIPNET_COMMITTEE -u ZIPNET_AGGREGATOR -u ZIPNET_OPERATOR \
  "$ZIPNET_BIN/zipnet-server" --identity s.key 2>&1 | head -1 || true
env -u ZIPNET_SIM_SEED ZIPNET_INSTANCE=demo ZIPNET_BOOTSTRAP=00112233445566778899aabbccddeeff@127.0.0.1:1 \
  timeout 20 "$ZIPNET_BIN/zipnet-client" --evidence simulated --connect-timeout 1 2>&1 | head -1 || true
