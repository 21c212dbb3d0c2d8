"""mailmon logstat and mailmon counters against real lab traffic.

The test sends a known set of messages through the lab's Postfix:
  4 to sink.test (accepted)          -> delivered
  2 to alice@lab.test (Dovecot LMTP) -> delivered
  3 to reject.test (5xx at RCPT)     -> bounced, plus 3 bounce notices
                                        back to the sender at sink.test
  2 to dead.test (refused)           -> deferred, stay queued
  2 relay attempts from 127.0.0.5 (outside mynetworks) -> rejected
and checks that `mailmon logstat --json` on the maillog reports exactly
that, that Debian's pflogsumm agrees on received/deferred/deferrals/
bounced/rejected, that .gz and stdin input give the same totals, and that
mailmond, tailing the same maillog, shows the same story in
`mailmon counters -show --json`.
"""
import gzip
import json
import os
import re
import time
import shutil
import smtplib
import subprocess
import sys

import pytest

import mmbin

LAB_DIR = os.path.join(mmbin.SOURCE_DIR, "lab")
sys.path.insert(0, LAB_DIR)
import mailmonlab  # noqa: E402

N_SINK, N_LAB, N_REJECT, N_DEAD, N_RELAY = 4, 2, 3, 2, 2
SENDER = "sender@sink.test"


@pytest.fixture(scope="module")
def lab():
    # Only 127.0.0.1 may relay, so a client on 127.0.0.5 is refused.
    with mailmonlab.Lab(components=("postfix", "dovecot"),
                        postfix_extra={"mynetworks": "127.0.0.1/32"}) as running:
        yield running


def relay_attempt(lab, i):
    """RCPT to a foreign domain from 127.0.0.5: Postfix rejects it."""
    with smtplib.SMTP("127.0.0.1", lab.ports["smtpd"], local_hostname="client.lab.test",
                      source_address=("127.0.0.5", 0), timeout=30) as s:
        s.ehlo()
        s.mail(SENDER)
        code, _ = s.rcpt("victim%d@elsewhere.test" % i)
        assert code == 554 or code // 100 == 5


def count(pattern, text):
    return len(re.findall(pattern, text))


