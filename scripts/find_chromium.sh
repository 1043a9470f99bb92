#!/usr/bin/env bash
# Print the path of a Chromium for the browser tests, installing Debian's if none is found.
# Playwright's own browser download does not work everywhere; the system Chromium does.
set -euo pipefail
for c in "${GREENSCOPE_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser /usr/bin/google-chrome; do
    if [ -n "$c" ] && [ -x "$c" ]; then echo "$c"; exit 0; fi
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing chromium with apt-get..." >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
    [ -x /usr/bin/chromium ] && { echo /usr/bin/chromium; exit 0; }
fi
# elsewhere (macOS, no root): Playwright's own Chromium; an empty path tells the tests to use it
if [ -x .venv/bin/python ] && .venv/bin/python -m playwright install chromium >&2; then
    echo ""; exit 0
fi
echo "no Chromium found: install one (apt-get install chromium) or set GREENSCOPE_CHROMIUM" >&2
exit 1
