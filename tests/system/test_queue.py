"""Queue inspection against a real lab Postfix.

The lab's Postfix retries only once an hour here, so deferred mail stays
put while both readers look at it:
  - mail to dead.test (connection refused) and slow.test (a listener that
    never answers; smtp_helo_timeout 2s) is deferred with its reasons;
  - two messages are put on hold with postsuper -h;
  - live traffic to sink.test flows while scans run.
Checks: for every message `postqueue -j` reports, direct mode agrees on
queue, sender, recipients and reason class; `mailmon qm --mode postqueue
list` agrees too; `mailmon qshape` prints Postfix's `qshape` table cell for
cell (same queue, same minute; both run back to back, retried once if an
age bucket boundary fell between them); races (messages deleted during
scans, a corrupt file in deferred, an unreadable directory as the postfix
user, permission denied as nobody); and mailmond's /api/queue.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time

import pytest

import mmbin
from traffic import reason_class

sys.path.insert(0, os.path.join(mmbin.SOURCE_DIR, "lab"))
import mailmonlab  # noqa: E402

N_DEAD, N_SLOW, N_BOTH, N_NULL = 6, 3, 2, 1


@pytest.fixture(scope="module")
def lab():
    with mailmonlab.Lab(components=("postfix",), queue_run_delay="1h",
                        minimal_backoff_time="1h", maximal_backoff_time="1h",
                        postfix_extra={"smtp_helo_timeout": "2s",
                                       "smtp_connect_timeout": "2s"}) as running:
        yield running


def conf_dir(lab):
    return lab.paths["postfix_config_dir"]


def mm(*args, user=None, timeout=120):
    cmd = [mmbin.binary("mailmon"), "-c", "/dev/null"] + list(args)
    if user:
        cmd = ["setpriv", "--reuid", user, "--regid", user if user != "nobody" else "nogroup",
               "--clear-groups"] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd="/")


def qm_list(lab, mode="direct", user=None):
    r = mm("qm", "-c", conf_dir(lab), "--mode", mode, "--json", "list", user=user)
    assert r.returncode == 0, r.stderr
    return {m["queue_id"]: m for m in map(json.loads, r.stdout.splitlines())}


@pytest.fixture(scope="module")
def queued(lab):
    ids = []
    for i in range(N_DEAD):
        ids.append(lab.send("alice@sender.test", ["u%d@dead.test" % i, "x%d@Dead.Test" % i]))
    for i in range(N_SLOW):
        ids.append(lab.send("bob@sender.test", "v%d@slow.test" % i))
    for i in range(N_BOTH):
        ids.append(lab.send("carol@other.test",
                            ["w%d@dead.test" % i, "w%d@slow.test" % i, "ok%d@sink.test" % i]))
    for i in range(N_NULL):
        ids.append(lab.send("", "bounce%d@dead.test" % i))

    def all_deferred():
        q = lab.postqueue_json()
        mine = [m for m in q if m["queue_id"] in ids]
        return len(mine) == len(ids) and all(
            m["queue_name"] == "deferred" and
            all(r.get("delay_reason") for r in m["recipients"]) for m in mine)
    lab.wait_for(all_deferred, timeout=60, what="all test mail deferred with reasons")
    held = ids[:2]
    for qid in held:
        lab.postfix_cmd  # (postsuper is a separate program)
        subprocess.run(["postsuper", "-c", conf_dir(lab), "-h", qid], check=True,
                       capture_output=True)
    lab.wait_for(lambda: sum(m["queue_name"] == "hold" for m in lab.postqueue_json()) == 2,
                 timeout=10, what="two held messages")
    return {"ids": ids, "held": held}


def test_direct_agrees_with_postqueue(lab, queued):
    pq = {m["queue_id"]: m for m in lab.postqueue_json()}
    direct = qm_list(lab, "direct")
    assert set(pq) <= set(direct) or set(pq) == set(direct), (set(pq) ^ set(direct))
    for qid, want in pq.items():
        got = direct[qid]
        assert got["queue_name"] == want["queue_name"], qid
        sender = "" if want["sender"] == "MAILER-DAEMON" else want["sender"]
        assert got["sender"] == sender, qid
        assert got["message_size"] == want["message_size"], qid
        assert got["arrival_time"] == want["arrival_time"], qid
        want_r = {r["address"]: reason_class(r.get("delay_reason")) for r in want["recipients"]}
        got_r = {r["address"]: r["reason_class"] for r in got["recipients"]}
        assert got_r == want_r, qid
        for r in got["recipients"]:
            w = [x for x in want["recipients"] if x["address"] == r["address"]][0]
            assert r.get("delay_reason") == w.get("delay_reason")
    held = [m for m in direct.values() if m["queue_name"] == "hold"]
    assert sorted(m["queue_id"] for m in held) == sorted(queued["held"])
    classes = {r["reason_class"] for m in direct.values() for r in m["recipients"]}
    assert {"refused", "timeout"} <= classes
    # sink.test recipients were delivered: not pending any more
    assert not any(r["address"].endswith("@sink.test")
                   for m in direct.values() for r in m["recipients"])


def test_postqueue_mode_gives_the_same_result(lab, queued):
    a = qm_list(lab, "direct")
    b = qm_list(lab, "postqueue")
    assert set(a) == set(b)
    for qid in a:
        for k in ("queue_name", "sender", "arrival_time", "message_size"):
            assert a[qid][k] == b[qid][k], (qid, k)
        ra = sorted((r["address"], r["reason_class"]) for r in a[qid]["recipients"])
        rb = sorted((r["address"], r["reason_class"]) for r in b[qid]["recipients"])
        assert ra == rb


def normalize(table):
    """qshape's rows sorted by (total desc, name length, name): qshape
    leaves equal rows in Perl hash order."""
    lines = table.rstrip("\n").split("\n")
    head, rows = lines[0], lines[1:]

    def key(line):
        f = line.split()
        return (-int(f[1]), len(f[0]), f[0])
    return [head] + sorted(rows, key=key)


@pytest.mark.parametrize("args", [
    ["deferred"], ["deferred", "hold"], ["-s", "deferred", "hold"],
    ["-p", "-m", "1", "deferred"], ["-l", "-b", "4", "-t", "1", "deferred"],
    ["-t", "1", "-b", "3", "hold", "deferred", "active", "incoming"], [],
])
def test_qshape_matches_postfix_qshape(lab, queued, args):
    for attempt in range(2):
        want = subprocess.run(["qshape", "-c", conf_dir(lab)] + args, capture_output=True,
                              text=True, timeout=60, check=True).stdout
        got = mm("qshape", "-c", conf_dir(lab), *args)
        assert got.returncode == 0, got.stderr
        if normalize(want) == normalize(got.stdout):
            break
        time.sleep(1)  # an age bucket boundary fell between the two runs
    assert normalize(got.stdout) == normalize(want), "\n" + want + "\n" + got.stdout
    # our own order is qshape's sort, with ties by name
    assert got.stdout.split("\n") == normalize(got.stdout) + [""]


def test_qshape_extras(lab, queued):
    r = mm("qshape", "-c", conf_dir(lab), "--reasons", "--oldest", "deferred")
    assert r.returncode == 0, r.stderr
    dead = [l for l in r.stdout.splitlines() if l.split()[0] == "dead.test"][0]
    assert "refused:" in dead and "oldest" in r.stdout.splitlines()[0]
    slow = [l for l in r.stdout.splitlines() if l.split()[0] == "slow.test"][0]
    assert "timeout:" in slow
    j = json.loads(mm("qshape", "-c", conf_dir(lab), "--json", "--reasons",
                      "deferred").stdout)
    rows = {x["domain"]: x for x in j["rows"]}
    dead_r = rows["dead.test"]["reasons"]
    # refused at first; once Postfix marks the destination dead, "suspended"
    assert dead_r.get("refused", 0) + dead_r.get("suspended", 0) == rows["dead.test"]["total"]
    assert j["mode"] == "direct" and j["queues"] == ["deferred"]
    w = mm("qshape", "-c", conf_dir(lab), "-w", "1", "--count", "2", "deferred")
    assert w.returncode == 0 and w.stdout.count("mailmon qshape,") == 2
    assert "chg" in w.stdout.split("mailmon qshape,")[2]


def test_qm_views(lab, queued):
    s = mm("qm", "-c", conf_dir(lab), "--json", "summarize")
    assert s.returncode == 0, s.stderr
    doc = json.loads(s.stdout)
    pq = lab.postqueue_json()
    assert doc["held"] == 2
    assert doc["queues"]["deferred"]["messages"] == sum(
        m["queue_name"] == "deferred" for m in pq)
    assert doc["queues"]["hold"]["recipients"] == sum(
        len(m["recipients"]) for m in pq if m["queue_name"] == "hold")
    m = json.loads(mm("qm", "-c", conf_dir(lab), "--json", "messages", "dead.test").stdout)
    assert [d["destination"] for d in m] == ["dead.test"]
    assert m[0]["delayed"] + m[0]["hold"] + m[0]["active"] == N_DEAD + N_BOTH + N_NULL
    assert m[0]["reasons"]["refused"] > 0
    t = mm("qm", "-c", conf_dir(lab), "summarize")
    assert "held total: 2 messages" in t.stdout


def queue_file(lab, qid):
    for root, _, files in os.walk(lab.paths["queue_dir"]):
        if qid in files and "/defer" not in root.replace("deferred", "X"):
            return os.path.join(root, qid)
    return None


def test_corrupt_file_in_deferred_is_counted(lab, queued):
    before = mm("qshape", "-c", conf_dir(lab), "deferred").stdout
    ddir = os.path.join(lab.paths["queue_dir"], "deferred", "F")
    if not os.path.isdir(ddir):
        # as Postfix makes it: qmgr must still be able to file mail here
        os.mkdir(ddir, 0o700)
        shutil.chown(ddir, "postfix", "postfix")
    garbage = os.path.join(ddir, "FFFF00000A1")
    trunc = os.path.join(ddir, "FFFF00000A2")
    real = queue_file(lab, queued["ids"][-1])
    with open(garbage, "wb") as f:
        f.write(b"\x00garbage" * 100)
    with open(real, "rb") as f, open(trunc, "wb") as g:
        g.write(f.read()[:300])
    for p in (garbage, trunc):
        os.chmod(p, 0o700)
        shutil.chown(p, "postfix", "postfix")
    try:
        r = mm("qshape", "-c", conf_dir(lab), "deferred")
        assert r.returncode == 0
        assert "2 malformed" in r.stderr
        assert r.stdout == before
    finally:
        os.unlink(garbage)
        os.unlink(trunc)


def test_unreadable_directory(lab, queued):
    # As nobody: direct mode says which mode to use, in one line.
    r = mm("qm", "-c", conf_dir(lab), "--mode", "direct", "summarize", user="nobody")
    assert r.returncode == 3
    assert r.stderr.count("\n") == 1
    assert "Permission denied" in r.stderr and "postqueue" in r.stderr
    # auto falls back to postqueue; Postfix itself refuses a non-default
    # config dir to non-root unless alternate_config_directories allows it.
    r = mm("qm", "-c", conf_dir(lab), "summarize", user="nobody")
    assert r.returncode in (0, 3)
    if r.returncode == 3:
        assert "postqueue" in r.stderr and "not readable" in r.stderr
    # As the postfix user with one hashed subdirectory unreadable: counted.
    # (Z: not a hex digit, so Postfix never files a message there meanwhile)
    sub = os.path.join(lab.paths["queue_dir"], "deferred", "Z")
    os.makedirs(sub, exist_ok=True)
    shutil.chown(sub, "postfix", "postfix")
    os.chmod(sub, 0)
    try:
        r = mm("qm", "-c", conf_dir(lab), "--mode", "direct", "summarize", user="postfix")
        assert r.returncode == 0, r.stderr
        assert "1 unreadable" in r.stderr and "deferred/Z" in r.stderr
    finally:
        os.chmod(sub, 0o700)
        shutil.rmtree(sub)


def test_messages_removed_during_scans(lab, queued):
    """Delete a burst of messages while scanning in a loop: every scan
    succeeds and sees a count between the before and after sizes."""
    ids = [lab.send("race@sender.test", "r%d@dead.test" % i) for i in range(60)]
    lab.wait_for(lambda: all(m["queue_name"] == "deferred" for m in lab.postqueue_json()
                             if m["queue_id"] in ids) and
                 len([m for m in lab.postqueue_json() if m["queue_id"] in ids]) == 60,
                 timeout=60, what="race mail deferred")
    total = len(lab.postqueue_json())
    stop = threading.Event()
    results = []

    def scanner():
        while not stop.is_set():
            r = mm("qm", "-c", conf_dir(lab), "--mode", "direct", "--json", "summarize")
            results.append(r)
    t = threading.Thread(target=scanner)
    t.start()
    try:
        for qid in ids:
            subprocess.run(["postsuper", "-c", conf_dir(lab), "-d", qid], check=True,
                           capture_output=True)
    finally:
        time.sleep(0.3)
        stop.set()
        t.join()
    assert len(results) >= 2
    for r in results:
        assert r.returncode == 0, r.stderr
        n = sum(q["messages"] for q in json.loads(r.stdout)["queues"].values())
        assert total - 60 <= n <= total
    final = json.loads(mm("qm", "-c", conf_dir(lab), "--json", "summarize").stdout)
    assert sum(q["messages"] for q in final["queues"].values()) == total - 60


def test_live_traffic_while_scanning(lab, queued):
    stop = threading.Event()
    sent = []

    def sender():
        while not stop.is_set() and len(sent) < 40:
            sent.append(lab.send("live@sender.test", "l%d@sink.test" % len(sent)))
    t = threading.Thread(target=sender)
    t.start()
    try:
        for _ in range(10):
            r = mm("qshape", "-c", conf_dir(lab), "incoming", "active", "deferred")
            assert r.returncode == 0, r.stderr
            assert "malformed" not in r.stderr
    finally:
        stop.set()
        t.join()
    lab.wait_for(lambda: not any(r["address"].endswith("@sink.test")
                                 for m in lab.postqueue_json() for r in m["recipients"]),
                 timeout=30, what="sink.test mail delivered")


def test_daemon_api_queue(lab, queued, tmp_path):
    port = mmbin.free_port()
    conf = tmp_path / "mailmon.conf"
    conf.write_text(
        "[daemon]\nstate_directory = %s\nrun_directory = %s\n"
        "[http]\nlisten = 127.0.0.1:%d\n"
        "[mta]\nconfig_directory = %s\n"
        "[log]\nsources = %s\n"
        "[queue]\nscan_interval = 1s\ntop_destinations = 1\n" % (
            tmp_path, tmp_path, port, conf_dir(lab), tmp_path / "no.log"))
    d = mmbin.Daemon(str(conf), str(tmp_path / "mailmond.log"))
    api = "127.0.0.1:%d" % port
    d.start(api=api)
    try:
        doc = lab.wait_for(lambda: (lambda j: j if j["scans"] >= 1 else None)(
            d.get(api, "/api/queue")), timeout=20, what="first queue scan")
        assert doc["mode"] == "direct"
        pq = lab.postqueue_json()
        deferred = doc["queues"]["deferred"]
        assert deferred["messages"] == sum(m["queue_name"] == "deferred" for m in pq)
        assert doc["queues"]["hold"]["messages"] == 2
        dests = deferred["destinations"]
        assert dests[0]["destination"] == "dead.test"
        assert dests[-1]["destination"] == "other" and dests[-1]["destinations"] >= 1
        assert dests[0]["reasons"]["refused"] >= 1
        assert doc["trend"]["backlog"]["drain"] in ("unknown (one sample)", "not draining",
                                                    "draining")
        assert any(g["group"] == "dead.test" and g["mtaGroupStoredMessages"] >= 1
                   for g in doc["rfc2789"])
        # new mail: the next (incremental) rescans pick it up
        new = [lab.send("late@sender.test", "n%d@dead.test" % i) for i in range(3)]
        want = deferred["messages"] + 3

        def seen():
            j = d.get(api, "/api/queue")
            q = j["queues"]
            n = q["deferred"]["messages"] + q["active"]["messages"] + q["incoming"]["messages"]
            return j if n == want else None
        doc = lab.wait_for(seen, timeout=30, what="new mail in /api/queue")
        assert doc["scan"]["full"] is False
        assert doc["scan"]["malformed"] == 0
        status = d.get(api, "/api/status")
        assert any(j["name"] == "queue" for j in status["jobs"])
        # Remove the new mail and two of the old: the backlog shrinks below
        # its first sample, so it is draining, with an estimate.
        old = [m["queue_id"] for m in lab.postqueue_json()
               if m["queue_name"] == "deferred" and m["queue_id"] not in new][:2]
        for qid in new + old:
            subprocess.run(["postsuper", "-c", conf_dir(lab), "-d", qid], check=True,
                           capture_output=True)

        def draining():
            t = d.get(api, "/api/queue")["trend"]["backlog"]
            return t if t["drain"] == "draining" else None
        t = lab.wait_for(draining, timeout=30, what="backlog draining in /api/queue")
        assert t["growth_per_min"] < 0 and t["drain_eta_s"] > 0
        assert t["messages"] == want - 5
    finally:
        assert d.stop() == 0, d.log()


def test_daemon_without_a_readable_mta(tmp_path):
    """A broken [mta] config does not stop mailmond: /api/queue says why."""
    port = mmbin.free_port()
    conf = tmp_path / "mailmon.conf"
    conf.write_text(
        "[daemon]\nstate_directory = %s\nrun_directory = %s\n"
        "[http]\nlisten = 127.0.0.1:%d\n"
        "[mta]\nconfig_directory = %s/no-such-postfix\n"
        "[log]\nsources = %s\n" % (tmp_path, tmp_path, port, tmp_path, tmp_path / "no.log"))
    d = mmbin.Daemon(str(conf), str(tmp_path / "mailmond.log"))
    api = "127.0.0.1:%d" % port
    d.start(api=api)
    try:
        doc = d.get(api, "/api/queue")
        assert doc["mode"] == "off" and doc["queues"] is None
        assert "postconf" in doc["error"]
        assert d.get(api, "/api/status")["program"] == "mailmond"
    finally:
        assert d.stop() == 0, d.log()


def test_two_instances(lab, queued):
    """Two Postfix instances (-c twice): every message of both, each with
    its instance index, in direct and postqueue mode alike."""
    with mailmonlab.Lab(components=("postfix",), queue_run_delay="1h",
                        minimal_backoff_time="1h", maximal_backoff_time="1h") as lab2:
        ids2 = [lab2.send("two@sender.test", "i%d@dead.test" % i) for i in range(3)]
        lab2.wait_for(lambda: sum(m["queue_name"] == "deferred"
                                  for m in lab2.postqueue_json()) == 3,
                      timeout=30, what="second instance's mail deferred")
        both = {}
        for mode in ("direct", "postqueue"):
            r = mm("qm", "-c", conf_dir(lab), "-c", lab2.paths["postfix_config_dir"],
                   "--mode", mode, "--json", "list")
            assert r.returncode == 0, r.stderr
            both[mode] = {(m["instance"], m["queue_id"]): m["queue_name"]
                          for m in map(json.loads, r.stdout.splitlines())}
        assert both["direct"] == both["postqueue"]
        want = {(0, m["queue_id"]) for m in lab.postqueue_json()} | {(1, q) for q in ids2}
        assert set(both["direct"]) == want
        s = mm("qm", "-c", conf_dir(lab), "-c", lab2.paths["postfix_config_dir"], "--json",
               "summarize")
        one = mm("qm", "-c", conf_dir(lab), "--json", "summarize")
        n2 = json.loads(s.stdout)["queues"]["deferred"]["messages"]
        n1 = json.loads(one.stdout)["queues"]["deferred"]["messages"]
        assert n2 == n1 + 3
