# RTMR1 of the Debian kernel changes with memory only through the initrd placement.
[ -f "$INPUTS/kernel.deb" ] || { echo "skipped: $INPUTS/kernel.deb absent"; exit 77; }
member=$("$TDXIMAGE" list "$INPUTS/kernel.deb" | awk '$3 ~ /^boot\/vmlinuz-/ {print $3}')
"$TDXIMAGE" extract "$INPUTS/kernel.deb" "$member" -o vmlinuz >/dev/null
head -c 2000000 /dev/zero > initrd
m() { "$MRTD_CALC" --json measure --kernel vmlinuz --initrd initrd --memory "$1" "${@:2}" | grep -E '"(rtmr1|initrd_addr)"'; }
a=$(m 512M); b=$(m 4G); c=$(m 2816M)
[ "$a" != "$b" ] && [ "$b" = "$c" ]   # 2.75 GiB and above: lowmem is 2 GiB either way
echo "$a" | grep initrd_addr; echo "$b" | grep initrd_addr
u1=$(m 512M --kernel-header unmodified); u2=$(m 4G --kernel-header unmodified)
[ "$u1" = "$u2" ]
