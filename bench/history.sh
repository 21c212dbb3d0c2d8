#!/bin/sh
# bench/history.sh: the SQLite history's size and speed (docs/benchmarks.md,
# "History"). Builds bench/history_bench.c against the build's library.
#
#   bench/history.sh [BUILD_DIR]      default build
#   env: SERIES=5000 HOURS=3 LAB_SERIES=(from a lab mailmond) QDAYS=30
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$HERE/../build}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cc -O2 -std=c11 -D_GNU_SOURCE -I"$HERE/../src" "$HERE/history_bench.c" "$BUILD/libmailmon_lib.a" \
	$(pkg-config --libs sqlite3 jansson) -lpthread -lm -o "$out/history_bench"
echo "== ${SERIES:-5000} series, ${HOURS:-3} h at 10 s"
"$out/history_bench" "$out" "${SERIES:-5000}" "${HOURS:-3}"
rm -f "$out"/bench.db*
echo "== ${LAB_SERIES:-400} series (a lab node), ${HOURS:-3} h at 10 s"
"$out/history_bench" "$out" "${LAB_SERIES:-400}" "${HOURS:-3}"
rm -f "$out"/bench.db*
echo "== 30-day queries"
"$out/history_bench" "$out" query "${QSERIES:-20}" "${QDAYS:-30}"
