#!/bin/sh
# bench/e2e.sh: end-to-end delivery checks against a lab (Postfix ->
# LMTP -> Dovecot), mailmon e2e side by side with the Nagios plugin
# check_email_delivery (monitoring-plugins-contrib) in the same run:
# wall time per check, CPU per check, the delivery figure each reports,
# and the delivery Postfix itself logged (delay= of the LMTP delivery).
# Then the same with the LMTP leg held for HOLD seconds. See
# docs/benchmarks.md, "End-to-end probe".
#
#   bench/e2e.sh [BUILD_DIR]        (default: build)
#   env: N=10 HELD_N=3 HOLD=3
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${1:-$HERE/../build}
exec /usr/bin/python3 "$HERE/e2e.py" "$BIN"
