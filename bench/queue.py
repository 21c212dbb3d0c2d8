#!/usr/bin/python3
"""bench/queue.py: a 100,000-message deferred queue in a lab Postfix, and
the time each reader takes on it, side by side in one run.

How the queue is built (quickly, and still a real Postfix queue):
  1. A lab Postfix (retries once an hour, so nothing moves during the run)
     gets 20 more refusing destinations (d00.test .. d19.test routed to the
     lab's dead port) and SEEDS real messages by SMTP to them, dead.test
     and slow.test, with 1-3 recipients each; Postfix defers them all and
     writes their defer logs.
  2. The deferred queue files and their defer logs are then cloned, with
     Postfix still running, until the queue holds N messages. Each clone
     gets a proper Postfix short queue id (5 hex digits of microseconds +
     the clone's inode number, as Postfix names its files), its hashed
     subdirectory, owner postfix, mode 0700, the next-retry mtime Postfix
     gives deferred files, and an arrival time spread over the last 48 h
     (the 'T' record is patched in place). postqueue -j, qshape and
     Postfix's own qmgr read them as ordinary deferred mail.
Measured (warm cache, median of RUNS runs, wall clock):
  find deferred -type f | wc -l     (baseline: listing only)
  qshape -c DIR deferred            (Postfix's Perl qshape)
  postqueue -c DIR -j | wc -l
  mailmon qshape -c DIR deferred    (direct mode, full scan)
  mailmon qshape --reasons deferred (direct, also reads every defer log)
  mailmond: first full scan, an unchanged rescan, and the incremental
  rescan after 1% of the queue changed (0.5% held with postsuper -h,
  0.5% deleted with postsuper -d), from /api/queue; peak RSS (VmHWM).
Usage: bench/queue.py [--messages N] [--seeds S] [--runs R] [--json FILE]
Env: MAILMON_BIN (build dir, default build).
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SRC, "lab"))
import mailmonlab  # noqa: E402

BIN = os.environ.get("MAILMON_BIN", os.path.join(SRC, "build"))
PF_UID = int(subprocess.run(["id", "-u", "postfix"], capture_output=True, text=True).stdout)
PF_GID = int(subprocess.run(["id", "-g", "postfix"], capture_output=True, text=True).stdout)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def timed(cmd, shell=False):
    t0 = time.monotonic()
    r = subprocess.run(cmd, shell=shell, capture_output=True, text=True, timeout=600)
    dt = time.monotonic() - t0
    if r.returncode != 0:
        raise RuntimeError("%s: rc %d: %s" % (cmd, r.returncode, r.stderr[-500:]))
    return dt, r.stdout


def median_time(cmd, runs, shell=False):
    times, out = [], None
    for _ in range(runs):
        dt, out = timed(cmd, shell=shell)
        times.append(dt)
    return statistics.median(times), out


def seed(lab, n):
    """n real deferred messages to refusing destinations."""
    dead_port = lab.ports["dead"]
    extra = "".join("d%02d.test smtp:[127.0.0.1]:%d\n" % (i, dead_port) for i in range(20))
    with open(lab.paths["transport"], "a") as f:
        f.write(extra)
    lab.postfix_cmd("reload")
    time.sleep(1)
    rnd = random.Random(4)
    ids = []
    doms = ["dead.test"] * 6 + ["d%02d.test" % i for i in range(20)] + ["slow.test"]
    for i in range(n):
        rc = ["u%d@%s" % (k, rnd.choice(doms)) for k in range(rnd.choice((1, 1, 2, 3)))]
        ids.append(lab.send("sender%d@example.org" % (i % 7), rc))

    def done():
        q = [m for m in lab.postqueue_json() if m["queue_id"] in set(ids)]
        return len(q) == n and all(m["queue_name"] == "deferred" and all(
            r.get("delay_reason") for r in m["recipients"]) for m in q)
    lab.wait_for(done, timeout=300, interval=1, what="seed mail deferred")
    return ids


def clone(lab, n_total):
    """Clone the deferred seeds (queue file + defer log) up to n_total."""
    qdir = lab.paths["queue_dir"]
    seeds = []
    for root, _, files in os.walk(os.path.join(qdir, "deferred")):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                data = fh.read()
            dl = os.path.join(qdir, "defer", f[0], f)
            with open(dl, "rb") as fh:
                dlog = fh.read()
            # the 'T' record follows the 'C' record: find "T<len>SECONDS "
            tpos = data.index(b"T", 1)
            seeds.append((bytearray(data), tpos + 2, dlog))
    rnd = random.Random(7)
    now = int(time.time())
    retry = now + 3600
    have = len(seeds)
    made = 0
    tmpdir = os.path.join(qdir, "deferred")
    while have + made < n_total:
        data, tat, dlog = seeds[made % len(seeds)]
        stamp = b"%010d" % (now - rnd.randrange(0, 48 * 3600))
        data[tat:tat + 10] = stamp
        tmp = os.path.join(tmpdir, "tmp.%d" % made)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o700)
        os.write(fd, data)
        ino = os.fstat(fd).st_ino
        os.fchown(fd, PF_UID, PF_GID)
        os.close(fd)
        qid = "%05X%X" % (rnd.randrange(0, 1000000), ino)
        for base in ("deferred", "defer"):
            d = os.path.join(qdir, base, qid[0])
            if not os.path.isdir(d):
                os.mkdir(d, 0o700)
                os.chown(d, PF_UID, PF_GID)
        dpath = os.path.join(qdir, "defer", qid[0], qid)
        fd = os.open(dpath, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, dlog)
        os.fchown(fd, PF_UID, PF_GID)
        os.close(fd)
        os.utime(tmp, (now, retry))
        os.rename(tmp, os.path.join(qdir, "deferred", qid[0], qid))
        made += 1
        if made % 20000 == 0:
            log("  cloned %d" % made)
    return have + made


def api(port, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as r:
        return json.loads(r.read())


def normalize(table):
    lines = table.rstrip("\n").split("\n")

    def key(line):
        f = line.split()
        return (-int(f[1]), len(f[0]), f[0])
    return [lines[0]] + sorted(lines[1:], key=key)


def daemon_bench(lab, tmp, results):
    conf = os.path.join(tmp, "mailmon.conf")
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with open(conf, "w") as f:
        f.write("[daemon]\nstate_directory = %s\nrun_directory = %s\n"
                "[http]\nlisten = 127.0.0.1:%d\n[mta]\nconfig_directory = %s\n"
                "[log]\nsources = %s/none.log\n[queue]\nscan_interval = 1s\n" % (
                    tmp, tmp, port, lab.paths["postfix_config_dir"], tmp))
    logf = open(os.path.join(tmp, "mailmond.log"), "wb")
    proc = subprocess.Popen([os.path.join(BIN, "mailmond"), "-f", "-c", conf],
                            stdout=logf, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 120
        doc = None
        lat = []  # /api/status answer times while the first full walk runs
        while time.time() < deadline:
            try:
                t0 = time.monotonic()
                api(port, "/api/status")
                lat.append((time.monotonic() - t0) * 1000)
                doc = api(port, "/api/queue")
                if doc.get("scans", 0) >= 1:
                    break
            except OSError:
                pass
            time.sleep(0.05)
        results["api_status_during_full_scan_ms"] = {
            "answers": len(lat), "max": round(max(lat), 1) if lat else None,
            "median": round(statistics.median(lat), 1) if lat else None}
        # the first scan is the full walk; later ones may have run already
        results["daemon_full_scan_ms"] = doc["scan"]["max_duration_us"] / 1000
        scans = doc["scans"]
        while doc["scans"] < scans + 2:
            time.sleep(0.3)
            doc = api(port, "/api/queue")
        results["daemon_unchanged_rescan_ms"] = doc["scan"]["duration_us"] / 1000
        deferred = [m["queue_id"] for m in lab.postqueue_json()
                    if m["queue_name"] == "deferred"]
        n = len(deferred)
        one_pct = n // 100
        rnd = random.Random(11)
        rnd.shuffle(deferred)
        incr = []
        for round_ in range(3):
            batch = deferred[round_ * one_pct:(round_ + 1) * one_pct]
            hold, delete = batch[:one_pct // 2], batch[one_pct // 2:]
            before = api(port, "/api/queue")
            subprocess.run(["postsuper", "-c", lab.paths["postfix_config_dir"], "-h", "-"],
                           input="\n".join(hold) + "\n", text=True, check=True,
                           capture_output=True)
            subprocess.run(["postsuper", "-c", lab.paths["postfix_config_dir"], "-d", "-"],
                           input="\n".join(delete) + "\n", text=True, check=True,
                           capture_output=True)
            want_def = before["queues"]["deferred"]["messages"] - len(batch)
            while True:
                doc = api(port, "/api/queue")
                if doc["queues"]["deferred"]["messages"] == want_def and \
                        doc["scans"] > before["scans"]:
                    break
                time.sleep(0.1)
            # the scan that saw the change
            incr.append({"ms": doc["scan"]["duration_us"] / 1000, "full": doc["scan"]["full"],
                         "parsed": doc["scan"]["parsed"], "changed": len(batch)})
        results["daemon_incremental_rescans"] = incr
        results["daemon_incremental_rescan_ms_median"] = statistics.median(
            x["ms"] for x in incr)
        with open("/proc/%d/status" % proc.pid) as f:
            for line in f:
                if line.startswith(("VmHWM", "VmRSS")):
                    results[line.split(":")[0]] = line.split(":")[1].strip()
        results["daemon_merged_requests"] = doc["merged"]
        results["daemon_scans"] = doc["scans"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        logf.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=100000)
    ap.add_argument("--seeds", type=int, default=400)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json")
    a = ap.parse_args()
    results = {"messages_target": a.messages}
    with mailmonlab.Lab(components=("postfix",), queue_run_delay="1h",
                        minimal_backoff_time="1h", maximal_backoff_time="1h",
                        postfix_extra={"smtp_connect_timeout": "2s",
                                       "smtp_helo_timeout": "2s"}) as lab:
        t0 = time.monotonic()
        seed(lab, a.seeds)
        results["seed_s"] = round(time.monotonic() - t0, 1)
        log("seeded %d messages in %.1fs" % (a.seeds, results["seed_s"]))
        t0 = time.monotonic()
        total = clone(lab, a.messages)
        results["clone_s"] = round(time.monotonic() - t0, 1)
        log("queue has %d messages (cloning took %.1fs)" % (total, results["clone_s"]))
        d = lab.paths["postfix_config_dir"]
        qd = lab.paths["queue_dir"]
        mm = [os.path.join(BIN, "mailmon"), "-c", "/dev/null", "qshape", "-c", d,
              "--mode", "direct"]
        timed(["find", qd + "/deferred", "-type", "f"])  # warm the cache
        tests = [
            ("find deferred -type f | wc -l", "find %s/deferred -type f | wc -l" % qd, True),
            ("qshape deferred", ["qshape", "-c", d, "deferred"], False),
            ("postqueue -j | wc -l", "postqueue -c %s -j | wc -l" % d, True),
            ("mailmon qshape deferred (direct)", mm + ["deferred"], False),
            ("mailmon qshape --reasons deferred (direct)", mm + ["--reasons", "deferred"], False),
            ("mailmon qshape deferred (postqueue mode)",
             [os.path.join(BIN, "mailmon"), "-c", "/dev/null", "qshape", "-c", d, "--mode",
              "postqueue", "deferred"], False),
        ]
        outs = {}
        results["times_s"] = {}
        for name, cmd, shell in tests:
            dt, out = median_time(cmd, a.runs, shell=shell)
            results["times_s"][name] = round(dt, 3)
            outs[name] = out
            log("%-45s %8.3f s" % (name, dt))
        results["queue_files"] = int(outs["find deferred -type f | wc -l"])
        results["postqueue_lines"] = int(outs["postqueue -j | wc -l"])
        # Cell for cell at the same reference time: qshape takes time() as it
        # starts; mailmon is given that second (or the next) with --now.
        t_ref = int(time.time())
        _, want = timed(["qshape", "-c", d, "deferred"])
        equal = False
        for now in (t_ref, t_ref + 1):
            _, got = timed(mm + ["--now", str(now), "deferred"])
            equal = equal or normalize(want) == normalize(got)
        results["qshape_tables_equal"] = equal
        t = results["times_s"]
        results["speedup_direct_vs_qshape"] = round(
            t["qshape deferred"] / t["mailmon qshape deferred (direct)"], 1)
        # RSS of one CLI run
        r = subprocess.run(["/usr/bin/time", "-f", "%M"] + mm + ["deferred"],
                           capture_output=True, text=True)
        results["mailmon_qshape_maxrss_kb"] = int(r.stderr.strip().splitlines()[-1])
        tmp = os.path.join(lab.dir, "bench")
        os.makedirs(tmp, exist_ok=True)
        daemon_bench(lab, tmp, results)
        log(json.dumps(results, indent=2))
        if a.json:
            with open(a.json, "w") as f:
                json.dump(results, f, indent=2)
        # qmgr must not try 100k deliveries while the lab stops: it is
        # stopped with the lab right away.


if __name__ == "__main__":
    main()
