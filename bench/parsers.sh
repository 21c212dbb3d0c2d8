#!/bin/sh
# bench/parsers.sh: build bench/parse_bench.c with -O2 against the parser
# sources (and the core string buffer they render with; no CMake, no other
# module) and run it on one core.
#
#   bench/parsers.sh [parse_bench args...]    e.g. -n 5000000, -p auto, FILE
#
# Pinned to one CPU with taskset when available. Results go to stdout;
# docs/benchmarks.md ("Parsers") records what was measured and where.
set -eu
cd "$(dirname "$0")/.."
out=${BENCH_OUT:-/tmp/mailmon-parse-bench}
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Isrc -o "$out" \
	bench/parse_bench.c src/parsers/*.c src/core/strbuf.c src/core/xalloc.c
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "cc:  $(${CC:-cc} --version | head -1)"
if command -v taskset >/dev/null 2>&1; then
	exec taskset -c 0 "$out" "$@"
fi
exec "$out" "$@"
