#!/usr/bin/python3
"""cluster_tarpit: the damaging flood of issue 15 on a real Postfix node.

A destination that accepts TCP and never answers (the lab's slow.test
"hold" helper) holds a delivery agent per attempt until smtp_helo_timeout.
This bench sends normal mail (rec.test, to a sink recording each
Message-ID and its arrival) at a steady rate, then floods slow.test with
N messages (at full speed or paced at --flood-rate per second) while
normal mail goes on. It also records when mailmond's floodeddestination
alarm fired and with which class (it must say timeout), and the node's
verdict.

Latency of a normal message: from the 250 reply to its DATA (the end of
smtplib's sendmail, before QUIT) to the moment the sink has read its
final "." (the sink runs in this process; the flood runs in a separate
process, so it does not compete with the sink for the interpreter).
Figures are printed in seconds with 3 decimals, per phase of the send
time:

  before     the --before seconds before the flood starts;
  injection  while the flood is being sent;
  queued     after the last flood message was accepted (until the
             suspension below, when that comes later);
  isolated   (isolation run) after mailmond isolated slow.test;
  suspended  after Postfix first logged "delivery temporarily suspended"
             for slow.test (its dead-destination marking, 1 s resolution);
  retry      after the deferred flood came back to the active queue (its
             first retry: active above 1/40 of the flood again, after it
             had fallen below a tenth), when the run lasts that long.

Per phase it also prints what tells CPU contention from queue clogging:
the machine's CPU busy share (/proc/stat, all cores, everyone's work),
the mean 1-minute load average (/proc/loadavg), and the largest number of
files in Postfix's incoming and active queue directories (listed every
second). A normal message that waits in incoming while active is at
qmgr_message_active_limit (20,000) is clogging, not CPU.

It runs without isolation, then with [isolate] enable = yes and the
Postfix setup of docs/cluster.md (mailmond's map first in transport_maps,
an "isolated" smtp service with process limit 2, a 5 s greeting wait and
concurrency 1), a fresh lab each; --repeat repeats the pair. --write
replaces this invocation's section (keyed by retry timing, greeting
timeout and flood rate) in docs/benchmarks.md; --json saves the raw
figures of every run.

    bench/cluster_tarpit.py [--flood 20000] [--flood-rate 0] [--rate 5]
                            [--before 60] [--during 420]
                            [--helo-timeout 300s] [--mode both|without|with]
                            [--backoff postfix|lab] [--repeat 1]
                            [--write docs/benchmarks.md] [--json FILE]
                            [--from-json FILE]

--flood-rate: messages per second of the flood (0: as fast as 4 SMTP
sessions go). --during: seconds from the flood's start to the end of the
measurement (at least until the flood is queued); with a 300 s greeting
timeout it must pass 300 s to see the first attempts time out.
--backoff: Postfix's default retry timing (queue_run_delay 300 s, backoff
300-4000 s), or the lab's (10 s, 5-10 s), under which the deferred flood
comes back to the active queue every 10 s.

Run as root from the source tree with the binaries in build/ (MAILMON_BIN).
One run takes about --before + --during + 60 s. Not part of CI.
"""
import argparse
import datetime
import json
import multiprocessing
import os
import pathlib
import re
import smtplib
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "system"))
sys.path.insert(0, os.path.join(HERE, "..", "lab"))
os.environ.setdefault("MAILMON_BIN", os.path.join(HERE, "..", "build"))

import mailmonlab  # noqa: E402
import mmbin  # noqa: E402
import traffic  # noqa: E402
from smtp_record import RecordingSink  # noqa: E402

PHASES = ("before", "injection", "queued", "isolated", "suspended", "retry")


def pct(xs, p):
    """Nearest-rank percentile (p99 of 300 samples is the 3rd largest)."""
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]


class Normal:
    """Normal mail at `rate`/s, one SMTP session per message; sent[mid] is
    the time of the 250 reply to DATA."""

    def __init__(self, port, rate):
        self.port, self.rate = port, rate
        self.sent = {}  # mid -> time.time() of DATA's 250
        self.failed = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        i = 0
        while not self._stop.is_set():
            mid = "<n%d.%d@client.lab.test>" % (i, os.getpid())
            try:
                with smtplib.SMTP("127.0.0.1", self.port, timeout=30,
                                  local_hostname=mailmonlab.CLIENT_HELO) as s:
                    s.sendmail("a@client.lab.test", ["u%d@rec.test" % i],
                               "Subject: n\r\nMessage-ID: %s\r\n\r\nx\r\n" % mid)
                    self.sent[mid] = time.time()
            except (smtplib.SMTPException, OSError):
                self.failed += 1
            i += 1
            self._stop.wait(1.0 / self.rate)

    def start(self):
        self._t.start()

    def stop(self):
        self._stop.set()
        self._t.join(60)


