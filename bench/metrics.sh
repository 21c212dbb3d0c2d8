#!/bin/sh
# bench/metrics.sh: the metric registry's cost. On the lab with traffic,
# mailmond with 500 TCP services (about 6,000 series) and Debian's
# prometheus-postfix-exporter on the same Postfix, in the same run: scrape
# time, CPU with a scrape every 5 s, RSS; with OLD_BIN (a build from before
# the registry) also that build's RSS (see docs/benchmarks.md, "Metrics").
#
#   bench/metrics.sh [BUILD_DIR]     (default: build)
#   env: SERVICES=500 SCRAPES=50 MEASURE=60 OLD_BIN=DIR
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${1:-$HERE/../build}
exec /usr/bin/python3 "$HERE/metrics.py" "$BIN"
