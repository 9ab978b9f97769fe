#!/bin/sh
# The placeholder payload of our recipes until the zipnet node exists: prints a marker line the
# boot tests look for, the measured-boot state, and, when the kernel command line carries
# tdx_hello_url=URL, fetches that URL (the boot test serves it from the host).
name=${TDX_IMAGE_NAME:-unknown}
echo "TDX_HELLO_MARKER image=$name kernel=$(uname -r)"
url=$(sed -n 's/.*tdx_hello_url=\([^ ]*\).*/\1/p' /proc/cmdline)
if [ -n "$url" ]; then
  body=$(timeout 20 wget -q -O - "$url" 2>&1)
  echo "TDX_HELLO_FETCH status=$? body=$body"
fi
exit 0
