#!/bin/sh
# PDF reports (月度分析报告) embed a CJK font: make sure one is installed (Debian's fonts-noto-cjk, with apt-get when
# running as root on Debian); otherwise say so — the reports page then answers with a clear message, and
# HOTLINE_REPORT_FONT may name a font file instead.
set -eu
has_cjk_font() { command -v fc-list >/dev/null 2>&1 && fc-list :lang=zh family | grep -q .; }
if has_cjk_font; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing fonts-noto-cjk for the PDF reports …" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fontconfig fonts-noto-cjk >/dev/null
else
    echo "note: no CJK font is installed and this is not root on Debian; PDF reports stay unavailable until one is" \
         "(apt-get install fonts-noto-cjk, or set HOTLINE_REPORT_FONT to a .ttf/.otf/.ttc file)" >&2
fi
