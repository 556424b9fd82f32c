#!/bin/sh
# Set up (virtualenv + pinned dependencies) and run every check: lint, types, the full test suite.
# PostgreSQL tests run when HOTLINE_TEST_DATABASE_URL names a server (each run creates and drops its own database).
set -eu
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
.venv/bin/ruff check .
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
