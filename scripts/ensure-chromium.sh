#!/usr/bin/env bash
# The browser tests drive Debian's Chromium through playwright-core
# (playwright cannot download its own browser here). `npm test` runs this
# first: it installs the `chromium` package when it is missing and the
# machine allows it, or says what to do.
set -euo pipefail
browser="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$browser" ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "ensure-chromium: installing Debian's chromium for the browser tests" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "ensure-chromium: $browser is missing; install it (sudo apt-get install chromium)" >&2
echo "ensure-chromium: or point CHROMIUM_PATH at a Chromium binary" >&2
exit 1
