"""System tests for issue 12: `mailmon e2e`, the end-to-end delivery probe,
against the lab's real Postfix, Dovecot and slapd.

Figures are checked against what the servers themselves record: Postfix's
maillog (queue id, `delay=` of the LMTP delivery), the mailbox read with
Python's imaplib, the TCP ports. The outage tests stop Dovecot and then
Postfix for good, so they run last in this module.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

import mmbin

LO = "127.0.0.1"


def cred_file(tmp_path, user, password, name="cred"):
    path = tmp_path / name
    if path.exists():  # concurrent runs read it: write it once
        return str(path)
    path.write_text("user = %s\npassword = %s\n" % (user, password))
    path.chmod(0o600)
    return str(path)


def pw(lab, user):
    u = lab.users[user]
    return u["password"] if isinstance(u, dict) else u


def e2e_args(lab, tmp_path, user="alice", fetch="imap", extra=()):
    return ["e2e", "--submit", "smtp://%s:%d" % (LO, lab.ports["smtpd"]),
            "--fetch", "%s://%s:%d" % (fetch, LO, lab.ports[fetch]),
            "--to", "%s@lab.test" % user,
            "--credentials", cred_file(tmp_path, user, pw(lab, user), "cred-" + user),
            "--json", *extra]


def run_e2e(lab, tmp_path, *extra, user="alice", fetch="imap", timeout=60):
    res = mmbin.mailmon(*e2e_args(lab, tmp_path, user, fetch, extra), timeout=timeout)
    assert res.stdout, res.stderr
    return res.returncode, json.loads(res.stdout)


def probe_messages(lab, user):
    """The X-Mailmon-Probe values still in the user's INBOX (imaplib)."""
    return [m["X-Mailmon-Probe"] for m in lab.imap_fetch(user, pw(lab, user))
            if m["X-Mailmon-Probe"]]


def queue_id(out):
    m = re.search(r"queued as ([0-9A-Za-z]+)", out["queue_reply"])
    assert m, out
    return m.group(1)


def lmtp_delay(lab, qid):
    """Postfix's own delay= (seconds) of the LMTP delivery of qid."""
    m = re.search(r"%s: to=<[^>]*>, relay=[^,]*lmtp[^,]*, delay=([0-9.]+),.*status=sent"
                  % qid, lab.maillog_text())
    return float(m.group(1)) if m else None


@pytest.mark.parametrize("fetch", ["imap", "pop3", "imaps", "imap-noidle"])
def test_every_stage(lab, tmp_path, fetch):
    extra = ["--ldap", "%s/ou=people,dc=lab,dc=test" % lab.ldap["uri"]]
    if fetch == "imaps":
        extra += ["--cafile", lab.paths["cert"]]
    if fetch == "imap-noidle":
        extra += ["--no-idle"]
        fetch = "imap"
    rc, out = run_e2e(lab, tmp_path, "-w", "10", "-c", "20", "-t", "30", *extra,
                      fetch=fetch)
    assert rc == 0 and out["ok"] and out["delivered"] and not out["late"], out
    st = out["stages_ms"]
    proto = "imap" if fetch.startswith("imap") else "pop3"
    want = ["ldap", "smtp_connect", "smtp_greeting", "smtp_ehlo", "smtp_mail",
            "smtp_rcpt", "smtp_data", "smtp_dot", proto + "_connect",
            proto + "_greeting", proto + "_fetch", proto + "_delete"]
    want += ["imap_login", "imap_select", "imap_search", "imap_expunge"] \
        if proto == "imap" else ["pop3_pass", "pop3_scan", "pop3_quit"]
    if fetch == "imaps":
        want.append("imap_tls")
    for name in want:
        assert name in st and st[name] >= 0, (name, out)
    for k in ("ldap_ms", "smtp_ms", "delivery_ms", "retrieve_ms", "total_ms"):
        assert out[k] is not None and out[k] >= 0, (k, out)
    # Delivery runs from the 250 after DATA, so it overlaps SMTP's QUIT.
    assert out["total_ms"] >= out["ldap_ms"] + out["smtp_ms"]
    assert out["total_ms"] >= out["ldap_ms"] + out["delivery_ms"] + out["retrieve_ms"]
    # The Received chain: Postfix's smtpd, then Dovecot's LMTP.
    assert [h["with"] for h in out["hops"]] == ["ESMTP", "LMTP"], out
    # Independently: Postfix delivered that queue id over LMTP, and the
    # message is gone from the mailbox.
    qid = queue_id(out)
    lab.wait_for(lambda: lmtp_delay(lab, qid) is not None, timeout=10)
    assert out["tag"] not in probe_messages(lab, "alice")
    if "--no-idle" in extra:
        assert out["idle"] is False, out


