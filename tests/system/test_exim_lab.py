"""mailmon logstat on the main log of a real Exim, checked against Debian's
eximstats and against counts taken from the traffic this test sent.

A real exim4 (Debian's exim4-daemon-light binary, unpacked by
scripts/install-deps, never installed; see lab/eximlab.py) runs on
127.0.0.1 with its own config and relays to the lab Postfix's sinks:
  4 messages to sink.test (one with two recipients: "=>" then "->")
  2 to reject.test (550 at RCPT: "**", and the bounce "<= <>" back to a
    sink.test sender); 1 more from a reject.test sender, whose bounce
    fails in turn and is "Frozen"
  2 to dead.test (connection refused: "==", stay queued)
  2 to alice@lab.test (local appendfile delivery)
  rejects: 2 relay attempts from 127.0.0.5, 1 to blocked.test (RCPT),
  1 "spam" subject (after DATA), 1 connection from 127.0.0.9 (connect ACL)
  2 failed AUTH PLAIN logins and 1 good one.
"""
import json
import os
import re
import shutil
import smtplib
import subprocess
import sys
import tempfile

import pytest

import mmbin

LAB_DIR = os.path.join(mmbin.SOURCE_DIR, "lab")
sys.path.insert(0, LAB_DIR)
import mailmonlab  # noqa: E402
import eximlab  # noqa: E402

SENDER = "sender@sink.test"


def need_exim():
    mmbin.require(eximlab.EXIM_BIN, "scripts/install-deps unpacks it")


def smtp(port, src="127.0.0.1"):
    return smtplib.SMTP("127.0.0.1", port, local_hostname="client.lab.test",
                        source_address=(src, 0), timeout=30)


def send(port, rcpts, subject="hello", sender=SENDER, src="127.0.0.1"):
    with smtp(port, src) as s:
        s.ehlo()
        try:
            s.sendmail(sender, rcpts, "Subject: %s\r\nFrom: %s\r\n\r\nbody\r\n" % (
                subject, sender))
            return True
        except smtplib.SMTPException:
            return False


@pytest.fixture(scope="module")
def exim_log(request):
    need_exim()
    # Exim drops to uid "mail": its dir must be reachable (0711), which
    # pytest's 0700 tmp dirs are not.
    d = tempfile.mkdtemp(prefix="mailmon-exim-")
    os.chmod(d, 0o711)
    request.addfinalizer(lambda: shutil.rmtree(d, ignore_errors=True))
    with mailmonlab.Lab(components=("postfix",)) as lab, \
            eximlab.EximLab(lab, os.path.join(d, "exim")) as ex:
        p = ex.port
        for i in range(3):
            assert send(p, ["u%d@sink.test" % i])
        assert send(p, ["a@sink.test", "b@sink.test"])
        assert send(p, ["x1@reject.test"])
        assert send(p, ["x2@reject.test"])
        assert send(p, ["x3@reject.test"], sender="back@reject.test")
        assert send(p, ["y1@dead.test"])
        assert send(p, ["y2@dead.test"])
        assert send(p, ["alice@lab.test"])
        assert send(p, ["alice@lab.test"])
        assert not send(p, ["v1@elsewhere.test"], src="127.0.0.5")
        assert not send(p, ["v2@elsewhere.test"], src="127.0.0.5")
        assert not send(p, ["q@blocked.test"])
        assert not send(p, ["a@sink.test"], subject="spam offer")
        for pw in ("wrong", "wrong2"):
            with smtp(p) as s:
                s.ehlo()
                with pytest.raises(smtplib.SMTPAuthenticationError):
                    s.login("alice", pw)
        with smtp(p) as s:
            s.ehlo()
            s.login("alice", "alice-secret")
        with pytest.raises((smtplib.SMTPException, OSError)):
            with smtp(p, src="127.0.0.9") as s:
                s.ehlo()
                s.mail(SENDER)
        # deliveries: 6 to sinks (3 + 2 + bounce-backs 2) by smtp, 2 local
        text = ex.wait_log(lambda t: len(re.findall(r" (=>|->) ", t)) >= 9 and
                           "Frozen" in t and len(re.findall(r" == ", t)) >= 2)
        path = os.path.join(d, "mainlog")
        with open(path, "w") as f:
            f.write(text)
        yield path, text, ex
        if os.environ.get("MAILMON_EXIM_KEEP_LOG"):
            shutil.copyfile(ex.mainlog, os.environ["MAILMON_EXIM_KEEP_LOG"])


