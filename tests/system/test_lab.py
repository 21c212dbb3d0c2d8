"""Prove the lab is real: mail flows through Postfix to every test domain,
Dovecot serves it back over IMAP and POP3 (plain, TLS, STARTTLS), slapd
answers, the optional HAProxy/snmpd start, and a killed lab leaves no
process behind.

Run as root: `pytest-3 -q tests/system/test_lab.py`.
"""

import json
import os
import selectors
import shutil
import smtplib
import subprocess
import sys
import tempfile
import uuid

import pytest

import mailmonlab  # on sys.path via conftest.py


def unique_subject(tag):
    return "mailmon-lab %s %s" % (tag, uuid.uuid4().hex)


def log_line_for(lab, queue_id, rcpt, status):
    """The maillog delivery line of queue_id to rcpt with status, or None."""
    for line in lab.maillog_text().splitlines():
        if "%s: to=<%s>" % (queue_id, rcpt) in line and \
                "status=%s" % status in line:
            return line
    return None


def queue_entry(lab, queue_id):
    for entry in lab.postqueue_json():
        if entry["queue_id"] == queue_id:
            return entry
    return None


# -- lab.json -----------------------------------------------------------------

def test_lab_json_describes_the_lab(lab):
    info = json.load(open(os.path.join(lab.dir, "lab.json")))
    assert info["status"] == "running"
    assert info["dir"] == lab.dir
    for key in mailmonlab.PORT_KEYS:
        assert key in info["ports"]
    for key in ("smtpd", "imap", "imaps", "pop3", "pop3s", "ldap", "sink",
                "reject", "dead", "slow"):
        assert isinstance(info["ports"][key], int), key
    # All ports distinct: no two servers can silently share one.
    used = [p for p in info["ports"].values() if p]
    assert len(used) == len(set(used))
    for key in ("postfix_config_dir", "queue_dir", "maillog", "dovecot_log",
                "dovecot_lmtp", "slapd_log", "cert"):
        assert os.path.exists(info["paths"][key]), key
    assert info["users"]["alice"]["password"] == lab.users["alice"]
    assert info["ldap"]["base"] == "dc=lab,dc=test"
    for name in ("postfix", "dovecot", "slapd", "guard"):
        assert mailmonlab.is_alive(info["pids"][name]), name
    assert info["domains"]["sink.test"] == \
        "smtp:[127.0.0.1]:%d" % info["ports"]["sink"]
    assert os.stat(lab.dir).st_mode & 0o777 == 0o711


# -- Postfix routing ----------------------------------------------------------

def test_mail_to_sink_is_delivered(lab):
    qid = lab.send("bob@lab.test", ["x@sink.test"],
                   subject=unique_subject("sink"))
    assert qid
    line = lab.wait_for(lambda: log_line_for(lab, qid, "x@sink.test", "sent"),
                        timeout=20, what="status=sent for " + qid)
    assert "relay=127.0.0.1[127.0.0.1]:%d" % lab.ports["sink"] in line
    lab.wait_for(lambda: queue_entry(lab, qid) is None, timeout=10,
                 what="queue to drop " + qid)


def test_mail_to_reject_bounces(lab):
    subject = unique_subject("reject")
    qid = lab.send("bob@lab.test", ["x@reject.test"], subject=subject)
    line = lab.wait_for(
        lambda: log_line_for(lab, qid, "x@reject.test", "bounced"),
        timeout=20, what="status=bounced for " + qid)
    assert "550 5.1.1 mailmon lab: recipient rejected" in line
    assert "relay=127.0.0.1[127.0.0.1]:%d" % lab.ports["reject"] in line
    # The non-delivery report comes back to the sender's lab mailbox.
    ndr = lab.wait_for(
        lambda: [m for m in lab.imap_fetch("bob", lab.users["bob"])
                 if subject in m.as_string()
                 and "MAILER-DAEMON" in str(m["From"])],
        timeout=20, what="bounce report in bob's INBOX")
    assert ndr


def test_mail_to_dead_is_deferred(lab):
    qid = lab.send("bob@lab.test", ["someone@dead.test"],
                   subject=unique_subject("dead"))

    def deferred():
        entry = queue_entry(lab, qid)
        return entry if entry and entry["queue_name"] == "deferred" else None

    entry = lab.wait_for(deferred, timeout=20, what="deferred " + qid)
    (rcpt,) = entry["recipients"]
    assert rcpt["address"] == "someone@dead.test"
    assert "Connection refused" in rcpt["delay_reason"]
    assert ":%d" % lab.ports["dead"] in rcpt["delay_reason"]