def test_nagios_line(lab, tmp_path):
    args = e2e_args(lab, tmp_path)
    args.remove("--json")
    res = mmbin.mailmon(*args, "-w", "10", "-c", "20", "-t", "30")
    assert res.returncode == 0, res.stdout + res.stderr
    line = res.stdout.splitlines()[0]
    assert line.startswith("E2E OK - alice@lab.test delivered in "), line
    perf = line.split("|", 1)[1]
    assert re.search(r"delivery=[0-9.]+s;10\.000;20\.000;0;30\.000", perf), perf
    for label in ("total", "smtp", "retrieve", "smtp_dot", "imap_fetch", "hop2_lmtp"):
        assert re.search(r"\b%s=[0-9.]+s" % label, perf), (label, perf)


def test_bad_usage_is_unknown(lab, tmp_path):
    res = mmbin.mailmon("e2e", "--submit", "smtp://%s:%d" % (LO, lab.ports["smtpd"]))
    assert res.returncode == 3
    loose = tmp_path / "loose"
    loose.write_text("user = alice\npassword = x\n")
    loose.chmod(0o644)
    args = e2e_args(lab, tmp_path)
    args[args.index("--credentials") + 1] = str(loose)
    res = mmbin.mailmon(*args)
    assert res.returncode == 3 and "chmod 600" in res.stdout, res.stdout


def test_config_check_names_a_bad_e2e_section(lab, tmp_path):
    """`mailmon config check` runs mailmond's own [e2e.NAME] loader: a
    credentials file others can read, a URL of the wrong kind, a missing
    key are each named with the file, the line and the key."""
    loose = tmp_path / "loose.cred"
    loose.write_text("user = alice\npassword = x\n")
    loose.chmod(0o644)
    conf = tmp_path / "bad.conf"
    conf.write_text(
        "[e2e.a]\nsubmit = smtp://127.0.0.1:25\nfetch = imap://127.0.0.1:143\n"
        "to = alice@lab.test\ncredentials_file = %s\n"
        "[e2e.b]\nsubmit = imap://127.0.0.1:143\nfetch = imap://127.0.0.1:143\n"
        "to = alice@lab.test\ncredentials_file = %s\n"
        "[e2e.c]\nsubmit = smtp://127.0.0.1:25\nto = alice@lab.test\n" % (loose, loose))
    r = mmbin.mailmon("config", "check", str(conf))
    assert r.returncode != 0
    out = r.stdout + r.stderr
    assert re.search(r"bad\.conf:5: \[e2e\.a\] credentials_file: .*chmod 600", out), out
    assert re.search(r"bad\.conf:7: \[e2e\.b\] submit: expected smtp", out), out
    assert re.search(r"bad\.conf:12: \[e2e\.c\] fetch: required", out), out


def test_late_delivery_counted_with_real_delay(lab, tmp_path):
    """LMTP held by defer_transports, then flushed: the message arrives
    after the 1 s deadline and is reported late, with a delay that matches
    Postfix's own delay= for it."""
    lab.postconf({"defer_transports": "lmtp"})
    try:
        proc = subprocess.Popen(
            [mmbin.binary("mailmon"), *e2e_args(lab, tmp_path, "bob",
                                               extra=["-c", "1", "-t", "30"])],
            stdout=subprocess.PIPE, text=True)
        time.sleep(3)
    finally:
        lab.postconf({"defer_transports": ""})
    lab.flush()
    stdout, _ = proc.communicate(timeout=40)
    out = json.loads(stdout)
    assert proc.returncode == 2 and out["status"] == "CRITICAL", out
    assert out["ok"] and out["delivered"] and out["late"], out
    assert out["idle"] is True, out  # Dovecot offers IDLE; the wait used it
    qid = queue_id(out)
    pf = lab.wait_for(lambda: lmtp_delay(lab, qid), timeout=10)
    got = out["delivery_ms"] / 1000.0
    # Postfix's delay counts from its queue entry (just before our end of
    # DATA) to the LMTP 250; the message is visible right after that.
    assert pf >= 2.5 and pf - 0.3 <= got <= pf + 1.5, (pf, out)
    assert out["hops"][-1]["with"] == "LMTP" and out["hops"][-1]["ms"] >= 2000, out
    assert out["tag"] not in probe_messages(lab, "bob")


def test_ten_probes_on_one_mailbox(lab, tmp_path):
    procs = []
    for i in range(10):
        fetch = "pop3" if i % 4 == 3 else "imap"
        procs.append(subprocess.Popen(
            [mmbin.binary("mailmon"),
             *e2e_args(lab, tmp_path, "alice", fetch, ["-t", "40", "--name", "p%d" % i])],
            stdout=subprocess.PIPE, text=True))
    outs = []
    for p in procs:
        stdout, _ = p.communicate(timeout=60)
        outs.append((p.returncode, json.loads(stdout)))
    for rc, out in outs:
        assert rc == 0 and out["delivered"], out
    tags = [o["tag"] for _, o in outs]
    assert len(set(tags)) == 10
    # Every message was taken by its own probe, none is left.
    assert not set(tags) & set(probe_messages(lab, "alice"))