def logstat(path, fmt="exim"):
    r = subprocess.run([mmbin.binary("mailmon"), "logstat", "--json", "--format", fmt,
                        path], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def logstat_text(text):
    r = subprocess.run([mmbin.binary("mailmon"), "logstat", "--json", "--format", "exim",
                        "-"], input=text, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def eximstats(path):
    out = subprocess.run(eximlab.eximstats_cmd() + ["-nvr", "-nr", "-nt", "-ne", "-t0",
                                                    path],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    grand = out.split("Grand total summary", 1)[1].split("\n\n", 1)[0]
    rows = {}
    for name in ("Received", "Delivered", "Rejects"):
        m = re.search(r"^\s*%s\s+(.*)$" % name, grand, re.M)
        rows[name] = m.group(1).split() if m else []
    rcv, dlv, rej = rows["Received"], rows["Delivered"], rows["Rejects"]
    return {"received_bytes": int(rcv[0]), "received": int(rcv[1]),
            "delayed": int(rcv[3]), "failed": int(rcv[5]),
            "delivered_bytes": int(dlv[0]), "delivered_msgs": int(dlv[1]),
            "delivered_addrs": int(dlv[2]), "rejects": int(rej[0]) if rej else 0}


def test_logstat_matches_eximstats(exim_log):
    path, text, _ = exim_log
    es = eximstats(path)
    doc = logstat(path)
    t = doc["totals"]
    assert t["unparsed_lines"] == 0, doc["unparsed_by_program"]
    assert t["received"] == es["received"]
    assert t["bytes_received"] == es["received_bytes"]
    assert t["delivered"] == es["delivered_addrs"]
    assert t["deferred"] == es["delayed"]
    assert t["bounced"] == es["failed"]
    # eximstats counts every line saying "refused" as a reject, also
    # exim's own outbound "H=... Connection refused" (a delivery attempt
    # to dead.test); mailmon counts those as connection failures.
    outbound_refused = len(re.findall(r"^.* H=\S+ \[[^\]]+\]\S* Connection refused$", text,
                                      re.M))
    assert outbound_refused >= 1
    assert t["rejected"] == es["rejects"] - outbound_refused


def test_logstat_matches_traffic(exim_log):
    path, text, _ = exim_log
    doc = logstat(path, "auto")
    t = doc["totals"]
    assert t["unparsed_lines"] == 0
    # 11 accepted messages + 3 bounce messages (one per reject.test recipient)
    assert t["received"] == 14
    # sinks: 3 + 2 + 2 bounce-backs, local: 2
    assert t["delivered"] == 9
    assert t["bounced"] == 4      # 3 recipients + the failed bounce-of-bounce
    assert t["deferred"] == 2
    assert t["held"] == 1         # the frozen bounce
    # relay x2, blocked.test, after DATA, connect ACL
    assert t["rejected"] == 5
    reasons = {r["key"]: r["count"] for r in doc["rejects_by_reason"]}
    assert reasons["relay not permitted"] == 2
    assert reasons["blocked by policy"] == 1
    assert reasons["looks like spam"] == 1
    dests = {d["domain"]: d for d in doc["destinations"]}
    assert dests["sink.test"]["delivered"] == 7
    assert dests["lab.test"]["delivered"] == 2
    assert dests["dead.test"]["deferrals"] >= 2
    # channels are Exim transports: remote_smtp and local_delivery
    ch = {c["name"]: c for c in doc["channels"]}
    assert ch["remote_smtp"]["recipients_delivered"] == 7
    assert ch["local_delivery"]["recipients_delivered"] == 2
    assert ch["remote_smtp"]["recipients_failed"] == 4
    # 11 by SMTP, 3 bounce messages made locally
    assert ch["smtp"]["submitted"] == 11
    assert ch["local"]["submitted"] == 3
    # two failed AUTH PLAIN logins: counterutil's numFailedLogins for smtp
    assert ch["smtp"]["logins_failed"] == 2


def test_unfrozen_and_syslog_form(exim_log, tmp_path):
    """The same log wrapped by syslog (exim's syslog_timestamp form) gives
    the same totals; thawing the frozen message logs "Unfrozen"."""
    path, text, ex = exim_log
    frozen = re.search(r"(\S+) Frozen", text).group(1)
    r = ex.exim("-Mt", frozen, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    # 4.96 writes "unfrozen by root" (older releases "Unfrozen by")
    thawed = ex.wait_log(lambda t: re.search(r" %s [Uu]nfrozen by" % re.escape(frozen), t))
    assert logstat_text(thawed)["totals"]["unparsed_lines"] == 0
    wrapped = tmp_path / "syslog"
    with open(wrapped, "w") as f:
        for line in text.splitlines():
            m = re.match(r"(\d{4})-(\d\d)-(\d\d) (\d\d:\d\d:\d\d) (?:\[(\d+)\] )?", line)
            mon = "JanFebMarAprMayJunJulAugSepOctNovDec"[(int(m.group(2)) - 1) * 3:][:3]
            f.write("%s %2d %s mx exim[%s]: %s\n" % (mon, int(m.group(3)), m.group(4),
                                                     m.group(5) or "1", line))
    a = logstat(path)["totals"]
    b = logstat(str(wrapped), "auto")["totals"]
    for k in ("received", "delivered", "deferred", "bounced", "rejected", "held",
              "bytes_received", "unparsed_lines"):
        assert a[k] == b[k], k
