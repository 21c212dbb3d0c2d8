"""The dashboard benchmark behind bench/dashboard.sh (see that file).

On the lab (real Postfix and Dovecot) with traffic and a refused
destination, mailmond with history on and its dashboard, and Debian's
monit with its web page (the page Monit users keep open) watching the
same services, in the same run:

- page weight: the bytes a first visit downloads (the page, its script,
  style and Chart.js for mailmon; the status page for monit), and the
  bytes of one refresh (the JSON the page asks for every 10 s);
- time to first render: headless Chromium, RUNS times: first contentful
  paint and the time until every panel showed data, as the page records
  them; and the wall time of a whole headless load (browser start, page,
  scripts) for both pages.
"""
import os
import re
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
RUNS = int(os.environ.get("RUNS", "5"))
WWW = os.path.join(HERE, os.pardir, "www")


def size(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return len(r.read())


def chromium_times(url, tmp, wait_ms):
    """(fcp_ms, first_data_ms) as the page records them (performance.now;
    under headless Chromium's virtual time, which runs ahead while the
    page is idle but waits for the network)."""
    r = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                        "--user-data-dir=%s" % tempfile.mkdtemp(dir=tmp),
                        "--virtual-time-budget=%d" % wait_ms, "--dump-dom", url],
                       capture_output=True, text=True, timeout=120)
    dom = r.stdout
    fcp = re.search(r'data-fcp-ms="(\d+)"', dom)
    data = re.search(r'data-first-data-ms="(\d+)"', dom)
    return (int(fcp.group(1)) if fcp else None, int(data.group(1)) if data else None)


def chromium_fcp_plain(url, tmp):
    """Wall time of a headless load of a page that records nothing itself."""
    t0 = time.perf_counter()
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                    "--user-data-dir=%s" % tempfile.mkdtemp(dir=tmp), "--dump-dom", url],
                   capture_output=True, timeout=120)
    return (time.perf_counter() - t0) * 1000


def main():
    with mailmonlab.Lab(components=("postfix", "dovecot")) as lab, \
            tempfile.TemporaryDirectory() as d:
        port = mmbin.free_port()
        api = "127.0.0.1:%d" % port
        conf = os.path.join(d, "mailmon.conf")
        with open(conf, "w") as f:
            f.write("[daemon]\nstate_directory = %s\nrun_directory = %s\npidfile = %s/pid\n"
                    "[http]\nlisten = %s\nwww_directory = %s\n"
                    "[mta]\ntype = postfix\nconfig_directory = %s\n"
                    "[log]\nsources = %s\nstart_at = beginning\n[history]\nenable = yes\n"
                    "[service.smtp]\nurl = smtp://127.0.0.1:%d\ninterval = 5s\n"
                    "[service.imap]\nurl = imap://127.0.0.1:%d\ninterval = 5s\n" % (
                        d, d, d, api, WWW, lab.paths["postfix_config_dir"],
                        lab.paths["maillog"], lab.ports["smtpd"], lab.ports["imap"]))
        mport = mmbin.free_port()
        monitrc = os.path.join(d, "monitrc")
        with open(monitrc, "w") as f:
            f.write("set daemon 5\nset httpd port %d and use address 127.0.0.1\n"
                    "  allow 127.0.0.1\n"
                    "set idfile %s/monit.id\nset statefile %s/monit.state\n"
                    "check host smtp with address 127.0.0.1\n"
                    "  if failed port %d protocol smtp then alert\n"
                    "check host imap with address 127.0.0.1\n"
                    "  if failed port %d protocol imap then alert\n" % (
                        mport, d, d, lab.ports["smtpd"], lab.ports["imap"]))
        os.chmod(monitrc, 0o600)
        daemon = subprocess.Popen([os.path.join(BIN, "mailmond"), "-f", "-c", conf],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        monit = subprocess.Popen(["monit", "-I", "-c", monitrc],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for i in range(20):
                lab.send("b@sink.test", ["u%d@sink.test" % i, "alice@lab.test"])
            for i in range(5):
                lab.send("b@sink.test", "u%d@dead.test" % i)
            time.sleep(25)
            base = "http://%s" % api
            first = sum(size(base + p) for p in ("/", "/dashboard.js", "/dashboard.css",
                                                  "/chart.min.js"))
            refresh = sum(size(base + p) for p in (
                "/api/status", "/api/alarms", "/api/queue", "/api/services",
                "/api/metrics?pattern=mailmon_disk_*", "/api/metrics?pattern=mailmon_cpu_busy_ratio",
                "/api/v1/history?metric=mailmon_messages_received_total&from=now-3600s&step=60"))
            murl = "http://127.0.0.1:%d/" % mport
            monit_page = size(murl)
            fcps, datas, mwall, dwall = [], [], [], []
            for _ in range(RUNS):
                fcp, data = chromium_times(base + "/", d, 6000)
                if fcp is not None:
                    fcps.append(fcp)
                if data is not None:
                    datas.append(data)
                mwall.append(chromium_fcp_plain(murl, d))
                dwall.append(chromium_fcp_plain(base + "/", d))
            print("dashboard benchmark, %d runs" % RUNS)
            print("%-32s %12s %12s" % ("", "first visit", "per refresh"))
            print("%-32s %10d B %10d B (the first visit's JSON, without history for "
                  "the other 4 series)" % ("mailmon dashboard", first, refresh))
            print("%-32s %10d B %10d B" % ("monit web page", monit_page, monit_page))
            print("mailmon first contentful paint: median %s ms (%s)" % (
                statistics.median(fcps) if fcps else "-", fcps))
            print("mailmon every panel filled:     median %s ms (%s)" % (
                statistics.median(datas) if datas else "-", datas))
            print("whole headless load incl. browser start: mailmon median %.0f ms (%s), "
                  "monit median %.0f ms (%s)" % (
                      statistics.median(dwall), [round(x) for x in dwall],
                      statistics.median(mwall), [round(x) for x in mwall]))
        finally:
            daemon.terminate()
            monit.terminate()
            daemon.wait()
            monit.wait()


if __name__ == "__main__":
    main()
