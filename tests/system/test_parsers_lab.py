"""The log grammars against what a real Postfix and Dovecot write.

A lab Postfix is given every kind of traffic the parsers know a line for:
deliveries to sink.test, reject.test, dead.test and lab.test (LMTP into
Dovecot), an unrouted domain, access-map REJECT/WARN/HOLD/DISCARD,
header_checks REJECT/HOLD/DISCARD/WARN, a second smtpd with
syslog_name=postfix/submission, postscreen in front of a third port, a
pickup submission, postsuper hold/release/requeue/delete, and an aborted
and a half-open SMTP session; Dovecot sees good and bad IMAP/POP logins,
an unknown user and connections that never log in.

`mailmon logstat --json --format NAME` must then report every line of the
maillog and of the Dovecot log as understood (`unparsed_lines` 0), so a
Postfix or Dovecot upgrade that changes a line format fails here. The
golden files in tests/parsers/golden/ pin what each line becomes.
"""
import imaplib
import json
import os
import poplib
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import time

import pytest

import mmbin

sys.path.insert(0, os.path.join(mmbin.SOURCE_DIR, "lab"))
import mailmonlab  # noqa: E402

HELO = "client.lab.test"


@pytest.fixture(scope="module")
def maps():
    """Access maps and header checks, readable by the postfix user."""
    d = tempfile.mkdtemp(prefix="mailmon-parsers-")
    os.chmod(d, 0o755)
    files = {
        "rwarn": "warned.test REJECT would reject (a, b) this\n",
        "raccess": "blocked.test REJECT blocked by policy, see <http://x.test/a,b>\n"
                   "held.test HOLD held by policy\n"
                   "dropped.test DISCARD dropped by policy\n"
                   "noted.test WARN noted by policy\n",
        "hchecks": "/^Subject: .*holdme/ HOLD subject hold\n"
                   "/^Subject: .*rejectme/ REJECT bad subject, really\n"
                   "/^Subject: .*discardme/ DISCARD subject discard\n"
                   "/^Subject: .*warnme/ WARN subject warn\n",
    }
    for name, text in files.items():
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
        os.chmod(os.path.join(d, name), 0o644)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def lab(maps):
    extra = {
        "smtpd_recipient_restrictions":
            "warn_if_reject check_recipient_access texthash:%s/rwarn, "
            "check_recipient_access texthash:%s/raccess, permit_mynetworks, "
            "reject_unauth_destination" % (maps, maps),
        "header_checks": "regexp:%s/hchecks" % maps,
    }
    with mailmonlab.Lab(components=("postfix", "dovecot"), postfix_extra=extra,
                        queue_run_delay="3s", minimal_backoff_time="2s",
                        maximal_backoff_time="4s") as running:
        yield running


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def try_send(lab, rcpt, port=None, subject="parsers test"):
    try:
        lab.send("alice@lab.test", rcpt, subject=subject, port=port)
    except smtplib.SMTPException:
        pass  # rejects are part of the traffic


def logstat(fmt, path):
    out = subprocess.run([mmbin.binary("mailmon"), "logstat", "--json", "--format", fmt, path],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["totals"]


def imap_login(lab, user, password, tls=False):
    try:
        if tls:
            c = imaplib.IMAP4_SSL("127.0.0.1", lab.ports["imaps"], ssl_context=lab.ssl_context())
        else:
            c = imaplib.IMAP4("127.0.0.1", lab.ports["imap"])
        c.login(user, password)
        c.select("INBOX")
        c.logout()
    except imaplib.IMAP4.error:
        pass


def test_every_line_understood(lab):
    conf = lab.paths["postfix_config_dir"]
    sub, ps = free_port(), free_port()
    with open(os.path.join(conf, "master.cf"), "a") as f:
        f.write("127.0.0.1:%d inet n - n - - smtpd -o syslog_name=postfix/submission\n" % sub)
        f.write("127.0.0.1:%d inet n - n - 1 postscreen\n" % ps)
        f.write("smtpd pass - - n - - smtpd\n")
    lab.postfix_cmd("reload")
    time.sleep(2)

    for rcpt in ("x@sink.test", "x@reject.test", "x@dead.test", "bob@lab.test",
                 "nobody@lab.test", "x@unrouted.example", "x@blocked.test",
                 "x@warned.test", "x@held.test", "x@dropped.test", "x@noted.test"):
        try_send(lab, rcpt)
    for subject in ("holdme", "rejectme", "discardme", "warnme"):
        try_send(lab, "x@sink.test", subject="please " + subject)
    try_send(lab, "x@sink.test", port=sub)
    try_send(lab, "x@sink.test", port=ps)
    # a bare connect, and a session cut after MAIL
    s = socket.create_connection(("127.0.0.1", lab.ports["smtpd"]))
    s.recv(200)
    s.close()
    c = smtplib.SMTP("127.0.0.1", lab.ports["smtpd"], local_hostname=HELO)
    c.ehlo()
    c.mail("alice@lab.test")
    c.sock.close()
    subprocess.run(["/usr/sbin/sendmail", "-C", conf, "-f", "alice@lab.test", "bob@lab.test"],
                   input=b"Subject: pickup\n\nhello\n", check=True, timeout=30)
    # postsuper on whatever waits for dead.test
    lab.wait_for(lambda: any(m["queue_name"] == "deferred" for m in lab.postqueue_json()),
                 timeout=30, what="a deferred message")
    qid = [m for m in lab.postqueue_json() if m["queue_name"] == "deferred"][0]["queue_id"]
    for flag in ("-h", "-H", "-r"):
        subprocess.run(["postsuper", "-c", conf, flag, qid], check=True, timeout=30)

    imap_login(lab, "bob", "bob-secret")
    imap_login(lab, "bob", "wrong")
    imap_login(lab, "ghost", "x")
    imap_login(lab, "alice", "alice-secret", tls=True)
    p = poplib.POP3("127.0.0.1", lab.ports["pop3"])
    p.user("bob")
    p.pass_("bob-secret")
    p.stat()
    p.quit()
    for port in (lab.ports["imap"], lab.ports["pop3"]):
        s = socket.create_connection(("127.0.0.1", port))
        s.recv(200)
        s.close()
    time.sleep(6)  # the last deliveries, logouts and retries reach the logs

    maillog = lab.paths["maillog"]
    text = open(maillog, errors="replace").read()
    for needle in ("postfix/submission/smtpd", "postfix/postscreen", "NOQUEUE: reject:",
                   "reject_warning:", "hold: header", "discard: header", "status=bounced",
                   "status=deferred", "postfix/pickup", "placed on hold", "lost connection"):
        assert needle in text, needle
    pf = logstat("postfix", maillog)
    assert pf["lines"] >= 100
    assert pf["unparsed_lines"] == 0, "unparsed Postfix lines in %s" % maillog

    dlog = lab.paths["dovecot_log"]
    dtext = open(dlog, errors="replace").read()
    for needle in ("Login: user=<bob>", "auth failed", "Password mismatch", "saved mail to",
                   "no auth attempts"):
        assert needle in dtext, needle
    dc = logstat("dovecot", dlog)
    assert dc["lines"] >= 15
    assert dc["unparsed_lines"] == 0, "unparsed Dovecot lines in %s" % dlog

    # auto dispatch on both logs at once
    both = logstat("auto", maillog)
    assert both["unparsed_lines"] == 0
