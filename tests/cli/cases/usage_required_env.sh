# A missing required option names the environment variable that sets it too, where it has one
# (the operators' docs use the variables); options without one keep CLI11's message.
for p in zipnet-server zipnet-aggregator zipnet-client; do
  env -u ZIPNET_INSTANCE -u ZIPNET_BOOTSTRAP "$ZIPNET_BIN/$p" 2>&1 | head -1 || true
done
ZIPNET_INSTANCE=demo env -u ZIPNET_BOOTSTRAP "$ZIPNET_BIN/zipnet-client" 2>&1 | head -1 || true
"$MRTD_CALC" inspect 2>&1 | head -1 || true