def cpu_times():
    """(busy, total) jiffies of all cores from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v) - idle, sum(v)


def count_files(d):
    n = 0
    try:
        for e in os.scandir(d):
            n += count_files(e.path) if e.is_dir(follow_symlinks=False) else 1
    except OSError:
        pass
    return n


class Sampler:
    """Every second: CPU jiffies, 1-min load average, and the number of
    files in Postfix's incoming, active and deferred directories."""

    def __init__(self, queue_dir):
        self.q = queue_dir
        self.samples = []  # (t, busy, total, load1, incoming, active, deferred)
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            busy, total = cpu_times()
            with open("/proc/loadavg") as f:
                load1 = float(f.read().split()[0])
            self.samples.append((time.time(), busy, total, load1,
                                 count_files(os.path.join(self.q, "incoming")),
                                 count_files(os.path.join(self.q, "active")),
                                 count_files(os.path.join(self.q, "deferred"))))
            self._stop.wait(1.0)

    def start(self):
        self._t.start()
        return self

    def stop(self):
        self._stop.set()
        self._t.join(30)



def window(samples, a, b):
    """CPU busy %, mean load, max incoming, max active, max deferred of the
    Sampler samples in [a, b), or None."""
    s = [x for x in samples if a <= x[0] < b]
    if len(s) < 2:
        return None
    busy = (s[-1][1] - s[0][1]) / max(1, s[-1][2] - s[0][2]) * 100.0
    return {"cpu": busy, "load": sum(x[3] for x in s) / len(s),
            "incoming": max(x[4] for x in s), "active": max(x[5] for x in s),
            "deferred": max(x[6] for x in s)}


def flood_proc(port, n, rate):
    """The flood, in its own process (spawned: no interpreter shared with
    the sink and the normal sender)."""
    traffic.flood(port, n, "slow.test", prefix="t", timeout=120, rate=rate)


ISOLATED_SERVICE = ("isolated unix - - n - 2 smtp -o syslog_name=postfix/isolated"
                    " -o smtp_connect_timeout=2s -o smtp_helo_timeout=5s")


# Postfix's retry timing: the lab's short one (deferred mail back every
# 10 s, for quick tests) or Postfix's defaults (main.cf as shipped).
BACKOFF = {
    "lab": {"queue_run_delay": "10s", "minimal_backoff_time": "5s",
            "maximal_backoff_time": "10s"},
    "postfix": {"queue_run_delay": "300s", "minimal_backoff_time": "300s",
                "maximal_backoff_time": "4000s"},
}


def setup_isolation(lab, state, tmap):
    """docs/cluster.md's three lines, once mailmond has written its map."""
    mappath = state / "isolate" / "transport"
    mailmonlab.Lab.wait_for(lambda: os.path.exists(str(mappath) + ".db"), 30,
                            what="mailmond's isolation map")
    cdir = lab.paths["postfix_config_dir"]
    mailmonlab.run(["postconf", "-c", cdir, "-M", "isolated/unix=" + ISOLATED_SERVICE])
    lab.postconf({"transport_maps": "hash:%s, texthash:%s, texthash:%s"
                  % (mappath, tmap, lab.paths["transport"]),
                  "isolated_destination_concurrency_limit": "1"})


LOGTIME = re.compile(r"^(\w{3} +\d+ \d\d:\d\d:\d\d) ")


def first_log(log, pattern):
    """time.time() of the first maillog line matching pattern (1 s resolution,
    local time), or None."""
    m = re.search(r"^.*%s.*$" % pattern, log, re.M)
    if not m:
        return None
    t = LOGTIME.match(m.group(0))
    if not t:
        return None
    year = time.localtime().tm_year
    return time.mktime(time.strptime("%d %s" % (year, t.group(1)), "%Y %b %d %H:%M:%S"))


