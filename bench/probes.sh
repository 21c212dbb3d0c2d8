#!/bin/sh
# bench/probes.sh: 500 SMTP services probed every 10 s against a lab
# Postfix by mailmond and by Debian's monit, in the same run; then the same
# with 5 hung targets among them. Prints CPU per probe, RSS and cycle lag
# for both (see docs/benchmarks.md, "Services").
#
#   bench/probes.sh [BUILD_DIR]     (default: build)
#   env: N=500 INTERVAL=10 MEASURE=60 HUNG=5 HUNG_MEASURE=80
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${1:-$HERE/../build}
exec /usr/bin/python3 "$HERE/probes.py" "$BIN"
