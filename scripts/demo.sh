#!/bin/sh
# Set up (virtualenv + pinned dependencies) and start the demo on an SQLite file in instance/.
set -eu
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
exec .venv/bin/hotline demo "$@"
