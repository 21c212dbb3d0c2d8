#!/usr/bin/python3
"""cluster_tarpit: the damaging flood of issue 15 on a real Postfix node.

A destination that accepts TCP and never answers (the lab's slow.test
"hold" helper) holds a delivery agent per attempt until smtp_helo_timeout.
This bench sends normal mail (rec.test, to a sink recording each
Message-ID and its arrival) at a steady rate, measures its delivery
latency (sink arrival - SMTP accept) before the flood, then floods
slow.test with N messages while normal mail goes on, and measures again.
It also records when mailmond's floodeddestination alarm fired and with
which class (it must say timeout), and the node's verdict.

Isolation (issue 15 item 3) is not implemented yet, so only the
"without isolation" figure exists; --write appends the section to
docs/benchmarks.md.

    bench/cluster_tarpit.py [--flood 5000] [--rate 5] [--before 60] [--during 180]
                            [--helo-timeout 30s] [--write docs/benchmarks.md]

Run as root from the source tree with the binaries in build/ (MAILMON_BIN).
Scaled down from the issue's 20,000 messages and Postfix's 300 s greeting
timeout so that one run takes minutes; both are options.
"""
import argparse
import datetime
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


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]


class Normal:
    def __init__(self, port, rate):
        self.port, self.rate = port, rate
        self.sent = {}  # mid -> (time, phase)
        self.phase = "before"
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
                self.sent[mid] = (time.time(), self.phase)
            except (smtplib.SMTPException, OSError):
                pass
            i += 1
            self._stop.wait(1.0 / self.rate)

    def start(self):
        self._t.start()

    def stop(self):
        self._stop.set()
        self._t.join(60)


def flood(port, n, threads=4):
    def worker(k):
        with smtplib.SMTP("127.0.0.1", port, timeout=120,
                          local_hostname=mailmonlab.CLIENT_HELO) as s:
            for i in range(k, n, threads):
                s.sendmail("a@client.lab.test", ["t%d@slow.test" % i],
                           "Subject: tarpit\r\nMessage-ID: <t%d@client.lab.test>\r\n\r\nx\r\n" % i)
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flood", type=int, default=5000)
    ap.add_argument("--rate", type=float, default=5.0)
    ap.add_argument("--before", type=int, default=60)
    ap.add_argument("--during", type=int, default=180)
    ap.add_argument("--helo-timeout", default="30s")
    ap.add_argument("--write")
    a = ap.parse_args()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="mm-tarpit-"))
    sink = RecordingSink().start()
    tmap = tmp / "transport"
    tmap.write_text("rec.test smtp:[127.0.0.1]:%d\n" % sink.port)
    with mailmonlab.Lab(components=("postfix",)) as lab:
        lab.postconf({"transport_maps": "texthash:%s, texthash:%s" % (tmap, lab.paths["transport"]),
                      "smtp_helo_timeout": a.helo_timeout, "smtp_connect_timeout": "5s"})
        daemon, api, _ = traffic.start_mailmond(lab, tmp, (
            "[history]\nenable = no\n[alarm]\nmail = no\n"
            "[cluster]\ninterval = 2s\nstall_window = 30s\n"))
        n = Normal(lab.ports["smtpd"], a.rate)
        try:
            n.start()
            time.sleep(a.before)
            n.phase = "during"
            t0 = time.time()
            flood(lab.ports["smtpd"], a.flood)
            queued_s = time.time() - t0
            alarm_at, alarm, states = None, None, set()
            while time.time() - t0 < a.during:
                st = mmbin.Daemon.get(api, "/api/status").get("verdict") or {}
                states.add(st.get("state"))
                if alarm_at is None:
                    for x in mmbin.Daemon.get(api, "/api/alarms")["alarms"]:
                        if x["alarm"] == "floodeddestination" and x["state"] == "firing":
                            alarm_at, alarm = time.time() - t0, x["instance"]
                time.sleep(2)
            verdict = (mmbin.Daemon.get(api, "/api/status").get("verdict") or {}).get("line")
            n.stop()
            deadline = time.time() + 120
            while time.time() < deadline and not set(n.sent) <= set(sink.ids):
                time.sleep(1)
        finally:
            n.stop()
            daemon.stop()
    lat = {"before": [], "during": []}
    lost = 0
    for mid, (t, phase) in n.sent.items():
        if mid in sink.ids:
            lat[phase].append(sink.ids[mid] - t)
        else:
            lost += 1
    sink.stop()
    rows = []
    for phase in ("before", "during"):
        xs = lat[phase]
        rows.append("| %s | %d | %.2f | %.2f | %.2f |" % (
            "normal mail before the flood" if phase == "before"
            else "normal mail during the flood, no isolation", len(xs), pct(xs, 50),
            pct(xs, 99), max(xs) if xs else float("nan")))
    text = """<!-- tarpit:begin (written by bench/cluster_tarpit.py) -->
## Tarpit flood (issue 15)

`bench/cluster_tarpit.py --flood {flood} --rate {rate} --helo-timeout {helo}` on {date}:
one real Postfix 3.7 node, normal mail at {rate}/s to a recording sink,
then {flood} messages (scaled down from the issue's 20,000; queued in
{queued:.1f} s) to a destination that accepts TCP and never answers,
`smtp_helo_timeout = {helo}` (scaled down from Postfix's 300 s). Latency
= sink arrival minus SMTP accept, per message, in seconds.

| normal mail | messages | p50 s | p99 s | max s |
|---|---|---|---|---|
{rows}

mailmond: floodeddestination alarm `{alarm}` {alarm_at} after the flood
started; verdicts seen during the flood: {states}; at the end: {verdict}.
Normal messages not delivered: {lost}. Isolation (the "with isolation"
row) is not implemented yet.
<!-- tarpit:end -->
""".format(flood=a.flood, rate=a.rate, helo=a.helo_timeout, date=datetime.date.today(),
           queued=queued_s, rows="\n".join(rows), alarm=alarm,
           alarm_at="%.0f s" % alarm_at if alarm_at is not None else "never",
           states=", ".join(sorted(s for s in states if s)), verdict=verdict, lost=lost)
    print(text)
    if a.write:
        doc = open(a.write).read()
        doc = re.sub(r"<!-- tarpit:begin.*?<!-- tarpit:end -->\n", "", doc, flags=re.S)
        open(a.write, "w").write(doc.rstrip("\n") + "\n\n" + text)


if __name__ == "__main__":
    main()