def run_once(a, isolate):
    """One lab, one flood; returns the figures of this run."""
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="mm-tarpit-"))
    sink = RecordingSink().start()
    tmap = tmp / "transport"
    tmap.write_text("rec.test smtp:[127.0.0.1]:%d\n" % sink.port)
    extra = ("[history]\nenable = no\n[alarm]\nmail = no\n"
             "[cluster]\ninterval = 2s\nstall_window = 30s\n")
    if isolate:
        extra += "[isolate]\nenable = yes\ninterval = 2s\nrelease_after = 1h\n"
    r = {"isolate": isolate, "flood": a.flood, "isolated_at": None, "alarm_at": None, "alarm": None,
         "states": set()}
    with mailmonlab.Lab(components=("postfix",), **BACKOFF[a.backoff]) as lab:
        lab.postconf({"transport_maps": "texthash:%s, texthash:%s" % (tmap, lab.paths["transport"]),
                      "smtp_helo_timeout": a.helo_timeout, "smtp_connect_timeout": "5s"})
        daemon, api, state = traffic.start_mailmond(lab, tmp, extra)
        if isolate:
            setup_isolation(lab, state, tmap)
        sampler = Sampler(lab.paths["queue_dir"]).start()
        n = Normal(lab.ports["smtpd"], a.rate)
        done = threading.Event()
        try:
            start = time.time()
            n.start()
            time.sleep(a.before)
            t0 = time.time()

            def watch():
                while not done.is_set():
                    try:
                        st = mmbin.Daemon.get(api, "/api/status").get("verdict") or {}
                        r["states"].add(st.get("state"))
                        if r["alarm_at"] is None:
                            for x in mmbin.Daemon.get(api, "/api/alarms")["alarms"]:
                                if x["alarm"] == "floodeddestination" and x["state"] == "firing":
                                    r["alarm_at"], r["alarm"] = time.time(), x["instance"]
                        if isolate and r["isolated_at"] is None:
                            iso = mmbin.Daemon.get(api, "/api/isolate")["isolated"]
                            if any(e["destination"] == "slow.test" for e in iso):
                                r["isolated_at"] = time.time()
                    except OSError:
                        pass
                    done.wait(1)
            w = threading.Thread(target=watch, daemon=True)
            w.start()
            fp = multiprocessing.get_context("spawn").Process(
                target=flood_proc, args=(lab.ports["smtpd"], a.flood, a.flood_rate))
            fp.start()
            fp.join()
            r["flood_rc"] = fp.exitcode
            t_queued = time.time()
            while time.time() - t0 < a.during:
                time.sleep(1)
            t_end = time.time()
            done.set()
            w.join(30)
            r["verdict"] = (mmbin.Daemon.get(api, "/api/status").get("verdict") or {}).get("line")
            n.stop()
            deadline = time.time() + 120
            while time.time() < deadline and not set(n.sent) <= set(sink.ids):
                time.sleep(1)
            t_drained = time.time()
            log = open(lab.paths["maillog"], errors="replace").read()
            r["first_timeout"] = first_log(log, r"to=<t\d+@slow\.test>.*status=deferred.*timed out")
            r["first_suspended"] = first_log(log, r"to=<t\d+@slow\.test>.*delivery temporarily suspended")
            if isolate:
                r["iso_attempts"] = len(re.findall(r"postfix/isolated/smtp\[\d+\]: \w+: "
                                                   r"to=<t\d+@slow\.test>", log))
        finally:
            done.set()
            n.stop()
            sampler.stop()
            daemon.stop()
    r["sent_s"] = []  # (send time - t0, latency, not delivered) of every message
    for mid, t in n.sent.items():
        got = sink.ids.get(mid)
        r["sent_s"].append((t - t0, (got if got is not None else t_drained) - t, got is None))
    r["samples"] = [(x[0] - t0,) + tuple(x[1:]) for x in sampler.samples]
    r["normal_failed"] = n.failed
    r["duplicates"] = sink.duplicates
    for k in ("alarm_at", "isolated_at", "first_timeout", "first_suspended"):
        if r[k] is not None:
            r[k] -= t0
    r["before_s"], r["queued_s"], r["end_s"] = start - t0, t_queued - t0, t_end - t0
    r["states"] = sorted(s for s in r["states"] if s)
    sink.stop()
    return r


def fmt(x):
    return "-" if x != x else "%.3f" % x


