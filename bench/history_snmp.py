#!/usr/bin/python3
"""bench/history_snmp.py: on the lab, (1) mailmond's CPU with the history
on and off, (2) a walk of mtaGroupTable with 50 channels through snmpd
(AgentX to mailmond) beside a walk of one of snmpd's own tables
(hrSWRunTable) in the same run (docs/benchmarks.md, "History" and "SNMP").

    bench/history_snmp.py [BUILD_DIR]      env: MEASURE=60 (seconds per CPU run)

The 50 channels come from a maillog written here with deliveries through
50 Postfix transports (postfix/chNN/smtp), read from the beginning.
"""
import os
import pathlib
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
os.environ.setdefault("MAILMON_BIN", os.path.abspath(sys.argv[1] if len(sys.argv) > 1
                                                     else os.path.join(SRC, "build")))
sys.path.insert(0, os.path.join(SRC, "tests", "system"))
sys.path.insert(0, os.path.join(SRC, "lab"))
import mailmonlab  # noqa: E402
import mmbin  # noqa: E402

MEASURE = int(os.environ.get("MEASURE", "60"))
TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / TICK


def get(api, path):
    import json
    with urllib.request.urlopen("http://%s%s" % (api, path), timeout=10) as r:
        return json.loads(r.read().decode())


def channel_log(path, n=50, per=20):
    with open(path, "w") as f:
        qid = 0x10000
        for i in range(per):
            for c in range(n):
                qid += 1
                f.write("Dec  7 18:%02d:%02d mx postfix/ch%02d/smtp[%d]: %010X: to=<u%d@d%d.test>, "
                        "relay=127.0.0.1[127.0.0.1]:25, delay=0.5, delays=0.1/0/0.2/0.2, "
                        "dsn=2.0.0, status=sent (250 2.0.0 Ok)\n"
                        % (i % 60, c % 60, c, 1000 + c, qid, i, c))


def walk(lab, oid, bulk=False):
    cmd = ["snmpbulkwalk" if bulk else "snmpwalk", "-v2c", "-c", "public", "-On", "-t", "5",
           "127.0.0.1:%d" % lab.ports["snmp"], oid]
    t = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, MIBS=""))
    dt = time.monotonic() - t
    return len([line for line in r.stdout.splitlines() if " = " in line]), dt


def run(lab, tmp, name, extra, sources=None):
    conf = subprocess.run([sys.executable, os.path.join(SRC, "lab", "mailmon_conf.py"),
                           lab.paths["lab_json"]], capture_output=True, text=True,
                          check=True).stdout
    port = mmbin.free_port()
    api = "127.0.0.1:%d" % port
    import re
    conf = re.sub(r"(?m)^listen = .*$", "listen = " + api, conf)
    d = tmp / name
    d.mkdir()
    conf = re.sub(r"(?m)^state_directory = .*$", "state_directory = %s" % d, conf)
    conf = re.sub(r"(?m)^run_directory = .*$", "run_directory = %s" % d, conf)
    if sources:
        conf = re.sub(r"(?m)^start_at = .*\n", "", conf)
        conf = re.sub(r"(?m)^sources = .*$", "sources = %s\nstart_at = beginning" % sources,
                      conf)
    (d / "mailmon.conf").write_text(conf + extra)
    daemon = mmbin.Daemon(str(d / "mailmon.conf"), str(d / "mailmond.log"))
    daemon.start(api=api)
    return daemon, api


def main():
    tmp = pathlib.Path(tempfile.mkdtemp())
    chlog = tmp / "channels.log"
    channel_log(chlog)
    with mailmonlab.Lab(components=("postfix", "dovecot", "slapd", "snmpd")) as lab:
        for i in range(5):
            lab.send("sender@sink.test", "user%d@sink.test" % i)
        results = {}
        for name, extra in (("history_on", ""), ("history_off", "[history]\nenable = no\n")):
            daemon, api = run(lab, tmp, name, extra)
            try:
                time.sleep(12)
                pid = get(api, "/api/v1/status")["pid"]
                c0, t0 = cpu_s(pid), time.monotonic()
                time.sleep(MEASURE)
                c1, t1 = cpu_s(pid), time.monotonic()
                series = None
                if name == "history_on":
                    series = get(api, "/api/v1/history/status")["series"]
                    size = get(api, "/api/v1/history/status")["size_bytes"]
                results[name] = (c1 - c0) / (t1 - t0) * 100
                print("%s: mailmond CPU %.2f%% of one core over %d s%s" % (
                    name, results[name], MEASURE,
                    "" if series is None else " (%d series, db %d bytes)" % (series, size)))
            finally:
                daemon.stop()
        daemon, api = run(lab, tmp, "snmp", "[snmp]\nenable = yes\nagentx_socket = %s\n" %
                          lab.paths["agentx_socket"],
                          sources="%s, %s" % (lab.paths["maillog"], chlog))
        try:
            def channels():
                n, _ = walk(lab, "1.3.6.1.2.1.28.2.1.25")
                return n >= 50 and n
            n = lab.wait_for(channels, timeout=60, interval=1, what="50 channels")
            print("mtaGroupTable: %d groups" % n)
            for bulk in (False, True):
                best = None
                for _ in range(3):
                    objs, dt = walk(lab, "1.3.6.1.2.1.28.2", bulk)
                    best = dt if best is None or dt < best else best
                print("%s of mtaGroupTable (mailmond via AgentX): %d objects, best of 3 %.3f s, "
                      "%.0f objects/s" % ("snmpbulkwalk" if bulk else "snmpwalk", objs, best,
                                          objs / best))
                best = None
                for _ in range(3):
                    objs2, dt = walk(lab, "1.3.6.1.2.1.25.4.2", bulk)
                    best = dt if best is None or dt < best else best
                print("%s of hrSWRunTable (snmpd itself): %d objects, best of 3 %.3f s, "
                      "%.0f objects/s" % ("snmpbulkwalk" if bulk else "snmpwalk", objs2, best,
                                          objs2 / best))
        finally:
            daemon.stop()


if __name__ == "__main__":
    main()