def established_to(port):
    """Number of ESTABLISHED TCP connections to 127.0.0.1:port."""
    count = 0
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        fields = line.split()
        if fields[2] == "0100007F:%04X" % port and fields[3] == "01":
            count += 1
    return count


def test_mail_to_slow_hangs_before_the_greeting(lab):
    qid = lab.send("bob@lab.test", ["x@slow.test"],
                   subject=unique_subject("slow"))
    # Postfix's smtp client connects and waits for a greeting that never
    # comes: the message stays active, and the maillog says nothing yet.
    lab.wait_for(lambda: established_to(lab.ports["slow"]) > 0, timeout=20,
                 what="a connection to the slow listener")
    entry = queue_entry(lab, qid)
    assert entry and entry["queue_name"] == "active"
    assert "%s: to=<x@slow.test>" % qid not in lab.maillog_text()


def test_unknown_domain_is_refused_at_rcpt(lab):
    # default_transport is error:, so smtpd refuses the recipient outright:
    # nothing ever reaches the smtp client or a DNS lookup.
    with pytest.raises(smtplib.SMTPRecipientsRefused) as exc:
        lab.send("bob@lab.test", ["x@example.com"],
                 subject=unique_subject("unrouted"))
    code, text = exc.value.recipients["x@example.com"]
    assert code == 550
    assert b"domain not routed in the lab" in text


# -- Dovecot: LMTP in, IMAP and POP3 out --------------------------------------

@pytest.fixture(scope="module")
def alice_mail(lab):
    """Send one message to alice@lab.test, wait for the LMTP delivery."""
    subject = unique_subject("alice")
    qid = lab.send("bob@lab.test", ["alice@lab.test"], subject=subject,
                   body="for alice\n")
    line = lab.wait_for(
        lambda: log_line_for(lab, qid, "alice@lab.test", "sent"),
        timeout=20, what="LMTP delivery of " + qid)
    assert "postfix/lmtp[" in line and lab.paths["dovecot_lmtp"] in line
    return subject


@pytest.mark.parametrize("tls", [False, True, "starttls"])
def test_imap_fetches_alice_mail(lab, alice_mail, tls):
    msgs = lab.imap_fetch("alice", lab.users["alice"], tls=tls)
    got = [m for m in msgs if m["Subject"] == alice_mail]
    assert len(got) == 1
    assert got[0].get_content().strip() == "for alice"


@pytest.mark.parametrize("tls", [False, True, "starttls"])
def test_pop3_fetches_alice_mail(lab, alice_mail, tls):
    msgs = lab.pop_fetch("alice", lab.users["alice"], tls=tls)
    assert [m["Subject"] for m in msgs].count(alice_mail) == 1


def test_dovecot_logs_logins(lab, alice_mail):
    lab.imap_fetch("alice", lab.users["alice"], tls=True)
    log = lab.dovecot_log_text()
    assert "imap-login: Info: Login: user=<alice>" in log
    assert "saved mail to INBOX" in log


# -- slapd --------------------------------------------------------------------

def test_ldapsearch_finds_alice(lab):
    env = dict(os.environ, LDAPNOINIT="1")
    res = subprocess.run(
        ["ldapsearch", "-x", "-LLL", "-H", lab.ldap["uri"],
         "-D", lab.ldap["rootdn"], "-w", lab.ldap["password"],
         "-b", lab.ldap["base"], "(uid=alice)", "mail"],
        env=env, capture_output=True, text=True, timeout=20)
    assert res.returncode == 0, res.stderr
    assert "dn: uid=alice,ou=people,dc=lab,dc=test" in res.stdout
    assert "mail: alice@lab.test" in res.stdout


# -- optional components ------------------------------------------------------