def phases(r):
    """{phase: (latencies, not delivered, load window or None)} of one run,
    from its raw figures (send times and samples relative to the flood's
    start); runs saved before the samples were kept have r["load"]."""
    end = r.get("end_s", max(s[0] for s in r["sent_s"]) + 1)
    susp = r["first_suspended"]
    # "queued" stops where Postfix's suspension starts, when that is later.
    qend = susp if susp is not None and r["queued_s"] < susp < end else end
    bounds = {"before": (r.get("before_s", -1e9), 0.0), "injection": (0.0, r["queued_s"]),
              "queued": (r["queued_s"], qend)}
    if r["isolate"]:
        bounds["isolated"] = (r["isolated_at"] if r["isolated_at"] is not None else end, end)
    retry = None
    if susp is not None and "samples" in r and "flood" in r:
        low = False
        for x in r["samples"]:
            if x[0] > susp and x[5] < r["flood"] / 10:
                low = True
            elif low and x[5] > r["flood"] / 40:
                retry = x[0]
                break
    r["retry_s"] = retry
    bounds["suspended"] = (susp if susp is not None else end, retry or end)
    if retry:
        bounds["retry"] = (retry, end)
    out = {}
    for p, (lo, hi) in bounds.items():
        sel = [s for s in r["sent_s"] if lo <= s[0] < hi]
        if "samples" in r:
            ld = window(r["samples"], lo, hi)
        else:  # an older run's windows: "queued" then ran to the end
            ld = None if p == "queued" and qend != end else (r.get("load") or {}).get(p)
        out[p] = ([s[1] for s in sel], sum(1 for s in sel if s[2]), ld)
    return out


def rows(r):
    """The table rows of one run."""
    name = "%d, %s" % (r["repeat"], "with isolation" if r["isolate"] else "no isolation")
    susp = r["first_suspended"]
    label = {"before": "before the flood", "injection": "during injection",
             "queued": "after the flood was queued" + (
                 ", until Postfix suspended slow.test"
                 if susp is not None and r["queued_s"] < susp < r.get("end_s", 1e9) else ""),
             "isolated": "after slow.test was isolated",
             "suspended": "after Postfix suspended slow.test",
             "retry": "after the deferred flood came back to the active queue"}
    ph = phases(r)
    base = pct(ph["before"][0], 99)
    out = []
    for p in PHASES:
        if p not in ph:
            continue
        xs, nlate, ld = ph[p]
        ld = ld or {}
        late = " (%d not delivered: counted at the end)" % nlate if nlate else ""
        out.append("| %s | %s%s | %d | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            name, label[p], late, len(xs), fmt(pct(xs, 50)), fmt(pct(xs, 99)),
            fmt(max(xs) if xs else float("nan")),
            "%.1f" % (pct(xs, 99) / base) if xs and base else "-",
            "%.0f" % ld["cpu"] if ld else "-", "%.2f" % ld["load"] if ld else "-",
            ld.get("incoming", "-"), ld.get("active", "-")))
    return out


