"""The /metrics benchmark behind bench/metrics.sh (see that file).

On the lab (real Postfix and Dovecot on loopback) with mail traffic that
has deliveries, bounces, deferrals and several recipients per message:

1. Scrape time. mailmond with SERVICES TCP services (about 12 series
   each, so 500 services give some 6,000 series) plus the lab's log and
   queue, and Debian's prometheus-postfix-exporter reading the same
   maillog and showq socket, each scraped SCRAPES times in turn; the
   median and 95th percentile wall time and the answer's size.
2. CPU of scraping. mailmond's CPU (utime+stime, /proc) over MEASURE s
   without scrapes, then over MEASURE s with a scrape every 5 s (as a share
   of one core), and the CPU of one scrape measured over 200 back-to-back
   scrapes less the idle rate. The same for the exporter.
3. RSS (VmRSS and VmHWM) of mailmond on the lab alone and with the
   services; with OLD_BIN set (a build from before the registry), the same
   two runs of that build, so the registry's cost shows side by side.

Nothing leaves 127.0.0.1.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, "lab"))
sys.path.insert(0, os.path.join(HERE, os.pardir, "tests", "system"))
import mailmonlab  # noqa: E402
import mmbin  # noqa: E402

BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, os.pardir, "build"))
OLD_BIN = os.environ.get("OLD_BIN")
SERVICES = int(os.environ.get("SERVICES", "500"))
SCRAPES = int(os.environ.get("SCRAPES", "50"))
MEASURE = int(os.environ.get("MEASURE", "60"))
TCK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TCK


def mem_kb(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])
    return out


def get(url, timeout=30):
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=timeout) as r:
        body = r.read()
    return time.perf_counter() - t0, body


def traffic(lab):
    sender = "bench@sink.test"
    for i in range(60):
        lab.send(sender, ["u%d@sink.test" % i, "v%d@sink.test" % i, "alice@lab.test"])
    for i in range(10):
        lab.send(sender, "nobody%d@reject.test" % i)
    for i in range(20):
        lab.send(sender, ["d%d@dead.test" % i, "e%d@dead.test" % i])


def write_conf(path, lab, state, port, services):
    lines = ["[daemon]", "state_directory = %s" % state, "run_directory = %s" % state,
             "pidfile = %s/pid" % state, "[http]", "listen = 127.0.0.1:%d" % port,
             "[mta]", "type = postfix", "config_directory = %s" % lab.paths["postfix_config_dir"],
             "[log]", "sources = %s" % lab.paths["maillog"], "start_at = beginning",
             "[queue]", "scan_interval = 5s"]
    for i in range(services):
        lines += ["[service.s%d]" % i, "url = tcp://127.0.0.1:%d" % lab.ports["sink"],
                  "interval = 10s"]
    path.write_text("\n".join(lines) + "\n")


def run_daemon(binary, lab, tmp, services, name):
    state = tmp / name
    state.mkdir()
    port = mmbin.free_port()
    conf = tmp / (name + ".conf")
    write_conf(conf, lab, state, port, services)
    p = subprocess.Popen([os.path.join(binary, "mailmond"), "-f", "-c", str(conf)],
                         stdout=open(tmp / (name + ".log"), "wb"), stderr=subprocess.STDOUT)
    api = "http://127.0.0.1:%d" % port
    for _ in range(200):
        try:
            get(api + "/api/status")
            break
        except OSError:
            time.sleep(0.05)
    time.sleep(12 if services else 5)  # every service probed once, a queue scan, the log read
    return p, api


def scrape_stats(url, n):
    times, size = [], 0
    for _ in range(n):
        t, body = get(url)
        times.append(t * 1000)
        size = len(body)
    times.sort()
    return {"median_ms": statistics.median(times), "p95_ms": times[int(0.95 * (n - 1))],
            "bytes": size, "series": sum(1 for ln in body.split(b"\n")
                                         if ln and not ln.startswith(b"#"))}


def scrape_cpu(pid, url):
    c0 = cpu_s(pid)
    time.sleep(MEASURE)
    idle = cpu_s(pid) - c0
    c0 = cpu_s(pid)
    t_end = time.time() + MEASURE
    n = 0
    while time.time() < t_end:
        get(url)
        n += 1
        time.sleep(5)
    busy = cpu_s(pid) - c0
    # CPU per scrape, measured over many back-to-back scrapes so the
    # clock-tick resolution (10 ms) does not hide it; the idle rate over
    # the same wall time is taken off.
    k = 200
    c0, t0 = cpu_s(pid), time.time()
    for _ in range(k):
        get(url)
    used = cpu_s(pid) - c0 - idle * (time.time() - t0) / MEASURE
    return {"idle_cpu_s": idle, "scraping_cpu_s": busy, "scrapes": n,
            "cpu_ms_per_scrape": used * 1000 / k,
            "cpu_pct_scraping": 100 * busy / MEASURE}


def main():
    print("mailmon /metrics benchmark: %d services, %d scrapes, %d s windows" %
          (SERVICES, SCRAPES, MEASURE))
    with mailmonlab.Lab(components=("postfix", "dovecot")) as lab, \
            tempfile.TemporaryDirectory() as d:
        import pathlib
        tmp = pathlib.Path(d)
        traffic(lab)
        time.sleep(5)
        exp_port = mmbin.free_port()
        exp = subprocess.Popen(
            ["prometheus-postfix-exporter", "--web.listen-address=127.0.0.1:%d" % exp_port,
             "--postfix.showq_path=%s/public/showq" % lab.paths["queue_dir"],
             "--postfix.logfile_path=%s" % lab.paths["maillog"]],
            stdout=open(tmp / "exporter.log", "wb"), stderr=subprocess.STDOUT)
        rows = []
        try:
            lab_only, api0 = run_daemon(BIN, lab, tmp, 0, "lab")
            rows.append(("mailmond, lab only", mem_kb(lab_only.pid)))
            lab_only.terminate()
            lab_only.wait()
            p, api = run_daemon(BIN, lab, tmp, SERVICES, "svc")
            exp_url = "http://127.0.0.1:%d/metrics" % exp_port
            get(exp_url)
            m = scrape_stats(api + "/metrics", SCRAPES)
            e = scrape_stats(exp_url, SCRAPES)
            print("\nscrape time (%d scrapes each)" % SCRAPES)
            print("%-34s %8s %8s %9s %8s" % ("", "median", "p95", "bytes", "series"))
            print("%-34s %6.2fms %6.2fms %9d %8d" % ("mailmond /metrics", m["median_ms"],
                                                    m["p95_ms"], m["bytes"], m["series"]))
            print("%-34s %6.2fms %6.2fms %9d %8d" % ("prometheus-postfix-exporter", e["median_ms"],
                                                    e["p95_ms"], e["bytes"], e["series"]))
            mc = scrape_cpu(p.pid, api + "/metrics")
            ec = scrape_cpu(exp.pid, exp_url)
            print("\nCPU, %d s idle then %d s with a scrape every 5 s" % (MEASURE, MEASURE))
            for name, c in (("mailmond (%d services)" % SERVICES, mc),
                            ("prometheus-postfix-exporter", ec)):
                print("%-34s idle %.2f s, scraping %.2f s (%.2f%% of a core), %.2f ms CPU/scrape"
                      % (name, c["idle_cpu_s"], c["scraping_cpu_s"], c["cpu_pct_scraping"],
                         c["cpu_ms_per_scrape"]))
            rows.append(("mailmond, %d services" % SERVICES, mem_kb(p.pid)))
            rows.append(("prometheus-postfix-exporter", mem_kb(exp.pid)))
            p.terminate()
            p.wait()
            if OLD_BIN:
                for services, name in ((0, "old-lab"), (SERVICES, "old-svc")):
                    op, _ = run_daemon(OLD_BIN, lab, tmp, services, name)
                    rows.append(("mailmond before the registry, %s" %
                                 ("lab only" if not services else "%d services" % services),
                                 mem_kb(op.pid)))
                    op.terminate()
                    op.wait()
            print("\nmemory")
            for name, mem in rows:
                print("%-44s VmRSS %6.1f MB  VmHWM %6.1f MB" % (name, mem["VmRSS"] / 1024,
                                                               mem["VmHWM"] / 1024))
        finally:
            exp.terminate()
            exp.wait()


if __name__ == "__main__":
    main()
