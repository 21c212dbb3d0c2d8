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

It runs twice on a fresh lab each time: without isolation, then with
[isolate] enable = yes and the Postfix setup of docs/cluster.md (mailmond's
map first in transport_maps, an "isolated" smtp service with process
limit 2, a 5 s greeting wait and concurrency 1), so the two "during"
figures compare the same flood with and without isolation in one run.
The isolated run also reports how long after the flood mailmond isolated
slow.test, and normal mail's latency from then on. --write replaces the
section in docs/benchmarks.md.

    bench/cluster_tarpit.py [--flood 5000] [--rate 5] [--before 60] [--during 180]
                            [--helo-timeout 30s] [--mode both|without|with]
                            [--backoff postfix|lab] [--write docs/benchmarks.md]

--backoff: Postfix's default retry timing (queue_run_delay 300 s, backoff
300-4000 s), or the lab's (10 s, 5-10 s), under which the flood's 20,000
deferred messages come back to the active queue every 10 s.

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
    r = {"isolated_at": None, "alarm_at": None, "alarm": None, "states": set()}
    backoff = BACKOFF[a.backoff]
    with mailmonlab.Lab(components=("postfix",), **backoff) as lab:
        lab.postconf({"transport_maps": "texthash:%s, texthash:%s" % (tmap, lab.paths["transport"]),
                      "smtp_helo_timeout": a.helo_timeout, "smtp_connect_timeout": "5s"})
        daemon, api, state = traffic.start_mailmond(lab, tmp, extra)
        if isolate:
            setup_isolation(lab, state, tmap)
        n = Normal(lab.ports["smtpd"], a.rate)
        try:
            n.start()
            time.sleep(a.before)
            n.phase = "during"
            t0 = time.time()
            done = threading.Event()

            def watch():
                while not done.is_set():
                    try:
                        st = mmbin.Daemon.get(api, "/api/status").get("verdict") or {}
                        r["states"].add(st.get("state"))
                        if r["alarm_at"] is None:
                            for x in mmbin.Daemon.get(api, "/api/alarms")["alarms"]:
                                if x["alarm"] == "floodeddestination" and x["state"] == "firing":
                                    r["alarm_at"], r["alarm"] = time.time() - t0, x["instance"]
                        if isolate and r["isolated_at"] is None:
                            iso = mmbin.Daemon.get(api, "/api/isolate")["isolated"]
                            if any(e["destination"] == "slow.test" for e in iso):
                                r["isolated_at"] = time.time()
                    except OSError:
                        pass
                    done.wait(1)
            w = threading.Thread(target=watch, daemon=True)
            w.start()
            traffic.flood(lab.ports["smtpd"], a.flood, "slow.test", prefix="t", timeout=120)
            r["queued_s"] = time.time() - t0
            while time.time() - t0 < a.during:
                time.sleep(1)
            done.set()
            w.join(30)
            r["verdict"] = (mmbin.Daemon.get(api, "/api/status").get("verdict") or {}).get("line")
            n.stop()
            deadline = time.time() + 120
            while time.time() < deadline and not set(n.sent) <= set(sink.ids):
                time.sleep(1)
            if isolate:
                log = open(lab.paths["maillog"], errors="replace").read()
                r["iso_attempts"] = len(re.findall(r"postfix/isolated/smtp\[\d+\]: \w+: "
                                                   r"to=<t\d+@slow\.test>", log))
        finally:
            n.stop()
            daemon.stop()
    r["lat"] = {"before": [], "during": [], "isolated": [], "queued": []}
    r["lost"] = 0
    for mid, (t, phase) in n.sent.items():
        if mid in sink.ids:
            r["lat"][phase].append(sink.ids[mid] - t)
            if r["isolated_at"] and t >= r["isolated_at"]:
                r["lat"]["isolated"].append(sink.ids[mid] - t)
            if t >= t0 + r["queued_s"]:
                r["lat"]["queued"].append(sink.ids[mid] - t)
        else:
            r["lost"] += 1
    if r["isolated_at"]:
        r["isolated_at"] -= t0
    sink.stop()
    return r


