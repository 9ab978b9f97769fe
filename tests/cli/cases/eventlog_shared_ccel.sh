f="$SHARED/vectors/dstack/ccel.bin"
if [ ! -f "$f" ]; then echo "skipped: $f absent (no ../shared)"; exit 77; fi
cp "$f" ccel.bin
"$MRTD_CALC" eventlog ccel.bin | tail -n 4
"$MRTD_CALC" --json eventlog ccel.bin | grep -c '"type":' 
