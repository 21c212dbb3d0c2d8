#!/bin/sh
# bench/logstat.sh: mailmon logstat vs pflogsumm vs mtail --one_shot on the
# same generated Postfix log, in the same run, each pinned to one CPU.
#
#   bench/logstat.sh [LINES [PFLOGSUMM_LINES]]      defaults 2000000 2000000
#
# Env: MAILMON_BIN (build dir with mailmon, default build), BENCH_DIR
# (default /tmp/mailmon-bench), BENCH_DOC=1 to write the results into the
# "logstat" section of docs/benchmarks.md, BENCH_LARGE=N to also time
# mailmon alone on an N-line log of the same mix (CPU, wall, peak RSS),
# BENCH_MTAIL=0 to leave mtail out.
#
# The log is bench/gen_postfix_log.py's relay mix (see its header). By
# default pflogsumm reads the same whole file as mailmon, so the wall-clock
# ratio of the two is measured in the same run; with a smaller
# PFLOGSUMM_LINES it reads that prefix and only the CPU ratio is given.
# Every tool is measured by /usr/bin/time -v (wall, user+sys CPU, peak RSS).
set -eu
cd "$(dirname "$0")/.."
lines=${1:-2000000}
pflines=${2:-$lines}
bin=${MAILMON_BIN:-build}
dir=${BENCH_DIR:-/tmp/mailmon-bench}
mkdir -p "$dir"
log="$dir/postfix-$lines.log"
pflog="$dir/postfix-$lines-head-$pflines.log"
if [ ! -s "$log" ]; then
	echo "generating $log ($lines lines)..." >&2
	/usr/bin/python3 bench/gen_postfix_log.py --lines "$lines" --out "$log" 2>"$log.expect"
fi
if [ "$pflines" -ge "$lines" ]; then
	pflog=$log
elif [ ! -s "$pflog" ]; then
	head -n "$pflines" "$log" >"$pflog"
fi
large=${BENCH_LARGE:-0}
largelog="$dir/postfix-$large.log"
if [ "$large" -gt 0 ] && [ ! -s "$largelog" ]; then
	echo "generating $largelog ($large lines)..." >&2
	/usr/bin/python3 bench/gen_postfix_log.py --lines "$large" --out "$largelog" 2>"$largelog.expect"
fi
pin="taskset -c 1"
command -v taskset >/dev/null 2>&1 || pin=""

# run NAME FILE CMD...: time one tool; prints "name wall cpu rss lines"
run() {
	name=$1; file=$2; shift 2
	n=$(wc -l <"$file")
	cat "$file" >/dev/null # same page-cache state for every tool
	/usr/bin/time -v -o "$dir/$name.time" $pin "$@" >"$dir/$name.out" 2>"$dir/$name.err" || {
		echo "$name failed:" >&2; tail -5 "$dir/$name.err" >&2; exit 1; }
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$dir/$name.time")
	cpu=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {print u+s}' "$dir/$name.time")
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$dir/$name.time")
	echo "$name $wall $cpu $rss $n"
}

{
	# mailmon is cheap to repeat: three runs, the median goes in the table
	for i in 1 2 3; do
		run mailmon "$log" "$bin/mailmon" logstat --json "$log" | sed "s/^mailmon /mailmon_run$i /"
	done
	run mailmon_head "$pflog" "$bin/mailmon" logstat --json "$pflog"
	run pflogsumm "$pflog" pflogsumm "$pflog"
	if [ "${BENCH_MTAIL:-1}" = 1 ]; then
		run mtail "$log" mtail --one_shot --one_shot_format json --progs bench/mtail --logs "$log" --logtostderr
	fi
	if [ "$large" -gt 0 ]; then
		run "mailmon_large" "$largelog" "$bin/mailmon" logstat --json "$largelog"
	fi
} >"$dir/results"
# the median of the three mailmon runs (by CPU time) becomes "mailmon"
grep '^mailmon_run' "$dir/results" | sort -k3 -n | sed -n 2p | sed 's/^mailmon_run[0-9]* /mailmon /' >>"$dir/results"
mm_range=$(grep '^mailmon_run' "$dir/results" | awk '{print $5/$3}' | sort -n | awk 'NR==1{lo=$1} {hi=$1} END {printf "%.2fM-%.2fM", lo/1e6, hi/1e6}')

# Same traffic seen? mailmon's and pflogsumm's five totals on the prefix.
python3 - "$dir" <<'PY' >"$dir/check"
import json, re, sys
d = sys.argv[1]
m = json.load(open(d + "/mailmon_head.out"))["totals"]
p = open(d + "/pflogsumm.out").read().split("Grand Totals", 1)[1].split("Per-", 1)[0]
def num(label):
    x = re.search(r"^\s*(\d+)\s+%s\b" % label, p, re.M)
    return int(x.group(1)) if x else 0
