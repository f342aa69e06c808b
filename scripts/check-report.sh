#!/usr/bin/env bash
# check-report.sh REPORT.html [OUT_DIR]
#
# Renders a learnviews report page in headless Chromium, dumps its DOM and
# takes a screenshot, and checks that the page loaded without script errors
# and that every <img> decoded. The page's own inline script records that on
# <body data-report-check="...">: "ok" on success, "failed: ..." otherwise,
# "pending" if the script never ran.
#
# OUT_DIR (default: a new temporary folder) receives dom.html, screenshot.png
# and chromium.log. CHECK_REPORT_WINDOW sets the screenshot's window size
# (default 1280,4000: long enough for a run's usual report). Exits 0 when the page checks out, 1 when it does not,
# 2 on a usage or setup error.
#
# Needs Chromium: apt-get install -y --no-install-recommends chromium
set -euo pipefail

usage() { echo "usage: $0 REPORT.html [OUT_DIR]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
report=$1
[ -f "$report" ] || { echo "check-report: no such file: $report" >&2; exit 2; }

browser=""
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then browser=$(command -v "$b"); break; fi
done
[ -n "$browser" ] || {
  echo "check-report: Chromium not found; install it with: apt-get install -y --no-install-recommends chromium" >&2
  exit 2
}

out=${2:-$(mktemp -d)}
mkdir -p "$out"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
url="file://$(cd "$(dirname "$report")" && pwd)/$(basename "$report")"

flags=(--headless --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --hide-scrollbars --user-data-dir="$profile" --virtual-time-budget=10000)
if [ "$(id -u)" = 0 ]; then flags+=(--no-sandbox); fi

run() { timeout 120 "$browser" "${flags[@]}" "$@" 2>>"$out/chromium.log"; }

: >"$out/chromium.log"
if ! run --dump-dom "$url" >"$out/dom.html"; then
  echo "check-report: Chromium failed to load $report (see $out/chromium.log)" >&2
  exit 1
fi
if ! run --window-size="${CHECK_REPORT_WINDOW:-1280,4000}" --screenshot="$out/screenshot.png" "$url" >/dev/null; then
  echo "check-report: Chromium failed to take a screenshot of $report (see $out/chromium.log)" >&2
  exit 1
fi
[ -s "$out/screenshot.png" ] || { echo "check-report: no screenshot written" >&2; exit 1; }

status=$(sed -n 's/.*<body[^>]*data-report-check="\([^"]*\)".*/\1/p' "$out/dom.html" | head -n 1)
images=$(sed -n 's/.*<body[^>]*data-report-images="\([^"]*\)".*/\1/p' "$out/dom.html" | head -n 1)
imgTags=$({ grep -o '<img[ >]' "$out/dom.html" || true; } | wc -l)

case "$status" in
  ok)
    echo "check-report: ok: $report loaded, ${images:-0} of $imgTags images decoded; DOM and screenshot in $out"
    ;;
  "")
    echo "check-report: $report has no data-report-check marker on <body>: not a learnviews report?" >&2
    exit 1
    ;;
  pending)
    echo "check-report: the page's check script did not run (script error or load never finished); see $out/dom.html" >&2
    exit 1
    ;;
  *)
    echo "check-report: $report: $status" >&2
    exit 1
    ;;
esac
