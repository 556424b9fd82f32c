#!/bin/sh
# Set up (virtualenv, pinned Python and npm dependencies, chromium for the browser tests) and run every check:
# lint, types, the full test suite. PostgreSQL tests run when HOTLINE_TEST_DATABASE_URL names a server (each run
# creates and drops its own database); browser tests need /usr/bin/chromium and a CJK font (installed here when
# running as root on Debian; HOTLINE_REQUIRE_BROWSER=1 makes their absence a failure).
set -eu
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
./scripts/browser-deps.sh
./scripts/assets.sh
.venv/bin/ruff check .
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