def test_leftovers_of_a_killed_run(lab, tmp_path):
    """A run killed while it waits leaves its message behind; the next run
    of the same name claims it (with its delay); a stale message of some
    other probe, sent an hour ago, is deleted by age."""
    # Another probe's message from an hour ago, put there by hand.
    ghost = "mailmon-e2e ghost %d 00000000000000aa" % (int(time.time() * 1000) - 3600 * 1000)
    lab.send("someone@lab.test", ["bob@lab.test"], headers={"X-Mailmon-Probe": ghost})
    lab.wait_for(lambda: ghost in probe_messages(lab, "bob"), timeout=10)
    lab.postconf({"defer_transports": "lmtp"})
    try:
        proc = subprocess.Popen(
            [mmbin.binary("mailmon"),
             *e2e_args(lab, tmp_path, "bob", extra=["-t", "60", "--name", "crash"])],
            stdout=subprocess.PIPE, text=True)
        lab.wait_for(lambda: any("bob@lab.test" in json.dumps(q)
                                 for q in lab.postqueue_json()), timeout=10)
        time.sleep(0.5)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
    finally:
        lab.postconf({"defer_transports": ""})
    # The reload restarts qmgr; a flush sent while it starts can be lost,
    # and the deferred message then waits for the next queue run, which on
    # a loaded machine took longer than 20 s once. Flush again every 5 s.
    flushed = [0.0]

    def delivered():
        if time.monotonic() - flushed[0] >= 5:
            lab.flush()
            flushed[0] = time.monotonic()
        return len(probe_messages(lab, "bob")) >= 2
    lab.wait_for(delivered, timeout=45, what="the killed run's message in bob's mailbox")
    left = probe_messages(lab, "bob")
    assert ghost in left and any(t.startswith("mailmon-e2e crash ") for t in left), left
    rc, out = run_e2e(lab, tmp_path, "--name", "crash", "--claim", "-t", "30", user="bob")
    assert rc == 0 and out["delivered"], out
    assert out["cleaned"] == 1, out
    assert len(out["claimed"]) == 1 and out["claimed"][0]["tag"].startswith("mailmon-e2e crash ")
    # Its delay: from its sending (in the tag) to Dovecot's INTERNALDATE.
    assert 0 < out["claimed"][0]["delay_ms"] < 60000, out
    assert probe_messages(lab, "bob") == []


