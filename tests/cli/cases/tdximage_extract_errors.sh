[ -f "$INPUTS/ovmf.deb" ] || { echo "skipped: $INPUTS/ovmf.deb absent"; exit 77; }
cp "$INPUTS/ovmf.deb" ovmf.deb
"$TDXIMAGE" extract ovmf.deb usr/share/ovmf/NOPE.fd -o out.fd || echo "exit $?"
head -c 100000 ovmf.deb > cut.deb
"$TDXIMAGE" extract cut.deb usr/share/ovmf/OVMF.fd -o out.fd 2>&1 || true
"$TDXIMAGE" extract ovmf.deb ../../etc/passwd -o out.fd || echo "exit $?"
ls