def test_second_lab_with_haproxy_and_snmpd(lab):
    first = lab
    with mailmonlab.Lab(components=mailmonlab.ALL_COMPONENTS) as lab:
        # Two labs at once: separate dirs, no shared port.
        assert lab.dir != first.dir
        ports = set(p for p in lab.ports.values() if p)
        assert not ports & set(p for p in first.ports.values() if p)
        # HAProxy forwards SMTP to the lab Postfix.
        qid = lab.send("bob@lab.test", ["x@sink.test"],
                       port=lab.ports["haproxy"])
        lab.wait_for(lambda: log_line_for(lab, qid, "x@sink.test", "sent"),
                     timeout=20, what="sent via haproxy")
        assert "smtp_nodes/postfix" in open(lab.paths["haproxy_log"]).read()
        # Reconfiguring restarts HAProxy with the new backend list.
        lab.haproxy_config([{"name": "n1", "port": lab.ports["smtpd"]},
                            {"name": "n2", "port": lab.ports["sink"]}])
        state = lab.haproxy_cmd("show servers state smtp_nodes")
        assert " n1 " in state and " n2 " in state
        # snmpd answers SNMP v2c on its lab port (numeric OIDs: no MIBs).
        res = subprocess.run(
            ["snmpget", "-v2c", "-c", "public", "-On", "-t", "2",
             "127.0.0.1:%d" % lab.ports["snmp"], "1.3.6.1.2.1.1.1.0"],
            env=dict(os.environ, MIBS=""), capture_output=True, text=True,
            timeout=20)
        assert res.returncode == 0, res.stderr
        assert ".1.3.6.1.2.1.1.1.0 = STRING" in res.stdout
        assert os.path.exists(lab.paths["agentx_socket"])
        # The first lab is unaffected and still delivers.
        qid = first.send("bob@lab.test", ["y@sink.test"])
        first.wait_for(
            lambda: log_line_for(first, qid, "y@sink.test", "sent"),
            timeout=20, what="first lab still delivering")
        assert qid not in lab.maillog_text()


# -- startup is checked -------------------------------------------------------

def test_failed_postfix_start_raises_with_reason():
    # A Postfix start failure is silent without a tty; the lab must still
    # say why, and leave nothing running.
    lab = mailmonlab.Lab(components=("postfix",),
                         postfix_extra={"inet_interfaces": "10.9.9.9"})
    with pytest.raises(mailmonlab.LabError) as exc:
        lab.start()
    assert "postfix start failed" in str(exc.value)
    assert "no local interface found for 10.9.9.9" in str(exc.value)
    assert lab.keep or not os.path.exists(lab.dir)
    for pid in lab.pids.values():
        assert not mailmonlab.is_alive(pid)


# -- teardown when the test process dies --------------------------------------

CHILD = """
import sys, time
sys.path.insert(0, sys.argv[1])
import mailmonlab
lab = mailmonlab.Lab(dir=sys.argv[2], components=mailmonlab.ALL_COMPONENTS)
lab.start()
print("READY", flush=True)
time.sleep(600)
"""


def read_line(proc, timeout):
    """One stdout line of proc, or '' after timeout or EOF."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    if not sel.select(timeout):
        return ""
    return proc.stdout.readline()


def test_sigkilled_lab_leaves_no_process():
    labdir = tempfile.mkdtemp(prefix="mailmon-lab-kill-")
    errlog = os.path.join(labdir, "child.err")
    proc = None
    try:
        with open(errlog, "w") as err:
            proc = subprocess.Popen(
                [sys.executable, "-c", CHILD,
                 os.path.dirname(mailmonlab.__file__), labdir],
                stdout=subprocess.PIPE, stderr=err, text=True)
        line = read_line(proc, 40)
        assert line.strip() == "READY", open(errlog).read()
        info = json.load(open(os.path.join(labdir, "lab.json")))
        recorded = info["pids"]
        for name in ("guard", "postfix", "dovecot", "slapd", "sink",
                     "reject", "slow", "haproxy", "snmpd"):
            assert mailmonlab.is_alive(recorded[name]), name
        # Every recorded process and all of its children (Postfix and
        # Dovecot service processes), pinned by /proc start time.
        procs = {pid: mailmonlab.proc_stat(pid)[1]
                 for pid in recorded.values()}
        procs.update(mailmonlab.descendants(list(recorded.values())))
        assert len(procs) >= 15

        proc.kill()
        proc.wait()

        survivors = mailmonlab.wait_gone(list(procs.items()), 15.0)
        assert survivors == [], "still alive: %r" % [
            (pid, open("/proc/%d/cmdline" % pid).read()) for pid, _ in
            survivors]
        assert "tearing down" in open(info["paths"]["guard_log"]).read()
    finally:
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        mailmonlab.teardown_dir(labdir, timeout=5)
        shutil.rmtree(labdir, ignore_errors=True)
