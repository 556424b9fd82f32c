#!/bin/sh
# Make sure the browser tests can run: Debian's chromium and a CJK font (without one, Chinese text renders as
# empty boxes in screenshots). Installs them with apt-get when running as root on Debian; otherwise says what is
# missing and leaves the decision to the tests (skipped, or failed under HOTLINE_REQUIRE_BROWSER=1).
set -eu
has_cjk_font() { command -v fc-list >/dev/null 2>&1 && fc-list :lang=zh family | grep -q .; }
if [ -x /usr/bin/chromium ] && has_cjk_font; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing chromium and fonts-noto-cjk for the browser tests …" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
else
    echo "note: /usr/bin/chromium or a CJK font is missing and this is not root on Debian;" \
         "browser tests will not run (apt-get install chromium fonts-noto-cjk)" >&2
fi
