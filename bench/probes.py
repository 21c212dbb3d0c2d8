"""The services benchmark behind bench/probes.sh (see that file).

Phase 1, load: N SMTP services (all the lab's Postfix smtpd) every
INTERVAL seconds, in mailmond and in monit at the same time. After one
warm-up cycle, CPU time (utime+stime from /proc/PID/stat) and RSS of each
process are sampled for MEASURE seconds. CPU per probe = CPU time / probes
done in the window (mailmond: counted by its API; monit: N per completed
cycle, from its own "data collected" times).

Phase 2, lag: the same plus HUNG services whose target accepts and never
greets (the lab's slow.test helper), 5 s probe timeout in both tools. The
cycle lag is how late the good services are probed: mailmond's per-probe
delay (interval between two probes of one good service minus INTERVAL,
and the schedule's max_lag), monit's cycle length minus INTERVAL.

Nothing leaves 127.0.0.1: numeric addresses only, monit's own name is in
/etc/hosts, the lab's Postfix has DNS off.
"""

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, "lab"))
import mailmonlab  # noqa: E402

BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, os.pardir, "build"))
N = int(os.environ.get("N", "500"))
INTERVAL = int(os.environ.get("INTERVAL", "10"))
MEASURE = int(os.environ.get("MEASURE", "60"))
HUNG = int(os.environ.get("HUNG", "5"))
HUNG_MEASURE = int(os.environ.get("HUNG_MEASURE", "80"))
TCK = os.sysconf("SC_CLK_TCK")
LO = "127.0.0.1"