def row(label, xs):
    return "| %s | %d | %.2f | %.2f | %.2f |" % (label, len(xs), pct(xs, 50), pct(xs, 99),
                                                 max(xs) if xs else float("nan"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flood", type=int, default=5000)
    ap.add_argument("--rate", type=float, default=5.0)
    ap.add_argument("--before", type=int, default=60)
    ap.add_argument("--during", type=int, default=180)
    ap.add_argument("--helo-timeout", default="30s")
    ap.add_argument("--mode", choices=("both", "without", "with"), default="both")
    ap.add_argument("--backoff", choices=sorted(BACKOFF), default="postfix")
    ap.add_argument("--write")
    a = ap.parse_args()
    runs = {}
    for iso in (False, True):
        if a.mode == "both" or a.mode == ("with" if iso else "without"):
            t = time.time()
            runs[iso] = run_once(a, iso)
            runs[iso]["wall"] = time.time() - t
            print("run %s isolation: %.0f s" % ("with" if iso else "without", runs[iso]["wall"]),
                  flush=True)
    rows, notes = [], []
    for iso, r in sorted(runs.items()):
        name = "with isolation" if iso else "no isolation"
        before, during = r["lat"]["before"], r["lat"]["during"]
        rows.append(row("before the flood (%s run)" % name, before))
        rows.append(row("during the flood, %s" % name, during))
        rows.append(row("during the flood, %s, sent after the flood was queued" % name,
                        r["lat"]["queued"]))
        ratio = pct(during, 99) / pct(before, 99) if before and during else float("nan")
        line = ("- %s: flood queued in %.1f s; floodeddestination `%s` %s after the flood "
                "started; verdicts seen: %s; at the end: %s; normal messages not delivered: %d; "
                "p99 during / p99 before = %.1f"
                % (name, r["queued_s"], r["alarm"],
                   "%.0f s" % r["alarm_at"] if r["alarm_at"] is not None else "never",
                   ", ".join(sorted(s for s in r["states"] if s)), r["verdict"], r["lost"], ratio))
        if iso:
            xs = r["lat"]["isolated"]
            rows.append(row("during the flood, with isolation, sent after slow.test was isolated",
                            xs))
            line += ("; slow.test isolated %s after the flood started; attempts by the isolated "
                     "transport in the maillog: %d; p99 after isolation / p99 before = %.1f"
                     % ("%.0f s" % r["isolated_at"] if r["isolated_at"] is not None else "never",
                        r.get("iso_attempts", 0),
                        pct(xs, 99) / pct(before, 99) if xs and before else float("nan")))
        notes.append(line)
    text = """<!-- tarpit:begin backoff={backoff} (written by bench/cluster_tarpit.py) -->
## Tarpit flood (issue 15), {backoff} retry timing

`bench/cluster_tarpit.py --flood {flood} --rate {rate} --helo-timeout {helo} --mode {mode} --backoff {backoff}`
on {date}, {wall:.0f} s: one real Postfix 3.7 node per run (a fresh lab each), with
`queue_run_delay = {qrd}`, `minimal_backoff_time = {minb}`,
`maximal_backoff_time = {maxb}`; normal
mail at {rate}/s to a recording sink, then {flood} messages to a
destination that accepts TCP and never answers, `smtp_helo_timeout =
{helo}` (Postfix's default is 300 s). The isolated run has the setup of
docs/cluster.md ("Isolation"): an `isolated` smtp service with process
limit 2, a 5 s greeting wait and concurrency 1. Latency = sink arrival
minus SMTP accept, per message, in seconds.

| normal mail | messages | p50 s | p99 s | max s |
|---|---|---|---|---|
{rows}

{notes}
<!-- tarpit:end -->
""".format(flood=a.flood, rate=a.rate, helo=a.helo_timeout, mode=a.mode, backoff=a.backoff,
           wall=sum(r["wall"] for r in runs.values()), qrd=BACKOFF[a.backoff]["queue_run_delay"],
           minb=BACKOFF[a.backoff]["minimal_backoff_time"],
           maxb=BACKOFF[a.backoff]["maximal_backoff_time"],
           date=datetime.date.today(), rows="\n".join(rows), notes="\n".join(notes))
    print(text)
    if a.write:
        doc = open(a.write).read()
        # Replaces the section of the same retry timing (and the old one
        # without a timing); the other timing's section stays.
        doc = re.sub(r"<!-- tarpit:begin (backoff=%s |\(written).*?<!-- tarpit:end -->\n"
                     % a.backoff, "", doc, flags=re.S)
        open(a.write, "w").write(doc.rstrip("\n") + "\n\n" + text)


if __name__ == "__main__":
    main()