def note(r, before_p99):
    name = "with isolation" if r["isolate"] else "no isolation"

    def at(x):
        return "%.0f s" % x if x is not None else "never"
    slow = [s for s in r["sent_s"] if s[1] > 2 * before_p99]
    line = ("- %s: flood queued in %.1f s; first greeting timeout logged %s and first "
            "\"delivery temporarily suspended\" %s after the flood started; "
            "floodeddestination `%s` %s; verdicts seen: %s; at the end: %s; "
            "normal mail not delivered by the end: %d, send failures: %d, duplicates: %d; "
            "normal messages over 2x the before-p99: %d"
            % (name, r["queued_s"], at(r["first_timeout"]), at(r["first_suspended"]),
               r["alarm"], at(r["alarm_at"]), ", ".join(r["states"]), r["verdict"],
               sum(1 for s in r["sent_s"] if s[2]),
               r["normal_failed"], r["duplicates"], len(slow)))
    if slow:
        line += " (sent %.0f..%.0f s after the flood started)" % (min(s[0] for s in slow),
                                                                  max(s[0] for s in slow))
    if r.get("retry_s"):
        line += "; the deferred flood back in the active queue %s after the flood started" % at(
            r["retry_s"])
    if r["isolate"]:
        line += ("; slow.test isolated %s after the flood started; attempts by the isolated "
                 "transport in the maillog: %d" % (at(r["isolated_at"]), r.get("iso_attempts", 0)))
    return line


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flood", type=int, default=20000)
    ap.add_argument("--flood-rate", type=float, default=0.0,
                    help="flood messages per second (0: full speed)")
    ap.add_argument("--rate", type=float, default=5.0, help="normal messages per second")
    ap.add_argument("--before", type=int, default=60)
    ap.add_argument("--during", type=int, default=420,
                    help="seconds from the flood's start to the end of the measurement")
    ap.add_argument("--helo-timeout", default="300s")
    ap.add_argument("--mode", choices=("both", "without", "with"), default="both")
    ap.add_argument("--backoff", choices=sorted(BACKOFF), default="postfix")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--write")
    ap.add_argument("--json")
    ap.add_argument("--from-json", action="append",
                    help="render the runs saved by --json (same options) instead of "
                    "running; given twice or more, the runs of each mode are numbered in order")
    a = ap.parse_args()
    runs = []
    wall = time.time()
    if a.from_json:
        for path in a.from_json:
            for r in json.load(open(path)):
                # numbered per mode: run N is the Nth run with (without) isolation
                r["repeat"] = 1 + sum(1 for x in runs if x["isolate"] == r["isolate"])
                runs.append(r)
        a.repeat = 0
    for rep in range(a.repeat):
        for iso in (False, True):
            if a.mode == "both" or a.mode == ("with" if iso else "without"):
                t = time.time()
                r = run_once(a, iso)
                r["wall"], r["repeat"] = time.time() - t, rep + 1
                r["loadavg_end"] = open("/proc/loadavg").read().strip()
                runs.append(r)
                print("\n".join(rows(r)), flush=True)
                print(note(r, pct(phases(r)["before"][0], 99)), flush=True)
                if a.json:
                    with open(a.json, "w") as f:
                        json.dump(runs, f, indent=1, default=str)
    wall = sum(r["wall"] for r in runs) if a.from_json else time.time() - wall
    table, notes = [], []
    for r in runs:
        table.extend(rows(r))
        notes.append(note(r, pct(phases(r)["before"][0], 99)).replace(
            "- ", "- run %d, " % r["repeat"], 1))
    pace = "%g/s" % a.flood_rate if a.flood_rate > 0 else "full speed"
    key = "backoff=%s helo=%s flood-rate=%s during=%d" % (
        a.backoff, a.helo_timeout, "%g" % a.flood_rate if a.flood_rate > 0 else "full", a.during)
    text = """<!-- tarpit:begin {key} (written by bench/cluster_tarpit.py) -->
## Tarpit flood (issue 15): {backoff} retry timing, greeting timeout {helo}, flood {pace}, {during} s

`bench/cluster_tarpit.py --flood {flood} --flood-rate {frate} --rate {rate} --before {before} --during {during} --helo-timeout {helo} --mode {mode} --backoff {backoff} --repeat {repeat}`
on {date}, {wall:.0f} s, on the shared 2-core machine: one real Postfix 3.7 node per run
(a fresh lab each), `queue_run_delay = {qrd}`, `minimal_backoff_time = {minb}`,
`maximal_backoff_time = {maxb}`, `smtp_helo_timeout = {helo}`; normal mail at
{rate}/s to a recording sink, then {flood} messages ({pace}) to a destination
that accepts TCP and never answers. The isolated run has the setup of
docs/cluster.md ("Isolation"): an `isolated` smtp service with process limit
2, a 5 s greeting wait and concurrency 1. Latency = sink arrival (end of
DATA at the sink) minus the 250 reply to the client's DATA, per normal
message, in seconds; phases by send time. x before = p99 / p99 before the
flood in the same run. CPU % = the whole machine's busy share (both cores,
everyone's work); load = mean 1-minute load average; incoming/active = the
most files seen in Postfix's queue directories (listed every second).

| run | normal mail sent | messages | p50 s | p99 s | max s | x before | CPU % | load | incoming max | active max |
|---|---|---|---|---|---|---|---|---|---|---|
{rows}

{notes}
<!-- tarpit:end -->
""".format(key=key, flood=a.flood, frate="%g" % a.flood_rate, rate=a.rate, before=a.before,
           during=a.during, helo=a.helo_timeout, mode=a.mode, backoff=a.backoff,
           repeat=a.repeat or max(r["repeat"] for r in runs), pace=pace, wall=wall, qrd=BACKOFF[a.backoff]["queue_run_delay"],
           minb=BACKOFF[a.backoff]["minimal_backoff_time"],
           maxb=BACKOFF[a.backoff]["maximal_backoff_time"],
           date=datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
           rows="\n".join(table), notes="\n".join(notes))
    print(text)
    if a.write:
        doc = open(a.write).read()
        # Replaces the section with the same key; other sections stay.
        doc = re.sub(r"<!-- tarpit:begin %s \(written.*?<!-- tarpit:end -->\n" % re.escape(key),
                     "", doc, flags=re.S)
        open(a.write, "w").write(doc.rstrip("\n") + "\n\n" + text)


if __name__ == "__main__":
    main()