def test_daemon_probes_publish_and_count_late_and_lost(lab, tmp_path):
    """[e2e.d1] and [e2e.d2] in mailmond: every stage in the registry; LMTP
    held (about 7 s) then flushed: the deliverytime alarm fires; d1
    (timeout 3 s, lost_after 60 s) counts its held messages late, with
    their delay; d2 (lost_after 4 s) counts lost what stayed away longer."""
    port = mmbin.free_port()
    api = "127.0.0.1:%d" % port
    base = subprocess.run([sys.executable, os.path.join(mmbin.SOURCE_DIR, "lab", "mailmon_conf.py"),
                           lab.paths["lab_json"]], capture_output=True, text=True,
                          check=True).stdout
    base = re.sub(r"(?m)^listen = .*$", "listen = " + api, base)
    conf = tmp_path / "mailmon.conf"
    sections = ""
    for name, user, lost in (("d1", "bob", "60s"), ("d2", "alice", "4s")):
        sections += """
[e2e.%s]
submit = smtp://127.0.0.1:%d
fetch = imap://127.0.0.1:%d
to = %s@lab.test
credentials_file = %s
ldap = %s/ou=people,dc=lab,dc=test
interval = 1s
deadline = 1s
timeout = 3s
poll = 200ms
lost_after = %s
""" % (name, lab.ports["smtpd"], lab.ports["imap"], user,
       cred_file(tmp_path, user, pw(lab, user), "d-" + user), lab.ldap["uri"], lost)
    # The built-in deliverytime alarm, sampled every second, 2 s threshold.
    sections += "\n[alarm]\nmail = no\n\n[alarm.deliverytime]\nstatinterval = 1s\nthreshold = 2\n"
    conf.write_text(base + sections)
    r = mmbin.mailmon("config", "check", str(conf))
    assert r.returncode == 0, r.stdout + r.stderr
    d = mmbin.Daemon(str(conf), str(tmp_path / "mailmond.log"))
    d.start(api=api)
    try:
        def two_delivered():
            m = mmbin.metrics(api)
            n = mmbin.metric(m, "mailmon_e2e_duration_seconds_count", probe="d1", stage="delivery")
            return n and n >= 2 and mmbin.metric(m, "mailmon_e2e_up", probe="d1") == 1 and m
        mx = lab.wait_for(two_delivered, timeout=15, what="two runs delivered")
        assert mmbin.metric(mx, "mailmon_e2e_last_success_timestamp_seconds", probe="d1") > time.time() - 30
        for stage in ("ldap", "smtp", "delivery", "retrieve", "total"):
            n = mmbin.metric(mx, "mailmon_e2e_duration_seconds_count", probe="d1", stage=stage)
            assert n and n >= 2, (stage, mx)
        for stage in ("smtp_dot", "imap_fetch", "delivery", "hop2_LMTP"):
            assert mmbin.metric(mx, "mailmon_e2e_last_seconds", probe="d1", stage=stage) is not None, stage

        lab.postconf({"defer_transports": "lmtp"})
        held = time.monotonic()
        try:
            # While LMTP is held, the runs that give up report how long they
            # waited, and the deliverytime alarm fires for the probe.
            alarm = lab.wait_for(lambda: [a for a in d.get(api, "/api/alarms")["alarms"]
                                          if a["alarm"] == "deliverytime" and "d1" in a["instance"]
                                          and a["state"] == "firing"], timeout=12,
                                 what="deliverytime firing")
            assert alarm[0]["value"] >= 2, alarm
            time.sleep(max(0, 8 - (time.monotonic() - held)))
        finally:
            lab.postconf({"defer_transports": ""})
        lab.flush()

        def settled():
            m = mmbin.metrics(api)
            return (mmbin.metric(m, "mailmon_e2e_late_total", probe="d1") or 0) >= 2 and \
                (mmbin.metric(m, "mailmon_e2e_lost_total", probe="d2") or 0) >= 1 and m
        try:
            mx = lab.wait_for(settled, timeout=20, what="late and lost counted")
        except TimeoutError:
            raise AssertionError((mmbin.metrics(api), d.log()[-4000:]))
        assert mmbin.metric(mx, "mailmon_e2e_failures_total", probe="d1", leg="delivery") >= 1, mx
        # The held messages' real delays went into the delivery histogram:
        # at least two observations above the 1 s bucket.
        le1 = mmbin.metric(mx, "mailmon_e2e_duration_seconds_bucket", probe="d1", stage="delivery", le="1")
        total = mmbin.metric(mx, "mailmon_e2e_duration_seconds_count", probe="d1", stage="delivery")
        assert total - le1 >= 2, mx
        assert mmbin.metric(mx, "mailmon_e2e_lost_total", probe="d1") == 0, mx
        out = mmbin.mailmon("counterutil", "-o", "e2e", "--api", api).stdout
        late = int(re.search(r"^d1\.numLate = (\d+)$", out, re.M).group(1))
        assert late >= 2, out
        assert re.search(r"^d2\.numLost = [1-9]", out, re.M), out
        assert re.search(r"^d1\.lastDeliveryTime = [0-9.]+$", out, re.M), out
    finally:
        d.stop()
    # Independently: Postfix delivered the held probe messages late (its
    # own delay= over 5 s for some LMTP delivery to bob).
    delays = [float(x) for x in re.findall(r"to=<bob@lab\.test>, relay=[^,]*lmtp[^,]*, delay=([0-9.]+)",
                                           lab.maillog_text())]
    assert any(x > 5 for x in delays), delays


# -- outages: these stop servers for good, so they come last -----------------

def test_dovecot_stopped_is_retrieval(lab, tmp_path):
    pid = lab.pids["dovecot"]
    os.kill(pid, signal.SIGTERM)
    lab.wait_for(lambda: not port_open(lab.ports["imap"]), timeout=10)
    rc, out = run_e2e(lab, tmp_path, "-t", "10")
    assert rc == 2 and out["leg"] == "retrieval" and out["failure"] == "refused", out
    assert out["smtp_ms"] is not None and out["stages_ms"]["smtp_dot"] >= 0, out
    # SMTP did its part: Postfix queued the message (it cannot deliver it now).
    qid = queue_id(out)
    assert any(q["queue_id"] == qid for q in lab.postqueue_json())
    rc, out = run_e2e(lab, tmp_path, "-t", "10", fetch="pop3")
    assert rc == 2 and out["leg"] == "retrieval", out


def test_postfix_stopped_is_submission(lab, tmp_path):
    lab.postfix_cmd("stop")
    lab.wait_for(lambda: not port_open(lab.ports["smtpd"]), timeout=10)
    rc, out = run_e2e(lab, tmp_path, "-t", "10")
    assert rc == 2 and out["leg"] == "submission" and out["failure"] == "refused", out
    assert out["stage"] == "connect" and out["delivery_ms"] is None, out


def port_open(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((LO, port)) == 0
