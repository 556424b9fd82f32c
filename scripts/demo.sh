#!/bin/sh
# Set up (virtualenv, pinned Python and npm dependencies) and start the demo on an SQLite file in instance/:
# schema, diagrams, accounts and sample cases, then the scheduler (own process) and the web server at
# http://127.0.0.1:5000/ (`--port N` picks another). Ctrl-C stops both.
set -eu
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
./scripts/assets.sh
./scripts/report-font.sh
exec .venv/bin/hotline demo "$@"
