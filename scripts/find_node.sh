#!/usr/bin/env bash
# Print the path of a Node.js (>= 18, for `node --test`) for the page's unit tests, installing Debian's if none is found.
set -euo pipefail
ok() { [ -n "$1" ] && [ -x "$1" ] && [ "$("$1" -p 'process.versions.node.split(".")[0]')" -ge 18 ]; }
for n in "${GREENSCOPE_NODE:-}" "$(command -v node || true)" /usr/bin/node /usr/local/bin/node; do
    if ok "$n"; then echo "$n"; exit 0; fi
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing nodejs with apt-get..." >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs >&2
    if ok /usr/bin/node; then echo /usr/bin/node; exit 0; fi
fi
echo "no Node.js >= 18 found: install one (apt-get install nodejs) or set GREENSCOPE_NODE" >&2
exit 1