def pflogsumm_totals(path):
    out = subprocess.run(["pflogsumm", path], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    grand = out.split("Grand Totals", 1)[1].split("Per-", 1)[0]

    def num(label):
        m = re.search(r"^\s*(\d+)\s+%s\b" % label, grand, re.M)
        return int(m.group(1)) if m else 0
    m = re.search(r"deferred\s+\((\d+)\s+deferrals\)", grand)
    return {"received": num("received"), "delivered": num("delivered"),
            "deferred": num("deferred"), "deferrals": int(m.group(1)) if m else 0,
            "bounced": num("bounced"), "rejected": num("rejected")}


def logstat(*args, stdin=None):
    r = subprocess.run([mmbin.binary("mailmon"), "logstat", "--json"] + list(args),
                       input=stdin, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    return json.loads(r.stdout)


def counters(conf):
    r = mmbin.mailmon("counters", "-show", "--json", config=conf)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    return {c["name"]: c for c in doc["channels"]}


@pytest.fixture(scope="module")
def traffic(lab, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("logstat")
    port = mmbin.free_port()
    state = tmp / "state"
    state.mkdir()
    conf = tmp / "mailmon.conf"
    conf.write_text(
        "[daemon]\nstate_directory = %s\nrun_directory = %s\npidfile = %s\n"
        "[http]\nlisten = 127.0.0.1:%d\n"
        "[mta]\ntype = postfix\nconfig_directory = %s\n"
        "[log]\nsources = %s\nstart_at = beginning\nformat = auto\n"
        "[counters]\nfile = %s\n[queue]\nscan_interval = 1s\n" % (
            state, state, state / "mailmond.pid", port,
            lab.paths["postfix_config_dir"], lab.paths["maillog"],
            state / "counters"))
    daemon = mmbin.Daemon(str(conf), str(tmp / "mailmond.log"))
    daemon.start(api="127.0.0.1:%d" % port)
    try:
        for i in range(N_SINK):
            lab.send(SENDER, "user%d@sink.test" % i)
        for i in range(N_LAB):
            lab.send(SENDER, "alice@lab.test")
        for i in range(N_REJECT):
            lab.send(SENDER, "nobody%d@reject.test" % i)
        for i in range(N_DEAD):
            lab.send(SENDER, "user%d@dead.test" % i)
        for i in range(N_RELAY):
            relay_attempt(lab, i)

        def settled():
            t = lab.maillog_text()
            dead_ids = set(re.findall(r"(\w+): to=<user\d@dead\.test>.*status=deferred", t))
            return (count(r"status=sent", t) == N_SINK + N_LAB + N_REJECT and
                    count(r"status=bounced", t) == N_REJECT and
                    len(dead_ids) == N_DEAD and
                    count(r"NOQUEUE: reject: RCPT", t) == N_RELAY)
        lab.wait_for(settled, timeout=90, what="lab traffic settled in the maillog")
        snap = tmp / "maillog"
        shutil.copyfile(lab.paths["maillog"], snap)
        text = snap.read_text()

        # mailmond tails the same log: wait until it has read at least the
        # snapshot's lines (its own count, not the counters under test), so
        # the relay rejects logged last are in before anything is compared.
        nlines = text.count("\n")

        def caught_up():
            if daemon.get("127.0.0.1:%d" % port, "/api/logs")["lines"] < nlines:
                return False
            ch = counters(str(conf))
            smtp = ch.get("smtp", {})
            return smtp.get("delivered") == N_SINK + N_REJECT and \
                smtp.get("failed") == N_REJECT and ch
        chans = lab.wait_for(caught_up, timeout=30, what="mailmond counters")
        later = lab.maillog_text()
        yield {"lab": lab, "conf": str(conf), "snap": str(snap), "text": text,
               "api": "127.0.0.1:%d" % port,
               "later": later, "channels": chans, "tmp": tmp, "daemon": daemon}
    finally:
        assert daemon.stop() == 0, daemon.log()


def test_logstat_totals_equal_what_the_test_caused(traffic):
    t = logstat(traffic["snap"])["totals"]
    text = traffic["text"]
    assert t["received"] == N_SINK + N_LAB + N_REJECT + N_DEAD
    # the bounce notices to SENDER are delivered to sink.test too
    assert t["delivered"] == N_SINK + N_LAB + N_REJECT
    assert t["bounced"] == N_REJECT
    assert t["deferred"] == N_DEAD
    assert t["deferrals"] == count(r"status=deferred", text) >= N_DEAD
    assert t["rejected"] == N_RELAY
    assert t["forwarded"] == t["held"] == t["discarded"] == t["expired"] == 0
    assert t["senders"] == 1  # SENDER; bounce notices are not "received"
    assert t["recipient_hosts"] == 2  # sink.test, lab.test
    assert t["recipients"] == N_SINK + 1 + 1  # userN@sink, alice@lab, SENDER
    assert t["lines"] == text.count("\n")
    assert t["bytes_received"] > 0 and t["bytes_delivered"] > 0
    assert set(t) == {"received", "delivered", "forwarded", "deferred", "deferrals",
                      "bounced", "rejected", "reject_warnings", "held", "discarded",
                      "expired", "bytes_received", "bytes_delivered", "senders",
                      "sending_hosts", "recipients", "recipient_hosts", "auth_failures",
                      "filter_hops", "lines", "unparsed_lines"}
    assert t["filter_hops"] == 0  # no content filter in the lab
    assert t["auth_failures"] == 0  # no SMTP AUTH in this traffic


def test_pflogsumm_agrees(traffic):
    t = logstat(traffic["snap"])["totals"]
    p = pflogsumm_totals(traffic["snap"])
    for k in ("received", "deferred", "deferrals", "bounced", "rejected", "delivered"):
        assert t[k] == p[k], (k, t[k], p[k])


def test_destinations_and_reasons(traffic):
    doc = logstat(traffic["snap"])
    dest = {d["domain"]: d for d in doc["destinations"]}
    assert dest["sink.test"]["delivered"] == N_SINK + N_REJECT
    assert dest["lab.test"]["delivered"] == N_LAB
    assert dest["reject.test"]["bounced"] == N_REJECT
    assert dest["dead.test"]["deferrals"] >= N_DEAD
    for d in ("sink.test", "lab.test"):
        assert 0 <= dest[d]["delay_p50"] <= dest[d]["delay_p99"] <= \
            dest[d]["delay_max"] * 1.07 + 0.01
    reasons = " ".join(r["key"] for r in dest["reject.test"]["top_bounce_reasons"])
    assert "mailmon lab: recipient rejected" in reasons
    assert doc["rejects_by_reason"][0]["count"] == N_RELAY
    assert "Relay access denied" in doc["rejects_by_reason"][0]["key"]
    assert doc["rejects_by_client"][0]["key"].endswith("[127.0.0.5]")
    assert sum(h["received"] for h in doc["per_hour"]) == doc["totals"]["received"]
    assert sum(d["delivered"] for d in doc["per_day"]) == doc["totals"]["delivered"]


def test_gz_and_stdin_mix(traffic):
    text = traffic["text"].encode()
    cut = text.index(b"\n", len(text) // 2) + 1
    gz = traffic["tmp"] / "maillog.1.gz"
    with gzip.open(gz, "wb") as f:
        f.write(text[:cut])
    want = logstat(traffic["snap"])["totals"]
    got = logstat(str(gz), "-", stdin=text[cut:])["totals"]
    assert got == want


def test_unreadable_file_and_damaged_lines(traffic, tmp_path):
    r = subprocess.run([mmbin.binary("mailmon"), "logstat", str(tmp_path / "missing.log")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "missing.log" in r.stderr
    damaged = tmp_path / "damaged.log"
    with open(traffic["snap"], "rb") as f:
        data = f.read()
    damaged.write_bytes(b"\x00\xff garbage\n" + data[:200] + b"\n\x01\x02\n" + data +
                        b"x" * 100000 + b"\n" + b"no newline at the end")
    t = logstat(str(damaged))["totals"]
    want = logstat(traffic["snap"])["totals"]
    assert t["received"] == want["received"] + count(r"client=", data[:200].decode(errors="replace"))
    assert t["unparsed_lines"] >= 3


def test_daemon_counters_equal_what_the_test_caused(traffic):
    ch = traffic["channels"]
    smtpd, smtp, lmtp = ch["smtpd"], ch["smtp"], ch["lmtp"]
    assert smtpd["submitted"] == N_SINK + N_LAB + N_REJECT + N_DEAD
    assert smtpd["rejected"] == N_RELAY
    assert "Relay access denied" in smtpd["last_reject"]
    assert smtpd["inbound_associations_total"] == N_SINK + N_LAB + N_REJECT + N_DEAD + N_RELAY
    assert smtpd["inbound_associations"] == 0
    # smtp: the sink, reject and dead messages plus the 3 bounce notices
    assert smtp["received"] == N_SINK + N_REJECT + N_DEAD + N_REJECT
    assert smtp["delivered"] == N_SINK + N_REJECT
    assert smtp["failed"] == N_REJECT
    assert smtp["stored"] == N_DEAD  # the dead.test messages are still queued
    assert count(r"status=deferred", traffic["text"]) <= smtp["attempted"] <= \
        count(r"status=deferred", traffic["later"])
    assert smtp["queue_time_count"] == smtp["delivered"]
    assert lmtp["received"] == lmtp["delivered"] == N_LAB
    assert lmtp["delivered_first"] == N_LAB
    assert lmtp["stored"] == 0
    for c in ch.values():
        assert c["minimums"]["stored"] == 0  # started before any traffic
    # pipeline statistics are refreshed at the daemon's next poll
    def pipeline():
        r = mmbin.mailmon("counters", "-show", "--json", config=traffic["conf"])
        p = json.loads(r.stdout)["pipeline"]
        return p if p["lines"] >= traffic["text"].count("\n") else None
    pipe = traffic["lab"].wait_for(pipeline, timeout=10, what="pipeline statistics")
    assert pipe["evicted_full"] == pipe["evicted_age"] == 0
    assert pipe["inflight"] >= N_DEAD  # the dead.test messages are still queued
    # the daemon's JSON API serves the same document
    api = mmbin.Daemon.get(traffic["api"], "/api/counters")
    assert {c["name"] for c in api["channels"]} == set(ch)
    smtpd_api = [c for c in api["channels"] if c["name"] == "smtpd"][0]
    assert smtpd_api["submitted"] == smtpd["submitted"]
    assert api["pipeline"]["lines"] >= traffic["text"].count("\n")


def stable_counters_and_log(conf, lab, tmp, name, tries=20):
    """Counters and a log copy taken while the log does not move (the
    dead.test retries keep adding lines): counters, copy, counters again."""
    for _ in range(tries):
        before = counters(conf)
        snap = tmp / name
        shutil.copyfile(lab.paths["maillog"], snap)
        after = counters(conf)
        if before == after and os.path.getsize(snap) == os.path.getsize(lab.paths["maillog"]):
            return after, str(snap)
        lab.wait_for(lambda: True, timeout=1)
    raise AssertionError("the log never stood still")


# Gauges the daemon's queue scanner writes (not log-derived: logstat has
# no queue), and the group that holds queued messages never attempted.
QUEUE_FIELDS = ("queue_stored_messages", "queue_stored_recipients",
                "queue_stored_volume", "queue_oldest_s")


def assert_same_channels(daemon_chans, logstat_doc):
    mine = {c["name"]: c for c in logstat_doc["channels"]}
    daemon_chans = {n: c for n, c in daemon_chans.items() if n != "unattempted"}
    assert set(daemon_chans) == set(mine)
    for name, c in daemon_chans.items():
        for k, v in mine[name].items():
            if k not in QUEUE_FIELDS:
                assert c[k] == v, (name, k, c[k], v)


def lab_record_counts(lab):
    """The channel counts as the lab's own records give them, with no
    mailmon code involved: sink.test's smtp-sink dump files (every message
    Postfix delivered over smtp, the bounce notices among them with the
    null sender, one per message bounced at reject.test, since every test
    sender here is at sink.test), alice's Dovecot Maildir (the LMTP
    deliveries) and `postqueue -j` (what is still queued: the dead.test
    messages)."""
    sink = lab.sink_messages()
    bounces = sum(1 for m in sink if m["from"] == "")
    lmtp = lab.mailbox_count("alice")
    queued = len(lab.postqueue_json())
    return {"smtp_delivered": len(sink), "smtp_failed": bounces,
            "smtp_stored": queued, "lmtp_delivered": lmtp,
            "smtpd_submitted": (len(sink) - bounces) + lmtp + bounces + queued}


def assert_counters_match_lab_records(chans, lab):
    rec = lab_record_counts(lab)
    got = {"smtp_delivered": chans["smtp"]["delivered"],
           "smtp_failed": chans["smtp"]["failed"],
           "smtp_stored": chans["smtp"]["stored"],
           "lmtp_delivered": chans["lmtp"]["delivered"],
           "smtpd_submitted": chans["smtpd"]["submitted"]}
    assert got == rec
    # and the relay attempts, which leave no record but the test's count
    assert chans["smtpd"]["rejected"] == N_RELAY


def own_daemon(lab, tmp_path, extra_log=""):
    """A mailmond of the test's own (fresh counters file and state), reading
    the lab's maillog from the beginning. Returns (daemon, conf, api)."""
    port = mmbin.free_port()
    state = tmp_path / "state"
    state.mkdir()
    conf = tmp_path / "mailmon.conf"
    conf.write_text(
        "[daemon]\nstate_directory = %s\nrun_directory = %s\npidfile = %s\n"
        "[http]\nlisten = 127.0.0.1:%d\n"
        "[log]\nsources = %s\nstart_at = beginning\n%s"
        "[counters]\nfile = %s\n" % (
            state, state, state / "mailmond.pid", port, lab.paths["maillog"], extra_log,
            state / "counters"))
    api = "127.0.0.1:%d" % port
    d = mmbin.Daemon(str(conf), str(tmp_path / "d.log"))
    d.start(api=api)
    return d, str(conf), api


def test_daemon_counters_equal_logstat_and_lab_records(traffic, tmp_path):
    """A fresh mailmond reading the whole maillog: its channel counters
    equal logstat's on the same lines (both run the same pipeline, so that
    alone proves only consistency), and equal the counts taken from the
    lab's own records (smtp-sink dumps, the Maildir, postqueue -j), which
    no mailmon code computes."""
    lab = traffic["lab"]
    d, conf, api = own_daemon(lab, tmp_path)
    try:
        nlines = lab.maillog_text().count("\n")
        lab.wait_for(lambda: mmbin.Daemon.get(api, "/api/logs")["lines"] >= nlines,
                     timeout=30, what="mailmond read the maillog")
        chans, snap = stable_counters_and_log(conf, lab, tmp_path, "maillog.same")
        assert chans["smtp"]["delivered"] > 0
        assert_same_channels(chans, logstat(snap))
        assert_counters_match_lab_records(chans, lab)
    finally:
        assert d.stop() == 0, d.log()


def test_kill9_restart_counters_exact(traffic, tmp_path):
    """kill -9 mailmond while mail flows, start it again: it resumes from
    its saved position and restores its saved counters, so its counters
    equal the lab's records of what was delivered (and logstat's on the
    same log): nothing counted twice or skipped."""
    import signal
    import threading
    lab = traffic["lab"]
    d, conf, api = own_daemon(lab, tmp_path, "position_save_interval = 200ms\n"
                                             "poll_interval = 200ms\n")
    state = tmp_path / "state"
    stop = threading.Event()

    def flow():
        i = 0
        while not stop.is_set() and i < 40:
            lab.send(SENDER, "k%d@sink.test" % i)
            i += 1
    t = threading.Thread(target=flow)
    try:
        t.start()
        lab.wait_for(lambda: os.path.exists(state / "log-positions"), timeout=20,
                     what="a saved position")
        lab.wait_for(lambda: count(r"k\d+@sink\.test", lab.maillog_text()) >= 10,
                     timeout=30, what="traffic under way")
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        d.stop()
        d2 = mmbin.Daemon(conf, str(tmp_path / "d2.log"))
        d2.start(api=api)
        try:
            t.join(120)
            stop.set()
            lab.wait_for(lambda: sum(1 for m in lab.sink_messages()
                                     if m["rcpts"][0].startswith("k")) == 40,
                         timeout=60, what="the 40 messages at the sink")
            lab.wait_for(lambda: count(r"to=<k\d+@sink\.test>.*status=sent",
                                       lab.maillog_text()) == 40, timeout=60,
                         what="the 40 deliveries logged")
            chans, snap = stable_counters_and_log(conf, lab, tmp_path, "maillog.k9")
            assert_counters_match_lab_records(chans, lab)
            assert_same_channels(chans, logstat(snap))
        finally:
            assert d2.stop() == 0, d2.log()
    finally:
        stop.set()
        t.join(120)
        d.stop()


def test_counters_cli_clear_and_create(traffic):
    conf = traffic["conf"]
    r = mmbin.mailmon("counters", "-show", config=conf)
    assert r.returncode == 0
    assert "Channel smtp" in r.stdout and "Queue first time/count" in r.stdout
    # -create is refused while mailmond holds the file; -clear is served
    r = mmbin.mailmon("counters", "-create", config=conf)
    assert r.returncode == 1 and "running mailmond" in r.stderr
    r = mmbin.mailmon("counters", "-clear", config=conf)
    assert r.returncode == 0, r.stderr
    ch = counters(conf)
    assert ch["smtp"]["delivered"] == 0 and ch["smtpd"]["submitted"] == 0
    # a foreign file: a clear message naming the file and -create
    bad = traffic["tmp"] / "foreign"
    bad.write_text("not counters\n" * 100)
    r = mmbin.mailmon("counters", "-show", "--file", str(bad), config=conf)
    assert r.returncode == 1 and str(bad) in r.stderr and "-create" in r.stderr
    r = mmbin.mailmon("counters", "-create", "--file", str(bad), config=conf)
    assert r.returncode == 0, r.stderr
    r = mmbin.mailmon("counters", "-show", "--json", "--file", str(bad), config=conf)
    assert r.returncode == 0 and json.loads(r.stdout)["channels"] == []
    r = mmbin.mailmon("counters", "-delete", "--file", str(bad), config=conf)
    assert r.returncode == 0 and not bad.exists()


def test_queue_stored_gauges_per_channel(traffic):
    """The queue scanner's stored gauges land in the counters file under the
    channel the logs saw each message attempted on: the dead.test messages
    sit deferred on smtp, and `postqueue -j` agrees on the count."""
    lab = traffic["lab"]
    queued = [m for m in lab.postqueue_json() if m["queue_name"] == "deferred"]
    assert len(queued) == N_DEAD

    def gauges():
        smtp = counters(traffic["conf"]).get("smtp", {})
        return smtp if smtp.get("queue_stored_messages") == N_DEAD else None
    smtp = lab.wait_for(gauges, timeout=30, what="smtp queue_stored_messages")
    assert smtp["queue_stored_recipients"] == N_DEAD
    assert smtp["queue_stored_volume"] == sum(m["message_size"] for m in queued)
    oldest = min(m["arrival_time"] for m in queued)
    assert 0 <= smtp["queue_oldest_s"] <= time.time() - oldest + 2
    r = mmbin.mailmon("counters", "-show", config=traffic["conf"])
    assert r.returncode == 0
    assert re.search(r"Queued now \(scan\)\s+%d\b" % N_DEAD, r.stdout), r.stdout