def free_port():
    s = socket.socket()
    s.bind((LO, 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / TCK


def rss_kb(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1])
    return out


class Mailmond:
    def __init__(self, d, targets):
        self.port = free_port()
        os.makedirs(d, exist_ok=True)
        conf = os.path.join(d, "mailmon.conf")
        lines = ["[daemon]", "heartbeat = 200ms", "[http]", "listen = %s:%d" % (LO, self.port)]
        for i, (port, hung) in enumerate(targets):
            lines += ["[service.%s%d]" % ("hung" if hung else "s", i),
                      "url = smtp://%s:%d" % (LO, port),
                      "interval = %ds" % INTERVAL, "timeout = 5s", "connect_timeout = 5s",
                      "autorestart = no"]
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.log = open(os.path.join(d, "mailmond.log"), "w")
        self.proc = subprocess.Popen([os.path.join(BIN, "mailmond"), "-f", "-c", conf],
                                     stdout=self.log, stderr=self.log)
        self.pid = self.proc.pid
        for _ in range(100):
            try:
                self.api("/api/status")
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("mailmond did not start")

    def api(self, path):
        with urllib.request.urlopen("http://%s:%d%s" % (LO, self.port, path), timeout=10) as r:
            return json.loads(r.read())

    def probes(self):
        return sum(s["probes"] for s in self.api("/api/services")["services"])

    def last_at(self, name):
        for s in self.api("/api/services")["services"]:
            if s["name"] == name:
                return s.get("last", {}).get("at_ms")
        return None

    def stop(self):
        self.proc.terminate()
        self.proc.wait(20)
        self.log.close()


class Monit:
    def __init__(self, d, targets):
        self.port = free_port()
        os.makedirs(d, exist_ok=True)
        self.conf = os.path.join(d, "monitrc")
        lines = ["set daemon %d" % INTERVAL,
                 "set logfile %s/monit.log" % d,
                 "set pidfile %s/monit.pid" % d,
                 "set idfile %s/monit.id" % d,
                 "set statefile %s/monit.state" % d,
                 "set httpd port %d and use address %s" % (self.port, LO),
                 "    allow %s" % LO]
        for i, (port, hung) in enumerate(targets):
            lines += ["check host %s%d with address %s" % ("hung" if hung else "s", i, LO),
                      "  if failed port %d protocol smtp with timeout 5 seconds then alert" % port]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(self.conf, 0o600)
        self.log = open(os.path.join(d, "monit.stdout"), "w")
        self.proc = subprocess.Popen(["monit", "-I", "-c", self.conf],
                                     stdout=self.log, stderr=self.log)
        self.pid = self.proc.pid

    def collected(self, name):
        """Epoch of monit's last "data collected" for a service, via its CLI."""
        res = subprocess.run(["monit", "-c", self.conf, "status", name],
                             capture_output=True, text=True, timeout=20)
        m = re.search(r"data collected\s+(.+)", res.stdout)
        if not m:
            return None
        try:
            return time.mktime(time.strptime(m.group(1).strip(), "%a, %d %b %Y %H:%M:%S"))
        except ValueError:
            return None

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def wait_cycle_monit(monit, name, timeout):
    """Wait until monit's 'data collected' for name changes; return it."""
    first = monit.collected(name)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = monit.collected(name)
        if now and now != first:
            return now
    return None


def phase_load(lab, d):
    targets = [(lab.ports["smtpd"], False)] * N
    mm, mo = Mailmond(d + "/mm1", targets), None
    os.makedirs(d + "/mo1", exist_ok=True)
    mo = Monit(d + "/mo1", targets)
    try:
        time.sleep(INTERVAL + 2)                     # warm-up: one cycle each
        # No polling of either tool inside the window (monit's status CLI
        # would add work to its httpd thread); monit's probes are N per
        # INTERVAL (its cycle when no target hangs), mailmond's are counted.
        c_mm0, c_mo0, p_mm0 = cpu_s(mm.pid), cpu_s(mo.pid), mm.probes()
        t0 = time.monotonic()
        time.sleep(MEASURE)
        c_mm1, c_mo1 = cpu_s(mm.pid), cpu_s(mo.pid)
        elapsed = time.monotonic() - t0
        rss_mm_before_api = rss_kb(mm.pid)
        p_mm1 = mm.probes()
        mo_probes = N * elapsed / INTERVAL
        return {
            "window_s": round(elapsed, 1),
            "mailmond": {"probes": p_mm1 - p_mm0, "cpu_s": round(c_mm1 - c_mm0, 3),
                         "cpu_us_per_probe": round((c_mm1 - c_mm0) * 1e6 / max(p_mm1 - p_mm0, 1), 1),
                         "cpu_pct_core": round((c_mm1 - c_mm0) * 100 / elapsed, 2),
                         "rss_kb_before_api": rss_mm_before_api,
                         "rss_kb_after_api": rss_kb(mm.pid)},
            "monit": {"probes_estimated": round(mo_probes),
                      "cpu_s": round(c_mo1 - c_mo0, 3),
                      "cpu_us_per_probe": round((c_mo1 - c_mo0) * 1e6 / mo_probes, 1),
                      "cpu_pct_core": round((c_mo1 - c_mo0) * 100 / elapsed, 2),
                      "rss_kb": rss_kb(mo.pid)},
            "mailmond_failed_probes": sum(s["probe_failures"] for s in
                                          mm.api("/api/services")["services"]),
            "monit_failed_tests": open(os.path.join(d, "mo1", "monit.log")).read().count("failed"),
        }
    finally:
        mm.stop()
        mo.stop()


def phase_lag(lab, d):
    targets = [(lab.ports["slow"], True)] * HUNG + [(lab.ports["smtpd"], False)] * N
    os.makedirs(d + "/mo2", exist_ok=True)
    mm, mo = Mailmond(d + "/mm2", targets), Monit(d + "/mo2", targets)
    good = "s%d" % (HUNG + N // 2)
    try:
        seen_mm, seen_mo = [], []
        t_end = time.monotonic() + HUNG_MEASURE
        while time.monotonic() < t_end:
            a = mm.last_at(good)
            if a and (not seen_mm or seen_mm[-1] != a):
                seen_mm.append(a)
            b = mo.collected(good)
            if b and (not seen_mo or seen_mo[-1] != b):
                seen_mo.append(b)
            time.sleep(0.5)
        jobs = {j["name"]: j for j in mm.api("/api/status")["jobs"]}
        max_sched_lag = max(j["max_lag_ms"] for n, j in jobs.items() if n.startswith("service.s"))
        gaps_mm = [(b - a) / 1000 for a, b in zip(seen_mm, seen_mm[1:])]
        gaps_mo = [b - a for a, b in zip(seen_mo, seen_mo[1:])]
        return {
            "window_s": HUNG_MEASURE,
            "mailmond": {"probes_of_one_good_service": len(seen_mm),
                         "interval_s": gaps_mm,
                         "max_lag_s": round(max(gaps_mm) - INTERVAL, 3) if gaps_mm else None,
                         "schedule_max_lag_ms": max_sched_lag},
            "monit": {"checks_of_one_good_service": len(seen_mo), "cycle_s": gaps_mo,
                      "max_lag_s": max(gaps_mo) - INTERVAL if gaps_mo else None},
        }
    finally:
        mm.stop()
        mo.stop()


def main():
    with mailmonlab.Lab(components=("postfix",)) as lab, \
            tempfile.TemporaryDirectory(prefix="mailmon-bench-") as d:
        os.chmod(d, 0o711)
        out = {"n": N, "interval_s": INTERVAL, "hung": HUNG,
               "load": phase_load(lab, d), "lag": phase_lag(lab, d)}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