x = re.search(r"deferred\s+\((\d+)\s+deferrals\)", p)
pf = {"received": num("received"), "deferred": num("deferred"),
      "deferrals": int(x.group(1)) if x else 0, "bounced": num("bounced"),
      "rejected": num("rejected")}
diff = {k: (m[k], pf[k]) for k in pf if m[k] != pf[k]}
print("pflogsumm agreement on %s: %s" % (", ".join(pf), "equal" if not diff else diff))
PY

cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
table=$(awk -v pf="$pflines" '
	{ name=$1; wall=$2; cpu=$3; rss=$4; n=$5;
	  if (name == "mailmon_head" || name ~ /^mailmon_run/) next;
	  if (name == "mailmon_large") name = "mailmon (larger log)";
	  lps = (cpu > 0) ? n / cpu : 0; wlps = (wall > 0) ? n / wall : 0;
	  printf "| %s | %d | %.2f | %.2f | %.0f | %.0f | %.1f |\n", name, n, wall, cpu, wlps, lps, rss / 1024 }
	' "$dir/results")
mm_cpu_lps=$(awk '$1=="mailmon" {print $5/$3}' "$dir/results")
pf_cpu_lps=$(awk '$1=="pflogsumm" {print $5/$3}' "$dir/results")
mt_cpu_lps=$(awk '$1=="mtail" {print $5/$3}' "$dir/results")
ratio=$(awk -v a="$mm_cpu_lps" -v b="$pf_cpu_lps" 'BEGIN {printf "%.1f", a / b}')
ratio_mt=$(awk -v a="$mm_cpu_lps" -v b="${mt_cpu_lps:-0}" 'BEGIN {if (b > 0) printf "%.1f", a / b; else print "-"}')
# wall clock, same file, same run: pflogsumm's wall / mailmon's (median run)
ratio_wall=$(awk '$1=="mailmon" {m=$2} $1=="pflogsumm" {p=$2} END {if (m > 0) printf "%.1f", p / m}' "$dir/results")
walls=$(grep '^mailmon_run' "$dir/results" | awk '{printf "%s%.2f", (NR>1?", ":""), $2}')
section=$(cat <<MD
<!-- logstat:begin (written by bench/logstat.sh) -->
## logstat

\`bench/logstat.sh $lines $pflines\` on $(date -u +%Y-%m-%d), $cpu_model,
each tool pinned to one CPU (\`taskset -c 1\`) on a machine shared with other
work (so wall time can exceed CPU time; lines/s by CPU time is the fairer
figure). Log: \`bench/gen_postfix_log.py --lines $lines\`, a relay's mix
(accepting, local, 5xx, refusing and silent destinations, RCPT rejects from
60,000 clients, multi-recipient messages;
$(sed 's/^gen_postfix_log: //' "$log.expect" 2>/dev/null)).
pflogsumm read $( [ "$pflog" = "$log" ] && echo "the same whole file" || echo "the first $pflines lines of the same file").
$( [ "$large" -gt 0 ] && echo "The larger log: \`gen_postfix_log.py --lines $large\`, same mix, mailmon alone ($(sed 's/^gen_postfix_log: //' "$largelog.expect" 2>/dev/null)).")

| tool | lines | wall s | CPU s | lines/s (wall) | lines/s (CPU) | peak RSS MB |
|---|---|---|---|---|---|---|
$table

$( [ "$pflog" = "$log" ] && echo "mailmon logstat vs pflogsumm on the same $lines lines, wall clock: **${ratio_wall}x** (mailmon's three runs: $walls s);")
throughput by CPU time: **${ratio}x**; mailmon / mtail: ${ratio_mt}x.
mailmon is the median of three runs (by CPU time); the three ranged
$mm_range lines/s (CPU), the spread of this shared machine.
$(cat "$dir/check").
mtail ran \`bench/mtail/postfix.mtail\`, which counts events only (no
per-message state: no distinct deferred messages, no delivered bytes, no
percentiles), so it does less work than either report.
<!-- logstat:end -->
MD
)
printf '%s\n' "$section" | tee "$dir/section"
if [ "${BENCH_DOC:-0}" = 1 ]; then
	doc=docs/benchmarks.md
	[ -f "$doc" ] || printf '# Benchmarks\n\nMeasured figures; each section is written by the script it names.\n' >"$doc"
	python3 - "$doc" "$dir/section" <<'PY'
import re, sys
doc, sec = sys.argv[1], open(sys.argv[2]).read()
text = open(doc).read()
pat = re.compile(r"<!-- logstat:begin.*?<!-- logstat:end -->\n?", re.S)
text = pat.sub(lambda m: sec, text) if pat.search(text) else text.rstrip("\n") + "\n\n" + sec
open(doc, "w").write(text)
PY
fi
