#!/bin/sh
# Install the pinned browser libraries (npm ci, only when node_modules/ is missing or package-lock.json changed)
# and copy the files pages load into webapp/static/vendor/ (`hotline assets`). Needs npm; fails clearly without it.
set -eu
cd "$(dirname "$0")/.."
if ! command -v npm >/dev/null 2>&1; then
    echo "error: npm is not installed; the pages need htmx, Chart.js and bpmn-js from package-lock.json." >&2
    echo "       Install Node.js with npm (Debian: apt-get install -y npm), then run this again." >&2
    exit 1
fi
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.package-lock.sha256
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
    npm ci --no-audit --no-fund --loglevel=error >/dev/null  # errors still reach stderr
    echo "$lock_sum" > "$stamp"
fi
.venv/bin/hotline assets >/dev/null
