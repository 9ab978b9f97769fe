cp "$FIXTURES/ccel.bin" "$FIXTURES/ccel-bad.bin" .
"$MRTD_CALC" eventlog ccel.bin
"$MRTD_CALC" eventlog ccel-bad.bin || echo "exit $?"
