#!/usr/bin/python3
"""tail_backlog: how fast mailmond works off a backlog, and whether its API
stays responsive meanwhile. Starts the real mailmond on an existing log
with [log] start_at = beginning (full consumer: parser -> lifecycle ->
counters file), polls /api/logs every 0.2 s until every line is consumed,
and reports wall time, mailmond CPU (utime+stime), lines/s by CPU, the
slowest /api/logs answer and peak RSS.

Usage: tail_backlog.py LOG     (e.g. the 1 GB log bench/linereader.sh makes)
Env: MAILMON_BIN (build dir, default build). Loopback only.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def main():
    log = os.path.abspath(sys.argv[1])
    binary = os.path.join(os.environ.get("MAILMON_BIN", "build"), "mailmond")
    with open(log, "rb") as f:
        want = sum(buf.count(b"\n") for buf in iter(lambda: f.read(1 << 24), b""))
    d = tempfile.mkdtemp(prefix="mailmon-backlog-")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    os.mkdir(os.path.join(d, "run"))
    conf = os.path.join(d, "mailmon.conf")
    with open(conf, "w") as f:
        f.write("[daemon]\nstate_directory = %s/state\nrun_directory = %s/run\n"
                "[http]\nlisten = 127.0.0.1:%d\n[mta]\ntype = none\n[queue]\nenable = no\n"
                "[log]\nsources = %s\nstart_at = beginning\n" % (d, d, port, log))
    hz = os.sysconf("SC_CLK_TCK")
    t0 = time.monotonic()
    p = subprocess.Popen([binary, "-f", "-c", conf], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    slowest = 0.0
    lines = 0
    try:
        while time.monotonic() - t0 < 600:
            time.sleep(0.2)
            a = time.monotonic()
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/api/logs" % port,
                                            timeout=10) as r:
                    lines = json.load(r)["lines"]
            except OSError:
                continue
            slowest = max(slowest, time.monotonic() - a)
            if lines >= want:
                break
        wall = time.monotonic() - t0
        with open("/proc/%d/stat" % p.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / hz
        with open("/proc/%d/status" % p.pid) as f:
            rss = [l.split()[1] for l in f if l.startswith("VmHWM")][0]
    finally:
        p.terminate()
        p.wait()
        shutil.rmtree(d, ignore_errors=True)
    print("log:       %s (%d lines, %.0f MB)" % (log, want, os.path.getsize(log) / 1e6))
    print("consumed:  %d lines in %.2f s wall (polled every 0.2 s)" % (lines, wall))
    print("cpu:       %.2f s = %.2f M lines/s" % (cpu, lines / cpu / 1e6 if cpu else 0))
    print("api:       slowest /api/logs answer %.3f s" % slowest)
    print("peak rss:  %s kB" % rss)
    return 0 if lines == want else 1


if __name__ == "__main__":
    sys.exit(main())
