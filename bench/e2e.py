"""The end-to-end benchmark behind bench/e2e.sh (see that file).

For each tool, N checks one after the other on one lab mailbox, then
HELD_N checks with the LMTP leg held by defer_transports for HOLD seconds
and flushed. Per check: wall time (the child's run), CPU (the child's
utime+stime, from wait4), the delivery delay the tool reports, and for
mailmon the delay Postfix logged for the same queue id (delay= of the
LMTP delivery), as the independent figure. check_email_delivery runs in
its plugin mode (check_smtp_send + check_imap_receive) with --wait 0 and
its shortest IMAP interval (1 s), HELO and hosts numeric: nothing leaves
127.0.0.1.
"""

import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, "lab"))
import mailmonlab  # noqa: E402

BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, os.pardir, "build"))
N = int(os.environ.get("N", "10"))
HELD_N = int(os.environ.get("HELD_N", "3"))
HOLD = float(os.environ.get("HOLD", "3"))
PLUGINS = "/usr/lib/nagios/plugins"
LO = "127.0.0.1"


def run(cmd):
    """(stdout, wall s, cpu s) of one child."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.read().decode(errors="replace")
    _, _, ru = os.wait4(p.pid, 0)
    p.returncode = 0
    return out, time.monotonic() - t0, ru.ru_utime + ru.ru_stime


def lmtp_delay(lab, qid):
    m = re.search(r"%s: to=<[^>]*>, relay=[^,]*lmtp[^,]*, delay=([0-9.]+)," % qid,
                  lab.maillog_text())
    return float(m.group(1)) if m else None


def mailmon_check(lab, cred, extra=()):
    out, wall, cpu = run([os.path.join(BIN, "mailmon"), "e2e",
                          "--submit", "smtp://%s:%d" % (LO, lab.ports["smtpd"]),
                          "--fetch", "imap://%s:%d" % (LO, lab.ports["imap"]),
                          "--to", "alice@lab.test", "--credentials", cred,
                          "-t", "60", "--json", *extra])
    doc = json.loads(out)
    qid = re.search(r"queued as (\w+)", doc["queue_reply"]).group(1)
    try:
        pf = lab.wait_for(lambda: lmtp_delay(lab, qid), timeout=30)
    except TimeoutError:
        pf = None  # not in the maillog: shown as missing, not guessed
        print("note: no LMTP delivery logged for %s" % qid, file=sys.stderr)
    return {"wall": wall, "cpu": cpu, "reported": doc["delivery_ms"] / 1000, "postfix": pf,
            "elapsed": doc["total_ms"] / 1000, "ok": doc["ok"]}


def ced_check(lab, n):
    token = "bench%d%d" % (os.getpid(), n)
    out, wall, cpu = run([
        os.path.join(PLUGINS, "check_email_delivery"), "--wait", "0", "--hires",
        "-w", "30,30", "-c", "60,60",
        "-p", "%s/check_smtp_send -H %s -p %d --mailto alice@lab.test --mailfrom bench@lab.test "
              "--helo_hostname client.lab.test --header 'Subject: %s %%TOKEN1%%' --hires"
              % (PLUGINS, LO, lab.ports["smtpd"], token),
        "-p", "%s/check_imap_receive -H %s -p %d -U alice -P %s -s SUBJECT -s '%s %%TOKEN1%%' "
              "--hires --imap-check-interval 1 --imap-retries 60"
              % (PLUGINS, LO, lab.ports["imap"], lab.users["alice"]["password"]
                 if isinstance(lab.users["alice"], dict) else lab.users["alice"], token)])
    # Its figures: "delay" (whole seconds) and "elapsed" (the whole check).
    m = re.search(r"(\d+(?:\.\d+)?) delay", out)
    e = re.search(r"elapsed=([0-9.]+)s", out)
    return {"wall": wall, "cpu": cpu, "reported": float(m.group(1)) if m else None,
            "elapsed": float(e.group(1)) if e else None,
            "postfix": None, "ok": "DELIVERY OK" in out, "out": out.strip()[:200]}


def held(lab, fn):
    lab.postconf({"defer_transports": "lmtp"})
    res = {}

    def go():
        try:
            res["r"] = fn()
        except Exception as e:  # reported below, in the main thread
            res["e"] = e
    t = threading.Thread(target=go)
    t.start()
    time.sleep(HOLD)
    lab.postconf({"defer_transports": ""})
    lab.flush()
    t.join()
    if "e" in res:
        raise res["e"]
    return res["r"]


def summary(name, rows):
    def med(k):
        v = [r[k] for r in rows if r[k] is not None]
        return "%.3f" % statistics.median(v) if v else "-"

    def rng(k):
        v = [r[k] for r in rows if r[k] is not None]
        return "%.3f-%.3f" % (min(v), max(v)) if v else "-"
    ok = sum(1 for r in rows if r["ok"])
    print("| %s | %d/%d | %s | %s | %s | %s (%s) | %s |" % (
        name, ok, len(rows), med("wall"), med("cpu"), med("elapsed"), med("reported"),
        rng("reported"), "%s (%s)" % (med("postfix"), rng("postfix"))))


def main():
    if not os.access(os.path.join(PLUGINS, "check_email_delivery"), os.X_OK):
        sys.exit("check_email_delivery not installed (monitoring-plugins-contrib, "
                 "libmail-imapclient-perl)")
    with mailmonlab.Lab() as lab:
        cred = os.path.join(lab.dir, "bench.cred")
        with open(cred, "w") as f:
            pw = lab.users["alice"]
            f.write("user = alice\npassword = %s\n" % (pw["password"] if isinstance(pw, dict) else pw))
        os.chmod(cred, 0o600)
        tools = [("mailmon e2e (IMAP IDLE)", lambda i: mailmon_check(lab, cred)),
                 ("mailmon e2e --no-idle (SEARCH every 0.5 s)",
                  lambda i: mailmon_check(lab, cred, ["--no-idle"])),
                 ("check_email_delivery (IMAP every 1 s)", lambda i: ced_check(lab, i))]
        print("| run | ok | wall s (median) | CPU s (median) | its total s | its delivery s, "
              "median (range) | Postfix delay= s, median (range) |")
        print("|---|---|---|---|---|---|---|")
        for name, fn in tools:
            summary("%s, %d checks" % (name, N), [fn(i) for i in range(N)])
        for name, fn in tools:
            summary("%s, LMTP held %.0f s, %d checks" % (name, HOLD, HELD_N),
                    [held(lab, lambda: fn(1000 + i)) for i in range(HELD_N)])


main()
