#!/bin/sh
# The placeholder payload of our recipes until the zipnet node exists: prints a marker line the
# boot tests look for and fetches $TDX_HELLO_URL (a kernel command line tdx_hello_url=URL
# overrides it). The boot tests serve that URL from the host through QEMU's guestfwd.
name=${TDX_IMAGE_NAME:-unknown}
echo "TDX_HELLO_MARKER image=$name kernel=$(uname -r)"
url=$(sed -n 's/.*tdx_hello_url=\([^ ]*\).*/\1/p' /proc/cmdline)
url=${url:-$TDX_HELLO_URL}
if [ -n "$url" ]; then
  body=$(timeout 20 wget -q -O - "$url" 2>&1)
  echo "TDX_HELLO_FETCH status=$? url=$url body=$body"
fi
exit 0
