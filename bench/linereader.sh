#!/bin/sh
# bench/linereader.sh: lines/s of the one-shot line reader (plain and .gz)
# on a ~1 GB realistic Postfix log (bench/gen_postfix_log.py), on one CPU.
#
#   bench/linereader.sh [LINES]     default 7000000 (about 1 GB)
#
# Builds bench/linereader_bench.c with -O2 against src/sources and
# src/core only (no CMake). The log and its .gz are kept in
# $BENCH_DIR (default /tmp/mailmon-linereader) between runs; the plain
# file is read once to warm the page cache, then measured.
set -eu
cd "$(dirname "$0")/.."
lines=${1:-7000000}
dir=${BENCH_DIR:-/tmp/mailmon-linereader}
mkdir -p "$dir"
bin="$dir/linereader_bench"
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Isrc -o "$bin" \
	bench/linereader_bench.c src/sources/gzreader.c src/sources/linebuf.c \
	src/core/xalloc.c src/core/err.c -lz
log="$dir/mail-$lines.log"
if [ ! -s "$log" ]; then
	/usr/bin/python3 bench/gen_postfix_log.py --lines "$lines" --out "$log" 2>/dev/null
fi
if [ ! -s "$log.gz" ]; then
	gzip -6 -c "$log" >"$log.gz"
fi
echo "cpu:  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "cc:   $(${CC:-cc} --version | head -1)"
echo "zlib: $(dpkg-query -W -f '${Version}' zlib1g 2>/dev/null || echo '?')"
ls -l "$log" "$log.gz" | awk '{print "file: " $9 " " $5 " bytes"}'
pin=""
command -v taskset >/dev/null 2>&1 && pin="taskset -c 0"
cat "$log" >/dev/null
$pin "$bin" "$log" "$log" "$log.gz"
